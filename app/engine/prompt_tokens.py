"""Prompt tokens in which only the chat template's own markers are special tokens.

llama.cpp turns a special token's text (``<|im_start|>``, ``<|eot_id|>``) into that
token wherever it finds it when asked to parse specials. Rendering a conversation and
tokenizing it that way would let anything a user types, pastes, speaks, or a document
or API client sends, open a new turn or play another role. So message text is always
tokenized as text (``special=False``), and only the text the template itself wrote may
hold special tokens:

- Fast path: no message holds the text of a control token, nor the start or end of
  one that the template's next or previous text could complete. Then tokenizing the
  whole rendered prompt with specials parsed gives exactly the tokens of the slow path,
  so it is done in one call.
- Otherwise the conversation is rendered a second time with each message's text
  replaced by a unique sentinel; the sentinels show where each text lies in the real
  rendering (checked piece by piece; a template may ``trim`` the text). The template's
  pieces are split at special tokens as llama.cpp splits them, the texts are not, and
  the runs of plain text between special tokens are tokenized with ``special=False``.
- When the template transforms the text so that it cannot be found again, the control
  tokens' texts inside messages are broken up with a WORD JOINER (U+2060) before
  rendering: never parsed as specials, at the cost of one invisible character.

Images: message text may hold image slots (``engine.vision.slot``, made from private-use
characters no template writes). On every path the text is cut there and each slot gives
its image's ids (placeholders and the projector's own text tokens); the text on either
side is tokenized apart, as libmtmd tokenizes the text around its media marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from app.core.errors import ChatTemplateError, EngineError, ModelError
from app.core.i18n import translate
from app.engine.vision import split_images

Message = dict[str, Any]
# Renders each message list it is given (one render call for all: one trip to the
# template renderer).
RenderVariants = Callable[[Sequence[Sequence[Message]]], list[str]]

WORD_JOINER = "\u2060"
# Private-use characters: the sentinel marks (the first one no message contains).
_MARKS = ("\ue000", "\uf8ff", "\U000f0000", "\U00100000")
# llama_token_attr bits (llama.h).
ATTR_UNKNOWN = 1 << 0
ATTR_CONTROL = 1 << 3
ATTR_USER_DEFINED = 1 << 4
ATTR_LSTRIP = 1 << 7
ATTR_RSTRIP = 1 << 8
_CSPACE = " \t\n\v\f\r"  # C isspace(), as llama.cpp strips around LSTRIP/RSTRIP tokens


@dataclass(frozen=True)
class SpecialToken:
    """A token llama.cpp matches by its text before tokenizing the rest."""

    id: int
    text: str
    attr: int

    @property
    def control(self) -> bool:
        """Parsed only when specials are parsed (user-defined tokens always are)."""
        return bool(self.attr & (ATTR_CONTROL | ATTR_UNKNOWN))


class Tokenizer(Protocol):
    def tokenize(self, text: bytes, add_bos: bool = ..., special: bool = ...) -> list[int]: ...


def special_tokens(llm: Any) -> list[SpecialToken]:
    """The special tokens of a loaded ``llama_cpp.Llama``, longest text first (the order
    llama.cpp matches them in)."""
    model = llm._model
    wanted = ATTR_CONTROL | ATTR_UNKNOWN | ATTR_USER_DEFINED
    found: list[SpecialToken] = []
    for token_id in range(model.n_vocab()):
        attr = int(model.token_get_attr(token_id))
        if attr & wanted:
            raw = model.token_get_text(token_id)
            if raw:
                found.append(SpecialToken(token_id, raw, attr))
    found.sort(key=lambda s: -len(s.text.encode("utf-8")))
    return found


class PromptTokenizer:
    """Tokenizes rendered conversations of one vocabulary; see the module docstring."""

    def __init__(self, tokenizer: Tokenizer, specials: Sequence[SpecialToken]) -> None:
        self._tokenizer = tokenizer
        self.specials = list(specials)
        control = sorted({s.text for s in self.specials if s.control}, key=len, reverse=True)
        self._control_re = re.compile("|".join(map(re.escape, control))) if control else None
        # Proper prefixes and suffixes of control texts: a message ending in a prefix (or
        # starting with a suffix) could be completed by the template's text around it.
        self._prefixes = {t[:i] for t in control for i in range(1, len(t))}
        self._suffixes = {t[i:] for t in control for i in range(1, len(t))}
        self._longest = max((len(t) for t in control), default=0)
        self._split_template = lru_cache(maxsize=4096)(self._split_uncached)
        self.paths: dict[str, int] = {"fast": 0, "split": 0, "neutralized": 0}
        self._images: Sequence[Sequence[int]] = ()  # the ids of the request's images

    # -- public --------------------------------------------------------------------------
    def tokenize(
        self,
        messages: Sequence[Message],
        render: RenderVariants,
        images: Sequence[Sequence[int]] = (),
    ) -> list[int]:
        """The prompt tokens of ``messages`` rendered by ``render``; no message text
        becomes a control token, each image slot gives ``images[n]``' ids. BOS is the
        caller's business."""
        self._images = images
        # Non-text values (an assistant's tool calls) are rendered by the template as
        # its own text: their control tokens' texts are broken up first, always.
        defuse = self.defuse_value
        messages = [
            {k: v if k == "role" or isinstance(v, str) else defuse(v) for k, v in m.items()}
            for m in messages
        ]
        values = [v for m in messages for k, v in m.items() if k != "role" and isinstance(v, str)]
        if not any(self._risky(v) for v in values):
            self.paths["fast"] += 1
            (text,) = render([list(messages)])
            return self._encode(text, special=True)
        mark = next((m for m in _MARKS if not any(m in v for v in values)), None)
        if mark is not None:
            marked, originals = _with_sentinels(messages, mark)
            try:
                plain, sentinel = render([list(messages), marked])
            except ModelError as exc:
                if isinstance(exc, ChatTemplateError):
                    raise
                pieces = None  # it refused the sentinels (or the text): try defused text
            else:
                pieces = _locate(plain, sentinel, mark, originals)
            if pieces is not None:
                self.paths["split"] += 1
                return self._encode_pieces(pieces)
        self.paths["neutralized"] += 1
        (text,) = render([self.neutralized(messages)])
        return self._encode(text, special=True)

    def neutralized(self, messages: Sequence[Message]) -> list[Message]:
        """``messages`` with every control token's text broken by a WORD JOINER."""
        if self._control_re is None:
            return [dict(m) for m in messages]
        defuse = self.defuse_value
        return [{k: (v if k == "role" else defuse(v)) for k, v in m.items()} for m in messages]

    def defuse_value(self, value: Any) -> Any:
        """``value`` (text, or JSON-like lists and dicts of it) with every control
        token's text broken by a WORD JOINER."""
        if isinstance(value, str):
            if self._control_re is None:
                return value
            return self._control_re.sub(lambda m: m[0][0] + WORD_JOINER + m[0][1:], value)
        if isinstance(value, list | tuple):
            return [self.defuse_value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.defuse_value(v) for k, v in value.items()}
        return value

    # -- internals -----------------------------------------------------------------------
    def _risky(self, text: str) -> bool:
        """Could ``text`` hold or help form a control token in the rendered prompt?"""
        if self._control_re is None or not text:
            return False
        if self._control_re.search(text):
            return True
        edge = min(self._longest - 1, len(text))
        return any(
            text[-k:] in self._prefixes or text[:k] in self._suffixes for k in range(1, edge + 1)
        )

    def _encode(self, text: str, *, special: bool) -> list[int]:
        tokens: list[int] = []
        for part in split_images(text):
            if isinstance(part, int):
                if part >= len(self._images):
                    raise EngineError(
                        translate(
                            "Errors",
                            "A message names an image it does not carry; send the message again.",
                        )
                    )
                tokens.extend(self._images[part])
            elif part:
                tokens.extend(self._tokenizer.tokenize(part.encode("utf-8"), False, special))
        return tokens

    def _encode_pieces(self, pieces: list[tuple[str, bool]]) -> list[int]:
        """Tokens of ``(text, is_template)`` pieces: specials only from template pieces,
        every run of plain text between them tokenized as one text."""
        tokens: list[int] = []
        run: list[str] = []
        for text, is_template in pieces:
            if not is_template:
                run.append(text)
                continue
            for part in self._split_template(text):
                if isinstance(part, str):
                    run.append(part)
                else:
                    tokens.extend(self._encode("".join(run), special=False))
                    run.clear()
                    tokens.append(part)
        tokens.extend(self._encode("".join(run), special=False))
        return tokens

    def _split_uncached(self, text: str) -> tuple[str | int, ...]:
        """Template text split at special tokens as llama.cpp's partition does it: each
        special, longest first, at every place in the text not yet taken, with the
        whitespace an LSTRIP/RSTRIP token eats removed."""
        parts: list[str | int] = [text]
        for special in self.specials:
            if not any(isinstance(p, str) and special.text in p for p in parts):
                continue
            out: list[str | int] = []
            for part in parts:
                if not isinstance(part, str):
                    out.append(part)
                    continue
                rest = part
                while (at := rest.find(special.text)) >= 0:
                    left = rest[:at]
                    if special.attr & ATTR_LSTRIP:
                        left = left.rstrip(_CSPACE)
                    if left:
                        out.append(left)
                    out.append(special.id)
                    rest = rest[at + len(special.text) :]
                    if special.attr & ATTR_RSTRIP:
                        rest = rest.lstrip(_CSPACE)
                if rest:
                    out.append(rest)
            parts = out
        return tuple(parts)


