"""The KV cache's type and saved conversation state, on the real starter models.

Workers run in this process (``_Worker`` with a list for its events), each with its
own llama.cpp context: a "fresh worker" has never seen the conversation it is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import ConfigError
from app.core.generation import GenerationParams, Message
from app.core.gguf_meta import read_gguf
from app.engine import protocol as p
from app.engine.hardware import MIB, probe_hardware
from app.engine.kv_cache import kv_setup
from app.engine.kv_state import SUFFIX
from app.engine.planner import plan_offload
from app.engine.worker import _LlamaLog, _Worker

pytestmark = pytest.mark.slow

# A stored conversation's reply: its state may be saved (tagged with the key).
GREEDY = GenerationParams(temperature=0.0, max_tokens=12, seed=1, kv_key="conversation:1")
SYSTEM = (
    "You are a careful assistant for a small bakery. The bakery opens at seven, sells "
    "sourdough, rye and spelt loaves, croissants on weekends only, and closes at two in "
    "the afternoon. Orders above ten loaves need a day's notice. Answer briefly."
)
TURNS = [
    "When do you open, and which breads do you sell?",
    "Can I get croissants on a Tuesday?",
    "I need twelve rye loaves tomorrow morning; is that possible?",
]

_LOG = _LlamaLog()
# llama.cpp's lines that say a KV buffer's size. The callback stays installed in this
# process after a test: it must outlive them all (llama.cpp would call a freed one).
_KV_LINES: list[str] = []
_CALLBACKS: list[Any] = []


def _collect_kv_lines() -> None:
    import ctypes

    import llama_cpp

    if not _CALLBACKS:

        def on_log(_level: int, text: bytes, _user: ctypes.c_void_p) -> None:
            line = text.decode("utf-8", errors="replace")
            if "KV buffer size" in line:
                _KV_LINES.append(line)

        _CALLBACKS.append(llama_cpp.llama_log_callback(on_log))
    llama_cpp.llama_log_set(_CALLBACKS[0], ctypes.c_void_p(0))
    _KV_LINES.clear()


class _Events:
    def __init__(self) -> None:
        self.sent: list[p.Event] = []

    def send(self, event: p.Event) -> None:
        self.sent.append(event)


def _worker(model: Path, **load: Any) -> _Worker:
    worker = _Worker(_Events())  # type: ignore[arg-type]
    worker.llama_log = _LOG
    worker.load(p.LoadModel(0, str(model), n_ctx=load.pop("n_ctx", 1024), n_threads=1, **load))
    return worker


def _close(worker: _Worker) -> None:
    worker.unload()
    if worker.renderer is not None:
        worker.renderer.close()


def _ask(worker: _Worker, messages: list[Message]) -> str:
    events: list[p.Event] = worker.conn.sent  # type: ignore[attr-defined]
    start = len(events)
    worker.generate(p.Generate(1, tuple(messages), GREEDY))
    done = [e for e in events[start:] if isinstance(e, p.GenerationDone)]
    assert done, events[start:]
    return done[-1].text


def _conversation(worker: _Worker, turns: list[str]) -> tuple[list[Message], str]:
    """Ask ``turns`` in order, each with the replies so far; the history and last reply."""
    history: list[Message] = [{"role": "system", "content": SYSTEM}]
    reply = ""
    for i, turn in enumerate(turns):
        history.append({"role": "user", "content": turn})
        reply = _ask(worker, history)
        if i < len(turns) - 1:
            history.append({"role": "assistant", "content": reply})
    return history, reply


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "kv-state"


# -- the cache's type ----------------------------------------------------------------------
def _kv_log_bytes(lines: list[str]) -> int:
    """llama.cpp's "KV buffer size = N MiB" lines (one per cache: SWA models log two)."""
    pattern = re.compile(r"KV buffer size =\s*([\d.]+) MiB")
    sizes = [float(m.group(1)) for line in lines if (m := pattern.search(line))]
    assert sizes, "llama.cpp logged no KV buffer size"
    return int(sum(sizes) * MIB)


