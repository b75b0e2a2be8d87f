"""``hearth models`` as a user runs it against the local Hub server (tests/hubserver.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TIMEOUT = 120


def hub_environment(endpoint: str, home: Path, tmp_path: Path) -> dict[str, str]:
    """This process's environment pointed at the Hub server at ``endpoint``, online, with
    no token, Hearth's data in ``home`` and huggingface_hub's cache under ``tmp_path``."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HF_HUB_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
    }
    environ.update(HF_ENDPOINT=endpoint, HEARTH_HOME=str(home), HF_HOME=str(tmp_path / "hf-home"))
    return environ


def run_models(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``hearth models ARGS``, finished. No terminal on stdin: `rm` would otherwise stop
    to ask for confirmation."""
    return subprocess.run(
        [sys.executable, "-m", "app", "models", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
