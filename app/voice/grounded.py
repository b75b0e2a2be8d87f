"""``hearth voice --docs``: a conversation in memory whose questions are answered from
the user's documents.

The loop asks :meth:`GroundedConversation.prompt` for the message the model reads (the
passages found, numbered, then the question); the history keeps the question as it was
spoken, so later turns carry no old passages. The sources of each answer are kept for
showing (the terminal, ``--json``); they are never said: the system prompt asks for
none, and :func:`app.voice.sentences.drop_references` removes any the model writes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.voice.conversation import MemoryConversation

if TYPE_CHECKING:
    from app.docs.documents import Documents

# A spoken answer is short and the prompt is read before the first word: fewer, shorter
# passages than a typed question gets (4 passages, 4,000 characters).
VOICE_TOP_K = 3
VOICE_MAX_CHARS = 2000
SPOKEN_SOURCES_NOTE = (
    " When passages from the user's documents are given, answer from them; the user sees "
    "the sources on screen, so never say passage numbers, file names or page numbers."
)
_KEPT = 8  # questions whose sources are remembered (a draft and its final, and more)


class GroundedConversation(MemoryConversation):
    """A :class:`MemoryConversation` whose questions are grounded in ``names``."""

    def __init__(
        self,
        documents: Documents,
        names: Sequence[str],
        *,
        top_k: int = VOICE_TOP_K,
        max_chars: int = VOICE_MAX_CHARS,
    ) -> None:
        super().__init__()
        self.documents = documents
        self.names = list(names)
        self.top_k = top_k
        self.max_chars = max_chars
        self._sources: dict[str, list[dict[str, Any]]] = {}
        self._last: list[dict[str, Any]] | None = None
        self._sources_lock = threading.Lock()

    def prompt(self, question: str) -> str:
        """The question with the passages found (called on the loop's thread)."""
        grounded = self.documents.ground(
            question, self.names, top_k=self.top_k, max_chars=self.max_chars
        )
        sources = grounded.sources()
        with self._sources_lock:
            self._sources.pop(question.strip(), None)
            self._sources[question.strip()] = sources
            while len(self._sources) > _KEPT:
                self._sources.pop(next(iter(self._sources)))
            self._last = sources
        return grounded.content

    def sources(self, question: str) -> list[dict[str, Any]] | None:
        """The sources the answer to ``question`` was given, ``[1]`` first (``[]``: nothing
        relevant was found); for a question never grounded, those of the last one that
        was (None: none was)."""
        with self._sources_lock:
            found = self._sources.get(question.strip(), self._last)
            return None if found is None else list(found)
