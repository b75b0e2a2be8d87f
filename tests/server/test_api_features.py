"""response_format, logprobs, logit_bias and the history-left-out object, end to end: the
official ``openai`` client against Hearth's API on the real starter model.

No test asserts which words the model picks: JSON replies are checked by parsing and by
``jsonschema``, token lists by joining them back into the reply, biases by what they force,
and replies that must be llama-cpp-python's own by the reference (tests/fixtures/reference.py).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import pytest

from app.core.generation import JSON_OBJECT_SCHEMA, GenerationParams, Message
from app.server.httpd import HearthServer
from tests.fixtures.reference import Reference
from tests.server.conftest import API_KEY, CHAT_MODEL, recorded_load

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PERSON: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer"},
        "pet": {"enum": ["cat", "dog", "none"]},
    },
    "required": ["name", "age", "pet"],
    "additionalProperties": False,
}
PERSON_FORMAT: Any = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
ASK_PERSON = [{"role": "user", "content": "Describe a person as JSON."}]
ASK_CAT = [{"role": "user", "content": "Give me a JSON object describing a cat."}]
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def client(server: HearthServer) -> Any:
    """The official client (typed loosely: its overloads do not take plain dicts)."""
    return openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0, timeout=240)


def streamed(server: HearthServer, **request: Any) -> tuple[str, list[Any]]:
    """A streamed chat reply's text, and its chunks."""
    chunks = list(client(server).chat.completions.create(model=CHAT_MODEL, stream=True, **request))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def test_json_schema_reply_matches_the_schema_and_is_llama_cpps_own(
    fresh_api_server: HearthServer, reference: Reference
) -> None:
    reply = client(fresh_api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=ASK_PERSON,
        response_format=PERSON_FORMAT,
        temperature=0,
        max_tokens=120,
    )
    text = reply.choices[0].message.content or ""
    assert reply.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(text), PERSON)
    # The very reply llama-cpp-python gives with the grammar made of the schema.
    params = GenerationParams(max_tokens=120, temperature=0.0, json_schema=json.dumps(PERSON))
    assert text == reference.answer(recorded_load(fresh_api_server), ASK_PERSON, params).text


def test_json_schema_reply_streamed_matches_the_schema(api_server: HearthServer) -> None:
    text, chunks = streamed(
        api_server,
        messages=ASK_PERSON,
        response_format=PERSON_FORMAT,
        temperature=0.7,
        seed=3,
        max_tokens=120,
    )
    assert chunks[-1].choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(text), PERSON)


def json_object_holds(text: str, finish_reason: str | None, completion_tokens: int | None) -> None:
    """A finished json_object reply is one JSON object. Any JSON object may be long (a
    small model on some CPU can write strings on and on), so a reply cut at max_tokens is
    only checked to be the start of one, having used every token it was allowed."""
    if finish_reason == "stop":
        assert isinstance(json.loads(text), dict)
    else:
        assert finish_reason == "length" and completion_tokens in (None, 256)
        assert text.lstrip().startswith("{")


def test_json_object_reply_parses(api_server: HearthServer) -> None:
    reply = client(api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=ASK_CAT,
        response_format={"type": "json_object"},
        temperature=0,
        max_tokens=256,
    )
    assert reply.usage is not None
    text = reply.choices[0].message.content or ""
    json_object_holds(text, reply.choices[0].finish_reason, reply.usage.completion_tokens)
    streamed_text, chunks = streamed(
        api_server,
        messages=ASK_CAT,
        response_format={"type": "json_object"},
        temperature=0,
        max_tokens=256,
    )
    json_object_holds(streamed_text, chunks[-1].choices[0].finish_reason, None)


def test_a_bounded_schema_always_finishes_as_valid_json(api_server: HearthServer) -> None:
    # Every string bounded, no arrays: the grammar admits only short replies, so on every
    # CPU the reply stops by itself well inside max_tokens and is valid.
    bounded = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 12},
            "mood": {"enum": ["happy", "sad", "sleepy"]},
            "lives": {"enum": [1, 7, 9]},
        },
        "required": ["name", "mood", "lives"],
        "additionalProperties": False,
    }
    reply = client(api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=ASK_CAT,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "cat", "schema": bounded, "strict": True},
        },
        temperature=0.9,
        seed=5,
        max_tokens=200,
    )
    assert reply.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), bounded)


