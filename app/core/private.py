"""Files and folders only their owner may read: settings, history, logs and secrets.

Modes are set when a file is created (never a moment readable by others) and tightened
on start for files an older Hearth wrote. Windows has no such modes (``chmod`` only
toggles read-only there); its profile folders are already private to the user.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_opener(path: str, flags: int) -> int:
    """An ``opener`` for :func:`open`: a new file is created readable only by its owner."""
    return os.open(path, flags, FILE_MODE)


def make_private(path: Path) -> None:
    """Take group and other access away from ``path`` if it exists (a file or a folder)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
        try:
            os.chmod(path, stat.S_IMODE(mode) & ~0o077)
        except OSError as exc:  # not the owner, or a file system without modes
            log.warning("cannot make %s private: %s", path, exc)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) and make the folder itself private."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    make_private(path)
    return path


def make_files_private(folder: Path) -> None:
    """Tighten every file directly inside ``folder`` (what an older Hearth left readable)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.is_file(follow_symlinks=False):
            make_private(Path(entry.path))


def write_private_text(path: Path, text: str) -> None:
    """Write ``path`` atomically as a private file (a crash never leaves half a file)."""
    tmp = path.with_name(f"{path.name}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with open(tmp, "w", encoding="utf-8", opener=lambda p, _f: os.open(p, flags, FILE_MODE)) as f:
        f.write(text)
    make_private(tmp)  # an older .tmp left behind keeps its mode when reopened
    os.replace(tmp, path)
