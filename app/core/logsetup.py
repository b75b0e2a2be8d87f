"""Logging to a rotating file in the log directory, readable only by the user.

Whole prompts, messages, replies and transcripts are logged at debug level only
(``hearth --verbose``): at the default level the log holds what happened, not what was said.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
from pathlib import Path

from app.core.paths import AppPaths
from app.core.private import make_private, private_dir, private_opener

_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


class PrivateFileHandler(logging.FileHandler):
    """A FileHandler whose file is created (or tightened to) mode 0600."""

    def _open(self) -> io.TextIOWrapper:
        return _open_private(self)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose every file is created (or tightened to) mode 0600."""

    def _open(self) -> io.TextIOWrapper:
        return _open_private(self)


def _open_private(handler: logging.FileHandler) -> io.TextIOWrapper:
    stream = open(  # noqa: SIM115 - the handler owns and closes the stream
        handler.baseFilename,
        handler.mode,
        encoding=handler.encoding,
        errors=handler.errors,
        opener=private_opener,
    )
    make_private(Path(handler.baseFilename))  # a log an older Hearth created readable
    assert isinstance(stream, io.TextIOWrapper)  # a text mode: "a" or "w"
    return stream


def setup_logging(paths: AppPaths, *, verbose: bool = False) -> None:
    """Send Hearth's log records to ``hearth.log`` (1 MB x 5 files)."""
    root = logging.getLogger()
    if any(getattr(h, "_hearth", False) for h in root.handlers):
        return
    private_dir(paths.log_dir)
    file_handler = PrivateRotatingFileHandler(
        paths.log_file, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    file_handler._hearth = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
