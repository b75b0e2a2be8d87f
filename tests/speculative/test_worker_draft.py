"""LoadModel.draft through the engine worker and the load options, on the starter model."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.composition.options import LoadOptions, LoadOverrides
from app.core.generation import GenerationParams
from app.engine import protocol as p
from app.engine.worker import _Worker

COPY = (
    {
        "role": "user",
        "content": "Repeat this list exactly:\n"
        + "\n".join(f"{i}. the {w} is on the table" for i, w in enumerate(["cup", "pen"] * 6)),
    },
)


class _Events:
    def __init__(self) -> None:
        self.sent: list[p.Event] = []

    def send(self, event: p.Event) -> None:
        self.sent.append(event)


def _load(path: Path, draft: str | None) -> Any:
    worker = _Worker(_Events())  # type: ignore[arg-type]
    worker.load(p.LoadModel(0, str(path), n_ctx=1024, n_threads=1, draft=draft))
    assert worker.llm is not None
    return worker


def _close(worker: Any) -> None:
    worker.unload()
    if worker.renderer is not None:
        worker.renderer.close()


def _reply(worker: Any, params: GenerationParams) -> p.GenerationDone:
    worker.conn.sent.clear()
    worker.generate(p.Generate(1, COPY, params))
    done = worker.conn.sent[-1]
    assert isinstance(done, p.GenerationDone), done
    return done


@pytest.fixture(scope="module")
def drafted(smol_model: Path) -> Iterator[Any]:
    worker = _load(smol_model, "lookup")
    yield worker
    _close(worker)


def test_options_carry_the_draft() -> None:
    options = LoadOptions("m.gguf", 2048, 0, None, None, draft="lookup")
    assert options.request().draft == "lookup"
    assert options.load_kwargs()["draft"] == "lookup"
    assert LoadOverrides(draft="none").draft == "none"


@pytest.mark.slow
def test_worker_drafts_with_lookup(drafted: Any) -> None:
    assert drafted.loaded.draft == "lookup"
    done = _reply(drafted, GenerationParams(max_tokens=6, temperature=0.0))
    assert done.finish_reason == "length"
    assert done.stats.completion_tokens == 6
    assert done.stats.tokens_per_s > 0
    # A reply the model ends itself counts its tokens as the cache holds them.
    done = _reply(drafted, GenerationParams(max_tokens=400, temperature=0.0))
    held = drafted.llm.n_tokens - done.stats.prompt_tokens
    assert done.stats.completion_tokens in (held, held + 1)


@pytest.mark.slow
def test_cancel_with_lookup(drafted: Any) -> None:
    calls = [0]
    original = drafted.is_cancelled

    def cancelled(request_id: int) -> bool:
        if request_id != 1:
            return bool(original(request_id))
        calls[0] += 1
        return calls[0] > 4

    drafted.is_cancelled = cancelled
    try:
        done = _reply(drafted, GenerationParams(max_tokens=200, temperature=0.0))
    finally:
        drafted.is_cancelled = original
    assert done.finish_reason == "cancelled"
    assert 0 < done.stats.completion_tokens <= 4  # the token sampled at the cancel dropped


def test_generation_params_unchanged() -> None:
    # Drafting is a load option, never a per-reply one: replies' params stay as they were.
    assert "draft" not in {f.name for f in dataclasses.fields(GenerationParams)}
