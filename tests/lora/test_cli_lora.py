"""``--lora FILE[:SCALE]`` as a user runs it: real processes, the starter model —
``hearth chat`` (and ``/lora`` between messages), ``hearth serve`` (the server's default
adapters; a request's ``hearth_lora`` wins) and ``hearth voice`` (checked before the
devices)."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from app.cli.chat import params_from_args
from app.cli.parser import build_parser
from app.cli.voice import add_voice_parser
from app.engine import protocol as p
from tests.fixtures.lora_gguf import write_corrupt_lora, write_foreign_lora, write_tiny_lora
from tests.fixtures.reference import Reference
from tests.integration.test_cli_real import hearth
from tests.server.conftest import API_KEY, CHAT_MODEL, start_serve, stop_serve

pytestmark = pytest.mark.slow


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
    result = hearth(
        "chat", "--model", str(smol_model), "--max-tokens", "8", input_text="\n".join(lines) + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert "[foreign-lora.gguf was made for another base model" in result.stderr
    assert "[LoRA adapters from your next message: one-lora.gguf at 0.5]" in result.stderr
    assert "[LoRA adapters off]" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.count("\n") >= 2  # both messages were answered


def _ask(url: str, **extra: Any) -> str:
    """A greedy chat reply from the server at ``url`` (``extra``: more request fields)."""
    body = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "max_tokens": 12,
        "temperature": 0,
        "seed": 1,
        **extra,
    }
    request = urllib.request.Request(
        f"{url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=180) as response:
        return str(json.load(response)["choices"][0]["message"]["content"])


def test_serve_lora_is_the_default_and_a_request_wins(hearth_home: Path) -> None:
    models = hearth_home / "data" / "models"
    models.mkdir(parents=True)
    one = write_tiny_lora(models / "one-lora.gguf", std=0.15)
    write_tiny_lora(models / "two-lora.gguf", layers=(2, 3, 4), std=0.15, seed=7)
    served = start_serve(hearth_home, "--api-key", API_KEY, "--lora", f"{one}:1")
    try:
        default = _ask(served.url)  # the server's adapter
        assert default == _ask(served.url, hearth_lora=[{"name": "one-lora", "scale": 1.0}])
        base = _ask(served.url, hearth_lora=[])  # an empty list: no adapters at all
        assert base == _ask(served.url, hearth_lora=[{"name": "one-lora", "scale": 0}])
        assert default != base
        other = _ask(served.url, hearth_lora=[{"name": "two-lora", "scale": 1.0}])
        assert other != default
        assert _ask(served.url) == default  # the default again after another set
    finally:
        stop_serve(served)
    assert served.process.stderr is not None
    assert f"[LoRA adapters for {CHAT_MODEL}: one-lora.gguf at 1]" in served.process.stderr.read()


@pytest.mark.parametrize("command", ["serve", "voice"])
def test_a_foreign_or_corrupt_adapter_is_one_sentence(
    command: str, smol_model: Path, tmp_path: Path
) -> None:
    one = write_tiny_lora(tmp_path / "one-lora.gguf", smol_model)
    foreign = write_foreign_lora(tmp_path / "foreign-lora.gguf")
    corrupt = write_corrupt_lora(one, tmp_path / "corrupt-lora.gguf")
    extra = ("--port", "0") if command == "serve" else ("--once",)
    for adapter, words in (
        (foreign, "foreign-lora.gguf was made for another base model"),
        (corrupt, "corrupt-lora.gguf is truncated"),
    ):
        result = hearth(command, *extra, "--model", str(smol_model), "--lora", str(adapter))
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        (line,) = [x for x in result.stderr.splitlines() if x.strip()]
        assert words in line, line
        assert "Listening on" not in result.stderr and "Hearth API serving" not in result.stdout


def test_voice_lora_reaches_the_spoken_answers(tmp_path: Path) -> None:
    """``hearth voice --lora``'s adapters are in the parameters every answer is asked with
    (the voice loop sends them as they are; tests/voice runs it on real devices)."""
    import argparse

    adapter = shutil.copy(__file__, tmp_path / "style-lora.gguf")
    parser = argparse.ArgumentParser()
    add_voice_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["voice", "--lora", f"{adapter}:0.5", "--lora", str(adapter)])
    assert args.lora == [(str(adapter), 0.5), (str(adapter), 1.0)]
    serve = build_parser().parse_args(["serve", "--lora", f"{adapter}:2"])
    assert serve.lora == [(str(adapter), 2.0)]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["voice", "--lora", f"{adapter}:9"])
