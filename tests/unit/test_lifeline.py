"""lifeline: a child process ends with its parent, whatever it is doing, without a word.

Each case runs ``tests.unit.lifeline_family`` (a parent and its child, real processes),
kill -9s the parent and expects the child gone within 2 s.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import selectors
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest

from app.engine import lifeline
from tests.fixtures.processes import TREE_MARKER, descendants, describe, marked, wait_gone

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's"
)


def read_line(process: subprocess.Popen[bytes], timeout: float = 60.0) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            pytest.fail(f"no line from the family within {timeout} s")
    line = process.stdout.readline().decode()
    assert line, f"the family exited early: {process.communicate()[1].decode()}"
    return line.strip()


def kill_parent_and_check(mode: str) -> tuple[list[str], str]:
    """Start the family, kill -9 the parent once the child is armed (``late``: at
    once), check the child is gone 2 s later; the lines printed and stderr."""
    marker = uuid.uuid4().hex
    parent = subprocess.Popen(
        [sys.executable, "-m", "tests.unit.lifeline_family", mode],
        cwd=ROOT,
        env={**os.environ, TREE_MARKER: marker},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,  # unbuffered: no line may wait in a buffer the selector cannot see
    )
    try:
        wanted = ("CHILD",) if mode == "late" else ("CHILD", "ARMED")
        lines: list[str] = []
        while not all(any(line.startswith(w) for line in lines) for w in wanted):
            lines.append(read_line(parent))
            assert lines[-1] != "DEAD", "the child was killed when its starting thread ended"
        child = psutil.Process(next(int(line.split()[1]) for line in lines if "CHILD" in line))
        family = [*descendants(parent.pid), child]
        assert family, "the child was not found"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        left = wait_gone([*family, *marked(marker)], timeout=2.0)
        assert not left, f"still running 2 s after the parent was killed: {describe(left)}"
        # EOF on the pipes the child shared: nothing of the family holds them any more.
        rest, stderr = parent.communicate(timeout=5)
    finally:
        for process in marked(marker):
            process.kill()
        if parent.poll() is None:
            parent.kill()
    return lines + rest.decode().split(), stderr.decode()


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param("python", id="spinning-in-python"),
        pytest.param("gil", marks=linux_only, id="in-C-code-holding-the-GIL"),
        pytest.param("watchdog", id="watchdog-only"),
        pytest.param("plain", id="plain-subprocess-watchdog-polls"),
    ],
)
def test_child_ends_quietly_with_its_killed_parent(mode: str) -> None:
    lines, stderr = kill_parent_and_check(mode)
    assert "ARMED 1" in lines, "die_with_parent twice starts one watchdog"
    assert stderr == "", "the child ends without a word"


@linux_only
def test_child_started_from_a_thread_outlives_that_thread() -> None:
    """Linux signals a child when the *thread* that started it ends: start_child starts
    it from a thread that lasts, so the worker survives a short-lived caller thread."""
    lines, stderr = kill_parent_and_check("thread")
    assert "ALIVE" in lines, "the child was killed when its starting thread ended"
    assert "ARMED 1" in lines and stderr == ""


def test_parent_gone_before_die_with_parent_ends_the_child_at_once() -> None:
    lines, stderr = kill_parent_and_check("late")
    assert not any(line.startswith("ARMED") for line in lines), "it went on after the call"
    assert stderr == ""


def test_start_child_from_a_thread_raises_what_start_raised() -> None:
    process = mp.get_context("spawn").Process(target=print)
    errors: list[BaseException] = []

    def start_twice() -> None:
        lifeline.start_child(process)
        try:
            lifeline.start_child(process)
        except AssertionError as exc:  # multiprocessing: "cannot start a process twice"
            errors.append(exc)

    import threading

    thread = threading.Thread(target=start_twice)
    thread.start()
    thread.join(60)
    process.join(60)
    assert len(errors) == 1 and "twice" in str(errors[0])
    assert process.exitcode == 0


def test_job_object_limits_have_the_windows_layout() -> None:
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION as Windows lays it out (x64: 144 bytes,
    LimitFlags at offset 16; x86: 112), with only kill-on-close set."""
    limits = lifeline.kill_on_close_limits()
    pointer_size = ctypes.sizeof(ctypes.c_void_p)
    assert ctypes.sizeof(limits) == (144 if pointer_size == 8 else 112)
    assert lifeline._BasicLimits.LimitFlags.offset == 16
    assert lifeline._ExtendedLimits.IoInfo.offset == (64 if pointer_size == 8 else 48)
    raw = bytes(limits)
    assert int.from_bytes(raw[16:20], "little") == 0x2000
    assert raw[:16] == bytes(16) and raw[20:] == bytes(len(raw) - 20)


@pytest.mark.skipif(sys.platform == "win32", reason="off Windows only")
def test_no_job_object_off_windows() -> None:
    process = mp.get_context("spawn").Process(target=print)
    lifeline.start_child(process)
    process.join(60)
    assert process.exitcode == 0
    assert lifeline._state.job is None
    assert not hasattr(ctypes, "WinDLL")  # reaching the Windows code would have raised
