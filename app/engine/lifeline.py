"""Child processes that end with the process that started them.

Hearth's children (the engine worker, the template renderer) must never outlive Hearth,
whatever they are doing when it goes (kill -9, a crash, the window closed): inside
llama.cpp, in a runaway chat template, or in Python. Three layers, because each covers
what another cannot:

- Linux: the kernel kills the child when its parent ends (``PR_SET_PDEATHSIG``), even
  while C code holds the GIL.
- Windows: the parent puts each child in a job object that kills every process in it
  when the parent's handle to it closes, that is, when the parent ends.
- Everywhere (the only layer on macOS): a watchdog thread in the child waits for the
  parent's end and ends the child. It gets the GIL whenever Python code runs (every
  switch interval) or C code that releases it runs (llama.cpp through ctypes does).

The parent starts children with :func:`start_child`, each child calls
:func:`die_with_parent` first thing.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any, NoReturn

log = logging.getLogger(__name__)

# How often the watchdog checks the parent's pid besides waiting on its sentinel.
POLL_S = 0.5
# prctl(2): the signal the kernel sends this process when its parent thread ends.
PR_SET_PDEATHSIG = 1
# Windows: SetInformationJobObject's class, and the limit that kills on close.
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000


class _State:
    """This process's side of the lifeline (module state, set once)."""

    armed = False  # die_with_parent has run
    spawner: threading.Thread | None = None  # the thread children are started from
    job: int | None = None  # Windows: the job's handle, held (never inherited) until exit


_state = _State()
_armed_lock = threading.Lock()


def die_with_parent() -> None:
    """End this process as soon as its parent ends; call it first in every child.

    Safe to call more than once (later calls do nothing).
    """
    with _armed_lock:
        if _state.armed:
            return
        _state.armed = True
    parent_pid, sentinel = _parent()
    _set_parent_death_signal()
    # The parent may have gone before the kernel was told to watch it.
    if not _parent_alive(parent_pid):
        leave_quietly()
    threading.Thread(
        target=_watch, args=(parent_pid, sentinel), name="lifeline", daemon=True
    ).start()


def leave_quietly() -> NoReturn:
    """End this process now and without a word: whoever asked for its work is gone.

    ``os._exit`` runs no cleanup that could print (no tracebacks from other threads,
    no atexit handlers, no flush into a pipe nobody reads).
    """
    os._exit(0)


def start_child(process: BaseProcess) -> None:
    """Start ``process`` (a ``multiprocessing`` process whose target calls
    :func:`die_with_parent`) tied to this process's life.

    Linux sends the parent-death signal when the *thread* that started the child ends,
    so the child is started from a thread that lasts as long as the process: the main
    thread, or otherwise one kept for this. On Windows the child joins the job object.
    """
    _run_in_lasting_thread(process.start)
    if sys.platform == "win32":
        _assign_to_job(process)


# -- the child's side ---------------------------------------------------------------------
def _parent() -> tuple[int, Any]:
    """The parent's pid, and its sentinel when it started us through multiprocessing
    (POSIX: a pipe that reaches EOF when the parent ends; Windows: its process handle)."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        return parent.pid, parent.sentinel
    return os.getppid(), None


def _parent_alive(parent_pid: int) -> bool:
    if sys.platform == "win32":
        import psutil

        return bool(psutil.pid_exists(parent_pid))
    # On POSIX an orphan is adopted by init or a subreaper, so its ppid changes at once.
    return os.getppid() == parent_pid


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
            return
        reason = os.strerror(ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        reason = str(exc)
    # The watchdog still ends this process, unless C code holds the GIL when it should.
    log.warning("cannot ask Linux to end this process with its parent: %s", reason)


def _watch(parent_pid: int, sentinel: Any) -> None:
    while True:
        if sentinel is not None:
            try:
                if multiprocessing.connection.wait([sentinel], timeout=POLL_S):
                    break
            except OSError:
                sentinel = None
        else:
            time.sleep(POLL_S)
        # Also the pid, in case something else holds the sentinel pipe open (a fork).
        if not _parent_alive(parent_pid):
            break
    leave_quietly()


# -- the parent's side --------------------------------------------------------------------
_Call = tuple[Callable[[], object], "queue.Queue[BaseException | None]"]
_calls: queue.Queue[_Call] = queue.Queue()
_spawner_lock = threading.Lock()


def _run_in_lasting_thread(func: Callable[[], object]) -> None:
    """Run ``func`` in the main thread if called there, else in a thread that never
    ends; raise what it raised."""
    if threading.current_thread() is threading.main_thread():
        func()
        return
    with _spawner_lock:
        if _state.spawner is None:
            _state.spawner = threading.Thread(
                target=_serve_calls, name="hearth-spawner", daemon=True
            )
            _state.spawner.start()
    done: queue.Queue[BaseException | None] = queue.Queue(maxsize=1)
    _calls.put((func, done))
    error = done.get()
    if error is not None:
        raise error


def _serve_calls() -> None:
    while True:
        func, done = _calls.get()
        try:
            func()
        except BaseException as exc:  # handed to the caller, who raises it
            done.put(exc)
        else:
            done.put(None)


# -- Windows: a job object that kills its processes when Hearth ends ---------------------
class _BasicLimits(ctypes.Structure):
    """JOBOBJECT_BASIC_LIMIT_INFORMATION (plain ctypes types: import-safe everywhere)."""

    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", ctypes.c_uint32),
        ("SchedulingClass", ctypes.c_uint32),
    ]


class _IoCounters(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "ReadOperationCount",
            "WriteOperationCount",
            "OtherOperationCount",
            "ReadTransferCount",
            "WriteTransferCount",
            "OtherTransferCount",
        )
    ]


class _ExtendedLimits(ctypes.Structure):
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION."""

    _fields_ = [
        ("BasicLimitInformation", _BasicLimits),
        ("IoInfo", _IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


def kill_on_close_limits() -> _ExtendedLimits:
    """The job limits Hearth sets: kill every process in the job when it closes."""
    limits = _ExtendedLimits()
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    return limits


_job_lock = threading.Lock()


def _assign_to_job(process: BaseProcess) -> None:
    """Put ``process`` in Hearth's kill-on-close job; on failure (Windows 7 when Hearth
    already runs in a job), only the child's watchdog is left, and the log says so."""
    if sys.platform != "win32":
        return
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p]
    kernel32.CreateJobObjectW.restype = ctypes.c_void_p
    kernel32.SetInformationJobObject.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_uint32,
    ]
    kernel32.SetInformationJobObject.restype = ctypes.c_int
    kernel32.AssignProcessToJobObject.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    kernel32.AssignProcessToJobObject.restype = ctypes.c_int
    kernel32.CloseHandle.argtypes = [ctypes.c_void_p]
    with _job_lock:
        if _state.job is None:
            job = kernel32.CreateJobObjectW(None, None)
            limits = kill_on_close_limits()
            if not job or not kernel32.SetInformationJobObject(
                job,
                JOB_OBJECT_EXTENDED_LIMIT_INFORMATION,
                ctypes.byref(limits),
                ctypes.sizeof(limits),
            ):
                error = ctypes.WinError(ctypes.get_last_error())
                log.warning("cannot create a job object: %s", error)
                if job:
                    kernel32.CloseHandle(job)
                return
            _state.job = job
        # A spawned process's sentinel on Windows is its process handle.
        if not kernel32.AssignProcessToJobObject(_state.job, process.sentinel):
            log.warning(
                "cannot put process %s in Hearth's job object: %s",
                process.pid,
                ctypes.WinError(ctypes.get_last_error()),
            )
