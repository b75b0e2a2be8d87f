"""Chinese in the characters the user reads: Simplified or Traditional.

Whisper writes Mandarin in whichever script its training favoured for the audio, and a
chat model answers in either; the ``voice.chinese_script`` setting fixes one. OpenCC's
phrase dictionaries (``opencc-python-reimplemented``) convert whole phrases, so 头发
becomes 頭髮 (hair), not 頭發. Text without Chinese characters is returned as it is.

:func:`with_script` wraps a voice conversation and its callbacks so that the transcript
and the reply are converted before they are shown or stored; what is spoken is the
model's own text (a Chinese voice reads either script). A streamed reply is converted
phrase by phrase: a run of Chinese characters at the end of a piece is held back until
the next piece shows where it ends.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from app.core.generation import Message

if TYPE_CHECKING:
    from app.voice.conversation import VoiceConversation
    from app.voice.loop import TurnResult, VoiceCallbacks

SCRIPTS = ("simplified", "traditional")
_OPENCC_CONFIGS = {"simplified": "t2s", "traditional": "s2t"}
# CJK Unified Ideographs and Extension A, and the compatibility block.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_HAN = re.compile(f"[{HAN}]")
_TRAILING_HAN = re.compile(f"[{HAN}]+$")
# Callbacks whose one argument is text the user sees (besides the three handled below).
_TEXT_CALLBACKS = ("transcript_partial",)

T = TypeVar("T")


@lru_cache(maxsize=2)
def _converter(script: str) -> Any:
    from opencc import OpenCC

    return OpenCC(_OPENCC_CONFIGS[script])


def convert(text: str, script: str | None) -> str:
    """``text`` with its Chinese characters in ``script`` ("simplified" or "traditional");
    unchanged when ``script`` is None or the text has no Chinese characters."""
    if not script or not text or not _HAS_HAN.search(text):
        return text
    if script not in _OPENCC_CONFIGS:
        raise ValueError(f"Unknown Chinese script {script!r}; use one of {', '.join(SCRIPTS)}.")
    return str(_converter(script).convert(text))


class ScriptStream:
    """Converts streamed text: ``feed`` each piece, ``flush`` at the end."""

    def __init__(self, script: str) -> None:
        self.script = script
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        trailing = _TRAILING_HAN.search(text)
        cut = trailing.start() if trailing else len(text)
        self._held = text[cut:]
        return convert(text[:cut], self.script)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return convert(held, self.script)


def convert_fields(value: T, script: str) -> T:
    """A copy of a dataclass (a Transcript or TurnResult) with each text field, and each
    tuple of texts, converted."""
    changes: dict[str, object] = {}
    for field in dataclasses.fields(value):  # type: ignore[arg-type]
        current = getattr(value, field.name)
        if isinstance(current, str):
            changes[field.name] = convert(current, script)
        elif isinstance(current, tuple) and all(isinstance(v, str) for v in current):
            changes[field.name] = tuple(convert(v, script) for v in current)
    return dataclasses.replace(value, **changes)  # type: ignore[type-var]


def in_script(value: T, script: str | None) -> T:
    """:func:`convert_fields` for ``script``; ``value`` itself when it is None."""
    return convert_fields(value, script) if script in _OPENCC_CONFIGS and script else value


class ScriptedConversation:
    """A :class:`VoiceConversation` that stores the question and reply in one script."""

    def __init__(self, inner: VoiceConversation, script: str) -> None:
        self.inner = inner
        self.script = script
        self._reply = ScriptStream(script)

    def __getattr__(self, name: str) -> Any:
        # Anything else the owner offers (the window's chat service adds its own) is its own.
        if name == "inner":  # not set yet: no endless lookup
            raise AttributeError(name)
        return getattr(self.inner, name)

    def history(self) -> list[Message]:
        return self.inner.history()

    def turn_heard(self, question: str) -> None:
        self._reply = ScriptStream(self.script)
        self.inner.turn_heard(convert(question, self.script))

    def reply_delta(self, text: str) -> None:
        converted = self._reply.feed(text)
        if converted:
            self.inner.reply_delta(converted)

    def turn_finished(self, result: TurnResult) -> None:
        rest = self._reply.flush()
        if rest:
            self.inner.reply_delta(rest)
        self.inner.turn_finished(convert_fields(result, self.script))


def scripted_callbacks(callbacks: VoiceCallbacks, script: str) -> VoiceCallbacks:
    """``callbacks`` with the transcript and reply they are given converted first."""
    changes: dict[str, object] = {}
    stream = ScriptStream(script)
    transcript_ready = callbacks.transcript_ready
    if transcript_ready is not None:
        changes["transcript_ready"] = lambda t: transcript_ready(convert_fields(t, script))
    reply_delta = callbacks.reply_delta
    if reply_delta is not None:

        def on_delta(text: str) -> None:
            converted = stream.feed(text)
            if converted:
                reply_delta(converted)

        changes["reply_delta"] = on_delta
    turn_finished = callbacks.turn_finished

    def on_finished(result: TurnResult) -> None:
        rest = stream.flush()
        if rest and reply_delta is not None:
            reply_delta(rest)
        if turn_finished is not None:
            turn_finished(convert_fields(result, script))

    changes["turn_finished"] = on_finished
    for name in _TEXT_CALLBACKS:
        callback: Callable[[str], None] | None = getattr(callbacks, name, None)
        if callback is not None:
            changes[name] = _converting(callback, script)
    return dataclasses.replace(callbacks, **changes)  # type: ignore[arg-type]


def _converting(callback: Callable[[str], None], script: str) -> Callable[[str], None]:
    return lambda text: callback(convert(text, script))


def with_script(
    script: str | None, conversation: VoiceConversation, callbacks: VoiceCallbacks | None
) -> tuple[VoiceConversation, VoiceCallbacks | None]:
    """The conversation and callbacks a voice loop gets for ``script`` (None: unchanged)."""
    if script not in _OPENCC_CONFIGS:
        return conversation, callbacks
    assert script is not None
    scripted = ScriptedConversation(conversation, script)
    return scripted, (scripted_callbacks(callbacks, script) if callbacks is not None else None)
