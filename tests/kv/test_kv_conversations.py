"""Saved KV state belongs to its conversation: tagged with its key, deleted with it, never
written for a reply without one; RAM slots keep recent conversations across switches.

Workers run in this process on the real starter model (see test_kv_cache.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.core.generation import GenerationParams, Message
from app.engine import protocol as p
from app.engine.client import EngineClient
from app.engine.kv_files import (
    clear_folder,
    conversation_key,
    folder_bytes,
    forget_files,
    key_tag,
    name_tag,
    state_name,
)
from app.engine.kv_state import SUFFIX
from app.engine.worker import _Worker
from tests.kv.test_kv_cache import SYSTEM, TURNS, _close, _Events, _worker

A = conversation_key(1)
B = conversation_key(2)
PARAMS = GenerationParams(temperature=0.0, max_tokens=12, seed=1)
OTHER_SYSTEM = (
    "You answer questions about a small public library. It opens at nine, lends books for "
    "three weeks, has a reading room upstairs and a children's corner by the window, and "
    "closes at six. Answer in one short sentence."
)


def _say(worker: _Worker, messages: list[Message], key: str | None) -> str:
    events: list[p.Event] = worker.conn.sent  # type: ignore[attr-defined]
    start = len(events)
    worker.generate(p.Generate(1, tuple(messages), replace(PARAMS, kv_key=key)))
    done = [e for e in events[start:] if isinstance(e, p.GenerationDone)]
    assert done, events[start:]
    return done[-1].text


def _talk(worker: _Worker, system: str, turns: list[str], key: str | None) -> list[Message]:
    """``turns`` in one conversation; its history with the last reply."""
    history: list[Message] = [{"role": "system", "content": system}]
    for turn in turns:
        history.append({"role": "user", "content": turn})
        history.append({"role": "assistant", "content": _say(worker, history, key)})
    return history


def _forget(worker: _Worker, folder: Path, *keys: str, everything: bool = False) -> int:
    events: list[p.Event] = worker.conn.sent  # type: ignore[attr-defined]
    worker.handle(p.ForgetState(9, str(folder), keys, everything))
    done = events[-1]
    assert isinstance(done, p.StateForgotten) and done.request_id == 9
    return done.files


def _files(folder: Path, key: str) -> list[Path]:
    return [f for f in folder.glob(f"*{SUFFIX}") if name_tag(f) == key_tag(key)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "kv-state"


# -- on disk: tagged, one per conversation, deleted with it ------------------------------
@pytest.mark.slow
def test_deleting_a_conversation_deletes_its_state_and_only_its_own(
    smol_model: Path, folder: Path
) -> None:
    worker = _worker(smol_model, kv_state_dir=str(folder), kv_state_mb=64, kv_ram_mb=64)
    try:
        _talk(worker, SYSTEM, TURNS[:2], A)
        _talk(worker, OTHER_SYSTEM, ["When do you open?"], B)
        assert worker.kv_store is not None
        worker.kv_store.flush()
        # One file per conversation: A's second turn replaced its first.
        assert len(_files(folder, A)) == 1 and len(_files(folder, B)) == 1
        assert worker.stats()["kv_ram_slots"] == 1  # A, pushed out of the cache by B

        assert _forget(worker, folder, A) == 1
        assert _files(folder, A) == [] and len(_files(folder, B)) == 1
        assert worker.stats()["kv_ram_slots"] == 0  # A's slot went too
        assert worker.llm.n_tokens > 0  # the cache holds B: kept

        assert _forget(worker, folder, B) == 1
        assert list(folder.glob(f"*{SUFFIX}")) == []
        assert worker.llm.n_tokens == 0  # the cache held B: emptied
        # Nothing of A comes back: its next turn is evaluated whole.
        _say(worker, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Hi"}], A)
        assert worker.stats()["kv_state_restored"] == 0
    finally:
        _close(worker)


@pytest.mark.slow
def test_a_reply_without_a_key_never_reaches_the_disk(smol_model: Path, folder: Path) -> None:
    worker = _worker(smol_model, kv_state_dir=str(folder), kv_state_mb=64, kv_ram_mb=64)
    try:
        _talk(worker, SYSTEM, TURNS[:2], None)  # an API request, a private chat
        assert worker.kv_store is not None
        worker.kv_store.flush()
        assert worker.stats()["kv_state_saved"] == 0
    finally:
        _close(worker)
    assert list(folder.glob(f"*{SUFFIX}")) == []


@pytest.mark.slow
def test_an_edited_conversation_keeps_only_its_new_state(smol_model: Path, folder: Path) -> None:
    """Edit or regenerate: the state of the text that is gone is replaced, not kept."""
    worker = _worker(smol_model, kv_state_dir=str(folder), kv_state_mb=64)
    try:
        _talk(worker, SYSTEM, TURNS[:2], A)
        assert worker.kv_store is not None
        worker.kv_store.flush()
        (before,) = _files(folder, A)
        _talk(worker, SYSTEM, [TURNS[2]], A)  # the first question edited
        worker.kv_store.flush()
        (after,) = _files(folder, A)
    finally:
        _close(worker)
    assert after != before and not before.exists()


# -- in RAM: switching conversations ------------------------------------------------------
@pytest.mark.slow
def test_switching_back_restores_from_ram_and_answers_alike(smol_model: Path) -> None:
    """A (two turns), B (an API request), A again: A's state comes back from its RAM
    slot, only the new turn is evaluated, and the answer is the one of a worker that
    never left A (its cache built the same way: each prompt, then the reply)."""

    def conversation(worker: _Worker, *, switch: bool) -> str:
        history = _talk(worker, SYSTEM, TURNS[:2], A)
        if switch:
            question = "When do you open, and how long may I keep a book?"
            _talk(worker, OTHER_SYSTEM, [question], None)
        history.append({"role": "user", "content": TURNS[2]})
        return _say(worker, history, A)

    stayed = _worker(smol_model)
    slots = _worker(smol_model, kv_ram_mb=64)
    try:
        expected = conversation(stayed, switch=False)
        answer = conversation(slots, switch=True)
        stats = slots.stats()
        events: list[p.Event] = slots.conn.sent  # type: ignore[attr-defined]
    finally:
        _close(stayed)
        _close(slots)
    assert answer == expected
    assert stats["kv_state_restored_from"] == "ram"
    prepared = [e for e in events if isinstance(e, p.PromptPrepared)][-1]
    assert prepared.prompt_tokens > 150  # what a worker without slots evaluates again
    evaluated = stats["prompt_tokens_evaluated"]
    assert isinstance(evaluated, int) and evaluated < 40, evaluated


@pytest.mark.slow
def test_short_questions_asked_in_turn_come_back_from_ram(smol_model: Path) -> None:
    """An API client's short prompts (under 64 tokens, a file's threshold), asked in
    turn: each comes back from its RAM slot, as in llama-server's prompt cache, and only
    its last token runs again; a slot of any length among the others is found."""
    from app.engine.kv_state import MIN_TOKENS

    questions = ["Name a colour.", "Name a fruit, please.", "What is two and two, in words?"]
    asked = [[{"role": "user", "content": q}] for q in questions]
    worker = _worker(smol_model, kv_ram_mb=64)
    try:
        replies = [_say(worker, messages, None) for messages in asked]
        evaluated_before = worker.stats()["prompt_tokens_evaluated"]
        again = _say(worker, asked[1], None)  # the middle one of three slots
        stats = worker.stats()
        sent = worker.conn.sent  # type: ignore[attr-defined]
        prepared = [e for e in sent if isinstance(e, p.PromptPrepared)]
    finally:
        _close(worker)
    assert len({e.prompt_tokens for e in prepared[:3]}) == 3
    assert max(e.prompt_tokens for e in prepared) < MIN_TOKENS
    assert isinstance(evaluated_before, int) and evaluated_before > 1
    assert stats["kv_state_restored_from"] == "ram"
    assert stats["prompt_tokens_evaluated"] == 1, stats
    assert again and replies[1]


@pytest.mark.slow
def test_ram_slots_stay_under_their_cap(smol_model: Path) -> None:
    worker = _worker(smol_model, kv_ram_mb=6)  # about one conversation of ~250 tokens
    try:
        for i in range(3):
            _talk(worker, f"Conversation {i}. {SYSTEM}", TURNS[:1], conversation_key(i))
        stats = worker.stats()
        assert 1 <= stats["kv_ram_slots"] < 2 + 1
        assert stats["kv_ram_bytes"] <= 6 * 1024 * 1024
    finally:
        _close(worker)


@pytest.mark.slow
def test_reply_stats_count_what_the_token_loop_evaluated(smol_model: Path) -> None:
    """The worker's figure is the token loop's own (no second comparison): the second
    turn evaluates only what follows the first turn's cached tokens."""
    worker = _worker(smol_model)
    try:
        history = _talk(worker, SYSTEM, TURNS[:1], None)
        first = worker.stats()["prompt_tokens_evaluated"]
        history.append({"role": "user", "content": TURNS[1]})
        _say(worker, history, None)
        second = worker.stats()["prompt_tokens_evaluated"]
    finally:
        _close(worker)
    assert first > 60 and 0 < second < 40, (first, second)


