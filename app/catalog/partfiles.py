"""Open a download's own files (``.part``, its sidecar) without following links.

A ``.part`` name that is a symbolic link, or a hard link shared with another name, would
make a download write into some other file, anywhere on the disk. Such a name is never
written through: :func:`own_file_size` removes the link (never its target) so the download
starts afresh, and every open uses ``O_NOFOLLOW`` where the system has it (POSIX), so a
link put in place between the check and the open makes the open fail instead of being
followed. A new file is created with ``O_EXCL``, which never follows a link either (on
Windows too, where ``O_NOFOLLOW`` does not exist).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from io import FileIO
from pathlib import Path

from app.core.errors import DownloadError
from app.core.i18n import translate

log = logging.getLogger(__name__)

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FLAGS = _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_LINK_ERRNOS = frozenset({errno.ELOOP, errno.EMLINK, errno.EEXIST})


class _NotOwn(Exception):
    """Internal: the name is a link, or not a regular file."""


def _check_own(st: os.stat_result, *, writing: bool = True) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise _NotOwn("not a regular file")
    if writing and st.st_nlink > 1:  # reading through a hard link harms nothing
        raise _NotOwn("a hard link shared with another name")


def own_file_size(path: Path) -> int | None:
    """The size of ``path`` if it is a regular file of its own; None if it is absent.

    A symbolic link or a hard-linked file at ``path`` is removed (the link only: its target,
    or the file's other name, is left as it is) and reported as absent.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    try:
        if stat.S_ISLNK(st.st_mode):
            raise _NotOwn("a symbolic link")
        _check_own(st)
    except _NotOwn as why:
        if stat.S_ISDIR(st.st_mode):
            raise DownloadError(
                translate(
                    "Errors",
                    "{path} is a folder, so Hearth cannot keep its partial download there; "
                    "remove or rename that folder and download again.",
                ).format(path=path)
            ) from None
        log.warning("removing %s (%s) instead of writing through it", path, why)
        path.unlink()
        return None
    return st.st_size


def open_own(path: Path, *, create: bool) -> FileIO:
    """Open ``path`` for reading and writing without following a link at its name.

    ``create`` makes a new, empty file and fails if anything is at ``path`` (clear it with
    :func:`own_file_size` first); otherwise the file must exist and be a regular file of
    its own.
    """
    flags = os.O_RDWR | _FLAGS | (os.O_CREAT | os.O_EXCL if create else 0)
    return _open(path, flags)


def open_for_reading(path: Path) -> FileIO:
    """Open the regular file ``path`` read-only without following a link at its name."""
    return _open(path, os.O_RDONLY | _FLAGS)


def write_own(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, never writing through a link."""
    tmp = path.with_name(path.name + ".tmp")
    own_file_size(tmp)  # a leftover temporary file (or a link) is removed
    with open_own(tmp, create=True) as out:
        out.write(data)
    os.replace(tmp, path)  # replaces a link at ``path`` itself, not its target


def same_file(path: Path, opened: FileIO) -> bool:
    """Whether the name ``path`` (not followed) is still the file ``opened``."""
    try:
        named = os.lstat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(opened.fileno())
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _open(path: Path, flags: int) -> FileIO:
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise DownloadError(
                translate(
                    "Errors",
                    "{path} was replaced by a link or another file while Hearth was opening "
                    "it, so nothing was written to it; delete it and download again.",
                ).format(path=path)
            ) from exc
        raise
    try:
        _check_own(os.fstat(fd), writing=bool(flags & os.O_RDWR))
    except _NotOwn as why:
        os.close(fd)
        raise DownloadError(
            translate(
                "Errors",
                "{path} is {why}, so Hearth did not write to it; delete it and download again.",
            ).format(path=path, why=why)
        ) from None
    return FileIO(fd, "r+b" if flags & os.O_RDWR else "rb")
