"""Throwaway desktop pieces for the global-key tests: an Xvfb display and a private D-Bus
session bus, each a child of the test and gone after it. Nothing touches the developer's
own display or session bus."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT_S = 30


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Close its pipe and end it: terminate, then kill if it lingers."""
    if process.stdout is not None:
        process.stdout.close()
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def xvfb_display() -> Iterator[str]:
    """A new Xvfb server (XTEST is on by default); yields its DISPLAY (":N")."""
    if not shutil.which("Xvfb"):
        pytest.skip("a real X11 grab needs Xvfb (Debian: xvfb)")
    # -displayfd: Xvfb picks a free display number and writes it once it accepts clients.
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        number = process.stdout.readline().strip()  # blocks until ready (or Xvfb exits)
        assert number.isdigit(), f"Xvfb did not start (it wrote {number!r})"
        yield f":{number}"
    finally:
        stop_process(process)


@contextmanager
def private_session_bus(folder: Path) -> Iterator[str]:
    """A new dbus-daemon session bus; yields its address."""
    if not shutil.which("dbus-daemon"):
        pytest.skip("a portal stand-in needs dbus-daemon (Debian: dbus-daemon or dbus)")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            "dbus-daemon",
            "--session",
            "--nofork",
            "--print-address=1",
            f"--address=unix:path={folder / 'bus'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().strip()
        assert address.startswith("unix:"), f"dbus-daemon gave no address ({address!r})"
        yield address
    finally:
        stop_process(process)
