"""``hearth chat --tools NAME[,NAME]``: the terminal chat with tools the model may call.

The engine is wrapped in ``app.tools.agent.ToolEngine``: each reply runs the whole tool
loop and only the answer is printed; each call is shown on stderr as it ends. A tool
whose permission is "ask" asks on the terminal (y/N) when stdin is one; otherwise it is
refused unless ``--yes`` allows every such call. Tools set to "never" in Preferences
cannot be named.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from app.composition.context import AppContext
from app.core.errors import ConfigError
from app.tools.agent import AskFn, CallEvent, ToolEngine
from app.tools.calls import ToolCall
from app.tools.registry import Tool, ToolContext, ToolRegistry


def tool_names(text: str) -> list[str]:
    """``a,b`` as ``["a", "b"]`` (argparse type of ``--tools``)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one tool, e.g. --tools calculator")
    return names


def terminal_ask(tool: Tool, call: ToolCall) -> bool:
    """Ask on the terminal whether ``call`` may run; anything but yes is no."""
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    try:
        answer = input(f"\nAllow {tool.name} {arguments}? [y/N] ")
    except (EOFError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in ("y", "yes")


def print_call(event: CallEvent) -> None:
    """``[calculator {"expression": "6*7"} → 42, 0.001 s]`` on stderr when a call ends."""
    if event.result is None:
        return
    result = " ".join(event.result.text.split())
    if len(result) > 200:
        result = result[:199] + "…"
    arguments = json.dumps(event.call.arguments, ensure_ascii=False)
    print(
        f"[{event.call.name} {arguments} → {result}, {event.result.elapsed_s:.3f} s]",
        file=sys.stderr,
        flush=True,
    )


def asker(args: argparse.Namespace) -> AskFn | None:
    if getattr(args, "yes", False):
        return lambda _tool, _call: True
    return terminal_ask if sys.stdin.isatty() else None


def with_tools(
    client: Any,
    args: argparse.Namespace,
    context: AppContext,
    *,
    ask: AskFn | None = None,
    on_call: Callable[[CallEvent], None] | None = print_call,
) -> Any:
    """``client`` itself without ``--tools``; else a ToolEngine offering the named tools."""
    given: str | None = getattr(args, "tools", None)
    if not given:
        return client
    try:
        names = tool_names(given)
    except argparse.ArgumentTypeError as exc:
        raise ConfigError(f"--tools: {exc}.") from None
    registry = ToolRegistry.from_settings(context.settings)
    if any("__" in name for name in names):  # <server>__<tool>: an MCP server's tool
        from app.tools.mcp.tools import open_mcp_tools

        open_mcp_tools(context.paths, registry)  # its servers stop when hearth exits
    tools = registry.enabled_tools(names)
    choice = getattr(args, "tool_choice", None) or "auto"
    if choice not in ("auto", "required", "none") and choice not in names:
        raise ConfigError(f"--tool-choice {choice} names a tool that --tools does not offer.")
    store = _history_store(context) if "search_conversations" in names else None

    def context_factory() -> ToolContext:
        return registry.context(store=store)

    return ToolEngine(
        client,
        registry,
        tools,
        context_factory,
        ask=ask if ask is not None else asker(args),
        choice=choice,
        # A small model forced to call once would call again and again: answer next.
        then="auto" if choice == "auto" else "none",
        on_call=on_call,
    )


def _history_store(context: AppContext) -> Any:
    from app.storage import ConversationStore, default_database_path

    # Another Hearth may be writing the file: read it without stopping its replies.
    return ConversationStore(default_database_path(context.paths), recover=False)
