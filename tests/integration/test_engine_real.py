"""The engine worker on real GGUF models through the real llama.cpp.

Each test drives :class:`EngineClient` as the window and CLI do: requests go out at
once, events come back from the worker process.
"""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.errors import (
    ContextOverflowError,
    EngineCrashedError,
    EngineError,
    InvalidModelError,
    ModelNotFoundError,
    UnsupportedModelError,
)
from app.core.generation import GenerationParams
from app.engine import protocol as p
from app.engine.client import EngineClient, RequestHandle
from tests.fixtures.models import (
    write_absurd_header,
    write_empty,
    write_random,
    write_tiny_gguf,
    write_truncated,
)
from tests.fixtures.reference import Reference

pytestmark = pytest.mark.slow

TIMEOUT = 120
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
GREEDY = GenerationParams(max_tokens=48, temperature=0.0, seed=7)


def collect(handle: object) -> list[p.Event]:
    return list(handle.events(timeout=TIMEOUT))  # type: ignore[attr-defined]


def load_ok(engine: EngineClient, path: Path, **kwargs: object) -> p.ModelLoaded:
    events = collect(engine.load(str(path), **kwargs))  # type: ignore[arg-type]
    final = events[-1]
    assert isinstance(final, p.ModelLoaded), final
    return final


def as_loaded(path: Path, **kwargs: object) -> p.LoadModel:
    """The load request ``load_ok(engine, path, **kwargs)`` sends, for the reference."""
    return p.LoadModel(0, str(path), **kwargs)  # type: ignore[arg-type]


def test_streams_a_reply_token_by_token(
    engine: EngineClient, smol_model: Path, reference: Reference
) -> None:
    loaded = load_ok(engine, smol_model, n_ctx=1024)
    assert loaded.chat_format_source == "gguf"
    events = collect(engine.generate(QUESTION, GREEDY))
    deltas = [e.text for e in events if isinstance(e, p.Delta)]
    done = events[-1]
    assert isinstance(done, p.GenerationDone), done
    assert "".join(deltas) == done.text
    # Which words depends on the CPU; llama-cpp-python called directly picks the same
    # ones on any CPU (the first reply after a load: both evaluate the prompt afresh).
    expected = reference.answer(as_loaded(smol_model, n_ctx=1024), QUESTION, GREEDY)
    assert done.text == expected.text and done.text.strip()
    # Several deltas, unless the answer is a word or two on this CPU.
    assert len(deltas) >= min(3, expected.completion_tokens), "the reply should stream"
    assert done.finish_reason == expected.finish_reason
    # The template's end-of-turn markers are stop strings, never part of the reply.
    assert "<|im_end|>" not in done.text and "<|im_start|>" not in done.text
    stats = done.stats
    assert stats.prompt_tokens == expected.prompt_tokens
    assert stats.completion_tokens >= max(expected.completion_tokens, len(deltas) - 1)
    assert stats.tokens_per_s > 0 and stats.ttft_s > 0 and stats.n_ctx == 1024
    assert stats.backend == "cpu"


def test_same_seed_same_reply(engine: EngineClient, smol_model: Path) -> None:
    # Fresh contexts on both sides: llama.cpp is not batch-invariant, so a reply that
    # reuses a cached prompt prefix may differ in the last bits of its logits.
    params = GenerationParams(max_tokens=24, temperature=0.9, seed=1234)
    load_ok(engine, smol_model, n_ctx=512)
    first = engine.generate(QUESTION, params).wait(TIMEOUT)
    load_ok(engine, smol_model, n_ctx=512)
    second = engine.generate(QUESTION, params).wait(TIMEOUT)
    load_ok(engine, smol_model, n_ctx=512)
    other = engine.generate(QUESTION, GenerationParams(max_tokens=24, temperature=0.9, seed=99))
    assert isinstance(other.wait(TIMEOUT), p.GenerationDone)
    assert isinstance(first, p.GenerationDone) and isinstance(second, p.GenerationDone)
    assert first.text == second.text


