"""What opening the conversation database found and did, told to the user in one sentence.

The window shows a notice in its banner (an error banner when something may have been
lost), the CLI prints it on stderr. Each is shown once: the next open finds a sound file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from app.storage.salvage_docs import SalvagedDocuments

# repaired: damage outside the messages (search index, unused space) was repaired.
# salvaged: the messages were damaged; the file was set aside and read into a new one.
# missing / emptied: a database that held conversations is gone or empty.
NoticeKind = Literal["repaired", "salvaged", "missing", "emptied"]


@dataclass(frozen=True)
class StorageNotice:
    """One event to tell the user; ``str()`` is the sentence."""

    kind: NoticeKind
    message: str
    conversations: int = 0
    messages: int = 0
    moved_to: str | None = None

    @property
    def severe(self) -> bool:
        """Whether history may have been lost (shown as an error, not as a notice)."""
        return self.kind != "repaired"

    def __str__(self) -> str:
        return self.message


def _counts(conversations: int, messages: int) -> str:
    c = "conversation" if conversations == 1 else "conversations"
    m = "message" if messages == 1 else "messages"
    return f"{conversations} {c} and {messages} {m}"


def repaired(where: str, conversations: int, messages: int) -> StorageNotice:
    """Damage in ``where`` (the search index, unused space) was repaired in place."""
    return StorageNotice(
        "repaired",
        f"Hearth found damage in the {where} of the conversation database and repaired "
        f"it; all {_counts(conversations, messages)} were kept.",
        conversations,
        messages,
    )


def salvaged(
    moved_to: Path,
    conversations: int,
    messages: int,
    documents: SalvagedDocuments | None = None,
) -> StorageNotice:
    """The damaged file was set aside as ``moved_to``; this much was read back from it
    (``documents``: what came back of the document collections)."""
    if conversations == 0 and messages == 0:
        text = (
            f"The conversation database was damaged beyond reading, so Hearth started an "
            f"empty history and kept the damaged file as {moved_to} (other recovery tools "
            f"may get more out of it)."
        )
    else:
        text = (
            f"The conversation database was damaged: Hearth recovered "
            f"{_counts(conversations, messages)} into a new database and kept the "
            f"damaged file as {moved_to}."
        )
    if documents is not None:
        text += _documents(documents)
    return StorageNotice("salvaged", text, conversations, messages, str(moved_to))


def _documents(found: SalvagedDocuments) -> str:
    """What became of the document collections, for the salvage notice ("" when there
    were none)."""
    if not (found.collections or found.to_reindex or found.lost_collections):
        return ""
    c = "collection" if found.collections == 1 else "collections"
    f = "file" if found.files == 1 else "files"
    text = f" Documents: {found.collections} {c} with {found.files} {f} were kept"
    if found.to_reindex:
        r = "file is" if found.to_reindex == 1 else "files are"
        text += f"; {found.to_reindex} {r} read again at the next update"
    if found.lost_collections:
        lost = found.lost_collections
        text += (
            f"; {lost} {'collection' if lost == 1 else 'collections'} could not be read "
            "back: add their files again"
        )
    return text + "."


def vanished(path: Path, size: int | None) -> StorageNotice:
    """The database at ``path`` held conversations before and is now missing (``size``
    None) or empty (a file of ``size`` bytes with no conversation tables)."""
    kind: NoticeKind = "missing" if size is None else "emptied"
    if size is None:
        state = "was missing"
    elif size == 0:
        state = "was empty (0 bytes)"
    else:
        state = "held no conversation tables"
    return StorageNotice(
        kind,
        f"The conversation database {path} {state}, though Hearth had saved conversations "
        f"in it before; Hearth started a new history there (restore the file from a "
        f"backup, or bring back an export with 'hearth import FILE').",
    )
