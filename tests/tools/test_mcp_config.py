"""mcp.json in Claude Desktop's format: parsing, refusals with their reasons, writing."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from app.core.errors import ConfigError
from app.tools.mcp.config import (
    McpServerConfig,
    add_server,
    is_local_host,
    load_config,
    merge_servers,
    parse_server,
    parse_text,
    remove_server,
)

# A file as Claude Desktop's documentation writes it (claude_desktop_config.json), with
# an SSE server as LM Studio's mcp.json allows and a key from Cline ("disabled").
CLAUDE_DESKTOP = """
{
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"]
    },
    "github": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN",
               "ghcr.io/github/github-mcp-server"],
      "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "<token>"}
    },
    "local-notes": {"url": "http://127.0.0.1:8931/sse"},
    "old": {"command": "uvx", "args": ["mcp-server-time"], "disabled": true}
  },
  "globalShortcut": "Ctrl+Space"
}
"""


def test_claude_desktop_file_parses_as_written() -> None:
    config = parse_text(CLAUDE_DESKTOP)
    assert config.problems == ()
    assert [s.name for s in config.servers] == ["filesystem", "github", "local-notes", "old"]
    files = config.get("filesystem")
    assert files is not None and files.transport == "stdio"
    assert files.command == "npx" and files.args[-1] == "/Users/me/Desktop"
    github = config.get("github")
    assert github is not None and github.env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "<token>"}
    notes = config.get("local-notes")
    assert notes is not None and notes.transport == "sse"  # the path ends in /sse
    old = config.get("old")
    assert old is not None and old.disabled


def test_a_pasted_fragment_without_mcpservers_is_accepted() -> None:
    config = parse_text('{"time": {"command": "uvx", "args": ["mcp-server-time"]}}')
    assert [s.name for s in config.servers] == ["time"]


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"args": ["x"]}, 'needs either a "command"'),
        ({"command": "a", "url": "http://127.0.0.1:1/mcp"}, "not both"),
        ({"command": ["npx"]}, '"command" must be a program'),
        ({"command": "npx", "args": "-y server"}, '"args" must be a list of strings'),
        ({"command": "npx", "env": {"A": 1}}, '"env" must map names to text'),
        ({"url": "https://api.example.com/mcp"}, "not this machine and Hearth works offline"),
        ({"url": "http://10.0.0.5:8000/mcp"}, "not this machine"),
        ({"url": "ftp://127.0.0.1/mcp"}, "not an http:// URL"),
        ({"url": "http://127.0.0.1:1/mcp", "type": "websocket"}, "\"type\" 'websocket' is unknown"),
        ("npx server", "must be an object"),
    ],
)
def test_unusable_entries_are_refused_with_the_reason(entry: object, words: str) -> None:
    with pytest.raises(ConfigError, match="MCP server 'x'") as caught:
        parse_server("x", entry)
    assert words in str(caught.value)


def test_one_broken_entry_does_not_hide_the_others() -> None:
    config = parse_text(
        json.dumps(
            {
                "mcpServers": {
                    "good": {"command": "python", "args": ["s.py"]},
                    "remote": {"url": "https://mcp.example.com/mcp"},
                    "a.b": {"command": "x"},
                    "a_b": {"command": "y"},
                    "extra": {"command": "z", "autoApprove": ["read"]},
                }
            }
        )
    )
    assert [s.name for s in config.servers] == ["good", "a.b", "extra"]
    assert len(config.problems) == 3
    assert "mcp.example.com is not this machine" in config.problems[0]
    assert "'a_b' would share its tools' names with 'a.b'" in config.problems[1]
    assert "autoApprove is not used by Hearth" in config.problems[2]


@pytest.mark.parametrize("name", ["", "has space", "-dash", "x" * 41, "slash/name"])
def test_server_names_that_cannot_prefix_tool_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="cannot be used"):
        parse_server(name, {"command": "x"})


def test_local_hosts() -> None:
    assert all(map(is_local_host, ["localhost", "127.0.0.1", "127.8.9.1", "::1", "[::1]"]))
    assert not any(map(is_local_host, ["example.com", "192.168.1.2", "0.0.0.0", "10.0.0.1"]))


def test_not_json_says_where(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text('{"mcpServers": {"a": {"command": "x",}}}')
    with pytest.raises(ConfigError, match=r"is not valid JSON \(line 1, column \d+"):
        load_config(path)
    with pytest.raises(ConfigError, match='has no "mcpServers"'):
        parse_text('{"servers": []}', "the pasted configuration")


def test_add_and_remove_keep_the_rest_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config" / "mcp.json"
    assert load_config(path).servers == ()  # no file: no servers
    path.parent.mkdir()
    path.write_text(CLAUDE_DESKTOP)
    add_server(path, McpServerConfig("time", command="uvx", args=("mcp-server-time",)))
    with pytest.raises(ConfigError, match="already in"):
        add_server(path, McpServerConfig("time", command="other"))
    data = json.loads(path.read_text())
    assert data["globalShortcut"] == "Ctrl+Space"
    assert data["mcpServers"]["time"] == {"command": "uvx", "args": ["mcp-server-time"]}
    assert data["mcpServers"]["old"]["disabled"] is True
    remove_server(path, "github")
    assert "github" not in json.loads(path.read_text())["mcpServers"]
    with pytest.raises(ConfigError, match="no MCP server named 'github'"):
        remove_server(path, "github")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # env often holds API keys


def test_merge_a_pasted_configuration(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    add_server(path, McpServerConfig("files", command="old"))
    names = merge_servers(path, parse_text(CLAUDE_DESKTOP))
    assert names == ["filesystem", "github", "local-notes", "old"]
    config = load_config(path)
    assert [s.name for s in config.servers] == ["files", *names]
    round_trip = config.get("local-notes")
    assert round_trip is not None and round_trip.to_json() == {
        "url": "http://127.0.0.1:8931/sse",
        "type": "sse",
    }