# -- files without a worker -------------------------------------------------------------
def _fake_state(folder: Path, key: str, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / state_name("a" * 20, key, f"{n:032x}")
    path.write_bytes(b"HKVS1" + bytes(100))
    return path


def test_forgetting_without_a_worker_deletes_the_files_here(tmp_path: Path) -> None:
    folder = tmp_path / "kv-state"
    a1, a2, b = _fake_state(folder, A, 1), _fake_state(folder, A, 2), _fake_state(folder, B, 3)
    other = folder / "notes.txt"
    other.write_text("not a state")
    client = EngineClient()  # never started: no worker to ask
    assert client.forget_state(str(folder), [A]) is None
    assert not a1.exists() and not a2.exists() and b.exists() and other.exists()
    assert folder_bytes(folder) == b.stat().st_size
    assert forget_files(folder, [B]) == 1 and folder_bytes(folder) == 0
    _fake_state(folder, A, 4)
    (folder / "x.partial").write_bytes(b"half")
    assert clear_folder(folder) == 2 and other.exists()
    assert forget_files(tmp_path / "nowhere", [A]) == 0


def test_a_forget_request_in_a_worker_without_a_model_deletes_files(tmp_path: Path) -> None:
    folder = tmp_path / "kv-state"
    a, b = _fake_state(folder, A, 1), _fake_state(folder, B, 2)
    worker = _Worker(_Events())  # type: ignore[arg-type]
    assert _forget(worker, folder, A) == 1
    assert not a.exists() and b.exists()
    assert _forget(worker, folder, everything=True) == 1
    assert not b.exists()


def test_a_conversations_key_is_not_stored_with_its_reply_settings() -> None:
    from app.storage.conversations import params_from_dict, params_to_dict

    data = params_to_dict(replace(PARAMS, kv_key=A))
    assert "kv_key" not in data
    assert params_from_dict(data).kv_key is None