def test_cancel_takes_effect_at_the_next_token(engine: EngineClient, smol_model: Path) -> None:
    load_ok(engine, smol_model, n_ctx=1024)
    story = [{"role": "user", "content": "Write a very long story about a dragon and a knight."}]
    handle = engine.generate(story, GenerationParams(max_tokens=400, temperature=0.7, seed=3))
    received = ""
    at_cancel: int | None = None
    done: p.GenerationDone | None = None
    for event in handle.events(timeout=TIMEOUT):
        if isinstance(event, p.Delta):
            received += event.text
            if at_cancel is None and len(received) >= 20:
                engine.cancel(handle)
                at_cancel = len(received)
        elif isinstance(event, p.GenerationDone):
            done = event
    assert done is not None and at_cancel is not None
    assert done.finish_reason == "cancelled"
    assert done.text == received
    # Tokens already in flight may still arrive, but generation stops at once: a few
    # tokens (a few dozen characters at most), not the 400 asked for.
    assert len(received) - at_cancel <= 60
    assert done.stats.completion_tokens < 40
    # The engine is immediately usable again.
    again = engine.generate(QUESTION, GREEDY).wait(TIMEOUT)
    assert isinstance(again, p.GenerationDone) and again.finish_reason != "cancelled"


def test_long_conversation_drops_oldest_turns(engine: EngineClient, smol_model: Path) -> None:
    load_ok(engine, smol_model, n_ctx=256)
    system = {"role": "system", "content": "You are terse."}
    turns = []
    for i in range(12):
        turns.append({"role": "user", "content": f"Tell me fact number {i} about the sea, please."})
        turns.append({"role": "assistant", "content": f"Fact {i}: the sea is salty and deep. " * 2})
    newest = {"role": "user", "content": "What colour is the sea?"}
    events = collect(
        engine.generate([system, *turns, newest], GenerationParams(max_tokens=32, seed=1))
    )
    prepared = next(e for e in events if isinstance(e, p.PromptPrepared))
    done = events[-1]
    assert isinstance(done, p.GenerationDone)
    assert prepared.dropped_messages > 0 and prepared.dropped_messages % 2 == 0
    assert prepared.notice and "left out" in prepared.notice
    assert prepared.prompt_tokens + done.stats.completion_tokens <= 256
    assert done.stats.dropped_messages == prepared.dropped_messages


def test_message_larger_than_context_is_a_clear_error(
    engine: EngineClient, smol_model: Path
) -> None:
    load_ok(engine, smol_model, n_ctx=128)
    huge = [{"role": "user", "content": "word " * 400}]
    with pytest.raises(ContextOverflowError, match="context window"):
        engine.generate(huge).wait(TIMEOUT)
    pid = engine.worker_pid
    ok = engine.generate(QUESTION, GenerationParams(max_tokens=8)).wait(TIMEOUT)
    assert isinstance(ok, p.GenerationDone) and engine.worker_pid == pid


def test_gemma_base_model_without_template_uses_fallback(
    engine: EngineClient, gemma_model: Path
) -> None:
    loaded = load_ok(engine, gemma_model, n_ctx=512)
    assert loaded.chat_format == "gemma" and loaded.chat_format_source == "fallback"
    events = collect(engine.generate(QUESTION, GenerationParams(max_tokens=40, temperature=0.0)))
    done = events[-1]
    assert isinstance(done, p.GenerationDone), done
    assert done.stats.prompt_tokens > 5
    assert "<start_of_turn>" not in done.text and "<end_of_turn>" not in done.text


