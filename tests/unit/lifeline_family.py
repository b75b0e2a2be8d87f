"""A parent and a child for test_lifeline: ``python -m tests.unit.lifeline_family MODE``.

The parent starts one child with ``lifeline.start_child``, prints ``CHILD <pid>`` and
waits to be killed. The child calls ``die_with_parent`` (twice: it must be safe to) and
then prints ``ARMED <watchdog threads>`` and, by MODE:

- ``python``: spins in a pure-Python loop;
- ``gil``: blocks in C code that holds the GIL (libc ``sleep`` through ``ctypes.PyDLL``),
  so no Python thread of the child can run: only the kernel can end it;
- ``watchdog``: as ``python`` without asking the kernel (``PR_SET_PDEATHSIG``), so only
  the watchdog thread can end it (what macOS has);
- ``thread``: started from a thread that then ends; the parent checks the child still
  answers once that thread is gone, prints ``ALIVE`` and the child spins in Python;
- ``late``: the child waits for its parent to be killed before calling die_with_parent,
  then (if it ever returned) blocks holding the GIL, so its watchdog could not end it;
- ``plain``: the child is a plain subprocess (no multiprocessing sentinel) and the
  kernel is not asked either: the watchdog polls the parent pid.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection

from app.engine import lifeline


def say(line: str) -> None:
    """One line in one write, so lines of parent and child never mix on the shared pipe."""
    os.write(1, f"{line}\n".encode())


def child_main(mode: str, conn: Connection | None = None) -> None:
    if mode == "late":
        parent = mp.parent_process()
        assert parent is not None
        while os.getppid() == parent.pid:  # the test kills the parent after CHILD
            time.sleep(0.01)
    if mode in ("watchdog", "plain"):
        lifeline._set_parent_death_signal = lambda: None  # type: ignore[attr-defined]
    lifeline.die_with_parent()
    lifeline.die_with_parent()
    watchdogs = sum(thread.name == "lifeline" for thread in threading.enumerate())
    say(f"ARMED {watchdogs}")  # before the parent says anything more
    if conn is not None:
        conn.send("armed")
        conn.recv()
        conn.send("pong")
    if mode in ("gil", "late"):
        ctypes.PyDLL(None).sleep(3600)
    while True:
        pass


def main(mode: str) -> None:
    if mode == "plain":
        child = subprocess.Popen([sys.executable, "-c", _PLAIN_CHILD])
        say(f"CHILD {child.pid}")
        child.wait()
        return
    ctx = mp.get_context("spawn")
    parent_conn, child_conn = ctx.Pipe()
    process = ctx.Process(target=child_main, args=(mode, child_conn if mode == "thread" else None))
    if mode == "thread":

        def start_and_wait_armed() -> None:
            lifeline.start_child(process)
            parent_conn.poll(60)  # the thread ends only after the child is armed

        starter = threading.Thread(target=start_and_wait_armed)
        starter.start()
        native_id = starter.native_id
        starter.join()
        child_conn.close()  # so a dead child reads as EOF
        # The kernel acts when the OS thread ends, a little after join() returns.
        while os.path.exists(f"/proc/self/task/{native_id}"):
            time.sleep(0.01)
        try:
            assert parent_conn.recv() == "armed"
            parent_conn.send("ping")
            alive = parent_conn.recv() == "pong"
        except (EOFError, OSError):
            alive = False
        say("ALIVE" if alive else "DEAD")
    else:
        lifeline.start_child(process)
    say(f"CHILD {process.pid}")
    process.join()


_PLAIN_CHILD = "from tests.unit.lifeline_family import child_main; child_main('plain')"

if __name__ == "__main__":
    main(sys.argv[1])
