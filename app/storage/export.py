"""Export a conversation as Markdown (to read or share) or versioned JSON (to keep).

The JSON format is ``{"format": "hearth.conversation", "version": 1, "exported_at",
"conversation": {...}, "messages": [...]}``; times are ISO 8601 in UTC. A reader must
check ``format`` and ``version``; new fields may appear without a version bump.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from app.storage.conversations import Conversation, ConversationStore, StoredMessage

EXPORT_FORMAT = "hearth.conversation"
EXPORT_VERSION = 1

ExportKind = Literal["markdown", "json"]

_ROLE_HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant"}
_STATUS_NOTES = {
    "stopped": "*(Stopped before the end.)*",
    "error": "*(The reply failed before the end.)*",
    "streaming": "*(Still being written when exported.)*",
}
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def close_open_fence(markdown: str) -> str:
    """Close a code block left open (a reply stopped mid-code), so it cannot swallow
    the headings that follow it in the export."""
    open_fence: str | None = None
    for line in markdown.splitlines():
        match = _FENCE.match(line)
        if match is None:
            continue
        fence, rest = match.groups()
        if open_fence is None:
            if not (fence[0] == "`" and "`" in rest):  # CommonMark: no ` in a ``` info string
                open_fence = fence
        elif fence[0] == open_fence[0] and len(fence) >= len(open_fence) and not rest.strip():
            open_fence = None
    if open_fence is None:
        return markdown
    return markdown.rstrip("\n") + "\n" + open_fence


def to_markdown(conversation: Conversation, messages: Sequence[StoredMessage]) -> str:
    """The conversation as Markdown: a title, then each message under a role heading.

    Message text is already Markdown and is copied verbatim, code blocks included.
    """
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    facts = [f"Started {_iso(conversation.created_at)}"]
    if conversation.model:
        facts.append(f"model {conversation.model}")
    lines += ["*" + ", ".join(facts) + " — exported from Hearth.*", ""]
    if conversation.system_prompt:
        lines += ["## System prompt", "", close_open_fence(conversation.system_prompt), ""]
    for message in messages:
        lines += [f"## {_ROLE_HEADINGS.get(message.role, message.role.title())}", ""]
        if message.content:
            lines += [close_open_fence(message.content), ""]
        note = _STATUS_NOTES.get(message.status)
        if note:
            lines += [note, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def to_dict(
    conversation: Conversation,
    messages: Sequence[StoredMessage],
    *,
    exported_at: float | None = None,
) -> dict[str, Any]:
    """The versioned JSON object (see the module docstring)."""
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": _iso(datetime.now(UTC).timestamp() if exported_at is None else exported_at),
        "conversation": {
            "id": conversation.id,
            "title": conversation.title,
            "created_at": _iso(conversation.created_at),
            "updated_at": _iso(conversation.updated_at),
            "pinned": conversation.pinned,
            "model": conversation.model,
            "system_prompt": conversation.system_prompt,
            "settings": conversation.settings,
        },
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "content": m.content,
                "created_at": _iso(m.created_at),
                "status": m.status,
                "model": m.model,
                "stats": m.stats,
                "params": m.params,
            }
            for m in messages
        ],
    }


def to_json(conversation: Conversation, messages: Sequence[StoredMessage]) -> str:
    """``to_dict`` as indented UTF-8 JSON text (strict: no NaN)."""
    return (
        json.dumps(to_dict(conversation, messages), ensure_ascii=False, indent=2, allow_nan=False)
        + "\n"
    )


def export_conversation(store: ConversationStore, conversation_id: int, kind: ExportKind) -> str:
    """One stored conversation as Markdown or JSON text."""
    conversation = store.get_conversation(conversation_id)
    messages = store.get_messages(conversation_id)
    if kind == "markdown":
        return to_markdown(conversation, messages)
    return to_json(conversation, messages)


def save_export(store: ConversationStore, conversation_id: int, path: Path) -> ExportKind:
    """Write an export to ``path``: JSON for ``.json``, Markdown otherwise.

    Written to a temporary file and renamed, so an existing file is never half replaced.
    """
    kind: ExportKind = "json" if path.suffix.lower() == ".json" else "markdown"
    text = export_conversation(store, conversation_id, kind)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return kind
