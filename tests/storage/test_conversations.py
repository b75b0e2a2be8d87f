"""ConversationStore on real SQLite files: schema, messages, streaming, search, export."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.errors import ERROR_KINDS, StorageError
from app.core.generation import GenerationParams, GenerationStats
from app.storage import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    LATEST_VERSION,
    ConversationStore,
    DatabaseCorruptError,
    DatabaseTooNewError,
    FlushPolicy,
    default_database_path,
    derive_title,
    params_from_dict,
    params_to_dict,
    schema,
)
from app.storage.export import (
    EXPORT_FORMAT,
    close_open_fence,
    save_export,
    to_dict,
    to_json,
    to_markdown,
)


class FakeClock:
    """Both clocks of the store: time moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "conversations.sqlite3"


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[ConversationStore]:
    with ConversationStore(
        db_path,
        flush_policy=FlushPolicy(interval_s=0.25, max_chars=100),
        clock=clock,
        monotonic=clock,
    ) as s:
        yield s


def raw(path: Path) -> sqlite3.Connection:
    """An independent connection: sees only what the store has committed."""
    return sqlite3.connect(path)


def stored_content(path: Path, message_id: int) -> str:
    with raw(path) as conn:
        row = conn.execute("SELECT content FROM messages WHERE id = ?", (message_id,)).fetchone()
    return str(row[0])


def fts_in_sync(path: Path) -> None:
    """FTS5's own check that the index matches the messages table exactly."""
    with raw(path) as conn:
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")


STATS = GenerationStats(
    prompt_tokens=12,
    completion_tokens=34,
    ttft_s=0.25,
    tokens_per_s=41.5,
    total_s=1.1,
    n_gpu_layers=0,
    n_ctx=4096,
    backend="cpu",
)


# -- opening, migrations, damage -----------------------------------------------------------