def test_template_override(engine: EngineClient, smol_model: Path, reference: Reference) -> None:
    loaded = load_ok(engine, smol_model, n_ctx=512, chat_template="chatml")
    assert loaded.chat_format == "chatml" and loaded.chat_format_source == "builtin"
    done = engine.generate(QUESTION, GREEDY).wait(TIMEOUT)
    expected = reference.answer(
        as_loaded(smol_model, n_ctx=512, chat_template="chatml"), QUESTION, GREEDY
    )
    assert isinstance(done, p.GenerationDone) and done.text == expected.text
    assert done.stats.prompt_tokens == expected.prompt_tokens


@pytest.mark.parametrize(
    ("maker", "error", "phrase"),
    [
        (lambda d, s: write_empty(d / "empty.gguf"), InvalidModelError, "empty"),
        (lambda d, s: write_random(d / "random.gguf"), InvalidModelError, "not a GGUF"),
        (lambda d, s: write_truncated(s, d / "cut.gguf"), InvalidModelError, "truncated"),
        (lambda d, s: write_absurd_header(d / "absurd.gguf"), InvalidModelError, "corrupt header"),
        (lambda d, s: d / "missing.gguf", ModelNotFoundError, "No model file"),
        (
            lambda d, s: write_tiny_gguf(d / "alien.gguf", arch="notarealarch"),
            UnsupportedModelError,
            "notarealarch",
        ),
    ],
    ids=[
        "empty",
        "random-bytes",
        "truncated-tensor-data",
        "absurd-counts",
        "missing",
        "unknown-arch",
    ],
)
def test_bad_files_are_clear_errors_and_the_next_load_works(
    engine: EngineClient, smol_model: Path, tmp_path: Path, maker: object, error: type, phrase: str
) -> None:
    bad = maker(tmp_path, smol_model)  # type: ignore[operator]
    with pytest.raises(error, match=phrase):
        engine.load(str(bad), n_ctx=256).wait(TIMEOUT)
    load_ok(engine, smol_model, n_ctx=256)
    done = engine.generate(QUESTION, GenerationParams(max_tokens=8)).wait(TIMEOUT)
    assert isinstance(done, p.GenerationDone)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGABRT], ids=["kill", "abort"])
def test_worker_killed_mid_generation(
    engine: EngineClient, smol_model: Path, reference: Reference, sig: signal.Signals
) -> None:
    load_ok(engine, smol_model, n_ctx=512)
    old_pid = engine.worker_pid
    assert old_pid is not None
    story = [{"role": "user", "content": "Write a long poem about the moon."}]
    handle = engine.generate(story, GenerationParams(max_tokens=300, seed=5))
    final = None
    for event in handle.events(timeout=TIMEOUT):
        if isinstance(event, p.Delta) and final is None:
            os.kill(old_pid, sig)
            final = "killed"
        if isinstance(event, p.ErrorEvent):
            final = event
    assert isinstance(final, p.ErrorEvent), final
    assert final.kind == EngineCrashedError.__name__
    assert "fresh engine" in final.message
    # The next request starts a new worker, which reloads the model by itself, and
    # answers as llama-cpp-python does after a load.
    done = engine.generate(QUESTION, GREEDY).wait(TIMEOUT)
    expected = reference.answer(as_loaded(smol_model, n_ctx=512), QUESTION, GREEDY)
    assert isinstance(done, p.GenerationDone) and done.text == expected.text
    assert engine.worker_pid not in (None, old_pid)
    assert engine.restarts == 1


def test_generate_before_load_is_a_clear_error(engine: EngineClient) -> None:
    with pytest.raises(Exception, match="No model is loaded"):
        engine.generate(QUESTION).wait(TIMEOUT)


def test_stats_report_memory_and_model(engine: EngineClient, smol_model: Path) -> None:
    load_ok(engine, smol_model, n_ctx=512)
    report = engine.stats().wait(TIMEOUT)
    assert isinstance(report, p.StatsReport)
    assert report.stats["rss_bytes"] > 50_000_000
    assert report.stats["model"].endswith(".gguf") and report.stats["n_ctx"] == 512


