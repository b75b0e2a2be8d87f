"""A reasoning model's thinking, told apart from its answer.

Reasoning models write their thinking before the answer, marked in their family's way:

- ``<think>…</think>``: DeepSeek-R1 and its distills, Qwen3, QwQ, Granite 3.3, GLM,
  Phi-4-reasoning and most others (ByteDance Seed writes ``<seed:think>…</seed:think>``);
- ``[THINK]…[/THINK]``: Mistral's Magistral;
- OpenAI's harmony format (gpt-oss): ``<|channel|>analysis<|message|>…<|end|>`` then
  ``<|start|>assistant<|channel|>final<|message|>…``.

Some chat templates open the block in the prompt itself (DeepSeek-R1's ends in its
Assistant marker and ``<think>\\n``, Qwen3's thinking-only releases in ``<think>\\n``): the reply
then starts inside the thinking, with no opening tag of its own. :func:`prompt_opens_thinking`
tells that from the prompt's last characters.

:class:`ReasoningSplitter` splits a streamed reply as it arrives: a tag cut across two
deltas is held back until it is whole; an unclosed block at the end is thinking. An
opening tag counts only before any answer text, so an answer that talks about ``<think>``
tags is left alone. :func:`split_reasoning` splits a whole reply the same way, and also
reads a reply that closes a block it never opened (a template that opened it unseen).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from app.core.generation import Message

# Open and close tags of a thinking block. An open tag counts only at the reply's start.
THINK_TAGS: tuple[tuple[str, str], ...] = (
    ("<think>", "</think>"),
    ("<seed:think>", "</seed:think>"),
    ("[THINK]", "[/THINK]"),
)
# Harmony (gpt-oss): a channel header runs from <|channel|> (or <|start|>) to <|message|>.
HARMONY_CHANNEL = "<|channel|>"
HARMONY_START = "<|start|>"
HARMONY_MESSAGE = "<|message|>"
HARMONY_ENDS = ("<|end|>", "<|return|>", "<|call|>")
_HARMONY_HEADERS = (HARMONY_CHANNEL, HARMONY_START)
_OPEN_TAGS = dict(THINK_TAGS)
_CLOSE_TAGS = tuple(close for _, close in THINK_TAGS)


class _Mode(Enum):
    ANSWER = "answer"
    THINKING = "thinking"
    HEADER = "header"  # a harmony channel header: read, never shown
    BETWEEN = "between"  # after a harmony message's end: nothing to show until the next


@dataclass(frozen=True)
class Split:
    """A reply's thinking and answer (each stripped of the markers and outer spaces);
    ``found``: the reply had markers (a thinking block; else ``answer`` is the reply)."""

    thinking: str
    answer: str
    found: bool = False


class ReasoningSplitter:
    """Feed a reply's text deltas; get ``(thinking, answer)`` deltas back.

    ``thinking_open``: the prompt opened the block (see :func:`prompt_opens_thinking`),
    so the reply starts as thinking. The spaces and newlines around the thinking, and
    before an answer that follows it, are not handed out; a reply without a block is
    handed out exactly as written.
    """

    def __init__(self, *, thinking_open: bool = False) -> None:
        self._mode = _Mode.THINKING if thinking_open else _Mode.ANSWER
        # The tags that close the open block (any family's when the prompt opened it).
        self._closes: tuple[str, ...] = _CLOSE_TAGS if thinking_open else ()
        self._buf = ""
        self._header = ""
        self._answer_started = False
        self._answer_space = ""  # spaces before a reply's first words, kept if no block
        self._thinking_started = False
        self._held_space = ""  # thinking's spaces, handed out only if more text follows
        self.thinking = ""
        self.answer = ""
        self.saw_thinking = thinking_open  # a thinking block, open or closed
        self.marked = thinking_open  # any marker at all (a harmony reply may have no block)

    @property
    def thinking_now(self) -> bool:
        """Whether text fed now would be thinking (the block is open)."""
        return self._mode is _Mode.THINKING

    def feed(self, text: str) -> tuple[str, str]:
        """The thinking and the answer that ``text`` completes (either may be "")."""
        self._buf += text
        return self._drain(final=False)

    def flush(self) -> tuple[str, str]:
        """The end of the reply: whatever was held back (an unclosed block is thinking)."""
        return self._drain(final=True)

    # -- internals -----------------------------------------------------------------------
    def _markers(self) -> list[str]:
        """The markers that mean something in the current mode."""
        if self._mode is _Mode.HEADER:
            return [HARMONY_MESSAGE, *_HARMONY_HEADERS]
        markers = [*_HARMONY_HEADERS, *HARMONY_ENDS]
        if self._mode is _Mode.THINKING:
            markers.extend(self._closes)
        if self._mode is _Mode.THINKING and not self._thinking_started:
            # A model may write the open tag its prompt already wrote: not thinking text.
            markers.extend(open_tag for open_tag, _ in THINK_TAGS)
        if self._mode is _Mode.ANSWER and not self._answer_started:
            markers.extend(open_tag for open_tag, _ in THINK_TAGS)
        return markers

    def _drain(self, *, final: bool) -> tuple[str, str]:
        thinking: list[str] = []
        answer: list[str] = []
        while True:
            markers = self._markers()
            found, at = _earliest(self._buf, markers)
            if found is None:
                keep = 0 if final else _held_prefix(self._buf, markers)
                cut = len(self._buf) - keep
                self._emit(self._buf[:cut], thinking, answer, final=final)
                self._buf = self._buf[cut:]
                break
            self._emit(self._buf[:at], thinking, answer, final=False)
            if found in _OPEN_TAGS and self._buf[:at].strip():
                # Words came first: an open tag now is text (the markers change).
                self._buf = self._buf[at:]
                continue
            self._buf = self._buf[at + len(found) :]
            self._switch(found)
        think_text, answer_text = "".join(thinking), "".join(answer)
        self.thinking += think_text
        self.answer += answer_text
        return think_text, answer_text

    def _emit(self, text: str, thinking: list[str], answer: list[str], *, final: bool) -> None:
        if not text and not final:
            return
        if self._mode is _Mode.HEADER:
            self._header += text
        elif self._mode is _Mode.ANSWER:
            if not self._answer_started:
                if self.saw_thinking:
                    text = text.lstrip()
                else:
                    # No block (yet): a plain reply is handed out exactly as written, but
                    # spaces before an open tag are not the answer's.
                    text, self._answer_space = self._answer_space + text, ""
                    if not text.strip() and not final:
                        self._answer_space = text
                        return
                self._answer_started = bool(text.strip())
            if text:
                answer.append(text)
        elif self._mode is _Mode.THINKING:
            if not self._thinking_started:
                text = text.lstrip()
                self._thinking_started = bool(text)
            # Spaces at the end may be the last before the close tag: held until more.
            body = text.rstrip()
            if body:
                thinking.append(self._held_space + body)
                self._held_space = text[len(body) :]
            else:
                self._held_space += text

    def _switch(self, marker: str) -> None:
        """Act on ``marker`` (already cut from the buffer)."""
        self.marked = True
        if self._mode is _Mode.HEADER:
            if marker == HARMONY_MESSAGE:
                channel = self._header.strip().lower()
                self._header = ""
                if channel.startswith("final"):
                    self._to_answer()
                else:  # analysis, or commentary (a preamble or tool call): not the answer
                    self._to_thinking(())
            else:
                self._header = ""  # <|start|>assistant<|channel|>…: the channel decides
            return
        if marker in _HARMONY_HEADERS:
            self._mode, self._header = _Mode.HEADER, ""
        elif marker in HARMONY_ENDS:
            self._mode = _Mode.BETWEEN
        elif marker in _OPEN_TAGS:  # at the start of the answer, or of an open block
            self._to_thinking((_OPEN_TAGS[marker],))
        else:  # the close tag
            self._to_answer()

    def _to_thinking(self, closes: tuple[str, ...]) -> None:
        if self._thinking_started:
            self._held_space = "\n\n"  # a second block reads apart from the first
        self._mode, self._closes = _Mode.THINKING, closes
        self._answer_space = ""
        self.saw_thinking = True

    def _to_answer(self) -> None:
        self._mode, self._closes = _Mode.ANSWER, ()
        self._held_space = ""


def _earliest(text: str, markers: list[str]) -> tuple[str | None, int]:
    """The marker found first in ``text`` (the longest at a tie) and where."""
    best: str | None = None
    best_at = len(text)
    for marker in markers:
        at = text.find(marker)
        if at >= 0 and (at < best_at or (at == best_at and best and len(marker) > len(best))):
            best, best_at = marker, at
    return best, best_at


def _held_prefix(text: str, markers: list[str]) -> int:
    """How many characters at the end of ``text`` could begin one of ``markers``."""
    longest = max((len(m) for m in markers), default=0)
    firsts = {m[0] for m in markers if m}
    # Runs on every streamed piece: only a tail that starts with a marker's first
    # character ("<", mostly) is compared, longest first.
    for at in range(max(0, len(text) - longest + 1), len(text)):
        if text[at] in firsts:
            tail = text[at:]
            if any(m.startswith(tail) for m in markers):
                return len(text) - at
    return 0


def split_reasoning(text: str, *, thinking_open: bool = False) -> Split:
    """A whole reply's thinking and answer.

    A reply that closes a block it never opened (``…</think>answer``) was thinking up to
    the close tag: its template opened the block in the prompt.
    """
    if not thinking_open and _closes_unopened(text):
        thinking_open = True
    splitter = ReasoningSplitter(thinking_open=thinking_open)
    splitter.feed(text)
    splitter.flush()
    return Split(splitter.thinking.strip(), splitter.answer.strip(), splitter.marked)


def _closes_unopened(text: str) -> bool:
    for open_tag, close_tag in THINK_TAGS:
        closed = text.find(close_tag)
        if closed >= 0:
            opened = text.find(open_tag)
            return opened < 0 or opened > closed
    return False


# -- chat templates ---------------------------------------------------------------------
_OPEN_AT_END = re.compile(
    "(" + "|".join(re.escape(o) for o, _ in THINK_TAGS) + r")\s*$",
)


def prompt_opens_thinking(prompt_tail: str) -> bool:
    """Whether a rendered prompt (its last characters are enough) ends inside an open
    thinking block, so the reply starts as thinking."""
    return _OPEN_AT_END.search(prompt_tail) is not None


@dataclass(frozen=True)
class TemplateReasoning:
    """What a chat template does with reasoning, read from its text."""

    # It reads ``enable_thinking`` (Qwen3, GLM, Granite…): thinking can be switched off.
    enable_thinking: bool = False
    # It reads ``reasoning_content`` on assistant messages: the thinking of earlier turns
    # is given back to it there (it decides which to keep); otherwise it is dropped.
    reasoning_content: bool = False
    # It writes or strips thinking markers: the model is a reasoning model.
    thinks: bool = False


def template_reasoning(template: str | None) -> TemplateReasoning:
    """Read ``template`` (a GGUF's ``tokenizer.chat_template``; None: none)."""
    if not template:
        return TemplateReasoning()
    markers = [tag for pair in THINK_TAGS for tag in pair] + [HARMONY_CHANNEL]
    return TemplateReasoning(
        enable_thinking=re.search(r"\benable_thinking\b", template) is not None,
        reasoning_content=re.search(r"\breasoning_content\b", template) is not None,
        thinks=any(marker in template for marker in markers),
    )


def reasoning_for_template(messages: Sequence[Message], template: str) -> list[Message]:
    """``messages`` as ``template`` should see them: an assistant message's
    ``reasoning_content`` stays only where the template reads it (Qwen3 keeps the thinking
    of a turn still using tools); elsewhere it is dropped, never folded into the text."""
    if template_reasoning(template).reasoning_content:
        return list(messages)
    return [
        {k: v for k, v in m.items() if k != "reasoning_content"} if "reasoning_content" in m else m
        for m in messages
    ]
