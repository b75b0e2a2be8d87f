"""The sound server's own microphones and speakers (PulseAudio, or PipeWire's PulseAudio
service), which PortAudio cannot list.

PortAudio's ALSA backend shows a sound server as one device, "pulse", that always means
the server's default source or sink. The server's ALSA plugin opens a stream on the
source or sink named by ``PULSE_SOURCE`` or ``PULSE_SINK`` when the stream is opened, so
:func:`opened_on` sets that variable around the opening of one stream.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]
_VARIABLE = {"input": "PULSE_SOURCE", "output": "PULSE_SINK"}
_environ_lock = threading.Lock()  # streams are opened from several threads


@dataclass(frozen=True)
class ServerDevice:
    """A source (``input``) or sink (``output``) of the sound server."""

    kind: Kind
    name: str  # the server's name for it, e.g. "alsa_input.usb-Blue_Yeti-00.analog-stereo"
    description: str  # what the server shows people, e.g. "Yeti Stereo Microphone"


def server_devices(timeout: float = 3.0) -> list[ServerDevice]:
    """The sound server's sources and sinks; empty when there is no ``pactl`` or server."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return []
    found: list[ServerDevice] = []
    lists: tuple[tuple[str, Kind], ...] = (("sources", "input"), ("sinks", "output"))
    for what, kind in lists:
        try:
            result = subprocess.run(
                [pactl, "--format=json", "list", what],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=True,
            )
            items = json.loads(result.stdout)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            log.debug("the sound server's %s cannot be listed: %s", what, exc)
            continue
        for item in items if isinstance(items, list) else []:
            name = str(item.get("name") or "") if isinstance(item, dict) else ""
            if name:
                description = str(item.get("description") or name)
                found.append(ServerDevice(kind, name, description))
    return found


@contextlib.contextmanager
def opened_on(kind: Kind, name: str | None) -> Iterator[None]:
    """Open a stream on the "pulse" device inside this block to reach source/sink ``name``."""
    if name is None:
        yield
        return
    variable = _VARIABLE[kind]
    with _environ_lock:
        saved = os.environ.get(variable)
        os.environ[variable] = name
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = saved
