"""``search_documents``: search the user's indexed documents (``hearth docs``, the
Documents page) and return the best passages with their sources.

The same hybrid search as ``hearth docs search``; passages that are not about the query
are left out, so "nothing found" is said rather than padded with unrelated text. The
documents come from the tool context (the window's, whose embedding model runs in its
own process); without them, the ones in the conversation database the context names (or
the user's) are opened once and shared.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import ConfigError, HearthError, ToolError
from app.core.i18n import translate
from app.tools.tool import Tool, ToolContext

if TYPE_CHECKING:
    from app.docs.documents import Documents

NAME = "search_documents"
DEFAULT_TOP_K = 4
MAX_TOP_K = 10
MAX_CHARS = 4000  # of passage text in one result, as much as a grounded question gets

_opened: dict[Path, Documents] = {}
_opened_lock = threading.Lock()


def _documents(context: ToolContext) -> Documents:
    if context.documents is not None:
        return context.documents
    if context.store is not None:
        database = context.store.path
    else:
        from app.core.paths import app_paths
        from app.storage import default_database_path

        database = default_database_path(app_paths().ensure())
    with _opened_lock:
        if database not in _opened:
            from app.docs.documents import Documents

            _opened[database] = Documents.open(database)
        return _opened[database]


def search(arguments: dict[str, Any], context: ToolContext) -> str:
    """The relevant passages, best first, each under its numbered source label."""
    from app.docs.grounding import source_label

    query = str(arguments["query"]).strip()
    if not query:
        raise ToolError(translate("Tools", "the query is empty."))
    top_k = max(1, min(MAX_TOP_K, int(arguments.get("top_k", DEFAULT_TOP_K))))
    collection = str(arguments.get("collection") or "").strip()
    documents = _documents(context)
    names = [collection] if collection else None
    try:
        if names is None and not documents.summaries():
            raise ToolError(
                translate(
                    "Tools",
                    "the user has no indexed documents; they can add some with hearth docs "
                    "add or on the Documents page.",
                )
            )
        passages = documents.search(query, names, top_k=top_k)
    except ConfigError as exc:  # an unknown collection: the message names the known ones
        raise ToolError(str(exc)) from None
    except ToolError:
        raise
    except HearthError as exc:  # no embedding model, an index that cannot be read
        raise ToolError(str(exc)) from None
    found = [p for p in passages if p.relevant]
    where = f"the collection {collection!r}" if collection else "the user's documents"
    if not found:
        return f"Nothing in {where} is about {query!r}."
    blocks: list[str] = []
    used = 0
    for number, passage in enumerate(found, start=1):
        text = passage.text[: max(0, MAX_CHARS - used)]
        if blocks and not text:
            break
        used += len(text)
        blocks.append(f"[{number}] {source_label(passage)}\n{text}")
    return f"{len(blocks)} passages from {where}, best first:\n\n" + "\n\n".join(blocks)


def search_documents_tool() -> Tool:
    return Tool(
        name=NAME,
        title="Search my documents",
        description=(
            "Search the user's own documents (their indexed files: PDFs, notes, manuals) "
            "for passages about a question or topic; returns the best passages, each with "
            "its file, page or heading, to answer from and cite."
        ),
        parameters={
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": "What to look for, in words or as a question.",
                    "minLength": 1,
                    "maxLength": 300,
                },
                "collection": {
                    "type": "string",
                    "description": "Search only this collection (default: all of them).",
                },
                "top_k": {
                    "type": "integer",
                    "description": f"How many passages at most (1 to {MAX_TOP_K}).",
                },
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        handler=search,
        # It reads only what the user chose to index, and only in this process.
        default_permission="allow",
        timeout_s=30.0,  # the first search loads the embedding model (about a second)
    )
