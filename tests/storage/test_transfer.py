"""``hearth export --all`` and ``hearth import FILE`` on real databases, in process and
through the CLI: the round trip gives back equal conversations, a second import adds
nothing, and damage found on the way is reported in one sentence."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import StorageError
from app.storage import ConversationStore, default_database_path
from app.storage.export import (
    ALL_FORMAT,
    export_all,
    markdown_file_name,
    save_export,
    to_markdown,
)
from app.storage.importer import ImportResult, import_file
from tests.storage import pages
from tests.storage.history import build_history, snapshot

REPO = Path(__file__).resolve().parents[2]
N_CONVERSATIONS, N_MESSAGES = 12, 12 * 24


def exact(timestamp: float) -> str:
    """A time to the microsecond, as the export keeps it."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="microseconds")


def comparable(store: ConversationStore) -> list[dict[str, Any]]:
    """Every conversation in the sidebar's order, with everything but the local ids."""
    out = []
    for conversation in snapshot(store).values():
        record = {k: v for k, v in conversation.items() if k not in ("id", "messages")}
        record["created_at"] = exact(conversation["created_at"])
        record["updated_at"] = exact(conversation["updated_at"])
        record["messages"] = [
            {
                **{k: v for k, v in m.items() if k not in ("id", "conversation_id")},
                "created_at": exact(m["created_at"]),
            }
            for m in conversation["messages"]
        ]
        out.append(record)
    return out


def without_ids(document: dict[str, Any]) -> list[dict[str, Any]]:
    records = []
    for record in document["conversations"]:
        head = {k: v for k, v in record["conversation"].items() if k != "id"}
        messages = [{k: v for k, v in m.items() if k != "id"} for m in record["messages"]]
        records.append({"conversation": head, "messages": messages})
    return records


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "a" / "conversations.sqlite3"
    build_history(path)
    return path


