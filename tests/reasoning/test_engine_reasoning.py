"""The real engine on starter-model copies with reasoning templates: it says when the
prompt opened a thinking block, passes enable_thinking to the template, and gives an
earlier turn's thinking back only to a template that reads it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.generation import GenerationParams, Message
from app.engine import protocol as p
from app.engine.client import EngineClient
from tests.fixtures.models import write_with_chat_template
from tests.reasoning.templates import CHATML_OPENS_THINK, QWEN3_STYLE

pytestmark = pytest.mark.slow

ASK: list[Message] = [{"role": "user", "content": "What is 2 + 2?"}]
HISTORY: list[Message] = [
    {"role": "user", "content": "What is 2 + 2?"},
    {"role": "assistant", "content": "4.", "reasoning_content": "Two and two make four."},
    {"role": "user", "content": "And 3 + 3?"},
]


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory, smol_model: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reasoning-engine")
    return {
        "opens": write_with_chat_template(smol_model, folder / "opens.gguf", CHATML_OPENS_THINK),
        "qwen3": write_with_chat_template(smol_model, folder / "qwen3.gguf", QWEN3_STYLE),
    }


@pytest.fixture(scope="module")
def client() -> Iterator[EngineClient]:
    engine = EngineClient()
    engine.start()
    yield engine
    engine.shutdown()


def prepared(client: EngineClient, messages: list[Message], **params: Any) -> p.PromptPrepared:
    handle = client.generate(messages, GenerationParams(max_tokens=1, temperature=0, **params))
    found = [e for e in handle.events(120) if isinstance(e, p.PromptPrepared)]
    assert len(found) == 1
    return found[0]


def load(client: EngineClient, path: Path) -> None:
    client.load(str(path), n_ctx=1024, n_gpu_layers=0).wait(120)


def test_the_engine_says_when_the_prompt_opened_the_block(
    client: EngineClient, copies: dict[str, Path], smol_model: Path
) -> None:
    load(client, copies["opens"])
    assert prepared(client, ASK).thinking_open
    load(client, copies["qwen3"])
    assert not prepared(client, ASK).thinking_open  # Qwen3's model opens it itself
    load(client, smol_model)
    assert not prepared(client, ASK).thinking_open


def test_enable_thinking_reaches_the_template(
    client: EngineClient, copies: dict[str, Path]
) -> None:
    load(client, copies["qwen3"])
    on = prepared(client, ASK).prompt_tokens
    off = prepared(client, ASK, template_vars=(("enable_thinking", False),)).prompt_tokens
    assert off > on  # the empty <think></think> block written into the prompt


def test_thinking_goes_back_only_where_the_template_reads_it(
    client: EngineClient, copies: dict[str, Path]
) -> None:
    without = [{k: v for k, v in m.items() if k != "reasoning_content"} for m in HISTORY]
    load(client, copies["qwen3"])  # reads reasoning_content
    assert prepared(client, HISTORY).prompt_tokens > prepared(client, without).prompt_tokens
    load(client, copies["opens"])  # does not: the same prompt as without it
    assert prepared(client, HISTORY).prompt_tokens == prepared(client, without).prompt_tokens
