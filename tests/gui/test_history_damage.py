"""The window over a damaged history: every conversation still listed and searchable,
and one sentence saying what happened (a notice for a repair, an error for a loss)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.gui.conftest import MakeWindow
from tests.storage import pages
from tests.storage.history import build_history


def database(home: Path) -> Path:
    return home / "data" / "conversations.sqlite3"


def test_damaged_search_index_keeps_every_conversation(
    qtbot: QtBot, make_window: MakeWindow, hearth_home: Path
) -> None:
    build_history(database(hearth_home))
    tree = pages.tree(database(hearth_home), "messages_fts_data")
    pages.write_garbage(database(hearth_home), tree.leaves[0])
    win = make_window()
    assert len(win.window.sidebar.conversation_ids()) == 12
    assert win.window.notice_banner.isVisible() and not win.window.error_banner.isVisible()
    assert win.window.notice_banner.label.text() == (
        "Hearth found damage in the search index of the conversation database and repaired "
        "it; all 12 conversations and 288 messages were kept."
    )
    qtbot.keyClicks(win.window.sidebar.search, "lantern42")
    expected = {h.message_id for h in win.store.search("lantern42", limit=1000)}
    assert 0 < len(expected) < 50  # all shown: the sidebar lists up to 50
    assert win.window.sidebar.list.count() == len(expected)


def test_damaged_messages_are_salvaged_and_reported(
    make_window: MakeWindow, hearth_home: Path
) -> None:
    build_history(database(hearth_home))
    tree = pages.tree(database(hearth_home), "messages")
    lost = len(pages.leaf_rowids(database(hearth_home), tree.leaves[3]))
    pages.write_garbage(database(hearth_home), tree.leaves[3])
    win = make_window()
    assert len(win.window.sidebar.conversation_ids()) == 12
    assert win.window.error_banner.isVisible()
    text = win.window.error_banner.label.text()
    assert text.startswith(
        f"The conversation database was damaged: Hearth recovered 12 conversations and "
        f"{288 - lost} messages into a new database and kept the damaged file as "
        f"{database(hearth_home)}.corrupt-"
    )


def test_emptied_database_is_reported(make_window: MakeWindow, hearth_home: Path) -> None:
    build_history(database(hearth_home), conversations=2, messages=2)
    database(hearth_home).write_bytes(b"")
    win = make_window()
    assert win.window.sidebar.conversation_ids() == []
    assert win.window.error_banner.label.text() == (
        f"The conversation database {database(hearth_home)} was empty (0 bytes), though "
        "Hearth had saved conversations in it before; Hearth started a new history there "
        "(restore the file from a backup, or bring back an export with 'hearth import FILE')."
    )
