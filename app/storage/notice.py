"""What opening the conversation database found and did, told to the user in one sentence.

The window shows a notice in its banner (an error banner when something may have been
lost), the CLI prints it on stderr. Each is shown once: the next open finds a sound file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from app.core.i18n import Sentence, join, translate

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


def _count(n: int, one: Sentence, many: Sentence) -> Sentence:
    """``one`` for 1, else ``many`` with ``{n}`` filled in (both written out where called,
    so lupdate sees each)."""
    return one if n == 1 else many.format(n=n)


def _counts(conversations: int, messages: int) -> str:
    c = _count(
        conversations,
        translate("Storage", "1 conversation"),
        translate("Storage", "{n} conversations"),
    )
    m = _count(messages, translate("Storage", "1 message"), translate("Storage", "{n} messages"))
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
    collections = _count(
        found.collections,
        translate("Storage", "1 collection"),
        translate("Storage", "{n} collections"),
    )
    files = _count(found.files, translate("Storage", "1 file"), translate("Storage", "{n} files"))
    kept = translate("Storage", "{collections} with {files} were kept").format(
        collections=collections, files=files
    )
    reindex = _count(
        found.to_reindex,
        translate("Storage", "; 1 file is read again at the next update"),
        translate("Storage", "; {n} files are read again at the next update"),
    )
    lost = _count(
        found.lost_collections,
        translate("Storage", "; 1 collection could not be read back: add their files again"),
        translate("Storage", "; {n} collections could not be read back: add their files again"),
    )
    return translate("Storage", "Documents: {kept}{reindex}{lost}.").format(
        kept=kept,
        reindex=reindex if found.to_reindex else "",
        lost=lost if found.lost_collections else "",
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
