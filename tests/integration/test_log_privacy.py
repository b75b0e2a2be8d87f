"""What was said stays out of the log at the default level; the log and the folders
around it are readable only by the user."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SECRET = "SECRETWORD"


def chat(smol_model: Path, *before: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            *before,
            "chat",
            "--model",
            str(smol_model),
            "--prompt",
            f"Repeat after me: {SECRET}",
            "--system",
            f"Keep {SECRET} safe.",
            "--max-tokens",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ.copy(),
        check=False,
    )
    assert result.returncode == 0, result.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_prompts_reach_the_log_only_with_verbose(hearth_home: Path, smol_model: Path) -> None:
    log = hearth_home / "logs" / "hearth.log"
    chat(smol_model)
    text = log.read_text()
    assert "engine worker started" in text  # the run was logged, only not what was said
    assert SECRET not in text
    if os.name == "posix":  # and what it wrote only the user can read
        for folder in ("config", "data", "cache", "logs"):
            assert mode(hearth_home / folder) == 0o700, folder
        assert mode(log) == 0o600 and mode(hearth_home / "data" / "library.json") == 0o600
    chat(smol_model, "--verbose")
    assert SECRET in log.read_text()
