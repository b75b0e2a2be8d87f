"""The conversation history every front end that keeps one opens the same way."""

from __future__ import annotations

from app.composition.context import AppContext
from app.storage import ConversationStore, StorageNotice, default_database_path


def open_store(context: AppContext) -> tuple[ConversationStore, StorageNotice | None]:
    """Open (or repair) the history database; the notice says what opening it found."""
    return ConversationStore.open_resilient(default_database_path(context.paths))
