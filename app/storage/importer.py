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

Images come back byte for byte: each one the file carries must hash to its SHA-256, and
every hash a message lists must be carried (or already be in this history).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from app.core.errors import StorageError
from app.core.i18n import translate
from app.storage.conversations import Conversation, ConversationStore, Role, Status, StoredMessage
from app.storage.export import ALL_FORMAT, EXPORT_FORMAT, EXPORT_VERSION
from app.vision.images import PreparedImage

_ROLES: frozenset[str] = frozenset(get_args(Role))
_STATUSES: frozenset[str] = frozenset(get_args(Status))
_MAX_BYTES = 4 << 30  # a history export is text (images in base64); past 4 GiB it is not ours
_MIMES = frozenset({"image/png", "image/jpeg"})
_SHA256 = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class ImportResult:
    """What ``import_file`` did."""

    added: int  # conversations added
    skipped: int  # conversations already in the history (same uid)
    messages: int  # messages added
    images: int = 0  # images the added messages hold (each counted once)


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
        images=_hashes(record.get("images"), where),
    )


def _hashes(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(_is_sha256(v) for v in value):
        raise _Invalid(f"{where} has images that are not a list of SHA-256 hashes")
    return tuple(value)


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _SHA256


def _size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _images(value: Any, where: str) -> dict[str, PreparedImage]:
    """The images a conversation record carries, each checked against its hash."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid(f"{where} has images that are not a JSON object")
    found: dict[str, PreparedImage] = {}
    for sha256, item in value.items():
        here = f"image {str(sha256)[:12]} of {where}"
        if not _is_sha256(sha256) or not isinstance(item, dict):
            raise _Invalid(f"{here} is not filed under a SHA-256 hash")
        mime, width, height, name = (item.get(k) for k in ("mime", "width", "height", "name"))
        if mime not in _MIMES:
            raise _Invalid(f"{here} has the type {mime!r} (image/png or image/jpeg)")
        if not (_size(width) and _size(height)):
            raise _Invalid(f"{here} has no size")
        assert isinstance(width, int) and isinstance(height, int)
        if name is not None and not isinstance(name, str):
            raise _Invalid(f"{here} has a name that is not text")
        try:
            data = base64.b64decode(str(item.get("data", "")), validate=True)
        except (binascii.Error, ValueError):
            raise _Invalid(f"{here} holds invalid base64") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise _Invalid(f"{here} does not match its hash (damaged or edited)")
        found[sha256] = PreparedImage(data, mime, width, height, sha256, name)
    return found


def _derived_uid(head: dict[str, Any], messages: list[Any]) -> str:
    """A stable uid for an export made before uids existed: the same file, the same uid."""
    fingerprint = json.dumps(
        [head.get("created_at"), head.get("title"), messages], sort_keys=True, ensure_ascii=False
    )
    return uuid.UUID(bytes=hashlib.sha256(fingerprint.encode()).digest()[:16], version=4).hex


def _conversation(
    record: Any, where: str, images: dict[str, PreparedImage]
) -> tuple[Conversation, list[StoredMessage]]:
    """One conversation record; the images it carries are added to ``images``."""
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
    images.update(_images(record.get("images"), where))
    return conversation, parsed


def read_export(path: Path) -> list[tuple[Conversation, list[StoredMessage]]]:
    """The conversations in a Hearth JSON export; ``StorageError`` says what is wrong."""
    return read_export_with_images(path)[0]


def read_export_with_images(
    path: Path,
) -> tuple[list[tuple[Conversation, list[StoredMessage]]], dict[str, PreparedImage]]:
    """The conversations in a Hearth JSON export and the images they hold (by hash)."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise StorageError(
                translate(
                    "Storage", "{path} is larger than any Hearth export; nothing was imported."
                ).format(path=path)
            )
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StorageError(
            translate("Storage", "Could not read {path}: {value}.").format(
                path=path, value=exc.strerror or exc
            )
        ) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise StorageError(
            translate(
                "Storage",
                "{path} is not a Hearth export (it is not JSON text); nothing was imported.",
            ).format(path=path)
        ) from exc
    kind = document.get("format") if isinstance(document, dict) else None
    if kind not in (ALL_FORMAT, EXPORT_FORMAT):
        raise StorageError(
            translate(
                "Storage",
                "{path} is not a Hearth export (Hearth imports only the JSON files of its own "
                "'hearth export' or Export); nothing was imported.",
            ).format(path=path)
        )
    assert isinstance(document, dict)
    version = document.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise StorageError(
            translate(
                "Storage",
                "{path} was written by a newer Hearth (export version {version}); update Hearth "
                "to import it.",
            ).format(path=path, version=version)
        )
    images: dict[str, PreparedImage] = {}
    try:
        if kind == EXPORT_FORMAT:
            items = [_conversation(document, "the conversation", images)]
        else:
            records = document.get("conversations")
            if not isinstance(records, list):
                raise _Invalid("its 'conversations' is not a list")
            items = [
                _conversation(r, f"conversation {n}", images) for n, r in enumerate(records, 1)
            ]
        return items, images
    except _Invalid as exc:
        raise StorageError(
            translate("Storage", "{path} cannot be imported: {exc}; nothing was imported.").format(
                path=path, exc=exc
            )
        ) from exc


def import_file(store: ConversationStore, path: Path) -> ImportResult:
    """Add every conversation of the export at ``path`` that is not already here."""
    items, images = read_export_with_images(path)
    added = store.restore_conversations(items, images=images)
    new = [n for n, new_id in enumerate(added) if new_id is not None]
    return ImportResult(
        added=len(new),
        skipped=len(added) - len(new),
        messages=sum(len(items[n][1]) for n in new),
        images=len({sha for n in new for m in items[n][1] for sha in m.images}),
    )
