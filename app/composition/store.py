"""The conversation history, opened the same way by every front end that reads it."""

from __future__ import annotations

from app.core.paths import AppPaths
from app.storage import ConversationStore, StorageNotice, default_database_path


def open_store(
    paths: AppPaths, *, recover: bool = True
) -> tuple[ConversationStore, StorageNotice | None]:
    """Open (or repair) the history database; the notice says what opening it found.

    ``recover=False`` leaves a damaged file where it is (the history commands: a window
    may be writing to it right now).
    """
    return ConversationStore.open_resilient(default_database_path(paths), recover=recover)