def test_json_object_is_llama_cpps_own_json_grammar(
    fresh_api_server: HearthServer, reference: Reference
) -> None:
    reply = client(fresh_api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=ASK_CAT,
        response_format={"type": "json_object"},
        temperature=0,
        max_tokens=256,
    )
    params = GenerationParams(max_tokens=256, temperature=0.0, json_schema=JSON_OBJECT_SCHEMA)
    expected = reference.answer(recorded_load(fresh_api_server), ASK_CAT, params)
    assert reply.choices[0].message.content == expected.text


def check_tokens(content: list[Any], text: str, top: int) -> None:
    """OpenAI's logprobs: tokens (and their bytes) join to the text, ``top`` likeliest
    alternatives each, in order, the likeliest at least as likely as the token chosen."""
    assert content, "a non-empty reply has tokens"
    assert "".join(t.token for t in content) == text
    assert bytes(b for t in content for b in t.bytes) == text.encode("utf-8")
    for token in content:
        assert token.logprob <= 0.0
        assert len(token.top_logprobs) == top
        values = [alt.logprob for alt in token.top_logprobs]
        assert values == sorted(values, reverse=True)
        if top:
            assert values[0] >= token.logprob - 1e-6
            assert all(
                bytes(alt.bytes) == alt.token.encode()
                for alt in token.top_logprobs
                if "\ufffd" not in alt.token
            )


def test_chat_logprobs_join_to_the_reply(api_server: HearthServer) -> None:
    reply = client(api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=QUESTION,
        temperature=0,
        max_tokens=24,
        logprobs=True,
        top_logprobs=3,
        extra_body={"repeat_penalty": 1.0},  # the logprobs are the model's, before penalties
    )
    choice = reply.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content is not None
    check_tokens(choice.logprobs.content, choice.message.content or "", 3)
    # Greedy: every token chosen is the likeliest one.
    assert all(t.top_logprobs[0].token == t.token for t in choice.logprobs.content)
    assert reply.usage is not None
    assert len(choice.logprobs.content) <= reply.usage.completion_tokens

    text, chunks = streamed(
        api_server, messages=QUESTION, temperature=0, max_tokens=24, logprobs=True
    )
    content = [
        token
        for chunk in chunks
        if chunk.choices and chunk.choices[0].logprobs and chunk.choices[0].logprobs.content
        for token in chunk.choices[0].logprobs.content
    ]
    check_tokens(content, text, 0)


def test_logprobs_of_a_reply_cut_by_a_stop_sequence(api_server: HearthServer) -> None:
    """Tokens after the stop sequence are not the reply's, so they are not listed."""
    first = client(api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=QUESTION,
        temperature=0,
        max_tokens=24,
    )
    text = first.choices[0].message.content or ""
    stop = text.split()[2] if len(text.split()) > 2 else text[-1]
    reply = client(api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=QUESTION,
        temperature=0,
        max_tokens=24,
        stop=[stop],
        logprobs=True,
        top_logprobs=1,
    )
    cut = reply.choices[0].message.content or ""
    assert stop not in cut
    assert reply.choices[0].logprobs is not None and reply.choices[0].logprobs.content
    check_tokens(reply.choices[0].logprobs.content, cut, 1)


def test_completions_logprobs_have_the_legacy_shape(api_server: HearthServer) -> None:
    reply = client(api_server).completions.create(
        model=CHAT_MODEL, prompt="Name three colours.", temperature=0, max_tokens=16, logprobs=2
    )
    choice = reply.choices[0]
    assert choice.logprobs is not None
    tokens = choice.logprobs.tokens or []
    assert tokens and "".join(tokens) == choice.text
    assert choice.logprobs.text_offset == [
        sum(len(t) for t in tokens[:i]) for i in range(len(tokens))
    ]
    assert len(choice.logprobs.token_logprobs or []) == len(tokens)
    assert all(len(top) == 2 for top in choice.logprobs.top_logprobs or [])


def biased(server: HearthServer, bias: dict[str, int], *, stream: bool, **extra: Any) -> Any:
    request: dict[str, Any] = {
        "model": CHAT_MODEL,
        "messages": QUESTION,
        "temperature": 0,
        "max_tokens": 6,
        "logit_bias": bias,
        **extra,
    }
    if stream:
        return streamed(server, **{k: v for k, v in request.items() if k != "model"})
    return client(server).chat.completions.create(**request)


