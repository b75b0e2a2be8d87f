"""A download progress bar for the terminal (bytes, speed, ETA), drawn on stderr.

On a terminal the bar is redrawn in place; when stderr is a pipe or a file, a plain line
is written at most every :data:`PLAIN_INTERVAL_S` seconds, plus the final one, so logs
stay readable.
"""

from __future__ import annotations

import shutil
import time
from typing import TextIO

from app.core.units import format_bytes, format_duration

TTY_INTERVAL_S = 0.1
PLAIN_INTERVAL_S = 2.0


def render(
    label: str, done: int, total: int, speed_bps: float, eta_s: float | None, *, width: int = 24
) -> str:
    """``label [#######.......]  42%  1.20 GB / 2.90 GB  35.1 MB/s  ETA 48 s``."""
    fraction = min(1.0, done / total) if total else 1.0
    filled = int(fraction * width)
    bar = "#" * filled + "." * (width - filled)
    parts = [
        f"{label} [{bar}] {fraction * 100:3.0f}%",
        f"{format_bytes(done)} / {format_bytes(total)}",
    ]
    if speed_bps > 0:
        parts.append(f"{format_bytes(speed_bps)}/s")
    if eta_s is not None and done < total:
        parts.append(f"ETA {format_duration(eta_s)}")
    return "  ".join(parts)


class ProgressBar:
    """Draws :func:`render` lines on ``stream``, throttled."""

    def __init__(
        self, stream: TextIO, label: str, total: int, *, interactive: bool | None = None
    ) -> None:
        self.stream = stream
        self.label = label
        self.total = total
        self.interactive = stream.isatty() if interactive is None else interactive
        self._last_draw = -float("inf")
        self._last_text = ""
        self._drawn = False

    def update(
        self, done: int, speed_bps: float, eta_s: float | None, *, force: bool = False
    ) -> None:
        now = time.monotonic()
        interval = TTY_INTERVAL_S if self.interactive else PLAIN_INTERVAL_S
        if not force and now - self._last_draw < interval:
            return
        text = render(self.label, done, self.total, speed_bps, eta_s)
        if not self.interactive and text == self._last_text:
            return
        self._last_draw, self._last_text = now, text
        if self.interactive:
            columns = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + text[: columns - 1].ljust(columns - 1))
        else:
            self.stream.write(text + "\n")
        self._drawn = True
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line, so later messages start on a fresh one."""
        if self.interactive and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False
