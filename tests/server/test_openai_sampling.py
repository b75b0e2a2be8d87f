"""response_format, logprobs and logit_bias: how requests map onto the engine's settings,
the 400s for bad values, and the reply shapes (fast: no model)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.core.generation import JSON_OBJECT_SCHEMA, GenerationStats, TokenLogprob
from app.server import openai_api as api
from app.server.openai_api import ApiError, Limits, parse_chat, parse_completion

pytestmark = pytest.mark.timeout(30)
LIMITS = Limits(max_tokens=1000)
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def chat(**body: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "Hi"}], **body}


def refused(parse: Any, body: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse(body, LIMITS)
    assert caught.value.status == 400
    return caught.value


def test_response_format_becomes_a_json_schema() -> None:
    as_object = parse_chat(chat(response_format={"type": "json_object"}), LIMITS).params
    assert as_object.json_schema == JSON_OBJECT_SCHEMA
    wanted = {"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA}}
    with_schema = parse_chat(chat(response_format=wanted), LIMITS).params
    assert with_schema.json_schema is not None and json.loads(with_schema.json_schema) == SCHEMA
    assert parse_chat(chat(response_format={"type": "text"}), LIMITS).params.json_schema is None
    assert parse_chat(chat(), LIMITS).params.json_schema is None


@pytest.mark.parametrize(
    "value",
    [
        "json",
        {"type": "yaml"},
        {"type": "json_schema"},
        {"type": "json_schema", "json_schema": {"schema": "not a schema"}},
    ],
)
def test_a_bad_response_format_is_a_400_naming_it(value: Any) -> None:
    assert refused(parse_chat, chat(response_format=value)).param == "response_format"


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        ({"type": "integer", "maximum": 30}, "'maximum' at the top"),
        (
            {"type": "object", "properties": {"age": {"type": "integer", "minimum": 0}}},
            "'minimum' at properties.age",
        ),
        ({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, "'uniqueItems'"),
        ({"anyOf": [{"type": "number", "multipleOf": 5}]}, "'multipleOf' at anyOf[0]"),
        ({"$defs": {"x": {"not": {"type": "null"}}}}, "'not' at $defs.x"),
    ],
)
def test_a_schema_a_grammar_cannot_hold_is_a_400_naming_the_keyword(
    schema: dict[str, Any], named: str
) -> None:
    wanted = {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}
    error = refused(parse_chat, chat(response_format=wanted))
    assert error.param == "response_format" and named in str(error)


def test_annotations_and_enforced_keywords_are_taken() -> None:
    schema = {
        "title": "Cat",
        "description": "a cat",
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 12, "format": "email", "examples": ["a"]},
            "legs": {"enum": [3, 4]},
            "toys": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    wanted = {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}
    taken = parse_chat(chat(response_format=wanted), LIMITS).params.json_schema
    assert taken is not None and json.loads(taken) == schema


def test_chat_logprobs_and_top_logprobs() -> None:
    assert parse_chat(chat(logprobs=True, top_logprobs=5), LIMITS).params.logprobs == 5
    assert parse_chat(chat(logprobs=True), LIMITS).params.logprobs == 0
    assert parse_chat(chat(logprobs=False), LIMITS).params.logprobs is None
    assert parse_chat(chat(), LIMITS).params.logprobs is None
    assert refused(parse_chat, chat(logprobs="yes")).param == "logprobs"
    assert refused(parse_chat, chat(logprobs=True, top_logprobs=21)).param == "top_logprobs"
    assert refused(parse_chat, chat(top_logprobs=2)).param == "top_logprobs"


def test_completion_logprobs_count() -> None:
    prompt = {"prompt": "Hi"}
    assert parse_completion({**prompt, "logprobs": 3}, LIMITS).params.logprobs == 3
    assert parse_completion({**prompt, "logprobs": 0}, LIMITS).params.logprobs == 0
    assert parse_completion(prompt, LIMITS).params.logprobs is None
    assert refused(parse_completion, {**prompt, "logprobs": 6}).param == "logprobs"
    assert refused(parse_completion, {**prompt, "logprobs": True}).param == "logprobs"
    # Chat's own options are not the legacy endpoint's.
    assert refused(parse_completion, {**prompt, "top_logprobs": 2}).param == "top_logprobs"


def test_logit_bias_maps_token_ids_to_biases() -> None:
    params = parse_chat(chat(logit_bias={"42": -100, "7": 2.5}), LIMITS).params
    assert params.logit_bias == ((42, -100.0), (7, 2.5))
    assert parse_completion({"prompt": "Hi", "logit_bias": {"1": 100}}, LIMITS).params.logit_bias
    for bad in ({"x": 1}, {"-1": 1}, {"5": 101}, {"5": "big"}, {"5": True}, [1, 2]):
        assert refused(parse_chat, chat(logit_bias=bad)).param == "logit_bias"
    many = {str(i): 1 for i in range(301)}
    assert refused(parse_chat, chat(logit_bias=many)).param == "logit_bias"


def test_what_stays_unsupported_is_a_400_naming_it() -> None:
    assert refused(parse_chat, chat(functions=[{"name": "f"}])).param == "functions"
    assert refused(parse_completion, {"prompt": "Hi", "echo": True}).param == "echo"


STATS = GenerationStats(5, 2, 0.1, 10.0, 0.3, 0, 4096, "cpu", dropped_messages=4)
ALTERNATIVES = (TokenLogprob("Hi", b"Hi", -0.5), TokenLogprob("Yo", b"Yo", -1.5))
TOKENS = (
    TokenLogprob("Hi", b"Hi", -0.5, 0, ALTERNATIVES),
    TokenLogprob("\ufffd", b"\xc3", -0.1, 2, ()),
)


def test_chat_reply_shapes_logprobs_and_the_hearth_object() -> None:
    body = api.chat_response("id", "m", "Hi\u00e9", "stop", STATS, logprobs=TOKENS, notice="n")
    choice = body["choices"][0]
    first, second = choice["logprobs"]["content"]
    assert first == {
        "token": "Hi",
        "logprob": -0.5,
        "bytes": [72, 105],
        "top_logprobs": [
            {"token": "Hi", "logprob": -0.5, "bytes": [72, 105]},
            {"token": "Yo", "logprob": -1.5, "bytes": [89, 111]},
        ],
    }
    assert second["bytes"] == [0xC3] and second["top_logprobs"] == []
    assert body["hearth"] == {"dropped_messages": 4, "notice": "n"}
    plain = api.chat_response("id", "m", "Hi", "stop", STATS)
    assert plain["choices"][0]["logprobs"] is None and plain["hearth"]["dropped_messages"] == 4


def test_stream_chunks_carry_their_tokens_and_the_last_one_the_hearth_object() -> None:
    chunk = api.chat_chunk("id", "m", {"content": "Hi"}, logprobs=TOKENS[:1])
    assert [t["token"] for t in chunk["choices"][0]["logprobs"]["content"]] == ["Hi"]
    assert "hearth" not in chunk
    assert api.chat_chunk("id", "m", {"content": "x"})["choices"][0]["logprobs"] is None
    end = api.chat_chunk("id", "m", {}, "stop", stats=STATS)
    assert end["hearth"]["dropped_messages"] == 4
    assert api.text_chunk("id", "m", "", "stop", stats=STATS)["hearth"]["notice"] is None


def test_completion_reply_has_the_legacy_logprobs_shape() -> None:
    body = api.text_response("id", "m", "Hi\u00e9", "stop", STATS, logprobs=TOKENS)
    assert body["choices"][0]["logprobs"] == {
        "tokens": ["Hi", "\ufffd"],
        "token_logprobs": [-0.5, -0.1],
        "top_logprobs": [{"Hi": -0.5, "Yo": -1.5}, {}],
        "text_offset": [0, 2],
    }
