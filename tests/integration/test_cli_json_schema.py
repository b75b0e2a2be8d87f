"""``hearth chat --json-schema FILE``: a reply that matches the schema, held by the same
llama.cpp grammar as the API's response_format; forwarded to an endpoint as one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.cli.chat import params_from_args
from app.cli.main import build_parser
from app.core.generation import JSON_OBJECT_SCHEMA, GenerationParams
from app.engine import protocol as p
from app.remote.client import chat_body
from tests.fixtures.reference import Reference
from tests.integration.test_cli_real import hearth

PERSON: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer"},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.mark.slow
def test_chat_answers_json_matching_the_schema(
    smol_model: Path, reference: Reference, tmp_path: Path
) -> None:
    schema = tmp_path / "person.json"
    schema.write_text(json.dumps(PERSON), encoding="utf-8")
    args = (
        "chat",
        "--model",
        str(smol_model),
        "--prompt",
        "Describe a person as JSON.",
        "--json-schema",
        str(schema),
        "--max-tokens",
        "100",
        "--temperature",
        "0",
        "--ctx",
        "1024",
        "--json",
    )
    result = hearth(*args)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["finish_reason"] == "stop"
    jsonschema.validate(json.loads(payload["text"]), PERSON)
    parsed = build_parser().parse_args(args)
    expected = reference.answer(
        p.LoadModel(0, str(smol_model), n_ctx=parsed.ctx, n_gpu_layers=parsed.gpu_layers),
        [{"role": "user", "content": parsed.prompt}],
        params_from_args(parsed),
    )
    assert payload["text"] == expected.text


def test_a_schema_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = hearth("chat", "--prompt", "hi", "--json-schema", str(bad))
    assert result.returncode == 2
    assert "is not valid JSON" in result.stderr and "Traceback" not in result.stderr
    missing = hearth("chat", "--prompt", "hi", "--json-schema", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    bounded = tmp_path / "bounded.json"
    bounded.write_text('{"type": "integer", "maximum": 30}', encoding="utf-8")
    unheld = hearth("chat", "--prompt", "hi", "--json-schema", str(bounded))
    assert unheld.returncode == 2 and "'maximum'" in unheld.stderr
    assert "cannot enforce" in unheld.stderr and "Traceback" not in unheld.stderr


def test_an_endpoint_gets_the_schema_as_response_format() -> None:
    messages = [{"role": "user", "content": "hi"}]
    body = chat_body("m", messages, GenerationParams(json_schema=json.dumps(PERSON)))
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": PERSON},
    }
    as_object = chat_body("m", messages, GenerationParams(json_schema=JSON_OBJECT_SCHEMA))
    assert as_object["response_format"] == {"type": "json_object"}
    assert "response_format" not in chat_body("m", messages, GenerationParams())
    biased = chat_body("m", messages, GenerationParams(logit_bias=((42, -100.0),)))
    assert biased["logit_bias"] == {"42": -100.0}