def _deltas_until_quiet(handle: RequestHandle, quiet_s: float) -> list[p.Event]:
    """Events until ``quiet_s`` passes with none (the generation is held) or it ends."""
    got: list[p.Event] = []
    while True:
        try:
            event = handle.next_event(timeout=quiet_s)
        except EngineError:
            return got  # nothing for quiet_s
        got.append(event)
        if isinstance(event, p.GenerationDone | p.ErrorEvent):
            return got


def test_hold_pauses_a_generation_until_released_or_expired(
    engine: EngineClient, smol_model: Path
) -> None:
    load_ok(engine, smol_model, n_ctx=1024)
    story = [{"role": "user", "content": "Write a very long story about a dragon and a knight."}]
    params = GenerationParams(max_tokens=60, temperature=0.7, seed=3, delta_interval_s=0.0)
    handle = engine.generate(story, params)
    # Held from the start, so how late this process reads the stream does not matter.
    engine.hold(handle, 120.0)
    while not isinstance(handle.next_event(timeout=TIMEOUT), p.PromptPrepared):
        pass
    # A token already being sampled may still arrive; then nothing while it is held.
    before = _deltas_until_quiet(handle, 1.5)
    assert len(before) <= 2 and not any(isinstance(e, p.GenerationDone) for e in before)
    assert _deltas_until_quiet(handle, 1.5) == []
    engine.release(handle)
    # The hold had 120 s to run: a token well before that means the release took effect.
    assert isinstance(handle.next_event(timeout=60.0), p.Delta)
    done = handle.wait(TIMEOUT)
    # Whether the story ends by itself ("stop") or at max_tokens ("length") depends on the
    # words this CPU picks; either way it finished.
    assert isinstance(done, p.GenerationDone) and done.finish_reason in ("length", "stop")
    # A hold nobody releases ends by itself; one on a finished request is ignored.
    again = engine.generate(story, params)
    assert isinstance(again.next_event(timeout=TIMEOUT), p.PromptPrepared | p.Delta)
    engine.hold(again, 1.0)
    done = again.wait(TIMEOUT)
    assert isinstance(done, p.GenerationDone) and done.finish_reason in ("length", "stop")
    engine.hold(again, 60.0)
    assert isinstance(engine.generate(QUESTION, GREEDY).wait(TIMEOUT), p.GenerationDone)


def test_lead_threads_make_a_reply_until_it_is_first_held(
    engine: EngineClient, smol_model: Path
) -> None:
    """Voice mode makes its first spoken piece on every core, then holds the reply while
    Piper says it; from that hold on, the reply runs on ``n_threads``. The words do not
    change with the threads."""
    load_ok(engine, smol_model, n_ctx=1024)
    # A grammar makes the reply 121 words long whatever words this CPU would pick, so it
    # is still running when the hold arrives.
    forced = 'root ::= "a" (" a"){120}'
    one = GenerationParams(
        max_tokens=1000, temperature=0.0, delta_interval_s=0.0, grammar=forced, n_threads=1
    )

    def threads_after(params: GenerationParams, *, hold: bool) -> tuple[str, int]:
        handle = engine.generate(QUESTION, params)
        if hold:  # as voice mode holds it once its first piece is made
            while not isinstance(handle.next_event(timeout=TIMEOUT), p.Delta):
                pass
            engine.hold(handle, 0.05)
        done = handle.wait(TIMEOUT)
        assert isinstance(done, p.GenerationDone) and done.finish_reason == "stop", done
        report = engine.stats().wait(TIMEOUT)
        assert isinstance(report, p.StatsReport)
        return done.text, int(report.stats["n_threads"])

    plain_text, plain_threads = threads_after(one, hold=False)
    assert plain_threads == 1 and plain_text.split() == ["a"] * 121
    led = replace(one, lead_threads=2)
    # Never held: the whole reply is made on the lead threads.
    assert threads_after(led, hold=False) == (plain_text, 2)
    # Held after its first words: the rest is made on n_threads.
    assert threads_after(led, hold=True) == (plain_text, 1)
