"""Export conversations as Markdown (to read or share) or versioned JSON (to keep).

One conversation in JSON is ``{"format": "hearth.conversation", "version": 1,
"exported_at", "conversation": {...}, "messages": [...]}``; the whole history
(``hearth export --all``) is ``{"format": "hearth.export", "version": 1, "exported_at",
"conversations": [{"conversation": {...}, "messages": [...]}, ...]}``. Times are ISO 8601
in UTC to the microsecond; ``conversation.uid`` is the conversation's identity, which
``app.storage.importer`` uses so that importing a file twice adds nothing the second
time. A reader must check ``format`` and ``version``; new fields may appear without a
version bump.

Images: a message that holds some lists their hashes, in order, as ``"images":
["<sha256>", ...]``, and its conversation record carries each one once, as ``"images":
{"<sha256>": {"mime", "width", "height", "name", "data": "<base64>"}}`` (both keys are
left out when there are none). Markdown embeds each image in its message as a
``data:`` URL (``![name](data:image/jpeg;base64,...)``): one file, readable offline in
any viewer that shows data URLs (VS Code, Obsidian, Typora, browsers).
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from app.storage.conversations import Conversation, ConversationStore, StoredMessage
from app.vision.images import PreparedImage, data_url

Images = Mapping[str, PreparedImage]  # by SHA-256

EXPORT_FORMAT = "hearth.conversation"
ALL_FORMAT = "hearth.export"
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


def _iso_exact(timestamp: float) -> str:
    """To the microsecond, so an import gives back the same times."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="microseconds")


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


def to_markdown(
    conversation: Conversation,
    messages: Sequence[StoredMessage],
    images: Images | None = None,
) -> str:
    """The conversation as Markdown: a title, then each message under a role heading.

    Message text is already Markdown and is copied verbatim, code blocks included. A
    message's images come before its text, embedded as data URLs (from ``images``, by
    hash; one that is not given is named in a note instead).
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
        lines += _tool_lines(message.tools or [])
        lines += _image_lines(message.images, images or {})
        if message.content:
            lines += [close_open_fence(message.content), ""]
        lines += _source_lines(message.sources)
        note = _STATUS_NOTES.get(message.status)
        if note:
            lines += [note, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _image_lines(hashes: Sequence[str], images: Images) -> list[str]:
    """One embedded image per line, in the message's order."""
    lines = []
    for n, sha256 in enumerate(hashes, start=1):
        image = images.get(sha256)
        if image is None:
            lines.append(f"*(Image {n}, {sha256[:12]}, was not exported.)*  ")
            continue
        label = re.sub(r"[\[\]\\]", "", image.name or f"image {n}")
        lines.append(f"![{label} ({image.width} × {image.height})]({data_url(image)})  ")
    return [*lines, ""] if lines else []


def _source_lines(sources: Sequence[dict[str, Any]] | None) -> list[str]:
    """The numbered references under a grounded answer, or that nothing was found."""
    if sources is None:
        return []
    if not sources:
        return ["*(Nothing relevant was found in the documents.)*", ""]
    lines = []
    for n, source in enumerate(sources, start=1):
        label = Path(str(source.get("path", "?"))).name
        if source.get("page") is not None:
            label += f", page {source['page']}"
        if source.get("heading"):
            label += f" — {source['heading']}"
        lines.append(f"[{source.get('n', n)}] {label}  ")  # two spaces: a line break
    return [*lines, ""]


def _tool_lines(tools: Sequence[dict[str, Any]]) -> list[str]:
    """One quoted line per tool call of a turn: the tool, its arguments and its result."""
    lines = []
    for call in tools:
        arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False)
        result = " ".join(str(call.get("result", "")).split())
        if len(result) > 200:
            result = result[:199] + "…"
        outcome = "" if call.get("ok", True) else " (failed)"
        lines += [f"> Tool `{call.get('name', '?')}` {arguments}{outcome}: {result}", ""]
    return lines


def to_dict(
    conversation: Conversation,
    messages: Sequence[StoredMessage],
    *,
    exported_at: float | None = None,
    images: Images | None = None,
) -> dict[str, Any]:
    """The versioned JSON object (see the module docstring)."""
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": _exported_at(exported_at),
        **conversation_record(conversation, messages, images),
    }


def _exported_at(exported_at: float | None) -> str:
    return _iso(datetime.now(UTC).timestamp() if exported_at is None else exported_at)


