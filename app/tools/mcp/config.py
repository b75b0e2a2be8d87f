"""``mcp.json``: the MCP servers Hearth connects to, in the format Claude Desktop, LM Studio
and Jan use, so a configuration from any of them can be pasted in as it is::

    {"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem"],
                  "env": {"DEBUG": "1"}},
        "notes": {"url": "http://127.0.0.1:8931/mcp"}}}

A server is either a command Hearth starts (stdio) or the URL of one already running on
this machine (Streamable HTTP, or SSE when ``"type": "sse"`` or the path ends in
``/sse``). Hearth is offline: a URL on another machine is refused. Keys Hearth does not
use (``"disabled"`` from Cline, anything new) are kept when the file is rewritten.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from app.core.errors import ConfigError
from app.core.i18n import translate
from app.core.paths import AppPaths
from app.core.private import write_private_text

CONFIG_NAME = "mcp.json"
SERVERS_KEY = "mcpServers"
# OpenAI function names allow [a-zA-Z0-9_-]; a server's name prefixes its tools' names.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_HTTP_TYPES = {"http", "streamable-http", "streamableHttp", "sse"}
_KNOWN_KEYS = {"command", "args", "env", "url", "type", "headers", "cwd", "disabled"}

Transport = Literal["stdio", "http", "sse"]


@dataclass(frozen=True)
class McpServerConfig:
    """One server: ``command`` (+ ``args``, ``env``, ``cwd``) or ``url`` (+ ``headers``)."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    sse: bool = False
    disabled: bool = False

    @property
    def transport(self) -> Transport:
        if self.url is None:
            return "stdio"
        return "sse" if self.sse else "http"

    def describe(self) -> str:
        """One line for lists: the command line or the URL."""
        if self.url is not None:
            return self.url
        return " ".join([self.command or "", *self.args])

    def to_json(self) -> dict[str, Any]:
        """The entry as it goes into ``mcpServers`` (only the keys that are set)."""
        entry: dict[str, Any] = {}
        if self.url is not None:
            entry["url"] = self.url
            if self.sse:
                entry["type"] = "sse"
            if self.headers:
                entry["headers"] = dict(self.headers)
        else:
            entry["command"] = self.command
            entry["args"] = list(self.args)
            if self.env:
                entry["env"] = dict(self.env)
            if self.cwd:
                entry["cwd"] = self.cwd
        if self.disabled:
            entry["disabled"] = True
        return entry


@dataclass(frozen=True)
class McpConfig:
    """The usable servers of a file and one sentence per entry that was refused."""

    servers: tuple[McpServerConfig, ...] = ()
    problems: tuple[str, ...] = ()

    def get(self, name: str) -> McpServerConfig | None:
        return next((s for s in self.servers if s.name == name), None)


def config_file(paths: AppPaths) -> Path:
    """Where Hearth keeps its MCP servers: ``mcp.json`` next to ``settings.json``."""
    return paths.config_dir / CONFIG_NAME