def _planned_kv(model: Path, n_ctx: int, kv_type: str) -> int:
    setup = kv_setup(kv_type, None)
    plan = plan_offload(
        read_gguf(model),
        probe_hardware(),
        n_ctx=n_ctx,
        gpu_offload_supported=False,
        flash_attn=setup.flash_attn,
        cache_type_k=kv_type,
        cache_type_v=kv_type,
    )
    return plan.kv_bytes


def test_q8_0_cache_loads_answers_and_plans_47_percent_less(smol_model: Path) -> None:
    worker = _worker(smol_model, kv_type="q8_0")
    try:
        assert worker.loaded is not None and worker.loaded.kv_type == "q8_0"
        assert worker.llm.context_params.type_k == worker.llm.context_params.type_v == 8
        assert worker.llm.context_params.flash_attn_type == 1  # turned on for the V cache
        reply = _ask(worker, [{"role": "user", "content": TURNS[0]}])
        assert reply.strip()
        assert worker.stats()["kv_type"] == "q8_0"
    finally:
        _close(worker)
    f16, q8 = _planned_kv(smol_model, 8192, "f16"), _planned_kv(smol_model, 8192, "q8_0")
    assert q8 / f16 == pytest.approx(34 / 64, rel=0.01)  # 47 % less


@pytest.mark.parametrize("which", ["smol", "gemma"])
@pytest.mark.parametrize("kv_type", ["f16", "q8_0"])
def test_planned_kv_within_10_percent_of_llama_cpp_at_8k(
    which: str, kv_type: str, request: pytest.FixtureRequest
) -> None:
    model: Path = request.getfixturevalue(f"{which}_model")
    _collect_kv_lines()
    worker = _worker(model, kv_type=kv_type, n_ctx=8192)
    try:
        measured = _kv_log_bytes(list(_KV_LINES))
    finally:
        _close(worker)
    planned = _planned_kv(model, 8192, kv_type)
    assert abs(planned - measured) / measured <= 0.10, (planned / MIB, measured / MIB)


def test_unknown_cache_type_is_one_sentence_and_the_worker_still_loads(smol_model: Path) -> None:
    worker = _Worker(_Events())  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as caught:
        worker.load(p.LoadModel(0, str(smol_model), n_ctx=512, n_threads=1, kv_type="q5_k"))
    message = str(caught.value)
    assert "q5_k" in message and "f16, q8_0, q4_0" in message
    assert message.count(". ") == 0 and message.endswith(".")
    assert worker.llm is None
    worker.load(p.LoadModel(0, str(smol_model), n_ctx=512, n_threads=1))
    try:
        assert worker.loaded is not None and worker.loaded.kv_type == "f16"
    finally:
        _close(worker)


# -- saved state -------------------------------------------------------------------------
@pytest.fixture
def saved(smol_model: Path, state_dir: Path) -> Iterator[tuple[list[Message], str]]:
    """Two turns of a conversation in a worker that saves its state, then closed."""
    worker = _worker(smol_model, kv_state_dir=str(state_dir), kv_state_mb=64)
    try:
        history, reply = _conversation(worker, TURNS[:2])
        assert worker.stats()["kv_state_saved"] >= 1
    finally:
        _close(worker)  # waits for the state being written
    yield history, reply


def _next_turn(history: list[Message], reply: str) -> list[Message]:
    return [
        *history,
        {"role": "assistant", "content": reply},
        {"role": "user", "content": TURNS[2]},
    ]


