"""``hearth mcp ls|add|import|rm|test`` as a user runs them: subprocesses on a Hearth home,
starting the real test servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SERVERS = Path(__file__).parent / "mcp_servers"
TIMEOUT = 120


@pytest.fixture
def env(hearth_home: Path) -> dict[str, str]:
    return {**os.environ, "HEARTH_HOME": str(hearth_home)}


def hearth(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "mcp", *args],
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def ok_json(env: dict[str, str], *args: str) -> Any:
    result = hearth(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_add_ls_test_rm(env: dict[str, str], hearth_home: Path) -> None:
    added = hearth(env, "add", "calc", "--", sys.executable, str(SERVERS / "working.py"))
    assert added.returncode == 0, added.stderr
    assert "Added the MCP server 'calc'" in added.stdout
    file = hearth_home / "config" / "mcp.json"
    assert json.loads(file.read_text())["mcpServers"]["calc"] == {
        "command": sys.executable,
        "args": [str(SERVERS / "working.py")],
    }

    listing = ok_json(env, "ls")
    (calc,) = listing["servers"]
    assert calc["state"] == "running" and calc["transport"] == "stdio"
    assert {t["tool_name"] for t in calc["tools"]} == {"calc__add", "calc__echo", "calc__fail"}
    add = next(t for t in calc["tools"] if t["name"] == "add")
    assert add["description"] == "Add two whole numbers."
    assert add["input_schema"]["type"] == "object"

    text = hearth(env, "ls")
    assert text.returncode == 0
    assert "calc  (" in text.stdout and "running, 3 tools" in text.stdout
    assert "calc__add  Add two whole numbers." in text.stdout

    tested = hearth(env, "test", "calc")
    assert tested.returncode == 0, tested.stderr
    assert "started and lists 3 tools" in tested.stdout

    removed = hearth(env, "rm", "calc")
    assert removed.returncode == 0
    assert ok_json(env, "ls")["servers"] == []
    missing = hearth(env, "rm", "calc")
    assert missing.returncode == 1
    assert "no MCP server named 'calc'" in missing.stderr


def test_a_failing_server_shows_its_stderr_and_exits_1(env: dict[str, str]) -> None:
    assert (
        hearth(
            env, "add", "weather", "--", sys.executable, str(SERVERS / "crash_at_start.py")
        ).returncode
        == 0
    )
    tested = hearth(env, "test", "weather")
    assert tested.returncode == 1
    assert "hearth: MCP server 'weather' stopped before it answered" in tested.stderr
    assert "| error: WEATHER_API_KEY is not set" in tested.stderr
    as_json = hearth(env, "test", "weather", "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["state"] == "failed" and "WEATHER_API_KEY" in report["stderr_tail"]
    listing = hearth(env, "ls")
    assert listing.returncode == 1
    assert "weather" in listing.stdout and "failed" in listing.stdout
    offline = hearth(env, "ls", "--no-start")
    assert offline.returncode == 0 and "weather" in offline.stdout and "stopped" in offline.stdout


def test_import_a_claude_desktop_config_from_stdin(env: dict[str, str]) -> None:
    pasted = json.dumps(
        {
            "mcpServers": {
                "calc": {"command": sys.executable, "args": [str(SERVERS / "working.py")]},
                "cloud": {"url": "https://mcp.example.com/mcp"},
            }
        }
    )
    imported = hearth(env, "import", "-", stdin=pasted)
    assert imported.returncode == 0, imported.stderr
    assert "Added calc to" in imported.stdout
    assert "mcp.example.com is not this machine" in imported.stderr
    assert [s["name"] for s in ok_json(env, "ls", "--no-start")["servers"]] == ["calc"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("add", "x"), "Give either a command after '--'"),
        (("add", "x", "--url", "http://example.com/mcp"), "not this machine"),
        (("add", "x", "--env", "NOEQUALS", "--", "cmd"), "is not KEY=VALUE"),
        (("test", "nothing"), "no MCP server named 'nothing'"),
    ],
)
def test_refusals_exit_1_with_one_sentence(
    env: dict[str, str], args: tuple[str, ...], words: str
) -> None:
    result = hearth(env, *args)
    assert result.returncode == 1
    assert words in result.stderr and "Traceback" not in result.stderr


def test_a_bad_command_line_exits_2(env: dict[str, str]) -> None:
    assert hearth(env, "frobnicate").returncode == 2
