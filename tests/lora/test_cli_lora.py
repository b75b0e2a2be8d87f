"""``hearth chat --lora FILE[:SCALE]`` as a user runs it: a real process, the starter model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.chat import params_from_args
from app.cli.parser import build_parser
from app.engine import protocol as p
from tests.fixtures.lora_gguf import write_foreign_lora, write_tiny_lora
from tests.fixtures.reference import Reference

pytestmark = pytest.mark.slow

TIMEOUT = 180


def hearth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=os.environ.copy(),
        check=False,
    )


def chat_args(model: Path, *extra: str) -> tuple[str, ...]:
    return (
        "chat",
        "--model",
        str(model),
        "--prompt",
        "What is the capital of France?",
        "--max-tokens",
        "12",
        "--temperature",
        "0",
        "--seed",
        "1",
        "--ctx",
        "1024",
        "--json",
        *extra,
    )


def test_lora_at_scale_zero_is_the_base_reply_and_at_one_changes_it(
    smol_model: Path, reference: Reference, tmp_path: Path
) -> None:
    adapter = write_tiny_lora(tmp_path / "one-lora.gguf", std=0.15)
    args = chat_args(smol_model)
    parsed = build_parser().parse_args(args)
    base = reference.answer(
        p.LoadModel(0, str(smol_model), n_ctx=parsed.ctx, n_gpu_layers=parsed.gpu_layers),
        [{"role": "user", "content": parsed.prompt}],
        params_from_args(parsed),
    )
    zero = hearth(*args, "--lora", f"{adapter}:0")
    assert zero.returncode == 0, zero.stderr
    assert json.loads(zero.stdout)["text"] == base.text
    one = hearth(*args, "--lora", str(adapter))
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["text"] != base.text


def test_an_adapter_for_another_model_is_refused_before_loading(
    smol_model: Path, tmp_path: Path
) -> None:
    foreign = write_foreign_lora(tmp_path / "foreign-lora.gguf")
    result = hearth(*chat_args(smol_model, "--lora", str(foreign)))
    assert result.returncode != 0
    assert "foreign-lora.gguf was made for another base model" in result.stderr
    assert "Traceback" not in result.stderr


def test_lora_with_an_endpoint_is_refused(smol_model: Path, tmp_path: Path) -> None:
    adapter = write_tiny_lora(tmp_path / "style-lora.gguf", smol_model)
    result = hearth(
        "chat", "--endpoint", "http://127.0.0.1:9", "-m", "x", "--lora", str(adapter), "-p", "Hi"
    )
    assert result.returncode == 1, result.stderr
    assert "--lora applies adapters to a model Hearth runs here" in result.stderr


def test_lora_argument() -> None:
    parsed = build_parser().parse_args(["chat", "--lora", __file__ + ":0.5", "--lora", __file__])
    assert params_from_args(parsed).loras == ((__file__, 0.5), (__file__, 1.0))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["chat", "--lora", "/no/such/adapter.gguf"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["chat", "--lora", __file__ + ":nan"])


def test_lora_command_changes_adapters_between_messages(smol_model: Path, tmp_path: Path) -> None:
    one = write_tiny_lora(tmp_path / "one-lora.gguf", std=0.15)
    foreign = write_foreign_lora(tmp_path / "foreign-lora.gguf")
    lines = [f"/lora {foreign}", f"/lora {one}:0.5", "Hello", "/lora", "Hello again", "/exit"]
    result = subprocess.run(
        [sys.executable, "-m", "app", "chat", "--model", str(smol_model), "--max-tokens", "8"],
        capture_output=True,
        text=True,
        input="\n".join(lines) + "\n",
        timeout=TIMEOUT,
        env=os.environ.copy(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[foreign-lora.gguf was made for another base model" in result.stderr
    assert "[LoRA adapters from your next message: one-lora.gguf at 0.5]" in result.stderr
    assert "[LoRA adapters off]" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.count("\n") >= 2  # both messages were answered
