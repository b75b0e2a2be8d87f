"""Human-readable figures, the same everywhere Hearth shows them (decimal units, as the
Hub and file managers show file sizes)."""

from __future__ import annotations


def format_bytes(n_bytes: float) -> str:
    """``98.4 MB``, ``4.10 GB``: three significant figures, decimal units."""
    size = float(n_bytes)
    if size < 1000:
        return f"{size:.0f} B"
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1000
        if size < 1000 or unit == "TB":
            return f"{size:.2f} {unit}" if size < 10 else f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min`` (for ETAs)."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
