"""Saved KV state files on disk, by conversation: named, counted and deleted.

A state file holds the keys and values of a conversation's tokens, that is, its content
in another form: it must never outlive the conversation. Each file's name carries a tag
of its conversation's key (``conversation_key``), so deleting a conversation deletes its
files whatever model or load made them, with or without a model loaded; replies without
a key (an API request, a private chat) are never written to disk.

Writers (the engine worker's ``KVStateStore``) and deleters (the window, Preferences)
may be different processes: both hold :func:`folder_lock` (a lock file in the folder),
so a file being written is either finished before a delete or never started after it.

This module imports no llama.cpp and no NumPy: the window uses it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".kvs"
PARTIAL = ".partial"
LOCK_NAME = ".lock"
_LOCK_TIMEOUT_S = 30.0


def conversation_key(conversation_id: int) -> str:
    """The KV key of a stored conversation (GenerationParams.kv_key)."""
    return f"conversation:{conversation_id}"


def key_tag(key: str) -> str:
    """The part of a state file's name that says which conversation it holds."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def state_name(identity_prefix: str, key: str, tokens_hash: str) -> str:
    """``<load identity>-<key tag>-<tokens hash>.kvs``."""
    return f"{identity_prefix}-{key_tag(key)}-{tokens_hash}{SUFFIX}"


def name_tag(path: Path) -> str | None:
    """The key tag in a state file's name (None: not a name this module makes)."""
    parts = path.name[: -len(SUFFIX)].split("-") if path.name.endswith(SUFFIX) else []
    return parts[1] if len(parts) == 3 and len(parts[1]) == 16 else None


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's lock (across processes) while files are written or deleted."""
    from filelock import FileLock

    from app.core.private import private_dir

    private_dir(folder)
    with FileLock(folder / LOCK_NAME, timeout=_LOCK_TIMEOUT_S):
        yield


def forget_files(folder: Path, keys: Iterable[str]) -> int:
    """Delete every state file of these conversations (of any load); how many."""
    tags = {key_tag(key) for key in keys}
    if not tags or not folder.is_dir():
        return 0
    removed = 0
    with folder_lock(folder):
        for path in folder.glob(f"*{SUFFIX}"):
            if name_tag(path) in tags:
                path.unlink(missing_ok=True)
                removed += 1
    if removed:
        log.info("deleted %d saved KV state file(s) with their conversation", removed)
    return removed


def clear_folder(folder: Path) -> int:
    """Delete every saved state (and any half-written one); how many files."""
    if not folder.is_dir():
        return 0
    removed = 0
    with folder_lock(folder):
        for path in [*folder.glob(f"*{SUFFIX}"), *folder.glob(f"*{PARTIAL}")]:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def folder_bytes(folder: Path) -> int:
    """The disk space the saved states take."""
    total = 0
    for path in folder.glob(f"*{SUFFIX}") if folder.is_dir() else ():
        try:
            total += path.stat().st_size
        except OSError:
            continue  # deleted meanwhile
    return total