def test_new_file_gets_latest_schema_wal_and_builtin_presets(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        presets = store.list_presets()
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert len(presets) >= 3
    assert all(p.builtin for p in presets)
    assert "Assistant" in {p.name for p in presets}


def test_empty_existing_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()
    with ConversationStore(path) as store:
        assert store.list_conversations() == []
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION


def test_reopen_keeps_data_and_runs_no_migration_twice(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("Kept")
        store.add_message(conversation.id, "user", "still here")
        n_presets = len(store.list_presets())
    with ConversationStore(db_path) as store:
        assert [c.title for c in store.list_conversations()] == ["Kept"]
        assert store.get_messages(conversation.id)[0].content == "still here"
        assert len(store.list_presets()) == n_presets


def test_foreign_keys_are_on(store: ConversationStore) -> None:
    with pytest.raises(StorageError, match="Conversation 999 does not exist"):
        store.add_message(999, "user", "orphan")
    assert store._conn is not None
    assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_newer_schema_is_refused_and_left_untouched(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with raw(db_path) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    before = db_path.read_bytes()
    with pytest.raises(DatabaseTooNewError, match=r"newer Hearth.*Update Hearth"):
        ConversationStore(db_path)
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]
    assert ERROR_KINDS["StorageError"] is StorageError


def test_garbage_file_is_moved_aside_and_a_fresh_one_opens(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    garbage = b"this is not an SQLite database at all\n" * 200
    db_path.write_bytes(garbage)
    with pytest.raises(DatabaseCorruptError, match="damaged") as caught:
        ConversationStore(db_path)
    moved = Path(caught.value.moved_to)
    assert moved.read_bytes() == garbage  # kept, byte for byte
    assert str(moved) in str(caught.value)
    assert not db_path.exists()
    with ConversationStore(db_path) as store:
        assert store.list_conversations() == []


def test_damaged_page_is_detected_and_moved_aside(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation("x")
        for _ in range(40):
            store.add_message(conversation.id, "user", "hello " * 100)
    data = bytearray(db_path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[2 * page_size : 3 * page_size] = b"\xab" * page_size
    db_path.write_bytes(bytes(data))

    store, error = ConversationStore.open_resilient(db_path)
    with store:
        assert error is not None and error.moved_to is not None
        assert Path(error.moved_to).read_bytes() == bytes(data)
        # Page 3 is the id counters' table: every conversation and message is salvaged.
        assert [c.title for c in store.list_conversations()] == ["x"]
        assert len(store.get_messages(conversation.id)) == 40
        assert (error.conversations, error.messages) == (1, 40)


def test_failed_migration_rolls_back_everything(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ConversationStore(db_path).close()
    broken = ("CREATE TABLE half_done (x)", "ALTER TABLE no_such_table ADD COLUMN y")
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    monkeypatch.setattr(schema, "LATEST_VERSION", LATEST_VERSION + 1)
    with pytest.raises(StorageError, match="could not be upgraded"):
        schema.migrate(raw_autocommit(db_path))
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables


def test_pending_migration_is_applied(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ConversationStore(db_path).close()
    extra = ("ALTER TABLE conversations ADD COLUMN colour TEXT",)
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, extra))
    monkeypatch.setattr(schema, "LATEST_VERSION", LATEST_VERSION + 1)
    assert schema.migrate(raw_autocommit(db_path)) == (LATEST_VERSION, LATEST_VERSION + 1)
    with raw(db_path) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(conversations)")}
    assert "colour" in columns


def test_a_version_1_file_gives_every_conversation_a_uid(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = raw_autocommit(db_path)
    for statement in schema.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    for n in range(3):
        conn.execute(
            "INSERT INTO conversations (title, created_at, updated_at) VALUES (?, 1, 1)",
            (f"old {n}",),
        )
    conn.close()
    with ConversationStore(db_path) as store:
        uids = [c.uid for c in store.list_conversations()]
        assert len(set(uids)) == 3 and all(len(u) == 32 for u in uids)
        assert store.create_conversation("new").uid not in uids
    with raw(db_path) as check, pytest.raises(sqlite3.IntegrityError):
        check.execute("UPDATE conversations SET uid = ? WHERE title = 'old 1'", (uids[0],))


def raw_autocommit(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_streaming_reply_left_by_a_dead_app_becomes_stopped(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        conversation = store.create_conversation()
        store.add_message(conversation.id, "user", "tell me about owls")
        reply = store.begin_reply(conversation.id, "smollm2")
        store.append_reply(reply, "Owls are nocturnal")
        store.flush()
        assert store.search("nocturnal") == []  # not indexed while streaming
        # No finish_reply: the app "died" here (close only writes the buffer).
    with ConversationStore(db_path) as store:
        assert store.recovered_replies == 1
        message = store.get_message(reply)
        assert (message.status, message.content) == ("stopped", "Owls are nocturnal")
        assert [h.message_id for h in store.search("nocturnal")] == [reply]
    fts_in_sync(db_path)


def test_closed_store_says_so(db_path: Path) -> None:
    store = ConversationStore(db_path)
    store.close()
    store.close()
    with pytest.raises(StorageError, match="closed"):
        store.list_conversations()


def test_default_path_is_in_the_data_dir(hearth_home: Path) -> None:
    assert default_database_path() == hearth_home / "data" / "conversations.sqlite3"


# -- conversations -----------------------------------------------------------------------


def test_create_get_rename_pin_model_prompt(store: ConversationStore, clock: FakeClock) -> None:
    created = store.create_conversation("  First  ", model="m1", system_prompt="Be brief.")
    assert (created.title, created.model, created.system_prompt) == ("First", "m1", "Be brief.")
    assert created.created_at == created.updated_at == clock.now
    store.rename_conversation(created.id, "Renamed")
    store.set_pinned(created.id, True)
    store.set_conversation_model(created.id, "m2")
    store.set_system_prompt(created.id, None)
    got = store.get_conversation(created.id)
    assert (got.title, got.pinned, got.model, got.system_prompt) == ("Renamed", True, "m2", None)
    with pytest.raises(StorageError, match="does not exist"):
        store.rename_conversation(12345, "x")


def test_list_is_pinned_first_then_most_recent(store: ConversationStore, clock: FakeClock) -> None:
    a = store.create_conversation("a")
    clock.advance(1)
    b = store.create_conversation("b")
    clock.advance(1)
    c = store.create_conversation("c")
    clock.advance(1)
    store.add_message(a.id, "user", "activity bumps a")
    assert [x.title for x in store.list_conversations()] == ["a", "c", "b"]
    store.set_pinned(b.id, True)
    assert [x.title for x in store.list_conversations()] == ["b", "a", "c"]
    assert [x.title for x in store.list_conversations(limit=2)] == ["b", "a"]
    assert c.id in {x.id for x in store.list_conversations()}


def test_delete_cascades_to_messages_and_search_index(
    store: ConversationStore, db_path: Path
) -> None:
    keep = store.create_conversation("keep")
    doomed = store.create_conversation("doomed")
    store.add_message(keep.id, "user", "zebra crossing")
    store.add_message(doomed.id, "user", "zebra stripes")
    store.add_message(doomed.id, "assistant", "zebras are striped")
    assert store.delete_conversation(doomed.id) is True
    assert store.delete_conversation(doomed.id) is False
    assert store.get_messages(doomed.id) == []
    with raw(db_path) as conn:
        assert conn.execute(
            "SELECT count(*) FROM messages WHERE conversation_id = ?", (doomed.id,)
        ).fetchone() == (0,)
        # Count straight from the index: a stale entry would still match here.
        assert conn.execute(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '\"zebra\"'"
        ).fetchone() == (1,)
    assert [h.conversation_id for h in store.search("zebra")] == [keep.id]
    fts_in_sync(db_path)


def test_settings_are_merged_and_remembered(store: ConversationStore, db_path: Path) -> None:
    conversation = store.create_conversation(settings={"preset": "Concise", "n_ctx": 2048})
    merged = store.update_conversation_settings(
        conversation.id,
        {
            "n_ctx": 8192,
            "gpu_layers": 20,
            "preset": None,
            "params": params_to_dict(
                GenerationParams(temperature=0.2, stop=("###",), logit_bias=((5, -100.0),))
            ),
        },
    )
    assert merged["n_ctx"] == 8192 and "preset" not in merged
    store.close()
    with ConversationStore(db_path) as reopened:
        settings = reopened.get_conversation_settings(conversation.id)
    assert settings == merged
    assert params_from_dict(settings["params"]) == GenerationParams(
        temperature=0.2, stop=("###",), logit_bias=((5, -100.0),)
    )
    with pytest.raises(StorageError):
        reopened.update_conversation_settings(conversation.id, {"x": 1})  # closed


# -- messages ----------------------------------------------------------------------------


def test_messages_round_trip_in_order(store: ConversationStore) -> None:
    conversation = store.create_conversation("t")
    ids = [
        store.add_message(conversation.id, "system", "sys"),
        store.add_message(conversation.id, "user", "hi"),
        store.add_message(
            conversation.id,
            "assistant",
            "hello",
            model="smollm2",
            stats=STATS,
            params=GenerationParams(seed=7),
        ),
    ]
    messages = store.get_messages(conversation.id)
    assert [m.id for m in messages] == ids == sorted(ids)
    assert [m.as_message() for m in messages] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    last = messages[-1]
    assert last.status == "complete" and last.model == "smollm2"
    assert last.stats == STATS.to_dict()
    assert last.params is not None and params_from_dict(last.params).seed == 7
    with pytest.raises(ValueError, match="role"):
        store.add_message(conversation.id, "tool", "x")  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="Message 999"):
        store.get_message(999)


def test_title_comes_from_the_first_user_message(store: ConversationStore) -> None:
    conversation = store.create_conversation()
    store.add_message(conversation.id, "system", "You are terse.")
    store.add_message(conversation.id, "user", "## How do   magnets work?\nAsking for a friend.")
    store.add_message(conversation.id, "user", "And why?")
    assert store.get_conversation(conversation.id).title == "How do magnets work?"
    named = store.create_conversation("My name")
    store.add_message(named.id, "user", "something else")
    assert store.get_conversation(named.id).title == "My name"


def test_derive_title() -> None:
    assert derive_title("```python\nprint(1)\n```") == "print(1)"
    assert derive_title("\n\n  - first item  ") == "first item"
    assert derive_title("   ") == ""
    long = derive_title("word " * 40)
    assert long.endswith("…") and len(long) <= 60 and not long[:-1].endswith(" ")
    chinese = derive_title("请" * 100)
    assert chinese == "请" * 59 + "…"


def test_edit_message_replaces_text_and_drops_what_followed(
    store: ConversationStore, db_path: Path
) -> None:
    conversation = store.create_conversation("t")
    first = store.add_message(conversation.id, "user", "What is 2+2?")
    store.add_message(conversation.id, "assistant", "five")
    other = store.create_conversation("other")
    untouched = store.add_message(other.id, "user", "unrelated")
    assert store.edit_message(first, "What is 3+3?") == 1
    messages = store.get_messages(conversation.id)
    assert [(m.id, m.content) for m in messages] == [(first, "What is 3+3?")]
    assert store.get_message(untouched).content == "unrelated"
    assert store.search("2+2") == [] and len(store.search("3+3")) == 1
    fts_in_sync(db_path)


def test_delete_messages_after(store: ConversationStore) -> None:
    conversation = store.create_conversation("t")
    ids = [store.add_message(conversation.id, "user", f"m{i}") for i in range(4)]
    assert store.delete_messages_after(ids[1]) == 2
    assert [m.id for m in store.get_messages(conversation.id)] == ids[:2]
    assert store.delete_messages_after(ids[1]) == 0
    with pytest.raises(StorageError):
        store.delete_messages_after(ids[3])


# -- streaming replies -------------------------------------------------------------------


def test_deltas_are_buffered_until_the_interval_passes(
    store: ConversationStore, db_path: Path, clock: FakeClock
) -> None:
    conversation = store.create_conversation("t")
    reply = store.begin_reply(conversation.id, "smollm2", params=GenerationParams(top_k=5))
    assert store.get_message(reply).status == "streaming"
    store.append_reply(reply, "Hel")
    clock.advance(0.125)
    store.append_reply(reply, "lo")
    assert stored_content(db_path, reply) == ""  # nothing written yet
    assert store.unflushed_chars == 5
    assert store.get_message(reply).content == "Hello"  # the store's own view has it
    clock.advance(0.125)  # the oldest delta is now 0.25 s old
    store.append_reply(reply, ",")
    assert stored_content(db_path, reply) == "Hello,"
    assert store.unflushed_chars == 0


def test_a_large_buffer_is_written_at_once(store: ConversationStore, db_path: Path) -> None:
    conversation = store.create_conversation("t")
    reply = store.begin_reply(conversation.id, None)
    store.append_reply(reply, "x" * 99)
    assert stored_content(db_path, reply) == ""
    store.append_reply(reply, "y")  # 100 chars = max_chars
    assert stored_content(db_path, reply) == "x" * 99 + "y"


def test_flush_if_due_covers_a_stalled_stream(
    store: ConversationStore, db_path: Path, clock: FakeClock
) -> None:
    conversation = store.create_conversation("t")
    reply = store.begin_reply(conversation.id, None)
    assert store.flush_if_due() is False
    store.append_reply(reply, "slow")
    clock.advance(0.125)
    assert store.flush_if_due() is False
    clock.advance(0.125)
    assert store.flush_if_due() is True
    assert stored_content(db_path, reply) == "slow"


def test_finish_reply_writes_the_rest_status_and_stats(
    store: ConversationStore, db_path: Path, clock: FakeClock
) -> None:
    conversation = store.create_conversation("t")
    clock.advance(5)
    reply = store.begin_reply(conversation.id, "smollm2")
    store.append_reply(reply, "The answer ")
    store.append_reply(reply, "is 42.")
    clock.advance(0.05)
    store.finish_reply(reply, "complete", STATS)
    assert store.unflushed_chars == 0
    with raw(db_path) as conn:
        row = conn.execute(
            "SELECT content, status, stats_json FROM messages WHERE id = ?", (reply,)
        ).fetchone()
    assert row[:2] == ("The answer is 42.", "complete")
    assert json.loads(row[2])["tokens_per_s"] == 41.5
    assert store.get_conversation(conversation.id).updated_at == clock.now
    assert [h.message_id for h in store.search("answer is")] == [reply]
    # A token racing the stop, and a second finish, change nothing.
    store.append_reply(reply, " late")
    store.finish_reply(reply, "error")
    assert store.get_message(reply).content == "The answer is 42."
    assert store.get_message(reply).status == "complete"
    fts_in_sync(db_path)


def test_stopped_reply_keeps_partial_text(store: ConversationStore) -> None:
    conversation = store.create_conversation("t")
    reply = store.begin_reply(conversation.id, None)
    store.append_reply(reply, "partial")
    store.finish_reply(reply, "stopped", {"tokens_per_s": float("nan")})
    message = store.get_message(reply)
    assert (message.content, message.status) == ("partial", "stopped")
    assert message.stats == {"tokens_per_s": None}  # NaN is not JSON
    with pytest.raises(ValueError, match="final status"):
        store.finish_reply(reply, "streaming")  # type: ignore[arg-type]


def test_deleting_a_streaming_conversation_drops_its_buffer(store: ConversationStore) -> None:
    conversation = store.create_conversation("t")
    reply = store.begin_reply(conversation.id, None)
    store.append_reply(reply, "abc")
    store.delete_conversation(conversation.id)
    assert store.unflushed_chars == 0
    store.append_reply(reply, "more")  # dropped, no error
    store.finish_reply(reply, "stopped")
    store.flush()
    with pytest.raises(StorageError):
        store.get_message(reply)


def test_editing_a_user_message_drops_the_streaming_reply(
    store: ConversationStore, db_path: Path
) -> None:
    conversation = store.create_conversation("t")
    question = store.add_message(conversation.id, "user", "q1")
    reply = store.begin_reply(conversation.id, None)
    store.append_reply(reply, "a1")
    store.edit_message(question, "q2")
    assert store.unflushed_chars == 0
    new_reply = store.begin_reply(conversation.id, None)
    assert new_reply > reply  # ids are never reused
    store.append_reply(new_reply, "a2")
    store.finish_reply(new_reply)
    assert [m.content for m in store.get_messages(conversation.id)] == ["q2", "a2"]
    fts_in_sync(db_path)


def test_threads_can_share_a_store(store: ConversationStore) -> None:
    conversation = store.create_conversation("t")

    def work(n: int) -> None:
        for i in range(25):
            store.add_message(conversation.id, "user", f"thread {n} message {i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.get_messages(conversation.id)) == 100


# -- presets -----------------------------------------------------------------------------


def test_preset_crud_and_builtins_are_read_only(store: ConversationStore) -> None:
    preset = store.create_preset("  Pirate ", "Talk like a pirate.")
    assert (preset.name, preset.builtin) == ("Pirate", False)
    with pytest.raises(StorageError, match="already exists"):
        store.create_preset("pirate", "dupe")
    updated = store.update_preset(preset.id, system_prompt="Arr.")
    assert (updated.name, updated.system_prompt) == ("Pirate", "Arr.")
    assert store.list_presets()[-1] == updated  # user presets after built-ins
    builtin = store.list_presets()[0]
    with pytest.raises(StorageError, match="duplicate it"):
        store.update_preset(builtin.id, name="Mine")
    with pytest.raises(StorageError, match="cannot be deleted"):
        store.delete_preset(builtin.id)
    with pytest.raises(StorageError, match="already exists"):
        store.update_preset(preset.id, name=builtin.name.upper())
    with pytest.raises(StorageError, match="needs a name"):
        store.create_preset("   ", "x")
    store.delete_preset(preset.id)
    assert preset.id not in {p.id for p in store.list_presets()}
    with pytest.raises(StorageError, match="does not exist"):
        store.get_preset(preset.id)


# -- search ------------------------------------------------------------------------------


@pytest.fixture
def corpus(store: ConversationStore) -> dict[str, int]:
    en = store.create_conversation("English")
    zh = store.create_conversation("中文")
    return {
        "en": en.id,
        "zh": zh.id,
        "once": store.add_message(en.id, "user", "A decorator wraps a function in Python."),
        "thrice": store.add_message(
            en.id, "assistant", "decorator, decorator: a decorator adds behaviour."
        ),
        "code": store.add_message(
            en.id, "assistant", 'Use C++ (not C) for "speed": 100% of a_b cases <script>'
        ),
        "ml": store.add_message(zh.id, "user", "我想学习机器学习的基础知识"),
        "py": store.add_message(zh.id, "assistant", "好的，我们从 Python 开始学习。"),
    }


def test_search_ranks_by_bm25_and_marks_matches(
    store: ConversationStore, corpus: dict[str, int]
) -> None:
    hits = store.search("decorator")
    assert [h.message_id for h in hits] == [corpus["thrice"], corpus["once"]]
    assert hits[0].rank < hits[1].rank  # bm25: lower is better
    assert hits[0].conversation_id == corpus["en"]
    assert hits[0].conversation_title == "English"
    assert hits[0].role == "assistant"
    assert f"{HIGHLIGHT_START}decorator{HIGHLIGHT_END}" in hits[0].snippet
    assert hits[0].plain_snippet == "decorator, decorator: a decorator adds behaviour."
    assert [h.message_id for h in store.search("DECORATOR wraps")] == [corpus["once"]]


@pytest.mark.parametrize(
    ("query", "key"),
    [("机器学习", "ml"), ("学习", None), ("基础", "ml"), ("机器", "ml"), ("从 Python", "py")],
)
def test_chinese_substrings_of_two_or_more_characters_are_found(
    store: ConversationStore, corpus: dict[str, int], query: str, key: str | None
) -> None:
    hits = store.search(query)
    expected = {corpus["ml"], corpus["py"]} if key is None else {corpus[key]}
    assert {h.message_id for h in hits} == expected
    assert all(h.conversation_id == corpus["zh"] for h in hits)
    assert all(HIGHLIGHT_START in h.snippet for h in hits)


def test_phrases_and_punctuation_are_searched_literally(
    store: ConversationStore, corpus: dict[str, int]
) -> None:
    code = [corpus["code"]]
    assert [h.message_id for h in store.search("C++")] == code
    assert [h.message_id for h in store.search('"speed":')] == code
    assert [h.message_id for h in store.search("100%")] == code
    assert [h.message_id for h in store.search("%")] == code  # not a LIKE wildcard
    assert [h.message_id for h in store.search("_")] == code
    assert [h.message_id for h in store.search('"a function in"')] == [corpus["once"]]
    assert store.search('"function a"') == []  # a quoted phrase keeps its order
    assert store.search("decorator nonexistentword") == []  # every term must match
    assert "&lt;<b>script</b>&gt;" in store.search("script")[0].snippet_html()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        '"',
        '""',
        '"unclosed phrase',
        "AND",
        "OR NOT",
        "NEAR(a b, 3)",
        "*",
        "deco*",
        "^start",
        "content:foo",
        "{content}: x",
        "(",
        ")",
        "'",
        "\\",
        "-x +y",
        "a\x00b",
        "tab\there\nnewline",
        "😀 emoji",
        "％全角",
        "x" * 5000,
        " ".join(f"t{i}" for i in range(100)),
    ],
)
def test_hostile_queries_never_raise(
    store: ConversationStore, corpus: dict[str, int], query: str
) -> None:
    hits = store.search(query)
    assert isinstance(hits, list)
    assert all(h.message_id in corpus.values() for h in hits)


# -- export ------------------------------------------------------------------------------


def test_markdown_export_keeps_code_and_closes_an_open_fence(
    store: ConversationStore, tmp_path: Path
) -> None:
    conversation = store.create_conversation(model="smollm2", system_prompt="Be helpful.")
    store.add_message(conversation.id, "user", "Show me a loop")
    code = "Here:\n\n```python\nfor i in range(3):\n    print(i)\n```\n\nDone."
    store.add_message(conversation.id, "assistant", code)
    stopped = store.begin_reply(conversation.id, "smollm2")
    store.append_reply(stopped, "```js\nconsole.log(")
    store.finish_reply(stopped, "stopped")

    path = tmp_path / "out.md"
    assert save_export(store, conversation.id, path) == "markdown"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Show me a loop\n")
    assert code in text  # verbatim
    assert text.count("## Assistant") == 2 and "## User" in text
    assert "## System prompt" in text and "Be helpful." in text
    assert "```js\nconsole.log(\n```" in text
    assert "Stopped before the end" in text
    assert "model smollm2" in text


def test_close_open_fence() -> None:
    assert close_open_fence("```\ncode\n```") == "```\ncode\n```"
    assert close_open_fence("````\n```\ninner") == "````\n```\ninner\n````"
    assert close_open_fence("~~~\nx") == "~~~\nx\n~~~"
    assert close_open_fence("inline ```code``` only") == "inline ```code``` only"


def test_json_export_is_versioned_and_complete(store: ConversationStore, tmp_path: Path) -> None:
    conversation = store.create_conversation("Café ☕", settings={"n_ctx": 2048})
    store.add_message(conversation.id, "user", "hi")
    store.add_message(conversation.id, "assistant", "hello", stats=STATS, model="m")
    path = tmp_path / "out.json"
    assert save_export(store, conversation.id, path) == "json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["format"], data["version"]) == (EXPORT_FORMAT, 1)
    assert data["conversation"]["title"] == "Café ☕"
    assert data["conversation"]["settings"] == {"n_ctx": 2048}
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
    assert data["messages"][1]["stats"]["completion_tokens"] == 34
    assert data["messages"][0]["created_at"].endswith("+00:00")
    assert "Café ☕" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes
    same = to_dict(store.get_conversation(conversation.id), store.get_messages(conversation.id))
    assert same["messages"] == data["messages"]
    assert not list(tmp_path.glob("*.partial"))
    messages = store.get_messages(conversation.id)
    assert json.loads(to_json(store.get_conversation(conversation.id), messages)) is not None
    assert to_markdown(store.get_conversation(conversation.id), messages).count("##") == 2


def test_rebuild_search_index_leaves_streaming_replies_out(
    store: ConversationStore, db_path: Path
) -> None:
    conversation = store.create_conversation("t")
    store.add_message(conversation.id, "user", "rebuild me please")
    reply = store.begin_reply(conversation.id, None)
    store.append_reply(reply, "streaming words")
    store.flush()
    store.rebuild_search_index()
    assert store.search("streaming words") == []
    store.finish_reply(reply)
    # Had the rebuild indexed the streaming reply, finishing would index it twice.
    fts_in_sync(db_path)
    assert [h.message_id for h in store.search("streaming words")] == [reply]
    assert len(store.search("rebuild me")) == 1
