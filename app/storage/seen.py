"""A marker beside the conversation database: it has held conversations.

Without it a database that went missing or was emptied (a sync tool, a failing disk, a
restore gone wrong) would be replaced by a new one without a word. The marker
(``conversations.seen`` next to ``conversations.sqlite3``) is written when the first
conversation is saved, or when a database holding conversations is opened, and removed
once the loss has been reported, so the report comes once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from app.core.private import write_private_text

log = logging.getLogger(__name__)


def marker_path(database: Path) -> Path:
    """``conversations.seen`` for ``conversations.sqlite3`` (outside the database's
    own ``-wal``/``-shm``/``.corrupt-*`` names, so moving those never takes it along)."""
    return database.with_suffix(".seen")


def has_held_conversations(database: Path) -> bool:
    """Whether Hearth has saved conversations in ``database`` before."""
    return marker_path(database).exists()


def mark(database: Path) -> None:
    """Record that ``database`` holds conversations (kept if already there)."""
    marker = marker_path(database)
    if marker.exists():
        return
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        write_private_text(
            marker,
            f"Hearth saved conversations in {database.name} (first seen {stamp}). If that "
            "file goes missing or empty, Hearth says so instead of starting afresh "
            "silently.\n",
        )
    except OSError as exc:  # a read-only folder: the database itself would fail first
        log.warning("could not write %s: %s", marker, exc)


def forget(database: Path) -> None:
    """Remove the marker once its loss has been reported."""
    try:
        marker_path(database).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove %s: %s", marker_path(database), exc)