def _with_sentinels(messages: Sequence[Message], mark: str) -> tuple[list[Message], list[str]]:
    """``messages`` with each text value replaced by ``mark<n>mark``; the originals by n."""
    originals: list[str] = []
    marked: list[Message] = []
    for message in messages:
        copy: Message = {}
        for key, value in message.items():
            if key == "role" or not isinstance(value, str):
                copy[key] = value
            else:
                copy[key] = f"{mark}{len(originals)}{mark}"
                originals.append(value)
        marked.append(copy)
    return marked, originals


def _locate(
    plain: str, sentinel: str, mark: str, originals: Sequence[str]
) -> list[tuple[str, bool]] | None:
    """``plain`` cut into ``(text, is_template)`` pieces at the places the sentinels show,
    or None when the template treated the real texts differently from the sentinels."""
    split = re.split(f"{re.escape(mark)}(\\d+){re.escape(mark)}", sentinel)
    templates, indexes = split[0::2], split[1::2]
    if any(mark in t for t in templates):
        return None  # the template cut a sentinel apart
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for k, template in enumerate(templates):
        if not plain.startswith(template, pos):
            return None
        pieces.append((template, True))
        pos += len(template)
        if k == len(indexes):
            break
        index = int(indexes[k])
        if index >= len(originals):
            return None
        value, following = originals[index], templates[k + 1]
        for candidate in dict.fromkeys((value, value.strip(), value.lstrip(), value.rstrip())):
            end = pos + len(candidate)
            if plain.startswith(candidate, pos) and plain.startswith(following, end):
                pieces.append((candidate, False))
                pos = end
                break
        else:
            return None
    return pieces if pos == len(plain) else None
