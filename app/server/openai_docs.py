"""The user's documents for API clients: retrieval asked for per request, and embeddings
on the documents' embedding model.

A chat request asks for retrieval with Hearth's own extension object (OpenAI clients send
it with ``extra_body``)::

    {"model": "...", "messages": [...], "hearth": {"documents": ["lease"], "top_k": 4}}

The last user message becomes the grounded one (the passages found, numbered, then the
question; see :mod:`app.docs.grounding`) and the reply adds ``"sources"``: the passages
it may cite, ``[1]`` first. An empty list means the documents were searched and nothing
relevant was found (the model was told so). A stream sends ``sources`` in its first
chunk, beside the assistant's role, before any text. Without ``hearth.documents`` a
request is answered exactly as before and its reply has no ``sources``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.errors import ConfigError, ModelNotFoundError
from app.core.generation import Message
from app.server.openai_api import ApiError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from app.docs.documents import Documents

KEY = "hearth"  # the request's extension object
EMBEDDING = "embedding"  # the embedding model's ``hearth_kind`` in /v1/models
DEFAULT_TOP_K = 4
MAX_TOP_K = 20
MAX_COLLECTIONS = 16
SPECIAL_TOKENS = 2  # an encoder's start and end marks ([CLS], [SEP]) count in its limit


@dataclass(frozen=True)
class DocsRequest:
    """Which collections to search for a chat request, and how many passages to take."""

    names: tuple[str, ...]
    top_k: int = DEFAULT_TOP_K


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or len(value) > MAX_COLLECTIONS
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise ApiError(
            400,
            f"'hearth.documents' must be a collection name or a list of up to "
            f"{MAX_COLLECTIONS} names (hearth docs ls shows them).",
            param="hearth.documents",
        )
    return tuple(dict.fromkeys(v.strip() for v in value))


def take_docs_request(body: dict[str, Any]) -> DocsRequest | None:
    """The request's ``hearth`` object, removed from ``body``; None when it asks for no
    documents. A 400 for anything it cannot mean."""
    value = body.pop(KEY, None)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(
            400, '\'hearth\' must be an object, like {"documents": ["lease"]}.', param=KEY
        )
    for key in value:
        if key not in ("documents", "top_k"):
            raise ApiError(
                400,
                f"Unknown field 'hearth.{key}'; use documents and top_k.",
                param=f"hearth.{key}",
            )
    if value.get("documents") is None:
        return None
    top_k = value.get("top_k", DEFAULT_TOP_K)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise ApiError(
            400,
            f"'hearth.top_k' must be a whole number from 1 to {MAX_TOP_K}.",
            param="hearth.top_k",
        )
    return DocsRequest(_names(value["documents"]), top_k)


def _last_user(messages: Sequence[Message]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index]["role"] == "user":
            return index
    raise ApiError(
        400,
        "'hearth.documents' answers the last user message, and there is none; add one.",
        param="messages",
    )


class ServerDocuments:
    """The server's one :class:`~app.docs.documents.Documents`, opened on first use (a
    server that is never asked about documents never loads the embedding model)."""

    def __init__(self, open_documents: Callable[[], Documents], *, owned: bool = True) -> None:
        """``owned``: the server opened them and closes them; False for documents it
        borrows from its front end (the window's), which closes them itself."""
        self._open = open_documents
        self._owned = owned
        self._documents: Documents | None = None
        self._lock = threading.Lock()

    @property
    def documents(self) -> Documents:
        with self._lock:
            if self._documents is None:
                self._documents = self._open()
            return self._documents

    def close(self) -> None:
        with self._lock:
            if self._documents is not None and self._owned:
                self._documents.close()
            self._documents = None

    def ground(
        self, messages: Sequence[Message], request: DocsRequest
    ) -> tuple[tuple[Message, ...], list[dict[str, Any]]]:
        """``messages`` with the last user message grounded in the named collections, and
        the sources it cites (blocking: run it off the event loop)."""
        index = _last_user(messages)
        question = messages[index]["content"]
        try:
            grounded = self.documents.ground(question, request.names, top_k=request.top_k)
        except ConfigError as exc:  # an unknown collection: the message names the known ones
            raise ApiError(400, str(exc), param="hearth.documents") from exc
        except ModelNotFoundError as exc:  # no embedding model installed
            raise ApiError(400, str(exc), param="hearth.documents") from exc
        changed: Message = {**messages[index], "content": grounded.content}
        grounded_messages = (*messages[:index], changed, *messages[index + 1 :])
        return grounded_messages, grounded.sources()

    # -- embeddings ----------------------------------------------------------------------
    def embedding_model(self) -> str:
        """The name clients use for the documents' embedding model (``/v1/models``)."""
        return self.documents.embedder.model_id

    def embed(self, texts: Sequence[str]) -> tuple[NDArray[np.float32], int]:
        """One unit vector per text, in order, and the tokens read; a 400 for a text
        longer than the model reads (it would be cut, silently, otherwise)."""
        embedder = self.documents.embedder
        counts = embedder.count_tokens(texts)
        limit = embedder.max_tokens - SPECIAL_TOKENS
        for index, count in enumerate(counts):
            if count > limit:
                raise ApiError(
                    400,
                    f"input[{index}] has {count} tokens and the embedding model "
                    f"{embedder.model_id} reads at most {limit}; split it into smaller pieces.",
                    param="input",
                )
        return embedder.embed(texts, "document"), sum(counts)