def test_state_restored_in_a_fresh_worker_answers_alike_with_fewer_tokens(
    smol_model: Path, state_dir: Path, saved: tuple[list[Message], str]
) -> None:
    history, reply = saved
    files = list(state_dir.glob(f"*{SUFFIX}"))
    assert len(files) == 1, files  # the first turn's shorter state was replaced
    # Reference: the same conversation in one worker without saved state, its cache
    # built the same way (each turn's prompt, then the reply token by token).
    plain = _worker(smol_model)
    try:
        ref_history, ref_reply = _conversation(plain, TURNS[:2])
        assert (ref_history, ref_reply) == (history, reply)
        expected = _ask(plain, _next_turn(history, reply))
    finally:
        _close(plain)
    fresh = _worker(smol_model)  # nothing saved: the whole prompt is evaluated
    restored = _worker(smol_model, kv_state_dir=str(state_dir), kv_state_mb=64)
    try:
        _ask(fresh, _next_turn(history, reply))
        answer = _ask(restored, _next_turn(history, reply))
        stats, fresh_stats = restored.stats(), fresh.stats()
    finally:
        _close(fresh)
        _close(restored)
    assert answer == expected
    assert stats["kv_state_restored"] > 100
    evaluated = stats["prompt_tokens_evaluated"]
    assert evaluated < fresh_stats["prompt_tokens_evaluated"] - 100, (evaluated, fresh_stats)


def test_damaged_state_file_is_ignored_and_deleted(
    smol_model: Path, state_dir: Path, saved: tuple[list[Message], str]
) -> None:
    history, reply = saved
    (file,) = state_dir.glob(f"*{SUFFIX}")
    data = bytearray(file.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # inside llama.cpp's payload
    file.write_bytes(bytes(data))
    junk = state_dir / f"{file.name[:20]}-{'0' * 32}{SUFFIX}"
    junk.write_bytes(b"not a state file")
    worker = _worker(smol_model, kv_state_dir=str(state_dir), kv_state_mb=64)
    try:
        answer = _ask(worker, _next_turn(history, reply))
        stats = worker.stats()
    finally:
        _close(worker)
    assert answer.strip()
    assert stats["kv_state_restored"] == 0
    assert not junk.exists()
    assert not file.exists()  # deleted; the new reply's state replaced it
    assert len(list(state_dir.glob(f"*{SUFFIX}"))) == 1


def test_state_folder_stays_under_its_cap(smol_model: Path, state_dir: Path) -> None:
    cap_mb = 6  # about two states of this conversation's length (23 KB a token)
    worker = _worker(smol_model, kv_state_dir=str(state_dir), kv_state_mb=cap_mb)
    try:
        for i in range(4):  # four different conversations
            worker.generate(
                p.Generate(
                    1,
                    (
                        {"role": "system", "content": f"Conversation {i}. {SYSTEM}"},
                        {"role": "user", "content": TURNS[i % len(TURNS)]},
                    ),
                    replace(GREEDY, kv_key=f"conversation:{i}"),
                )
            )
            store = worker.kv_store
            assert store is not None
            store.flush()
            files = list(state_dir.glob(f"*{SUFFIX}"))
            assert sum(f.stat().st_size for f in files) <= cap_mb * MIB
            assert files
        assert worker.kv_store is not None and worker.kv_store.saved == 4
    finally:
        _close(worker)
    assert 1 <= len(list(state_dir.glob(f"*{SUFFIX}"))) < 4


def test_a_cache_type_llama_cpp_refuses_loads_f16_with_a_notice(
    smol_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build without a quantised cache (as some GPU backends lack one): llama.cpp's
    refusal is stood in for here, the model then loads with f16 and says so."""
    import llama_cpp

    real = llama_cpp.Llama

    def refusing(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("type_k") not in (None, 1):
            raise ValueError("Failed to create llama_context")
        return real(*args, **kwargs)

    monkeypatch.setattr(llama_cpp, "Llama", refusing)
    worker = _worker(smol_model, kv_type="q4_0")
    try:
        assert worker.loaded is not None and worker.loaded.kv_type == "f16"
        notice = worker.loaded.notice or ""
        assert "q4_0 KV cache" in notice and "f16 cache instead" in notice
        assert worker.llm.context_params.type_k == 1
        assert _ask(worker, [{"role": "user", "content": TURNS[0]}]).strip()
    finally:
        _close(worker)
