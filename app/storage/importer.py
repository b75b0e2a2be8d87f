"""Import conversations from Hearth's own JSON exports (``hearth import FILE``).

Both forms are read: a whole history (``hearth.export``, from ``hearth export --all``)
and one conversation (``hearth.conversation``, from the window's Export). The file is
checked whole before anything is written, and everything is added in one transaction:
a bad file adds nothing.

Duplicates: each conversation carries its ``uid``; one whose uid is already in the
history is skipped and left as it is there, so importing the same file twice adds
nothing the second time (to bring in a changed copy, delete the local one first). An
export from before uids existed gets one derived from its creation time, title and
messages, which gives the same uid on every import of that file. Ids in the file are
ignored; the imported conversations get new ones. A reply exported while it was still
being written comes back as stopped.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from app.core.errors import StorageError
from app.storage.conversations import Conversation, ConversationStore, Role, Status, StoredMessage
from app.storage.export import ALL_FORMAT, EXPORT_FORMAT, EXPORT_VERSION

_ROLES: frozenset[str] = frozenset(get_args(Role))
_STATUSES: frozenset[str] = frozenset(get_args(Status))
_MAX_BYTES = 1 << 30  # a history export is text; past 1 GiB it is not one of ours


@dataclass(frozen=True)
class ImportResult:
    """What ``import_file`` did."""

    added: int  # conversations added
    skipped: int  # conversations already in the history (same uid)
    messages: int  # messages added


class _Invalid(Exception):
    """Internal: what is wrong where, in words for the user."""


def _time(value: Any, where: str) -> float:
    if not isinstance(value, str):
        raise _Invalid(f"{where} has no time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid(f"{where} has the time {value!r}, which is not ISO 8601") from None
    if moment.tzinfo is None:  # exports are UTC; a hand-edited time without zone too
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _optional_text(record: dict[str, Any], key: str, where: str) -> str | None:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise _Invalid(f"{where} has a {key} that is not text")
    return value


def _optional_object(record: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = record.get(key)
    if value is not None and not isinstance(value, dict):
        raise _Invalid(f"{where} has {key} that are not a JSON object")
    return value


def _optional_list(record: dict[str, Any], key: str, where: str) -> list[dict[str, Any]] | None:
    value = record.get(key)
    if value is not None and not (
        isinstance(value, list) and all(isinstance(item, dict) for item in value)
    ):
        raise _Invalid(f"{where} has {key} that are not a list of JSON objects")
    return value


def _message(record: Any, where: str) -> StoredMessage:
    if not isinstance(record, dict):
        raise _Invalid(f"{where} is not a JSON object")
    role, content = record.get("role"), record.get("content")
    status: Any = record.get("status") or "complete"
    if role not in _ROLES:
        raise _Invalid(f"{where} has the role {role!r} (system, user or assistant)")
    if not isinstance(content, str):
        raise _Invalid(f"{where} has no text")
    if status not in _STATUSES:
        raise _Invalid(f"{where} has the status {status!r}")
    return StoredMessage(
        id=0,
        conversation_id=0,
        role=role,
        content=content,
        created_at=_time(record.get("created_at"), where),
        status=status,
        model=_optional_text(record, "model", where),
        stats=_optional_object(record, "stats", where),
        params=_optional_object(record, "params", where),
        reasoning=_optional_text(record, "reasoning", where),
        tools=_optional_list(record, "tools", where),
        sources=_optional_list(record, "sources", where),
    )


def _derived_uid(head: dict[str, Any], messages: list[Any]) -> str:
    """A stable uid for an export made before uids existed: the same file, the same uid."""
    fingerprint = json.dumps(
        [head.get("created_at"), head.get("title"), messages], sort_keys=True, ensure_ascii=False
    )
    return uuid.UUID(bytes=hashlib.sha256(fingerprint.encode()).digest()[:16], version=4).hex


def _conversation(record: Any, where: str) -> tuple[Conversation, list[StoredMessage]]:
    if not isinstance(record, dict):
        raise _Invalid(f"{where} is not a JSON object")
    head, messages = record.get("conversation"), record.get("messages")
    if not isinstance(head, dict) or not isinstance(messages, list):
        raise _Invalid(f"{where} lacks its 'conversation' or 'messages'")
    title = head.get("title", "")
    if not isinstance(title, str):
        raise _Invalid(f"{where} has a title that is not text")
    where = f"{where} (“{title}”)" if title else where
    created = _time(head.get("created_at"), where)
    settings = _optional_object(head, "settings", where) or {}
    uid = head.get("uid")
    if not isinstance(uid, str) or not uid:
        uid = _derived_uid(head, messages)
    conversation = Conversation(
        id=0,
        title=title,
        created_at=created,
        updated_at=_time(head["updated_at"], where) if "updated_at" in head else created,
        pinned=head.get("pinned") is True,
        model=_optional_text(head, "model", where),
        system_prompt=_optional_text(head, "system_prompt", where),
        settings=settings,
        uid=uid,
    )
    parsed = [_message(m, f"message {n} of {where}") for n, m in enumerate(messages, 1)]
    return conversation, parsed


def read_export(path: Path) -> list[tuple[Conversation, list[StoredMessage]]]:
    """The conversations in a Hearth JSON export; ``StorageError`` says what is wrong."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise StorageError(f"{path} is larger than any Hearth export; nothing was imported.")
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StorageError(f"Could not read {path}: {exc.strerror or exc}.") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise StorageError(
            f"{path} is not a Hearth export (it is not JSON text); nothing was imported."
        ) from exc
    kind = document.get("format") if isinstance(document, dict) else None
    if kind not in (ALL_FORMAT, EXPORT_FORMAT):
        raise StorageError(
            f"{path} is not a Hearth export (Hearth imports only the JSON files of its own "
            f"'hearth export' or Export); nothing was imported."
        )
    assert isinstance(document, dict)
    version = document.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise StorageError(
            f"{path} was written by a newer Hearth (export version {version}); update "
            f"Hearth to import it."
        )
    try:
        if kind == EXPORT_FORMAT:
            return [_conversation(document, "the conversation")]
        records = document.get("conversations")
        if not isinstance(records, list):
            raise _Invalid("its 'conversations' is not a list")
        return [_conversation(r, f"conversation {n}") for n, r in enumerate(records, 1)]
    except _Invalid as exc:
        raise StorageError(f"{path} cannot be imported: {exc}; nothing was imported.") from exc


def import_file(store: ConversationStore, path: Path) -> ImportResult:
    """Add every conversation of the export at ``path`` that is not already here."""
    items = read_export(path)
    added = store.restore_conversations(items)
    new = [n for n, new_id in enumerate(added) if new_id is not None]
    return ImportResult(
        added=len(new),
        skipped=len(added) - len(new),
        messages=sum(len(items[n][1]) for n in new),
    )
