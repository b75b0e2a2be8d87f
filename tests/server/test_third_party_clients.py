"""Clients other than ``openai`` against ``hearth serve`` on the real starter model:
LangChain's ``ChatOpenAI`` and LiteLLM, each streamed and not, and LangChain's structured
output (a JSON schema sent as response_format).

Properties only (a reply, its finish reason, chunks that join to it), never words.
"""

from __future__ import annotations

import os
from typing import Any

import jsonschema
import pytest

from tests.server.conftest import API_KEY, CHAT_MODEL, ServeProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
CITY: dict[str, Any] = {
    "title": "city",
    "description": "A city and its country.",
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 20},
        "country": {"type": "string", "maxLength": 20},
    },
    "required": ["city", "country"],
    "additionalProperties": False,
}


def chat_openai(served: ServeProcess, **options: Any) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=CHAT_MODEL,
        base_url=served.url,
        api_key=API_KEY,  # type: ignore[arg-type]
        max_retries=0,
        timeout=240,
        **options,
    )


def test_langchain_chat_openai_invokes(serve_process: ServeProcess) -> None:
    reply = chat_openai(serve_process, temperature=0, max_tokens=24).invoke(QUESTION)
    assert isinstance(reply.content, str) and reply.content.strip()
    assert reply.response_metadata["finish_reason"] in ("stop", "length")
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] > 0


def test_langchain_chat_openai_streams(serve_process: ServeProcess) -> None:
    model = chat_openai(serve_process, temperature=0, max_tokens=24)
    chunks = list(model.stream(QUESTION))
    text = "".join(str(c.content) for c in chunks)
    assert len(chunks) > 2 and text.strip()
    reasons = [c.response_metadata.get("finish_reason") for c in chunks]
    assert reasons[-1] in ("stop", "length") or "stop" in reasons or "length" in reasons


def test_langchain_structured_output_follows_the_schema(serve_process: ServeProcess) -> None:
    model = chat_openai(serve_process, temperature=0, max_tokens=80)
    structured = model.with_structured_output(CITY, method="json_schema")
    answer = structured.invoke([{"role": "user", "content": "Name a city in France."}])
    assert isinstance(answer, dict)
    jsonschema.validate(answer, CITY)


def litellm_module() -> Any:
    # The model price list ships with the package; never fetch it at import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    return litellm


def test_litellm_completion(serve_process: ServeProcess) -> None:
    litellm = litellm_module()
    reply = litellm.completion(
        model=f"openai/{CHAT_MODEL}",
        api_base=serve_process.url,
        api_key=API_KEY,
        messages=QUESTION,
        temperature=0,
        max_tokens=24,
        timeout=240,
    )
    choice = reply.choices[0]
    assert choice.message.content and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert reply.usage.completion_tokens > 0


def test_litellm_streams(serve_process: ServeProcess) -> None:
    litellm = litellm_module()
    chunks = list(
        litellm.completion(
            model=f"openai/{CHAT_MODEL}",
            api_base=serve_process.url,
            api_key=API_KEY,
            messages=QUESTION,
            temperature=0,
            max_tokens=24,
            stream=True,
            timeout=240,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 2 and text.strip()
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert reasons[-1] in ("stop", "length")
    # The whole reply came through: the same as LiteLLM puts the chunks together.
    whole = litellm.stream_chunk_builder(chunks, messages=QUESTION)
    assert whole.choices[0].message.content == text