def parse_server(name: str, entry: object) -> McpServerConfig:
    """One ``mcpServers`` entry; ConfigError (one sentence) when it cannot be used."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            translate(
                "Tools",
                "The MCP server name {name!r} cannot be used; use up to 40 letters, "
                "digits, '-', '_' or '.', starting with a letter or digit.",
            ).format(name=name)
        )
    if not isinstance(entry, dict):
        raise ConfigError(
            translate(
                "Tools",
                'MCP server \'{name}\' must be an object with a "command" or a "url".',
            ).format(name=name)
        )
    has_command, has_url = "command" in entry, "url" in entry
    if has_command == has_url:
        if has_url:
            raise ConfigError(
                translate(
                    "Tools",
                    "MCP server '{name}' needs either a \"command\" (a program Hearth "
                    'starts) or a "url" (a server already running on this machine), '
                    "not both.",
                ).format(name=name)
            )
        raise ConfigError(
            translate(
                "Tools",
                "MCP server '{name}' needs either a \"command\" (a program Hearth starts) "
                'or a "url" (a server already running on this machine), and has neither.',
            ).format(name=name)
        )
    disabled = entry.get("disabled", False)
    if not isinstance(disabled, bool):
        raise ConfigError(
            translate(
                "Tools",
                "MCP server '{name}': \"disabled\" must be true or false.",
            ).format(name=name)
        )
    if has_url:
        return _url_server(name, entry, disabled)
    return _command_server(name, entry, disabled)


def _command_server(name: str, entry: dict[str, Any], disabled: bool) -> McpServerConfig:
    command, args, cwd = entry["command"], entry.get("args", []), entry.get("cwd")
    if not isinstance(command, str) or not command.strip():
        raise ConfigError(
            translate(
                "Tools",
                "MCP server '{name}': \"command\" must be a program name or path.",
            ).format(name=name)
        )
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConfigError(
            translate(
                "Tools",
                "MCP server '{name}': \"args\" must be a list of strings.",
            ).format(name=name)
        )
    if cwd is not None and not isinstance(cwd, str):
        raise ConfigError(
            translate(
                "Tools",
                "MCP server '{name}': \"cwd\" must be a folder path.",
            ).format(name=name)
        )
    kind = entry.get("type", "stdio")
    if kind != "stdio":
        raise ConfigError(
            translate(
                "Tools",
                'MCP server \'{name}\' has a "command" but "type" {kind!r}; a command is '
                "always started as a stdio server.",
            ).format(name=name, kind=kind)
        )
    return McpServerConfig(
        name=name,
        command=command,
        args=tuple(args),
        env=_strings(name, "env", entry.get("env", {})),
        cwd=cwd,
        disabled=disabled,
    )


def _url_server(name: str, entry: dict[str, Any], disabled: bool) -> McpServerConfig:
    url = entry["url"]
    if not isinstance(url, str):
        raise ConfigError(
            translate(
                "Tools",
                "MCP server '{name}': \"url\" must be text like http://127.0.0.1:8000/mcp.",
            ).format(name=name)
        )
    check_local_url(name, url)
    kind = entry.get("type", "http")
    if kind not in _HTTP_TYPES:
        raise ConfigError(
            translate(
                "Tools",
                'MCP server \'{name}\': "type" {kind!r} is unknown for a URL; use "http" or "sse".',
            ).format(name=name, kind=kind)
        )
    sse = kind == "sse" or (kind == "http" and "type" not in entry and _path_is_sse(url))
    return McpServerConfig(
        name=name,
        url=url,
        headers=_strings(name, "headers", entry.get("headers", {})),
        sse=sse,
        disabled=disabled,
    )


def check_local_url(name: str, url: str) -> None:
    """Refuse a URL that is not http(s) on this machine (Hearth never reaches the network)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            translate(
                "Tools",
                "MCP server '{name}': {url!r} is not an http:// URL; give the address of "
                "a server running on this machine, like http://127.0.0.1:8000/mcp.",
            ).format(name=name, url=url)
        )
    if not is_local_host(parts.hostname):
        raise ConfigError(
            translate(
                "Tools",
                "MCP server '{name}': {hostname} is not this machine and Hearth works "
                "offline; run the server locally and use http://127.0.0.1:PORT/...",
            ).format(name=name, hostname=parts.hostname)
        )


