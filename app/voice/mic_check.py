"""The microphone test: listen a few seconds and say whether anything was heard.

The same capture the voice assistant uses (:class:`~app.voice.audio_io.AudioCapture`, the
device chosen in Voice settings), so a microphone that passes here works there too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Louder than this (a frame's RMS) is someone speaking; a quiet room reads -60 dBFS or less.
HEARD_DBFS = -45.0
DEFAULT_SECONDS = 3.0


@dataclass(frozen=True)
class MicCheck:
    """What the test heard: the device, the loudest 32 ms, and whether it was a voice."""

    device: str
    peak_dbfs: float
    seconds: float

    @property
    def heard(self) -> bool:
        return self.peak_dbfs >= HEARD_DBFS


def check_microphone(
    device: str | int | None = None,
    seconds: float = DEFAULT_SECONDS,
    *,
    on_level: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> MicCheck:
    """Listen ``seconds`` on ``device`` (None: the default microphone). Raises
    :class:`~app.core.errors.AudioDeviceError` when it cannot be opened."""
    from app.voice.audio_io import AudioCapture, rms_dbfs

    peak = -120.0
    with AudioCapture(device, on_level=on_level) as capture:
        name = capture.device.name
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and not (cancel and cancel.is_set()):
            frame = capture.read(timeout=max(0.0, deadline - time.perf_counter()))
            if frame is not None:
                peak = max(peak, rms_dbfs(frame.samples))
    return MicCheck(device=name, peak_dbfs=peak, seconds=seconds)