def conversation_record(
    conversation: Conversation, messages: Sequence[StoredMessage], images: Images | None = None
) -> dict[str, Any]:
    """``{"conversation": {...}, "messages": [...]}``: one conversation, all it holds
    (with ``"images"`` when its messages hold some: those of ``images`` they list)."""
    record = {
        "conversation": {
            "id": conversation.id,
            "uid": conversation.uid,
            "title": conversation.title,
            "created_at": _iso_exact(conversation.created_at),
            "updated_at": _iso_exact(conversation.updated_at),
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
                "created_at": _iso_exact(m.created_at),
                "status": m.status,
                "model": m.model,
                "stats": m.stats,
                "params": m.params,
                "reasoning": m.reasoning,
                "tools": m.tools,
                "sources": m.sources,
                **({"images": list(m.images)} if m.images else {}),
            }
            for m in messages
        ],
    }
    listed = dict.fromkeys(sha for m in messages for sha in m.images)
    carried = {sha: (images or {})[sha] for sha in listed if sha in (images or {})}
    if carried:
        record["images"] = {sha: image_record(image) for sha, image in carried.items()}
    return record


def image_record(image: PreparedImage) -> dict[str, Any]:
    """One image in a JSON export (its hash is the key it is filed under)."""
    return {
        "mime": image.mime,
        "width": image.width,
        "height": image.height,
        "name": image.name,
        "data": base64.b64encode(image.data).decode("ascii"),
    }


def images_of(
    store: ConversationStore, messages: Sequence[StoredMessage]
) -> dict[str, PreparedImage]:
    """The images the messages list, each once, from the store."""
    hashes = dict.fromkeys(sha for m in messages for sha in m.images)
    return {sha: store.image(sha) for sha in hashes}


def to_json(
    conversation: Conversation, messages: Sequence[StoredMessage], images: Images | None = None
) -> str:
    """``to_dict`` as indented UTF-8 JSON text (strict: no NaN)."""
    document = to_dict(conversation, messages, images=images)
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def export_conversation(store: ConversationStore, conversation_id: int, kind: ExportKind) -> str:
    """One stored conversation as Markdown or JSON text."""
    conversation = store.get_conversation(conversation_id)
    messages = store.get_messages(conversation_id)
    images = images_of(store, messages)
    if kind == "markdown":
        return to_markdown(conversation, messages, images)
    return to_json(conversation, messages, images)


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


# -- the whole history ---------------------------------------------------------------------


@dataclass
class ExportResult:
    """What ``export_all`` wrote."""

    path: Path  # the JSON or Markdown file, or the folder of Markdown files
    conversations: int = 0
    messages: int = 0
    files: list[Path] = field(default_factory=list)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _in_creation_order(
    store: ConversationStore,
) -> list[tuple[Conversation, list[StoredMessage], dict[str, PreparedImage]]]:
    conversations = sorted(store.list_conversations(), key=lambda c: c.id)
    items = []
    for conversation in conversations:
        messages = store.get_messages(conversation.id)
        items.append((conversation, messages, images_of(store, messages)))
    return items


def default_export_name(kind: ExportKind, now: datetime | None = None) -> str:
    """``hearth-export-20250102-030405.json`` (Markdown: the same name as a folder)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return f"hearth-export-{stamp}" + (".json" if kind == "json" else "")


def markdown_file_name(conversation: Conversation) -> str:
    """``2025-01-02-title-words-7.md``: by date, readable, unique (the id), and valid on
    every OS (letters, digits and dashes only)."""
    day = datetime.fromtimestamp(conversation.created_at, UTC).strftime("%Y-%m-%d")
    slug = re.sub(r"[^\w]+", "-", conversation.title.lower(), flags=re.UNICODE).strip("-_")
    slug = slug[:48].strip("-_") or "untitled"
    return f"{day}-{slug}-{conversation.id}.md"


def export_all(store: ConversationStore, kind: ExportKind, out: Path | None = None) -> ExportResult:
    """Write every conversation to ``out`` (default: a dated name in the current folder).

    JSON: one file; ``out`` may be a folder, which then gets the dated name. Markdown:
    one file per conversation in the folder ``out``, or all in one file when ``out``
    ends in ``.md``. Files are written whole (a temporary file, then renamed).
    """
    items = _in_creation_order(store)
    target = out if out is not None else Path(default_export_name(kind))
    result = ExportResult(target, len(items), sum(len(m) for _, m, _ in items))
    if kind == "json":
        if target.is_dir():
            target = target / default_export_name("json")
        document = {
            "format": ALL_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": _exported_at(None),
            "conversations": [conversation_record(c, m, i) for c, m, i in items],
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        _write_atomically(target, text)
        result.path, result.files = target, [target]
    elif target.suffix.lower() == ".md" and not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, "\n---\n\n".join(to_markdown(c, m, i) for c, m, i in items))
        result.files = [target]
    else:
        target.mkdir(parents=True, exist_ok=True)
        for conversation, messages, images in items:
            path = target / markdown_file_name(conversation)
            _write_atomically(path, to_markdown(conversation, messages, images))
            result.files.append(path)
    return result