def is_local_host(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _path_is_sse(url: str) -> bool:
    return urlsplit(url).path.rstrip("/").endswith("/sse")


def _strings(name: str, key: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(
            translate(
                "Tools",
                "MCP server '{name}': \"{key}\" must map names to text values, like "
                '{{"KEY": "value"}}.',
            ).format(name=name, key=key)
        )
    return dict(value)


def servers_object(data: object, source: str) -> dict[str, Any]:
    """The ``mcpServers`` object of a parsed file; a bare ``{name: entry}`` object (a
    fragment copied from a README) is taken as that object too."""
    if not isinstance(data, dict):
        raise ConfigError(
            translate(
                "Tools",
                '{source} must hold a JSON object with "{key}".',
            ).format(source=source, key=SERVERS_KEY)
        )
    if SERVERS_KEY in data:
        servers = data[SERVERS_KEY]
        if not isinstance(servers, dict):
            raise ConfigError(
                translate(
                    "Tools",
                    '"{key}" in {source} must be an object of servers by name.',
                ).format(key=SERVERS_KEY, source=source)
            )
        return servers
    if data and all(isinstance(v, dict) and ("command" in v or "url" in v) for v in data.values()):
        return data
    if not data:
        return {}
    raise ConfigError(
        translate(
            "Tools",
            '{source} has no "{key}"; paste a configuration like '
            '{{"mcpServers": {{"name": {{"command": "...", "args": []}}}}}}.',
        ).format(source=source, key=SERVERS_KEY)
    )


def parse_config(data: object, source: str = "mcp.json") -> McpConfig:
    """Every usable server; each unusable entry becomes a sentence in ``problems`` so one
    broken entry never hides the others."""
    servers: list[McpServerConfig] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for name, entry in servers_object(data, source).items():
        try:
            server = parse_server(name, entry)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        key = tool_prefix(name)
        if key in seen:
            problems.append(
                translate(
                    "Tools",
                    "MCP server '{name}' would share its tools' names with '{other}'; rename one.",
                ).format(name=name, other=seen[key])
            )
            continue
        seen[key] = name
        unknown = sorted(set(entry) - _KNOWN_KEYS)
        if unknown:
            said = (
                translate(
                    "Tools",
                    "MCP server '{name}': {keys} is not used by Hearth and kept as written.",
                )
                if len(unknown) == 1
                else translate(
                    "Tools",
                    "MCP server '{name}': {keys} are not used by Hearth and kept as written.",
                )
            )
            problems.append(said.format(name=name, keys=", ".join(unknown)))
        servers.append(server)
    return McpConfig(tuple(servers), tuple(problems))


def parse_text(text: str, source: str = "mcp.json") -> McpConfig:
    """Parse JSON text (a file, or a configuration pasted in Preferences)."""
    return parse_config(_json(text, source), source)


def tool_prefix(server_name: str) -> str:
    """The prefix of a server's tools' names: the name with '.' made '_' (function names
    allow only letters, digits, '_' and '-')."""
    return server_name.replace(".", "_")


def load_config(path: Path) -> McpConfig:
    """The servers in ``path``; no file is no servers. ConfigError when it is not JSON."""
    return parse_config(_read(path), str(path))


def add_server(path: Path, server: McpServerConfig, *, replace: bool = False) -> None:
    """Write ``server`` into the file (other entries and keys stay as they are)."""
    data = _read(path)
    servers = servers_object(data, str(path)) if data else {}
    if server.name in servers and not replace:
        raise ConfigError(
            translate(
                "Tools",
                "An MCP server named '{server_name}' is already in {path}; remove it "
                "first or pick another name.",
            ).format(server_name=server.name, path=path)
        )
    clash = next(
        (n for n in servers if n != server.name and tool_prefix(n) == tool_prefix(server.name)),
        None,
    )
    if clash is not None:
        raise ConfigError(
            translate(
                "Tools",
                "MCP server '{server_name}' would share its tools' names with '{clash}'; "
                "pick another name.",
            ).format(server_name=server.name, clash=clash)
        )
    servers[server.name] = server.to_json()
    _write(path, data, servers)


def merge_servers(path: Path, pasted: McpConfig) -> list[str]:
    """Add or replace every server of a pasted configuration; returns their names."""
    data = _read(path)
    servers = servers_object(data, str(path)) if data else {}
    for server in pasted.servers:
        servers[server.name] = server.to_json()
    _write(path, data, servers)
    return [s.name for s in pasted.servers]


def remove_server(path: Path, name: str) -> None:
    """Take ``name`` out of the file; ConfigError when there is no such server."""
    data = _read(path)
    servers = servers_object(data, str(path)) if data else {}
    if name not in servers:
        known = ", ".join(sorted(servers)) or "none"
        raise ConfigError(
            translate(
                "Tools",
                "There is no MCP server named '{name}' in {path} (servers: {known}).",
            ).format(name=name, path=path, known=known)
        )
    del servers[name]
    _write(path, data, servers)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(
            translate(
                "Tools",
                "Cannot read {path} ({error}); check its permissions.",
            ).format(path=path, error=exc.strerror)
        ) from exc
    if not text.strip():
        return {}
    data = _json(text, str(path))
    if not isinstance(data, dict):
        raise ConfigError(
            translate(
                "Tools",
                '{path} must hold a JSON object with "{key}"; fix or remove it.',
            ).format(path=path, key=SERVERS_KEY)
        )
    return data


def _json(text: str, source: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            translate(
                "Tools",
                "{source} is not valid JSON (line {lineno}, column {colno}: {msg}); fix "
                "it and try again.",
            ).format(source=source, lineno=exc.lineno, colno=exc.colno, msg=exc.msg)
        ) from exc


def _write(path: Path, data: dict[str, Any], servers: dict[str, Any]) -> None:
    if SERVERS_KEY not in data and data:  # a bare fragment: it becomes the servers object
        data = {}
    data[SERVERS_KEY] = servers
    path.parent.mkdir(parents=True, exist_ok=True)
    # Private: env often carries API keys.
    write_private_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
