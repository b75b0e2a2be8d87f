"""``hearth`` as a user runs it: a real process, the real starter model."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from app.cli.chat import params_from_args
from app.cli.main import build_parser
from app.engine import protocol as p
from tests.fixtures.models import write_random, write_truncated
from tests.fixtures.reference import Reference
from tests.terminal import hearth_command

pytestmark = pytest.mark.slow

TIMEOUT = 180


def hearth(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        input=input_text,
        timeout=TIMEOUT,
        env=os.environ.copy(),
        check=False,
    )


def test_one_shot_json(smol_model: Path, reference: Reference) -> None:
    args = (
        "chat",
        "--model",
        str(smol_model),
        "--prompt",
        "What is the capital of France?",
        "--max-tokens",
        "24",
        "--temperature",
        "0",
        "--seed",
        "1",
        "--ctx",
        "1024",
        "--json",
    )
    result = hearth(*args)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    # The words depend on the CPU: the reply must be llama-cpp-python's own, called
    # directly with the same model, settings and prompt (a fresh process: a fresh context).
    parsed = build_parser().parse_args(args)
    expected = reference.answer(
        p.LoadModel(0, str(smol_model), n_ctx=parsed.ctx, n_gpu_layers=parsed.gpu_layers),
        [{"role": "user", "content": parsed.prompt}],
        params_from_args(parsed),
    )
    assert payload["text"] == expected.text and payload["text"].strip()
    assert payload["finish_reason"] == expected.finish_reason
    stats = payload["stats"]
    assert stats["prompt_tokens"] == expected.prompt_tokens
    assert set(stats) >= {
        "prompt_tokens",
        "completion_tokens",
        "ttft_s",
        "tokens_per_s",
        "n_gpu_layers",
        "n_ctx",
        "backend",
    }
    assert stats["n_ctx"] == 1024 and stats["backend"] == "cpu" and stats["n_gpu_layers"] == 0
    assert 0 < stats["completion_tokens"] <= 24 and stats["tokens_per_s"] > 0


def test_one_shot_streams_text_by_library_name() -> None:
    result = hearth(
        "chat", "--model", "smollm2", "--prompt", "Say hello.", "--max-tokens", "12", "--seed", "2"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "the reply goes to stdout"


def test_same_seed_same_text_across_runs(smol_model: Path) -> None:
    args = (
        "chat",
        "--model",
        str(smol_model),
        "--prompt",
        "Name a fruit.",
        "--max-tokens",
        "16",
        "--temperature",
        "1.0",
        "--seed",
        "42",
        "--json",
    )
    first, second = hearth(*args), hearth(*args)
    assert json.loads(first.stdout)["text"] == json.loads(second.stdout)["text"]


@pytest.mark.parametrize("kind", ["random", "truncated", "missing", "unknown-name"])
def test_bad_model_is_one_clear_sentence(tmp_path: Path, smol_model: Path, kind: str) -> None:
    target = {
        "random": lambda: str(write_random(tmp_path / "x.gguf")),
        "truncated": lambda: str(write_truncated(smol_model, tmp_path / "cut.gguf")),
        "missing": lambda: str(tmp_path / "nope.gguf"),
        "unknown-name": lambda: "no-such-model-anywhere",
    }[kind]()
    result = hearth("chat", "--model", target, "--prompt", "hi", "--json")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hearth: "), result.stderr
    assert result.stdout == ""


def test_models_ls_lists_the_starter_set() -> None:
    result = hearth("models", "ls", "--json")
    assert result.returncode == 0, result.stderr
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    chat = entries["SmolLM2-135M-Instruct"]
    assert chat["kind"] == "chat" and chat["architecture"] == "llama"
    assert chat["quantization"] == "Q4_1" and chat["context_length"] == 8192
    assert chat["has_chat_template"] is True and chat["parameters"] > 100_000_000
    assert chat["size_bytes"] == Path(chat["path"]).stat().st_size
    assert entries["whisper-base"]["kind"] == "stt"
    assert entries["en_US-joe-medium"]["kind"] == "tts"
    # Registered where pip put them: nothing was copied into the data folder.
    data = Path(os.environ["HEARTH_HOME"]) / "data"
    assert sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) < 1_000_000


class _Reader:
    """Accumulates a pipe's output and waits for a pattern, never past a deadline."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.fd = stream.fileno()
        self.text = ""
        self.consumed = 0

    def until(self, pattern: str, deadline: float) -> str:
        while True:
            match = re.search(pattern, self.text[self.consumed :])
            if match:
                seen = self.text[self.consumed : self.consumed + match.end()]
                self.consumed += match.end()
                return seen
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{pattern!r} never appeared; got {self.text[-500:]!r}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                chunk = os.read(self.fd, 4096)
                if not chunk:
                    raise AssertionError(f"{pattern!r}: stream closed; got {self.text[-500:]!r}")
                self.text += chunk.decode("utf-8", errors="replace")


