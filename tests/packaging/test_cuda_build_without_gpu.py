"""A CUDA build of llama.cpp on a machine without an NVIDIA GPU (or its driver) loads,
says in one sentence that it found no GPU and runs on the CPU, and answers.

Runs whenever the installed llama-cpp-python is a CUDA build
(``packaging/gpu/build-llama.sh cuda``) and llama.cpp sees no CUDA device; skipped, with
the reason, on the usual CPU build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.models import smollm2_path
from tests.packaging.cuda_env import skip_unless_cuda_build_without_gpu

TIMEOUT = 300


@pytest.fixture(scope="module", autouse=True)
def cuda_build_without_gpu() -> None:
    skip_unless_cuda_build_without_gpu()


def hearth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=os.environ.copy(),
        check=False,
    )


def test_the_plan_says_no_cuda_gpu_was_found_and_runs_on_the_cpu() -> None:
    model = str(smollm2_path())
    shown = hearth("plan", model)
    assert shown.returncode == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    # One sentence: which GPU it looked for, that it found none, and that it runs on the CPU.
    assert "CPU only: this llama.cpp is built for CUDA, but no CUDA GPU was found; needs " in first
    planned = hearth("plan", model, "--json")
    assert planned.returncode == 0, planned.stderr
    payload = json.loads(planned.stdout)
    assert payload["gpu_offload"] is False
    assert payload["plan"]["backend"] == "cpu" and payload["plan"]["n_gpu_layers"] == 0


def test_a_reply_runs_on_the_cpu(tmp_path: Path) -> None:
    replied = hearth(
        "chat", "--model", str(smollm2_path()), "--prompt", "Say hello.",
        "--max-tokens", "8", "--temperature", "0", "--json",
    )  # fmt: skip
    assert replied.returncode == 0, replied.stderr
    answer = json.loads(replied.stdout)
    assert answer["stats"]["backend"] == "cpu" and answer["stats"]["n_gpu_layers"] == 0
    assert answer["stats"]["completion_tokens"] == 8 and answer["text"].strip()
    assert answer["finish_reason"] == "length"
