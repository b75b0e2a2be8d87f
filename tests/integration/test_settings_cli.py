"""A settings file with wrong values, as ``hearth`` meets it: a real process, the real
starter model. Each wrong value is named on stderr and replaced; nothing breaks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BROKEN = {
    "n_ctx": "abc",
    "models_dir": 5,
    "default_model": 5,
    "template_overrides": [],
    "n_threads": "x",
    "voice": {"silence_ms": "abc"},
    "server": {"port": "abc"},
}


def hearth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ.copy(),
        check=False,
    )


def write_broken_settings(home: Path) -> Path:
    config = home / "config"
    config.mkdir(parents=True)
    file = config / "settings.json"
    file.write_text(json.dumps(BROKEN))
    return file


def assert_named(stderr: str) -> None:
    assert "Traceback" not in stderr and "not supported" not in stderr, stderr
    for key in ("n_ctx", "models_dir", "default_model", "template_overrides", "n_threads"):
        assert f"The setting {key} is " in stderr, stderr
    assert "The setting voice.silence_ms is " in stderr and "server.port" in stderr


def test_chat_with_wrong_settings_answers(hearth_home: Path, smol_model: Path) -> None:
    write_broken_settings(hearth_home)
    result = hearth(
        "chat", "--model", str(smol_model), "--prompt", "Hi", "--max-tokens", "4", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert "The engine failed" not in result.stderr
    assert_named(result.stderr)
    payload = json.loads(result.stdout)
    # n_ctx fell back to its default (4096), capped by nothing smaller here.
    assert payload["stats"]["n_ctx"] == 4096 and payload["stats"]["completion_tokens"] > 0


def test_models_ls_with_wrong_settings_lists_models(hearth_home: Path) -> None:
    file = write_broken_settings(hearth_home)
    result = hearth("models", "ls", "--json")
    assert result.returncode == 0, result.stderr
    assert_named(result.stderr)
    assert any(m["name"].startswith("SmolLM2") for m in json.loads(result.stdout))
    # Repaired once, quiet after: the original is in a backup, never overwritten.
    again = hearth("models", "ls", "--json")
    assert again.returncode == 0 and "The setting" not in again.stderr
    [backup] = list(file.parent.glob("settings.damaged-*.json"))
    assert json.loads(backup.read_text()) == BROKEN


def test_a_models_folder_that_cannot_be_made_is_replaced(hearth_home: Path) -> None:
    blocker = hearth_home / "a-file"
    hearth_home.mkdir(parents=True)
    blocker.write_text("not a folder")
    (hearth_home / "config").mkdir()
    (hearth_home / "config" / "settings.json").write_text(json.dumps({"models_dir": str(blocker)}))
    result = hearth("models", "ls", "--json")
    assert result.returncode == 0, result.stderr
    assert f"The models folder {blocker} cannot be used" in result.stderr
