"""``reasoning_content`` through the real API server (HTTP, the real engine, the starter
model): the thinking apart from the answer in replies and in streamed deltas, and taken
back on assistant messages.

The starter model does not think, so the split is made to happen: by a GGUF copy whose
chat template opens ``<think>`` in the generation prompt (as DeepSeek-R1's does), and by
a GBNF grammar that forces a ``<think>…</think>`` block before the answer. The tests check
where the text goes, never which words the model picks.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.core.reasoning import split_reasoning
from app.engine import protocol as p
from app.server import openai_api as api
from app.server.engine_bridge import EngineBridge
from app.server.httpd import HearthServer, ServerConfig
from tests.fixtures.models import write_with_chat_template
from tests.fixtures.reference import RecordingEngineClient, Reference
from tests.reasoning.templates import CHATML_OPENS_THINK
from tests.server.conftest import API_KEY, CHAT_MODEL, starter_library

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

LIMITS = api.Limits(max_tokens=200)
N_CTX = 1024
# A block of words, closed, then an answer of words: the shape, not the words.
THINK_GRAMMAR = r"""
root ::= "<think>" words "</think>" words
words ::= [a-z]{1,6} (" " [a-z]{1,6}){0,3}
"""
WORDS = re.compile(r"[a-z]{1,6}( [a-z]{1,6}){0,3}")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, smol_model: Path
) -> Iterator[tuple[HearthServer, RecordingEngineClient, str, Path]]:
    """The API in this process; ``name`` is a starter copy whose template opens <think>."""
    folder = tmp_path_factory.mktemp("reasoning-api")
    copy = write_with_chat_template(smol_model, folder / "opens-think.gguf", CHATML_OPENS_THINK)
    library = starter_library(folder)
    name = library.import_path(copy)[0].name
    engine = RecordingEngineClient()
    bridge = EngineBridge(library, engine=engine, n_ctx=N_CTX, n_gpu_layers=0, max_queue=8)
    server = HearthServer(
        library, ServerConfig(port=0, api_key=API_KEY, limits=LIMITS), bridge=bridge
    )
    server.start()
    yield server, engine, name, copy
    server.close()
    engine.shutdown()


def post(server: HearthServer, body: dict[str, Any]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def chunks(data: bytes) -> list[dict[str, Any]]:
    payloads = [line[6:] for line in data.decode().splitlines() if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    return [json.loads(x) for x in payloads[:-1]]


def streamed(data: bytes) -> tuple[str, str]:
    """The streamed reasoning_content and content, each joined; no delta holds both."""
    thinking, content = [], []
    for chunk in chunks(data):
        for choice in chunk["choices"]:
            delta = choice["delta"]
            assert not (delta.get("reasoning_content") and delta.get("content")), delta
            thinking.append(delta.get("reasoning_content") or "")
            content.append(delta.get("content") or "")
    return "".join(thinking), "".join(content)


def body(model: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "What is 2 + 2?"}],
        "max_tokens": 12,
        "temperature": 0,
        **extra,
    }


def test_a_reply_that_starts_inside_the_block_is_reasoning_content(
    served: tuple[HearthServer, RecordingEngineClient, str, Path], reference: Reference
) -> None:
    server, engine, name, copy = served
    request = body(name)
    status, data = post(server, request)
    assert status == 200, data
    message = json.loads(data)["choices"][0]["message"]
    # llama-cpp-python's own reply to the same prompt, split as the server must split it.
    load = replace(engine.loads[-1], request_id=0)
    assert load.path == str(copy)
    params = api.parse_chat(request, LIMITS).params
    expected = reference.answer(load, list(api.parse_chat(request, LIMITS).messages), params)
    split = split_reasoning(expected.text, thinking_open=True)
    assert split.thinking, "the prompt opened the block: the reply starts as thinking"
    assert message.get("reasoning_content", "") == split.thinking
    assert message["content"] == split.answer

    status, data = post(server, {**request, "stream": True})
    assert status == 200, data
    thinking, content = streamed(data)
    assert (thinking.strip(), content.strip()) == (split.thinking, split.answer)


def forced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests carry THINK_GRAMMAR (GenerationParams.grammar; the API has no key for it)."""
    parse = api.parse_chat

    def with_grammar(raw: dict[str, Any], limits: api.Limits) -> api.CompletionRequest:
        parsed = parse(raw, limits)
        return replace(parsed, params=replace(parsed.params, grammar=THINK_GRAMMAR))

    monkeypatch.setattr(api, "parse_chat", with_grammar)


def test_a_forced_block_is_split_from_the_answer(
    served: tuple[HearthServer, RecordingEngineClient, str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, _, _, _ = served
    forced(monkeypatch)
    request = body(CHAT_MODEL, max_tokens=60)
    status, data = post(server, request)
    assert status == 200, data
    message = json.loads(data)["choices"][0]["message"]
    assert WORDS.fullmatch(message["reasoning_content"]), message
    assert WORDS.fullmatch(message["content"]), message

    status, data = post(server, {**request, "stream": True})
    assert status == 200, data
    thinking, content = streamed(data)
    assert WORDS.fullmatch(thinking.strip()) and WORDS.fullmatch(content.strip())
    assert "think" not in thinking + content


def test_reasoning_content_is_taken_back_on_assistant_messages(
    served: tuple[HearthServer, RecordingEngineClient, str, Path],
) -> None:
    server, engine, _, _ = served
    messages = [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "4.", "reasoning_content": "Two and two is four."},
        {"role": "user", "content": "And 3 + 3?"},
    ]
    status, data = post(server, {**body(CHAT_MODEL), "messages": messages, "max_tokens": 2})
    assert status == 200, data
    sent: p.Generate = engine.generations[-1]
    assert sent.messages[1] == messages[1]  # the engine drops it for this template

    bad = [messages[0], {**messages[1], "reasoning_content": ["no"]}, messages[2]]
    status, data = post(server, {**body(CHAT_MODEL), "messages": bad})
    assert status == 400
    assert json.loads(data)["error"]["param"] == "messages[1].reasoning_content"
