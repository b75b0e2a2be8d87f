"""MCP servers' tools as Hearth tools: one registry :class:`Tool` per listed tool, named
``<server>__<tool>`` so two servers' tools never collide, asking before each call by
default (a server's tool may write files or reach anything its program can)."""

from __future__ import annotations

import logging
import re
from typing import Any

from app.core.errors import McpError
from app.core.i18n import translate
from app.core.paths import AppPaths
from app.tools.mcp.client import McpToolInfo
from app.tools.mcp.config import config_file, tool_prefix
from app.tools.mcp.manager import McpManager
from app.tools.registry import Tool, ToolContext, ToolRegistry

log = logging.getLogger(__name__)

SEPARATOR = "__"
SOURCE_PREFIX = "mcp:"  # Tool.source of an MCP tool: "mcp:<server>"
CARD_TAIL_LINES = 3  # of a failing server's stderr, in the tool's error result
CARD_TAIL_CHARS = 400
_MAX_NAME = 64  # OpenAI's limit on a function name
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(server: str, tool: str) -> str:
    """``<server>__<tool>`` with characters a function name cannot hold made ``_``."""
    return f"{tool_prefix(server)}{SEPARATOR}{_UNSAFE.sub('_', tool)}"[:_MAX_NAME]


def mcp_tool(manager: McpManager, info: McpToolInfo) -> Tool:
    """One server's tool as a Hearth :class:`Tool`, run through ``manager`` (which starts
    the server when needed and raises McpError, with its stderr tail, when it fails)."""
    limits = manager.limits

    def run(arguments: dict[str, Any], context: ToolContext) -> str:
        # context.cancel is set when the user stops the call or the runner's limit passes.
        try:
            result = manager.call_tool(info.server, info.name, arguments, cancel=context.cancel)
        except McpError as exc:
            # The card (and the model) show why: the server's own last words, kept short.
            tail = exc.stderr_tail.splitlines()[-CARD_TAIL_LINES:]
            if not tail:
                raise
            raise McpError(
                translate(
                    "Tools",
                    "{error} Its last error output: {tail}",
                ).format(error=str(exc), tail=" / ".join(tail)[-CARD_TAIL_CHARS:]),
                exc.stderr_tail,
            ) from exc
        if result.is_error:
            raise McpError(
                translate(
                    "Tools",
                    "{tool} on MCP server '{server}' failed: {reason}",
                ).format(
                    tool=info.name,
                    server=info.server,
                    reason=result.text.strip() or "no reason given",
                )
            )
        return result.text

    schema = info.input_schema if info.input_schema.get("type") == "object" else None
    return Tool(
        name=tool_name(info.server, info.name),
        description=info.description or f"{info.name} from the MCP server {info.server}",
        parameters=schema or {"type": "object", "properties": {}},
        handler=run,
        default_permission="ask",
        # The runner's limit covers a start too; the manager's own (shorter) limits fire first.
        timeout_s=limits.start_s + limits.list_s + limits.call_s + 2.0,
        source=f"{SOURCE_PREFIX}{info.server}",
        title=f"{info.name} ({info.server})",
    )


def mcp_tools(manager: McpManager, *, start: bool = True) -> list[Tool]:
    """The tools of every server (started first when ``start``); a server that fails to
    start adds none, and its status says why."""
    statuses = manager.start_all() if start else manager.statuses()
    tools: list[Tool] = []
    seen: set[str] = set()
    for status in statuses:
        for info in status.tools:
            tool = mcp_tool(manager, info)
            if tool.name in seen:  # two tool names of one server equal once made safe
                continue
            seen.add(tool.name)
            tools.append(tool)
    return tools


def register_mcp_tools(
    registry: ToolRegistry, manager: McpManager, *, start: bool = True
) -> list[str]:
    """Put the servers' tools in ``registry`` in place of the MCP tools it held (a removed
    server's tools go); returns the names registered. The user's choices (enabled,
    permission) are kept by name in the registry's settings.

    Without ``start`` nothing waits: a manager following its mcp.json (``open_mcp_tools``)
    reads the file again if it changed, and servers never started begin starting in the
    background, their tools offered from a later call on."""
    if not start:
        manager.reload_if_changed()
        manager.start_soon()
    for old in registry.tools():
        if old.source.startswith(SOURCE_PREFIX):
            registry.unregister(old.name)
    names: list[str] = []
    for tool in mcp_tools(manager, start=start):
        if registry.get(tool.name) is not None:
            continue  # a built-in of that name wins
        registry.register(tool)
        names.append(tool.name)
    return names


def open_mcp_tools(paths: AppPaths, registry: ToolRegistry) -> McpManager:
    """Start the servers of the user's ``mcp.json`` and register their tools; the caller
    closes the returned manager when it is done (the window at exit, a CLI command at its
    end). A broken file or server is logged, never raised: Hearth works without them."""
    manager = McpManager()
    manager.follow(config_file(paths))  # a broken file is logged: no servers
    register_mcp_tools(registry, manager)
    for status in manager.statuses():
        if status.state == "failed":
            log.warning("%s\n%s", status.error, status.stderr_tail)
    return manager
