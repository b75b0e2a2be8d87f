"""Damage on real SQLite files: the search index is rebuilt keeping everything, damaged
messages set the file aside with everything readable salvaged, and a database that
vanished or was emptied is reported once."""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app.storage import ConversationStore, StorageNotice
from app.storage.pagescan import table_leaf_rows
from app.storage.salvage import PLACEHOLDER_TITLE
from app.storage.seen import marker_path
from tests.storage import pages
from tests.storage.history import WORDS, build_history, messages_by_id, snapshot


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "conversations.sqlite3"


@pytest.fixture
def original(db_path: Path) -> dict[int, dict[str, Any]]:
    """A history of 12 conversations x 24 messages, closed (checkpointed), as it was."""
    build_history(db_path)
    with ConversationStore(db_path) as store:
        return snapshot(store)


def quick_check(path: Path) -> list[str]:
    """SQLite's findings (["ok"] when sound); a check that stops on the damage says so."""
    try:
        with sqlite3.connect(path) as conn:
            return [str(r[0]) for r in conn.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]


def all_messages(history: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {m["id"]: m for c in history.values() for m in c["messages"]}


def index_matches_messages(path: Path) -> None:
    """FTS5's own check that the index holds exactly the messages' text (raises if not)."""
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")


def set_aside(folder: Path) -> list[Path]:
    """The damaged files set aside (each with the -wal/-shm it had, not listed)."""
    return sorted(
        p
        for p in folder.iterdir()
        if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm"))
    )


def search_is_right(store: ConversationStore) -> None:
    """Searching each word finds exactly the finished messages that contain it."""
    everything = messages_by_id(store)
    for word in WORDS[:6]:
        term = f"{word}7"
        expected = {
            i for i, m in everything.items() if term in m["content"] and m["status"] != "streaming"
        }
        assert expected, term
        assert {h.message_id for h in store.search(term, limit=1000)} == expected


# -- the search index ------------------------------------------------------------------


def plain_selects_read_everything(path: Path, original: dict[int, dict[str, Any]]) -> None:
    """As in the report: the damage leaves every row readable with plain SELECTs."""
    with sqlite3.connect(path) as conn:
        n_messages = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        n_conversations = conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    assert n_conversations == len(original)
    assert n_messages == len(all_messages(original))


@pytest.mark.parametrize(
    ("table", "which"),
    [
        ("messages_fts_data", "leaf"),  # 'rebuild' and DROP fail: the index is replaced
        ("messages_fts_data", "root"),  # the FTS5 table cannot even be opened
        ("messages_fts_idx", "root"),
        ("messages_fts_docsize", "root"),
    ],
)
def test_damaged_search_index_is_rebuilt_keeping_every_conversation(
    db_path: Path, original: dict[int, dict[str, Any]], table: str, which: str
) -> None:
    tree = pages.tree(db_path, table)
    page = tree.leaves[len(tree.leaves) // 2] if which == "leaf" else tree.root
    assert page not in pages.tree(db_path, "messages").leaves
    pages.write_garbage(db_path, page)
    assert quick_check(db_path) != ["ok"]
    plain_selects_read_everything(db_path, original)

    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert isinstance(notice, StorageNotice)
        assert notice.kind == "repaired" and not notice.severe
        n_messages = len(all_messages(original))
        assert str(notice) == (
            "Hearth found damage in the search index of the conversation database and "
            f"repaired it; all {len(original)} conversations and {n_messages} messages "
            "were kept."
        )
        assert snapshot(store) == original
        search_is_right(store)
        # Still a working history: new messages are indexed by the recreated triggers.
        first = next(iter(original))
        added = store.add_message(first, "user", "zeppelin over the harbour")
        assert [h.message_id for h in store.search("zeppelin")] == [added]
    assert set_aside(db_path.parent) == []
    assert quick_check(db_path) == ["ok"]
    index_matches_messages(db_path)
    store, notice = ConversationStore.open_resilient(db_path)
    store.close()
    assert notice is None  # told once: the file is sound now


def test_index_damaged_while_running_is_rebuilt_by_search(
    db_path: Path, original: dict[int, dict[str, Any]]
) -> None:
    """The open-time check is skipped (as for a second process): the first search that
    meets the damage rebuilds the index and answers."""
    tree = pages.tree(db_path, "messages_fts_data")
    pages.write_garbage(db_path, tree.leaves[0])
    with ConversationStore(db_path, verify=False) as store:
        search_is_right(store)
        assert snapshot(store) == original
    assert quick_check(db_path) == ["ok"]
    index_matches_messages(db_path)


def test_rebuild_search_index_repairs_a_damaged_index(
    db_path: Path, original: dict[int, dict[str, Any]]
) -> None:
    pages.write_garbage(db_path, pages.tree(db_path, "messages_fts_data").root)
    with ConversationStore(db_path, verify=False) as store:
        store.rebuild_search_index()
        search_is_right(store)
    index_matches_messages(db_path)


def test_unused_damaged_pages_are_compacted_away(db_path: Path) -> None:
    """Garbage on a free page (a deleted conversation's) is no damage to the history."""
    build_history(db_path)
    with ConversationStore(db_path) as store:
        store.delete_conversation(store.list_conversations()[0].id)
        kept = snapshot(store)
    with sqlite3.connect(db_path) as conn:
        trunk = int.from_bytes(db_path.read_bytes()[32:36], "big")  # first free-list page
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] > 0 and trunk
    pages.write_garbage(db_path, trunk)
    assert quick_check(db_path) != ["ok"]
    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "repaired"
        assert "damage in the unused space of the conversation database" in str(notice)
        assert snapshot(store) == kept
    assert quick_check(db_path) == ["ok"]


# -- the messages ----------------------------------------------------------------------


def test_damaged_messages_page_sets_the_file_aside_and_salvages_the_rest(
    db_path: Path, original: dict[int, dict[str, Any]]
) -> None:
    tree = pages.tree(db_path, "messages")
    page = tree.leaves[len(tree.leaves) // 2]
    lost = set(pages.leaf_rowids(db_path, page))
    assert lost
    damaged = pages.write_garbage(db_path, page)

    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "salvaged" and notice.severe
        assert notice.moved_to is not None
        moved = Path(notice.moved_to)
        assert moved.read_bytes() == damaged  # kept as it was, byte for byte
        assert moved.parent == db_path.parent and moved.name.startswith(db_path.name)
        kept = all_messages(original)
        expected = {i: m for i, m in kept.items() if i not in lost}
        assert messages_by_id(store) == expected  # every readable message, exactly
        assert notice.messages == len(expected) == len(kept) - len(lost)
        assert notice.conversations == len(original)
        assert str(notice) == (
            f"The conversation database was damaged: Hearth recovered {len(original)} "
            f"conversations and {len(expected)} messages into a new database and kept "
            f"the damaged file as {moved}."
        )
        now = snapshot(store)
        for cid, conversation in original.items():  # titles, pins, settings, uid: all kept
            assert {k: v for k, v in now[cid].items() if k != "messages"} == {
                k: v for k, v in conversation.items() if k != "messages"
            }
        search_is_right(store)
        # Ids are never given twice: a new message comes after every old one.
        assert store.add_message(next(iter(original)), "user", "after") > max(kept)
    assert quick_check(db_path) == ["ok"]
    index_matches_messages(db_path)


def test_damaged_interior_page_loses_nothing_below_it(
    db_path: Path, original: dict[int, dict[str, Any]]
) -> None:
    """Garbage over the messages' root page cuts every leaf off the table; the page scan
    finds them all the same."""
    tree = pages.tree(db_path, "messages")
    assert tree.interior and tree.interior[0] == tree.root
    pages.write_garbage(db_path, tree.root)
    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "salvaged"
        assert snapshot(store) == original
        search_is_right(store)


def test_deleted_conversations_stay_deleted_after_a_salvage(db_path: Path) -> None:
    """A free page may still hold deleted rows (SQLite built without secure delete
    leaves them); the page scan must not bring them back."""
    build_history(db_path)
    with ConversationStore(db_path) as store:
        gone = store.list_conversations()[-1].id  # the first created: the lowest rowids
    tree = pages.tree(db_path, "messages")
    before = db_path.read_bytes()
    stale_page = next(
        n for n in tree.leaves if set(pages.leaf_rowids(db_path, n)) <= set(range(1, 25))
    )
    with ConversationStore(db_path) as store:
        deleted = {m.id for m in store.get_messages(gone)}
        store.delete_conversation(gone)
        kept = snapshot(store)
    free = pages.free_pages(db_path)
    assert free
    # A deleted leaf, as it was, on a free page.
    size = pages.page_size(before)
    data = bytearray(db_path.read_bytes())
    target = sorted(free)[-1]
    data[(target - 1) * size : target * size] = before[(stale_page - 1) * size : stale_page * size]
    db_path.write_bytes(bytes(data))
    assert set(pages.leaf_rowids(db_path, target)) & deleted
    message_rows = {
        r.rowid
        for r in table_leaf_rows(db_path)
        if len(r.values) == 12 and isinstance(r.values[1], int) and r.values[2] == "user"
    }
    assert message_rows and not message_rows & deleted

    pages.write_garbage(db_path, pages.tree(db_path, "messages").root)
    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "salvaged"
        assert snapshot(store) == kept


def test_damaged_conversations_page_keeps_their_messages(
    db_path: Path, original: dict[int, dict[str, Any]]
) -> None:
    """The conversations' only page is lost: every message is still recovered, under
    conversations recreated with their ids and times."""
    pages.write_garbage(db_path, pages.tree(db_path, "conversations").root)
    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "salvaged"
        now = snapshot(store)
        assert set(now) == set(original)
        for cid, conversation in original.items():
            assert now[cid]["title"] == PLACEHOLDER_TITLE
            assert now[cid]["messages"] == conversation["messages"]
            times = [m["created_at"] for m in conversation["messages"]]
            assert (now[cid]["created_at"], now[cid]["updated_at"]) == (min(times), max(times))


def test_commits_still_in_the_wal_are_salvaged(
    db_path: Path, original: dict[int, dict[str, Any]], tmp_path: Path
) -> None:
    """Killed with commits in the -wal only, and a damaged page in the file: the salvage
    reads the file with its WAL, so the latest messages are kept too."""
    first_leaf = pages.tree(db_path, "messages").leaves[0]  # old rows, untouched below
    lost = set(pages.leaf_rowids(db_path, first_leaf))
    crashed = tmp_path / "crashed" / db_path.name
    crashed.parent.mkdir()
    with ConversationStore(db_path) as store:
        late = [store.add_message(next(iter(original)), "user", f"late {n}") for n in range(5)]
        # The state a kill -9 leaves: the file and a -wal holding the late commits.
        for suffix in ("", "-wal"):
            shutil.copyfile(f"{db_path}{suffix}", f"{crashed}{suffix}")
    with sqlite3.connect(f"{crashed.as_uri()}?immutable=1", uri=True) as conn:
        in_file = {r[0] for r in conn.execute("SELECT id FROM messages")}
    assert not set(late) & in_file  # only the WAL has them
    pages.write_garbage(crashed, first_leaf)

    store, notice = ConversationStore.open_resilient(crashed)
    with store:
        assert notice is not None and notice.kind == "salvaged"
        salvaged = messages_by_id(store)
    assert set(late) <= set(salvaged)
    assert set(salvaged) == set(all_messages(original)) - lost | set(late)


def test_garbage_over_many_pages_never_stops_the_salvage(
    db_path: Path, original: dict[int, dict[str, Any]]
) -> None:
    """25 random pages overwritten: no error, and nothing invented — each message kept
    is exactly the one that had its id."""
    n_pages = db_path.stat().st_size // pages.page_size(db_path.read_bytes())
    for page in random.Random(7).sample(range(2, n_pages + 1), 25):
        pages.write_garbage(db_path, page, seed=page)
    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "salvaged"
        salvaged = messages_by_id(store)
        conversations = snapshot(store)
    before = all_messages(original)
    assert salvaged and all(before[i] == m for i, m in salvaged.items())
    assert notice.messages == len(salvaged)
    for cid, conversation in conversations.items():
        assert conversation["title"] in (original[cid]["title"], PLACEHOLDER_TITLE)


def test_garbage_over_the_schema_page_sets_aside_and_starts_empty(
    db_path: Path, original: dict[int, dict[str, Any]]
) -> None:
    damaged = pages.write_garbage(db_path, 1)
    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "salvaged"
        assert store.list_conversations() == []
        assert str(notice) == (
            "The conversation database was damaged beyond reading, so Hearth started an "
            f"empty history and kept the damaged file as {notice.moved_to} (other "
            "recovery tools may get more out of it)."
        )
    assert Path(str(notice.moved_to)).read_bytes() == damaged


def test_a_second_damaged_file_never_replaces_the_first(
    db_path: Path, original: dict[int, dict[str, Any]]
) -> None:
    moved: list[Path] = []
    for round_ in range(2):
        if round_:
            build_history(db_path, conversations=3)
        tree = pages.tree(db_path, "messages")
        damaged = pages.write_garbage(db_path, tree.leaves[0], seed=round_)
        store, notice = ConversationStore.open_resilient(db_path)
        store.close()
        assert notice is not None and notice.moved_to is not None
        moved.append(Path(notice.moved_to))
        assert moved[-1].read_bytes() == damaged
    assert moved[0] != moved[1] and moved[0].exists()
    assert set_aside(db_path.parent) == sorted(moved)


# -- missing and empty -------------------------------------------------------------------


def test_emptied_database_is_reported_once(
    db_path: Path, original: dict[int, dict[str, Any]]
) -> None:
    assert marker_path(db_path).exists()  # written when the first conversation was saved
    db_path.write_bytes(b"")
    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is not None and notice.kind == "emptied" and notice.severe
        assert str(notice) == (
            f"The conversation database {db_path} was empty (0 bytes), though Hearth had "
            "saved conversations in it before; Hearth started a new history there "
            "(restore the file from a backup, or bring back an export with "
            "'hearth import FILE')."
        )
        assert store.list_conversations() == []
    store, notice = ConversationStore.open_resilient(db_path)
    with store:
        assert notice is None  # once
        store.create_conversation("a new start")
    assert marker_path(db_path).exists()  # armed again for the new history


def test_missing_database_is_reported_once(
    db_path: Path, original: dict[int, dict[str, Any]]
) -> None:
    db_path.unlink()
    store, notice = ConversationStore.open_resilient(db_path)
    store.close()
    assert notice is not None and notice.kind == "missing"
    assert f"The conversation database {db_path} was missing, though" in str(notice)
    store, notice = ConversationStore.open_resilient(db_path)
    store.close()
    assert notice is None


def test_a_first_start_is_not_reported(db_path: Path) -> None:
    for _ in range(2):
        store, notice = ConversationStore.open_resilient(db_path)
        store.close()
        assert notice is None
    assert not marker_path(db_path).exists()  # no conversation was ever saved


def test_a_database_from_before_the_marker_gets_one_on_open(db_path: Path) -> None:
    build_history(db_path, conversations=1, messages=2)
    marker_path(db_path).unlink()
    ConversationStore(db_path).close()
    assert marker_path(db_path).exists()
