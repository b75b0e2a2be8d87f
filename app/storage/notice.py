"""What opening the conversation database found and did, told to the user in one sentence.

The window shows a notice in its banner (an error banner when something may have been
lost), the CLI prints it on stderr. Each is shown once: the next open finds a sound file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from app.core.i18n import join, translate

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
    c = (
        translate("Storage", "1 conversation")
        if conversations == 1
        else translate("Storage", "{n} conversations").format(n=conversations)
    )
    m = (
        translate("Storage", "1 message")
        if messages == 1
        else translate("Storage", "{n} messages").format(n=messages)
    )
    return translate("Storage", "{conversations} and {messages}").format(
        conversations=c, messages=m
    )


def _place(where: str) -> str:
    """What ``health.repair`` names ("search index", "unused space", ...), translated."""
    places = {
        "search index": translate("Storage", "search index"),
        "documents' search index": translate("Storage", "documents' search index"),
        "unused space": translate("Storage", "unused space"),
    }
    return places.get(where, where)


def repaired(where: str, conversations: int, messages: int) -> StorageNotice:
    """Damage in ``where`` (the search index, unused space) was repaired in place."""
    return StorageNotice(
        "repaired",
        translate(
            "Storage",
            "Hearth found damage in the {where} of the conversation database and repaired "
            "it; all {counts} were kept.",
        ).format(where=_place(where), counts=_counts(conversations, messages)),
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
    text: str
    if conversations == 0 and messages == 0:
        text = translate(
            "Storage",
            "The conversation database was damaged beyond reading, so Hearth started an "
            "empty history and kept the damaged file as {moved_to} (other recovery tools "
            "may get more out of it).",
        ).format(moved_to=moved_to)
    else:
        text = translate(
            "Storage",
            "The conversation database was damaged: Hearth recovered {counts} into a new "
            "database and kept the damaged file as {moved_to}.",
        ).format(counts=_counts(conversations, messages), moved_to=moved_to)
    if documents is not None:
        said = _documents(documents)
        if said:  # join(" ", ...): the window makes both sentences again in its language
            text = join(" ", (text, said))
    return StorageNotice("salvaged", text, conversations, messages, str(moved_to))


def _documents(found: SalvagedDocuments) -> str:
    """What became of the document collections, a sentence for the salvage notice (""
    when there were none)."""
    if not (found.collections or found.to_reindex or found.lost_collections):
        return ""
    collections = (
        translate("Storage", "1 collection")
        if found.collections == 1
        else translate("Storage", "{n} collections").format(n=found.collections)
    )
    files = (
        translate("Storage", "1 file")
        if found.files == 1
        else translate("Storage", "{n} files").format(n=found.files)
    )
    kept = translate("Storage", "{collections} with {files} were kept").format(
        collections=collections, files=files
    )
    reindex = ""
    if found.to_reindex == 1:
        reindex = translate("Storage", "; 1 file is read again at the next update")
    elif found.to_reindex:
        reindex = translate("Storage", "; {n} files are read again at the next update").format(
            n=found.to_reindex
        )
    lost = ""
    if found.lost_collections == 1:
        lost = translate("Storage", "; 1 collection could not be read back: add their files again")
    elif found.lost_collections:
        lost = translate(
            "Storage", "; {n} collections could not be read back: add their files again"
        ).format(n=found.lost_collections)
    return translate("Storage", "Documents: {kept}{reindex}{lost}.").format(
        kept=kept, reindex=reindex, lost=lost
    )


def vanished(path: Path, size: int | None) -> StorageNotice:
    """The database at ``path`` held conversations before and is now missing (``size``
    None) or empty (a file of ``size`` bytes with no conversation tables)."""
    kind: NoticeKind = "missing" if size is None else "emptied"
    if size is None:
        said = translate(
            "Storage",
            "The conversation database {path} was missing, though Hearth had saved "
            "conversations in it before; Hearth started a new history there (restore the "
            "file from a backup, or bring back an export with 'hearth import FILE').",
        )
    elif size == 0:
        said = translate(
            "Storage",
            "The conversation database {path} was empty (0 bytes), though Hearth had saved "
            "conversations in it before; Hearth started a new history there (restore the "
            "file from a backup, or bring back an export with 'hearth import FILE').",
        )
    else:
        said = translate(
            "Storage",
            "The conversation database {path} held no conversation tables, though Hearth "
            "had saved conversations in it before; Hearth started a new history there "
            "(restore the file from a backup, or bring back an export with 'hearth import "
            "FILE').",
        )
    return StorageNotice(kind, said.format(path=path))