def test_logit_bias_of_100_forces_a_token(api_server: HearthServer, reference: Reference) -> None:
    (blue,) = reference.token_ids(recorded_load(api_server), " blue")
    reply = biased(api_server, {str(blue): 100}, stream=False)
    assert reply.choices[0].message.content == " blue" * 6
    assert reply.choices[0].finish_reason == "length"
    text, _ = biased(api_server, {str(blue): 100}, stream=True)
    assert text == " blue" * 6


def test_logit_bias_of_minus_100_keeps_a_token_out(
    fresh_api_server: HearthServer, reference: Reference
) -> None:
    load = recorded_load(fresh_api_server)
    plain = reference.answer(load, QUESTION, GenerationParams(max_tokens=6, temperature=0.0))
    first = reference.token_ids(load, plain.text)[0]
    reply = biased(fresh_api_server, {str(first): -100}, stream=False, logprobs=True)
    banned = reference.piece(load, first)
    assert all(bytes(t.bytes) != banned for t in reply.choices[0].logprobs.content)
    # Otherwise exactly what llama-cpp-python answers with that bias.
    params = GenerationParams(max_tokens=6, temperature=0.0, logit_bias=((first, -100.0),))
    assert reply.choices[0].message.content == reference.answer(load, QUESTION, params).text
    text, _ = biased(fresh_api_server, {str(first): -100}, stream=True)
    assert text == reply.choices[0].message.content


def status_of(call: Any) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        call()
    return caught.value


def test_what_the_engine_cannot_follow_is_a_400(api_server: HearthServer) -> None:
    ask = client(api_server).chat.completions.create
    bad_schema: Any = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"$ref": "https://example.com/schema.json"}},
    }
    error = status_of(lambda: ask(model=CHAT_MODEL, messages=QUESTION, response_format=bad_schema))
    assert "schema" in str(error)
    error = status_of(lambda: ask(model=CHAT_MODEL, messages=QUESTION, logit_bias={"99999999": 5}))
    assert "logit_bias" in str(error)
    error = status_of(lambda: ask(model=CHAT_MODEL, messages=QUESTION, top_logprobs=3))
    assert "top_logprobs" in str(error)
    # The server still answers after each.
    assert ask(model=CHAT_MODEL, messages=QUESTION, max_tokens=4).choices[0].message.content


def long_history(turns: int) -> list[Message]:
    filler = "The quick brown fox jumps over the lazy dog near the river bank. " * 20
    history: list[Message] = []
    for i in range(turns):
        history.append({"role": "user", "content": f"Note {i}: {filler}"})
        history.append({"role": "assistant", "content": f"Noted {i}."})
    return [*history, {"role": "user", "content": "Say hello."}]


def test_a_history_longer_than_the_context_says_what_was_left_out(
    api_server: HearthServer, reference: Reference
) -> None:
    load = recorded_load(api_server)
    # A reply reserve of 2,040 of the 4,096 tokens leaves ~2,000 for the prompt, which
    # ~3,300 tokens of history overflow; a forced end token keeps the reply itself empty.
    request: dict[str, Any] = {
        "messages": long_history(12),
        "max_tokens": 2040,
        "logit_bias": {str(reference.end_token(load)): 100},
    }
    reply = client(api_server).chat.completions.create(model=CHAT_MODEL, **request)
    extra = reply.model_extra or {}
    dropped = extra["hearth"]["dropped_messages"]
    assert dropped > 0 and dropped % 2 == 0
    assert f"oldest {dropped} messages were left out" in extra["hearth"]["notice"]
    # What was kept is what the engine's context policy keeps.
    kept = reference.prompt_tokens(load, request["messages"], GenerationParams(max_tokens=2040))
    assert reply.usage is not None and reply.usage.prompt_tokens == len(kept)

    _, chunks = streamed(api_server, **request)
    last = chunks[-1]
    assert last.choices[0].finish_reason is not None
    assert (last.model_extra or {})["hearth"]["dropped_messages"] == dropped
    short = client(api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=QUESTION,
        max_tokens=4,
    )
    assert (short.model_extra or {})["hearth"] == {"dropped_messages": 0, "notice": None}
