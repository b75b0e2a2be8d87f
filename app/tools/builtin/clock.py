"""``current_datetime``: the local date, time and time zone."""

from __future__ import annotations

from typing import Any

from app.tools.tool import Tool, ToolContext

NAME = "current_datetime"


def now_text(_arguments: dict[str, Any], context: ToolContext) -> str:
    """``2026-11-29 17:05:09, Sunday; time zone CET (UTC+01:00)``."""
    now = context.now()
    offset = now.strftime("%z") or "+0000"
    zone = now.tzname() or f"UTC{offset[:3]}:{offset[3:]}"
    return f"{now:%Y-%m-%d %H:%M:%S}, {now:%A}; time zone {zone} (UTC{offset[:3]}:{offset[3:]})"


def datetime_tool() -> Tool:
    return Tool(
        name=NAME,
        title="Date and time",
        description="The current local date, time, weekday and time zone.",
        parameters={"type": "object", "properties": {}, "additionalProperties": False},
        handler=now_text,
        default_permission="allow",  # reads nothing of the user's
        timeout_s=2.0,
    )
