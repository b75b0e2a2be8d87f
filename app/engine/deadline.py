"""A time limit on Python code running in this thread, without a signal or a new thread
per call.

One daemon thread looks every ``POLL_S`` at what runs under a limit, and sleeps
without a timeout while nothing does (no wake-ups in an idle app); code past its limit
gets :class:`DeadlinePassed` raised in its own thread (``PyThreadState_SetAsyncExc``:
delivered between two bytecodes, so a Python loop stops, a single long C call first
finishes). No signal is used, so pytest-timeout's alarm and any other timer stay as
they are; no thread is started per call, so a limit costs microseconds on the prompt's
way.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

POLL_S = 0.1


class DeadlinePassed(BaseException):
    """Raised in code that ran past its limit (a BaseException, so that no
    ``except Exception`` in the code under the limit swallows it)."""


class _Watch:
    def __init__(self, thread: int, ends: float) -> None:
        self.thread = thread
        self.ends = ends
        # Whoever takes it first decides: the block (it ended in time) or the watchdog
        # (it raises). One non-blocking acquire each, so no exception can land between
        # a check and its action.
        self.token = threading.Lock()
        self.raised = threading.Event()


class Watchdog:
    """Limits on code in any thread, watched by one thread started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: list[_Watch] = []
        self._thread: threading.Thread | None = None
        self._busy = threading.Event()  # set while a watch may be running

    @property
    def idle(self) -> bool:
        """True while the watching thread sleeps without a timeout."""
        return not self._busy.is_set()

    @contextmanager
    def limit(self, seconds: float) -> Iterator[None]:
        """Run the block; raise DeadlinePassed when it runs more than ``seconds``
        (give or take POLL_S). Nothing is left pending after the block."""
        watch = _Watch(threading.get_ident(), time.monotonic() + seconds)
        with self._lock:
            self._watches.append(watch)
            self._busy.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadline", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            if watch.token.acquire(blocking=False):
                with self._lock:  # the watchdog can no longer raise here
                    self._watches.remove(watch)
            else:
                watch.raised.wait()
                _async_raise(watch.thread, None)  # if not delivered yet, it never will be
                raise DeadlinePassed

    def _run(self) -> None:
        while True:
            self._busy.wait()
            time.sleep(POLL_S)
            now = time.monotonic()
            with self._lock:
                for watch in [w for w in self._watches if now >= w.ends]:
                    if watch.token.acquire(blocking=False):
                        self._watches.remove(watch)
                        _async_raise(watch.thread, DeadlinePassed)
                        watch.raised.set()
                if not self._watches:
                    self._busy.clear()  # under the lock: a new watch sets it after


def _async_raise(thread: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread), ctypes.py_object(exc) if exc is not None else None
    )


WATCHDOG = Watchdog()
