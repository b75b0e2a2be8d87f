"""``search_conversations``: search the user's other conversations (the history's index)."""

from __future__ import annotations

from typing import Any

from app.core.errors import ToolError
from app.core.i18n import translate
from app.tools.tool import Tool, ToolContext

NAME = "search_conversations"
DEFAULT_LIMIT = 5
MAX_LIMIT = 10


def search(arguments: dict[str, Any], context: ToolContext) -> str:
    """One line per matching message of another conversation, best first."""
    if context.store is None:
        raise ToolError(translate("Tools", "the conversation history is not open here."))
    query = str(arguments["query"]).strip()
    if not query:
        raise ToolError(translate("Tools", "the query is empty."))
    limit = arguments.get("limit", DEFAULT_LIMIT)
    limit = max(1, min(MAX_LIMIT, int(limit)))
    # The question being answered is in the current conversation: it always matches.
    hits = [
        h
        for h in context.store.search(query, limit=limit + 20)
        if h.conversation_id != context.conversation_id
    ][:limit]
    if not hits:
        return f"No other conversation mentions {query!r}."
    lines = [f"{len(hits)} messages found:"]
    for hit in hits:
        title = hit.conversation_title or "Untitled"
        lines.append(f"- In “{title}” ({hit.role}): {hit.plain_snippet}")
    return "\n".join(lines)


def search_conversations_tool() -> Tool:
    return Tool(
        name=NAME,
        title="Search my conversations",
        description=(
            "Search the user's earlier conversations with Hearth for words or phrases; "
            "returns the matching messages with their conversation titles."
        ),
        parameters={
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": 'Words to find; "quoted words" as one phrase.',
                    "minLength": 1,
                    "maxLength": 200,
                },
                "limit": {
                    "type": "integer",
                    "description": f"How many messages at most (1 to {MAX_LIMIT}).",
                },
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        handler=search,
        default_permission="ask",  # it reads the user's history
        timeout_s=10.0,
    )
