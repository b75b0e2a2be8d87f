"""``hearth chat --grammar FILE``: a reply that follows a GBNF grammar, on the real
starter model, and clear errors for a missing, empty or bad grammar file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.cli.chat import params_from_args
from app.cli.main import build_parser
from tests.integration.test_cli_real import hearth

GRAMMAR = 'root ::= ("yes" | "no") ", " [a-z]{3,8}\n'


@pytest.mark.slow
def test_chat_answers_as_the_grammar_says(smol_model: Path, tmp_path: Path) -> None:
    grammar = tmp_path / "answer.gbnf"
    grammar.write_text(GRAMMAR, encoding="utf-8")
    for seed in ("1", "2"):
        result = hearth(
            "chat",
            "--model",
            str(smol_model),
            "--prompt",
            "Is water wet? Answer in a word.",
            "--grammar",
            str(grammar),
            "--max-tokens",
            "20",
            "--temperature",
            "1",
            "--seed",
            seed,
            "--ctx",
            "1024",
            "--json",
        )
        assert result.returncode == 0, result.stderr
        payload = json.loads(result.stdout)
        assert payload["finish_reason"] == "stop"
        assert re.fullmatch(r"(yes|no), [a-z]{3,8}", payload["text"]), payload["text"]


@pytest.mark.slow
def test_a_grammar_llama_cpp_cannot_parse_is_one_clear_sentence(
    smol_model: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.gbnf"
    bad.write_text("root ::= undefined-rule\n", encoding="utf-8")
    result = hearth(
        "chat", "--model", str(smol_model), "--prompt", "hi", "--grammar", str(bad), "--ctx", "1024"
    )
    assert result.returncode != 0
    assert "not valid GBNF" in result.stderr and "Traceback" not in result.stderr


def test_missing_empty_and_clashing_grammar_options_are_refused(tmp_path: Path) -> None:
    missing = hearth("chat", "--prompt", "hi", "--grammar", str(tmp_path / "none.gbnf"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    empty = tmp_path / "empty.gbnf"
    empty.write_text("  \n", encoding="utf-8")
    blank = hearth("chat", "--prompt", "hi", "--grammar", str(empty))
    assert blank.returncode == 2 and "is empty" in blank.stderr
    binary = tmp_path / "binary.gbnf"
    binary.write_bytes(b"\xff\xfe\x00root")
    unreadable = hearth("chat", "--prompt", "hi", "--grammar", str(binary))
    assert unreadable.returncode == 2 and "not UTF-8" in unreadable.stderr
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "object"}', encoding="utf-8")
    good = tmp_path / "good.gbnf"
    good.write_text(GRAMMAR, encoding="utf-8")
    both = hearth("chat", "--prompt", "hi", "--grammar", str(good), "--json-schema", str(schema))
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    remote = hearth(
        "chat",
        "--endpoint",
        "http://127.0.0.1:9",
        "--model",
        "m",
        "--prompt",
        "hi",
        "--grammar",
        str(good),
    )
    assert remote.returncode != 0 and "--grammar works with local models only" in remote.stderr
    for output in (missing, blank, unreadable, both, remote):
        assert "Traceback" not in output.stderr


def test_the_grammar_reaches_the_generation_settings(tmp_path: Path) -> None:
    good = tmp_path / "good.gbnf"
    good.write_text(GRAMMAR, encoding="utf-8")
    args = build_parser().parse_args(["chat", "--prompt", "hi", "--grammar", str(good)])
    params = params_from_args(args)
    assert params.grammar == GRAMMAR and params.json_schema is None