def test_round_trip_gives_equal_conversations(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    with ConversationStore(source) as store:
        result = export_all(store, "json", out)
        before = comparable(store)
    assert (result.path, result.conversations, result.messages) == (
        out,
        N_CONVERSATIONS,
        N_MESSAGES,
    )
    document = json.loads(out.read_text(encoding="utf-8"))
    assert (document["format"], document["version"]) == (ALL_FORMAT, 1)

    target = tmp_path / "b" / "conversations.sqlite3"
    with ConversationStore(target) as empty:
        assert import_file(empty, out) == ImportResult(N_CONVERSATIONS, 0, N_MESSAGES)
        after = comparable(empty)
        again = export_all(empty, "json", tmp_path / "again.json")
        hits = empty.search("harbour42", limit=1000)
        assert hits and all("harbour42" in empty.get_message(h.message_id).content for h in hits)
    with sqlite3.connect(target) as conn:  # the index holds exactly the imported text
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
    # Titles, messages, roles, order, times, settings, models, stats, params, pins, uids.
    assert after == before
    assert any(c["pinned"] for c in after) and any(c["settings"] for c in after)
    assert {m["status"] for c in after for m in c["messages"]} == {"complete", "stopped", "error"}
    assert without_ids(json.loads(again.path.read_text(encoding="utf-8"))) == without_ids(document)


def test_importing_the_same_file_twice_adds_nothing(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    with ConversationStore(source) as store:
        export_all(store, "json", out)
        before = comparable(store)
        # Into the history it came from: everything is already there.
        assert import_file(store, out) == ImportResult(0, N_CONVERSATIONS, 0)
        assert comparable(store) == before
    with ConversationStore(tmp_path / "b" / "conversations.sqlite3") as other:
        import_file(other, out)
        assert import_file(other, out) == ImportResult(0, N_CONVERSATIONS, 0)
        assert len(other.list_conversations()) == N_CONVERSATIONS


def test_an_export_without_uids_imports_once_too(source: Path, tmp_path: Path) -> None:
    """Exports written before conversations had uids get a stable one from their content."""
    out = tmp_path / "export.json"
    with ConversationStore(source) as store:
        export_all(store, "json", out)
    document = json.loads(out.read_text(encoding="utf-8"))
    for record in document["conversations"]:
        del record["conversation"]["uid"]
    out.write_text(json.dumps(document), encoding="utf-8")
    with ConversationStore(tmp_path / "b" / "conversations.sqlite3") as other:
        assert import_file(other, out).added == N_CONVERSATIONS
        assert import_file(other, out) == ImportResult(0, N_CONVERSATIONS, 0)


def test_a_single_conversation_export_is_imported(source: Path, tmp_path: Path) -> None:
    with ConversationStore(source) as store:
        conversation = store.list_conversations()[0]
        save_export(store, conversation.id, tmp_path / "one.json")
        messages = store.get_messages(conversation.id)
    with ConversationStore(tmp_path / "b" / "conversations.sqlite3") as other:
        assert import_file(other, tmp_path / "one.json") == ImportResult(1, 0, len(messages))
        (imported,) = other.list_conversations()
        assert (imported.title, imported.uid) == (conversation.title, conversation.uid)
        assert [m.content for m in other.get_messages(imported.id)] == [m.content for m in messages]
        assert import_file(other, tmp_path / "one.json").skipped == 1


def test_markdown_export_writes_one_readable_file_per_conversation(
    source: Path, tmp_path: Path
) -> None:
    with ConversationStore(source) as store:
        result = export_all(store, "markdown", tmp_path / "md")
        conversations = store.list_conversations()
        expected = {
            markdown_file_name(c): to_markdown(c, store.get_messages(c.id)) for c in conversations
        }
        single = export_all(store, "markdown", tmp_path / "all.md")
    files = sorted((tmp_path / "md").iterdir())
    assert len(files) == N_CONVERSATIONS == result.conversations
    assert {f.name: f.read_text(encoding="utf-8") for f in files} == expected
    assert all(f.suffix == ".md" and f.name[:4].isdigit() for f in files)
    text = single.path.read_text(encoding="utf-8")
    assert all(f"# {c.title}\n" in text for c in conversations)


def test_json_export_into_a_folder_gets_a_dated_name(source: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    with ConversationStore(source) as store:
        result = export_all(store, "json", folder)
    assert result.path.parent == folder
    assert result.path.name.startswith("hearth-export-") and result.path.suffix == ".json"
    assert not list(folder.glob("*.partial"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "not json at all",
            "{path} is not a Hearth export (it is not JSON text); nothing was imported.",
        ),
        (
            '{"hello": 1}',
            "{path} is not a Hearth export (Hearth imports only the JSON files of its own "
            "'hearth export' or Export); nothing was imported.",
        ),
        (
            '{"format": "hearth.export", "version": 9, "conversations": []}',
            "{path} was written by a newer Hearth (export version 9); update Hearth to import it.",
        ),
        (
            json.dumps(
                {
                    "format": "hearth.export",
                    "version": 1,
                    "conversations": [
                        {
                            "conversation": {
                                "title": "Fine",
                                "created_at": "2025-01-01T00:00:00+00:00",
                            },
                            "messages": [],
                        },
                        {
                            "conversation": {
                                "title": "Bad",
                                "created_at": "2025-01-01T00:00:00+00:00",
                            },
                            "messages": [
                                {
                                    "role": "user",
                                    "content": "a",
                                    "created_at": "2025-01-01T00:00:00",
                                },
                                {
                                    "role": "robot",
                                    "content": "b",
                                    "created_at": "2025-01-01T00:00:00",
                                },
                            ],
                        },
                    ],
                }
            ),
            "{path} cannot be imported: message 2 of conversation 2 (“Bad”) has the role "
            "'robot' (system, user or assistant); nothing was imported.",
        ),
    ],
    ids=["not-json", "not-hearth", "newer", "bad-role"],
)
def test_a_file_that_is_not_a_hearth_export_imports_nothing(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "in.json"
    path.write_text(content, encoding="utf-8")
    with ConversationStore(tmp_path / "b" / "conversations.sqlite3") as store:
        with pytest.raises(StorageError) as caught:
            import_file(store, path)
        assert str(caught.value) == message.format(path=path)
        assert store.list_conversations() == []


# -- the CLI ---------------------------------------------------------------------------


def hearth(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def history_home(root: Path) -> Path:
    home = root / "home-a"
    build_history(default_database_path_in(home))
    return home


def default_database_path_in(home: Path) -> Path:
    return home / "data" / "conversations.sqlite3"


def test_cli_export_and_import_round_trip(tmp_path: Path) -> None:
    home_a, home_b = history_home(tmp_path), tmp_path / "home-b"
    out = tmp_path / "all.json"
    result = hearth(home_a, "export", "--all", "--out", str(out))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"Exported 12 conversations (288 messages) to {out}.\n"

    result = hearth(home_b, "import", str(out))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"Imported 12 conversations (288 messages) from {out}.\n"
    result = hearth(home_b, "import", str(out))
    assert result.returncode == 0
    assert result.stdout == (
        f"Imported 0 conversations (0 messages) from {out}; 12 conversations already in "
        "your history were left as they are.\n"
    )
    with (
        ConversationStore(default_database_path_in(home_a)) as a,
        ConversationStore(default_database_path_in(home_b)) as b,
    ):
        assert comparable(a) == comparable(b)


def test_cli_markdown_export(tmp_path: Path) -> None:
    home = history_home(tmp_path)
    result = hearth(home, "export", "--all", "--format", "markdown", "--out", str(tmp_path / "md"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Exported 12 conversations (288 messages) to {tmp_path / 'md'}.\n"
    assert len(list((tmp_path / "md").glob("*.md"))) == 12


def test_cli_says_in_one_sentence_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text("[1, 2, 3]", encoding="utf-8")
    result = hearth(tmp_path / "home", "import", str(bad))
    assert result.returncode == 1
    assert result.stderr == (
        f"hearth: {bad} is not a Hearth export (Hearth imports only the JSON files of its "
        "own 'hearth export' or Export); nothing was imported.\n"
    )
    result = hearth(tmp_path / "home", "export")
    assert result.returncode == 2 and "--all" in result.stderr


def test_cli_reports_a_repaired_index_and_exports_everything(tmp_path: Path) -> None:
    home = history_home(tmp_path)
    database = default_database_path_in(home)
    pages.write_garbage(database, pages.tree(database, "messages_fts_data").leaves[0])
    result = hearth(home, "export", "--all", "--out", str(tmp_path / "all.json"))
    assert result.returncode == 0
    assert result.stderr == (
        "hearth: Hearth found damage in the search index of the conversation database and "
        "repaired it; all 12 conversations and 288 messages were kept.\n"
    )
    assert result.stdout.startswith("Exported 12 conversations (288 messages)")


def test_cli_reports_an_emptied_database(tmp_path: Path) -> None:
    home = history_home(tmp_path)
    database = default_database_path_in(home)
    database.write_bytes(b"")
    result = hearth(home, "export", "--all", "--out", str(tmp_path / "all.json"))
    assert result.returncode == 0
    assert result.stderr == (
        f"hearth: The conversation database {database} was empty (0 bytes), though Hearth "
        "had saved conversations in it before; Hearth started a new history there (restore "
        "the file from a backup, or bring back an export with 'hearth import FILE').\n"
    )
    assert result.stdout.startswith("Exported 0 conversations")
    assert hearth(home, "export", "--all", "--out", str(tmp_path / "b.json")).stderr == ""


def test_default_database_path_is_where_the_cli_looks(hearth_home: Path) -> None:
    assert default_database_path() == default_database_path_in(hearth_home)
