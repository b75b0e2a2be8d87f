"""Who owns a voice conversation's history, and the owner ``hearth voice`` uses.

The loop keeps no history of its own: before each turn it asks its conversation for the
exchanges so far, and it hands the conversation each turn — the question when it is
confirmed, the reply as it streams, and the result once it is over, whose ``spoken`` is
what the reply keeps (a barge-in trims it to what was heard). In the window the owner is
the chat service, so spoken and typed turns share one stored conversation; ``hearth
voice`` keeps its conversation in memory (it saves nothing, as it never did).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from app.core.generation import Message

if TYPE_CHECKING:
    from app.voice.loop import TurnResult


class VoiceConversation(Protocol):
    """The history's one owner. Called on the loop's threads, one call at a time, in order.

    An owner may also offer ``prompt(question: str) -> str``: the user message the model
    reads for ``question`` (the window's chat service grounds it in the conversation's
    documents); without it the question goes as it is. And ``images() -> list[bytes]``:
    the images (``PreparedImage.data``, in order) the next question is about, sent in its
    user message; the owner keeps them with that question when it stores the turn, so
    ``history()`` carries them from then on (the engine reuses the cached prefix: later
    turns do not encode them again) and ``images()`` returns none. And ``kv_key() -> str |
    None``: the engine's key of the conversation (GenerationParams.kv_key), so its saved
    KV state is tagged with it and deleted with it.
    """

    def history(self) -> list[Message]:
        """The exchanges so far, oldest first, without the system prompt."""
        ...

    def turn_heard(self, question: str) -> None:
        """The user's question is confirmed (with any unanswered question before it)."""
        ...

    def reply_delta(self, text: str) -> None:
        """More of the reply to the question last heard."""
        ...

    def turn_finished(self, result: TurnResult) -> None:
        """The turn is over: the reply keeps ``result.spoken``; when that is empty nothing
        was heard, and the question is asked again within the next one (drop it)."""
        ...


class MemoryConversation:
    """A conversation kept in memory only (``hearth voice``, tests)."""

    def __init__(self, history: list[Message] | None = None) -> None:
        self._history: list[Message] = list(history or [])
        self._question: str | None = None
        self._images: list[bytes] = []  # for the next question that is answered
        self._lock = threading.Lock()

    def attach(self, images: Sequence[bytes]) -> None:
        """The next question is about ``images`` (encoded, as PreparedImage.data)."""
        with self._lock:
            self._images = list(images)

    def images(self) -> list[bytes]:
        with self._lock:
            return list(self._images)

    def history(self) -> list[Message]:
        with self._lock:
            return list(self._history)

    def turn_heard(self, question: str) -> None:
        with self._lock:
            self._question = question

    def reply_delta(self, text: str) -> None:
        """Nothing to do: the reply is kept once it is known what was said of it."""

    def turn_finished(self, result: TurnResult) -> None:
        with self._lock:
            question, self._question = self._question, None
            if question is not None and result.spoken:
                asked: Message = {"role": "user", "content": question}
                if self._images:  # they stay in the history, where the prompt cache has them
                    asked["images"], self._images = self._images, []
                self._history += [asked, {"role": "assistant", "content": result.spoken}]
