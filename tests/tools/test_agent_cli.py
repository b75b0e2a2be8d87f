"""``hearth chat --tools``: a real process, the real starter model forced to call, the real
settings file for permissions and folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from app.core.paths import app_paths
from app.core.settings import load_settings, save_settings
from app.tools.registry import ToolRegistry

pytestmark = pytest.mark.slow

TIMEOUT = 180


def hearth(model: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "app", "chat", "--model", str(model), "--ctx", "2048"]
    command += ["--max-tokens", "30", "--temperature", "0", "--seed", "1", *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,  # not a terminal: nobody can answer a prompt
        timeout=TIMEOUT,
        env=os.environ.copy(),
        check=False,
    )


def test_what_time_is_it_runs_the_clock_and_prints_only_the_answer(smol_model: Path) -> None:
    result = hearth(
        smol_model,
        "--prompt",
        "What time is it?",
        "--tools",
        "current_datetime",
        "--tool-choice",
        "required",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    today = datetime.now().strftime("%Y-%m-%d")
    assert f"[current_datetime {{}} → {today}" in result.stderr
    payload = json.loads(result.stdout)
    assert payload["finish_reason"] in ("stop", "length")
    assert payload["text"].strip() and not payload["text"].lstrip().startswith("{")


def allow_folder(folder: Path, permission: str = "ask") -> None:
    paths = app_paths()
    settings = load_settings(paths)
    registry = ToolRegistry.from_settings(settings)
    registry.settings.folders = [str(folder)]
    registry.set_permission("read_file", permission)  # type: ignore[arg-type]
    registry.save_to(settings)
    save_settings(paths, settings)


def test_a_call_that_asks_is_refused_without_a_terminal_or_yes(
    smol_model: Path, tmp_path: Path
) -> None:
    (tmp_path / "note.txt").write_text("the key is under the mat", encoding="utf-8")
    allow_folder(tmp_path)
    asked = ("--prompt", "Read note.txt", "--tools", "read_file", "--tool-choice", "read_file")
    result = hearth(smol_model, *asked)
    assert result.returncode == 0, result.stderr
    assert "needs the user's permission and nobody could be asked" in result.stderr
    assert "under the mat" not in result.stderr

    result = hearth(smol_model, *asked, "--yes")
    assert result.returncode == 0, result.stderr
    call_line = next(line for line in result.stderr.splitlines() if line.startswith("[read_file"))
    # The model chose the path; whatever it was, the rules held: read inside, or refused.
    assert "nobody could be asked" not in call_line
    assert "under the mat" in call_line or "Error:" in call_line


def test_never_and_unknown_tools_cannot_be_named(smol_model: Path, tmp_path: Path) -> None:
    allow_folder(tmp_path, "never")
    result = hearth(smol_model, "--prompt", "x", "--tools", "read_file")
    assert result.returncode != 0
    assert "read_file is set to never run" in result.stderr
    result = hearth(smol_model, "--prompt", "x", "--tools", "teleport")
    assert result.returncode != 0 and "no tool named 'teleport'" in result.stderr


def test_an_mcp_servers_tool_is_called_through_the_loop(smol_model: Path) -> None:
    """The real test MCP server (stdio, the official SDK) in the user's mcp.json: its
    ``add`` tool, forced, asks first (MCP tools do), runs with --yes, and its sum comes back."""
    server = Path(__file__).parent / "mcp_servers" / "working.py"
    paths = app_paths()
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    config = {"mcpServers": {"testsrv": {"command": sys.executable, "args": [str(server)]}}}
    (paths.config_dir / "mcp.json").write_text(json.dumps(config), encoding="utf-8")
    ask = ("--prompt", "What is 2 plus 3?", "--tools", "testsrv__add")
    result = hearth(smol_model, *ask, "--tool-choice", "testsrv__add")
    assert result.returncode == 0, result.stderr
    assert "needs the user's permission and nobody could be asked" in result.stderr

    result = hearth(smol_model, *ask, "--tool-choice", "testsrv__add", "--yes")
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("[testsrv__add"))
    arguments = json.loads(line[len("[testsrv__add ") : line.index(" → ")])
    assert set(arguments) == {"a", "b"}
    total = line[line.index(" → ") + 3 : line.rindex(", ")]
    assert total == str(arguments["a"] + arguments["b"])
