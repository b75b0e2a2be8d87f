"""``hearth_lora`` on the API: the official ``openai`` client against Hearth's server on
the starter model, with the tiny adapters in its library (names only, never paths)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from app.core.generation import sampling_defaults
from app.engine import protocol as p
from app.server.httpd import HearthServer
from app.server.openai_api import ApiError
from app.server.openai_lora import take_lora_request
from tests.fixtures.lora_gguf import write_foreign_lora, write_tiny_lora
from tests.lora.test_lora import _close, _Events
from tests.server.conftest import API_KEY, CHAT_MODEL, serving_in_process

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthServer]:
    folder = tmp_path_factory.mktemp("lora-server")
    models = folder / "models"
    models.mkdir()
    write_tiny_lora(models / "one-lora.gguf", std=0.15)
    write_foreign_lora(models / "foreign-lora.gguf")
    with serving_in_process(folder) as server:
        yield server


def ask(server: HearthServer, loras: list[dict[str, Any]] | None = None) -> str:
    client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0)
    extra = {"hearth_lora": loras} if loras is not None else None
    reply = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": QUESTION}],
        max_tokens=12,
        temperature=0,
        seed=1,
        extra_body=extra,
    )
    return reply.choices[0].message.content or ""


def test_adapters_per_request(served: HearthServer, smol_model: Path) -> None:
    from app.engine.worker import _Worker

    base = ask(served)
    assert ask(served, [{"name": "one-lora", "scale": 0}]) == base
    with_lora = ask(served, [{"name": "one-lora", "scale": 1.0}])
    assert with_lora != base
    assert ask(served) == base  # the next request without it: the base model again
    # The same reply as the engine worker applying the adapter file itself.
    events = _Events()
    worker = _Worker(events)  # type: ignore[arg-type]
    worker.load(p.LoadModel(0, str(smol_model), n_ctx=4096, n_threads=1))
    try:
        adapter = next(e.path for e in served.library.entries("lora") if e.name == "one-lora")
        params = dataclasses.replace(
            sampling_defaults("server"), max_tokens=12, temperature=0.0, seed=1
        )
        worker.generate(
            p.Generate(
                1,
                ({"role": "user", "content": QUESTION},),
                dataclasses.replace(params, loras=((adapter, 1.0),)),
            )
        )
        done = events.sent[-1]
        assert isinstance(done, p.GenerationDone)
        assert done.text == with_lora
    finally:
        _close(worker)


@pytest.mark.parametrize(
    ("loras", "words"),
    [
        ([{"name": "foreign-lora"}], "was made for another base model"),
        ([{"name": "no-such-adapter"}], "No LoRA adapter named 'no-such-adapter'"),
        ([{"name": "../one-lora.gguf"}], "name"),
        ([{"name": "one-lora", "scale": 99}], "from -4 to 4"),
        ({"name": "one-lora"}, "must be a list"),
    ],
)
def test_refusals_are_400_with_a_sentence(served: HearthServer, loras: Any, words: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(served, loras)
    assert words in str(caught.value)
    assert ask(served)  # the base model still answers


def test_take_lora_request() -> None:
    body: dict[str, Any] = {"hearth_lora": [{"name": "a", "scale": 0.5}, {"name": "b"}]}
    assert take_lora_request(body) == (("a", 0.5), ("b", 1.0))
    assert body == {}
    assert take_lora_request({}) == ()
    with pytest.raises(ApiError):
        take_lora_request({"hearth_lora": [{"name": "a", "path": "/etc"}]})