def test_interactive_keeps_history_and_ctrl_c_stops_a_reply(smol_model: Path) -> None:
    proc = subprocess.Popen(
        hearth_command(
            "chat",
            "--model",
            str(smol_model),
            "--max-tokens",
            "300",
            "--ctx",
            "2048",
            "--seed",
            "3",
            "--temperature",
            "0",
            unbuffered=True,
        ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=os.environ.copy(),
    )
    assert proc.stdin and proc.stdout and proc.stderr
    out, err = _Reader(proc.stdout), _Reader(proc.stderr)
    deadline = time.monotonic() + TIMEOUT

    def say(line: str) -> None:
        assert proc.stdin
        proc.stdin.write(line.encode() + b"\n")
        proc.stdin.flush()

    try:
        err.until("Chatting with", deadline)
        say("My name is Ada.")
        first_in = int(err.until(r"\[(\d+) tokens in", deadline).rsplit("[", 1)[1].split()[0])
        out.until(r"^> ", deadline)  # the first prompt and reply
        say("Write a very long story about a cat who sails the sea.")
        # Wait until the second reply streams (stdout shows "> " before each reply), then
        # press Ctrl+C as a terminal would: SIGINT to the whole process group, engine
        # worker included.
        out.until(r"\n> \W*\w+\W+\w+\W+\w+", deadline)
        os.killpg(proc.pid, signal.SIGINT)
        second = err.until(r"\[(\d+) tokens in", deadline)
        assert "[stopped]" in second
        second_in = int(second.rsplit("[", 1)[1].split()[0])
        # The second prompt carried the first turn (history kept across turns).
        assert second_in > first_in + 10
        say("/exit")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_model_too_large_for_this_machine(smol_model: Path) -> None:
    huge_ctx = "50000000"  # a KV cache of terabytes
    chat = hearth("chat", "--model", str(smol_model), "--prompt", "hi", "--ctx", huge_ctx, "--json")
    assert chat.returncode == 1 and chat.stdout == ""
    assert chat.stderr.startswith("hearth: ") and "of RAM" in chat.stderr
    assert "shorter context" in chat.stderr and "Traceback" not in chat.stderr
    plan = hearth("plan", str(smol_model), "--ctx", huge_ctx, "--json")
    assert plan.returncode == 1
    assert json.loads(plan.stdout)["plan"]["fits"] is False


def test_plan_explains_the_choice(smol_model: Path) -> None:
    result = hearth("plan", str(smol_model), "--ctx", "2048", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)["plan"]
    assert plan["fits"] is True and plan["n_layers"] == 31 and plan["n_ctx"] == 2048
    assert plan["n_gpu_layers"] == 0 and plan["backend"] == "cpu"
    assert plan["weights_bytes"] < plan["cpu_bytes"] < 400_000_000
    assert plan["explanation"].startswith("CPU only")
