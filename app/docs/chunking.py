"""Cut sections into passages sized in the embedding model's tokens, following structure.

A passage never crosses a section (a heading or a PDF page): it is filled with whole
paragraphs; a paragraph too long for one passage is cut at sentence ends, a sentence too
long at words, and text without spaces (Chinese) at characters. Consecutive passages of
a section share ``overlap`` tokens of text, so a fact cut in two is whole in one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from app.docs.sections import Section

TokenCounter = Callable[[Sequence[str]], list[int]]

DEFAULT_TARGET_TOKENS = 200  # all-MiniLM-L6-v2 reads 256; the heading goes in front
DEFAULT_OVERLAP_TOKENS = 40

_PARAGRAPHS = re.compile(r"\n[ \t]*\n+")
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+|(?<=[。！？；])")


@dataclass(frozen=True)
class Chunk:
    """A passage: its text, where it comes from, and its length in tokens."""

    text: str
    page: int | None
    heading: str
    ordinal: int  # position in the file, from 0
    tokens: int


@dataclass(frozen=True)
class _Unit:
    text: str
    joiner: str  # what separates it from the unit before it
    tokens: int


def chunk_sections(
    sections: Iterable[Section],
    count_tokens: TokenCounter,
    *,
    target_tokens: int = DEFAULT_TARGET_TOKENS,
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
) -> list[Chunk]:
    """Passages of at most about ``target_tokens`` tokens, in document order."""
    if target_tokens < 8:
        raise ValueError("target_tokens must be at least 8")
    overlap_tokens = max(0, min(overlap_tokens, target_tokens // 2))
    chunks: list[Chunk] = []
    for section in sections:
        units = _units(section.text, count_tokens, target_tokens)
        for text, tokens in _pack(units, target_tokens, overlap_tokens):
            chunks.append(Chunk(text, section.page, section.heading, len(chunks), tokens))
    return chunks


def _units(text: str, count: TokenCounter, limit: int) -> list[_Unit]:
    """Paragraphs, or pieces of them, each at most ``limit`` tokens."""
    paragraphs = [_tidy(p) for p in _PARAGRAPHS.split(text)]
    paragraphs = [p for p in paragraphs if p]
    units: list[_Unit] = []
    for paragraph, tokens in zip(paragraphs, _counts(count, paragraphs), strict=True):
        if tokens <= limit:
            units.append(_Unit(paragraph, "\n\n", tokens))
            continue
        pieces = _fit(paragraph, count, limit)
        units.extend(
            _Unit(piece, "\n\n" if i == 0 else joiner, n)
            for i, (piece, joiner, n) in enumerate(pieces)
        )
    return units


def _tidy(paragraph: str) -> str:
    """Spaces collapsed, line breaks kept (code, addresses and lists read better)."""
    lines = (" ".join(line.split()) for line in paragraph.split("\n"))
    return "\n".join(line for line in lines if line)


def _counts(count: TokenCounter, texts: Sequence[str]) -> list[int]:
    return count(texts) if texts else []


def _fit(paragraph: str, count: TokenCounter, limit: int) -> list[tuple[str, str, int]]:
    """``(piece, joiner, tokens)`` for a paragraph longer than ``limit``: sentences, then
    words, then characters."""
    out: list[tuple[str, str, int]] = []
    sentences = [s for s in _SENTENCES.split(paragraph) if s.strip()]
    for sentence, tokens in zip(sentences, _counts(count, sentences), strict=True):
        joiner = "" if sentence[:1] and _is_cjk(sentence[0]) else " "
        if tokens <= limit:
            out.append((sentence.strip(), joiner, tokens))
            continue
        words = sentence.split()
        if len(words) > 1:
            for piece, n in _greedy(words, _counts(count, words), limit, " "):
                out.extend(_fit_chars(piece, n, count, limit, joiner))
        else:
            out.extend(_fit_chars(sentence, tokens, count, limit, joiner))
    return out


def _fit_chars(
    text: str, tokens: int, count: TokenCounter, limit: int, joiner: str
) -> list[tuple[str, str, int]]:
    """Cut text without spaces into character runs of at most ``limit`` tokens."""
    if tokens <= limit:
        return [(text, joiner, tokens)]
    width = max(1, len(text) * limit // (tokens + 1))
    pieces = [text[i : i + width] for i in range(0, len(text), width)]
    counted = _counts(count, pieces)
    result: list[tuple[str, str, int]] = []
    for piece, n in zip(pieces, counted, strict=True):
        if n > limit and len(piece) > 1:
            result.extend(_fit_chars(piece, n, count, limit, ""))
        else:
            result.append((piece, "" if result else joiner, n))
    return result


def _greedy(items: list[str], counts: list[int], limit: int, sep: str) -> list[tuple[str, int]]:
    groups: list[tuple[str, int]] = []
    current: list[str] = []
    total = 0
    for item, n in zip(items, counts, strict=True):
        if current and total + n > limit:
            groups.append((sep.join(current), total))
            current, total = [], 0
        current.append(item)
        total += n
    if current:
        groups.append((sep.join(current), total))
    return groups


def _pack(units: list[_Unit], target: int, overlap: int) -> list[tuple[str, int]]:
    """Fill passages with whole units; each new passage starts with the last units of
    the previous one that fit in ``overlap`` tokens."""
    passages: list[tuple[str, int]] = []
    current: list[_Unit] = []
    for unit in units:
        if current and sum(u.tokens for u in current) + unit.tokens > target:
            passages.append(_join(current))
            carried: list[_Unit] = []
            for previous in reversed(current):
                if sum(u.tokens for u in carried) + previous.tokens > overlap:
                    break
                carried.insert(0, previous)
            while carried and sum(u.tokens for u in carried) + unit.tokens > target:
                carried.pop(0)
            current = carried
        current.append(unit)
    if current:
        passages.append(_join(current))
    return passages


def _join(units: list[_Unit]) -> tuple[str, int]:
    text = units[0].text + "".join(u.joiner + u.text for u in units[1:])
    return text, sum(u.tokens for u in units)


def _is_cjk(char: str) -> bool:
    return "\u2e80" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or char >= "\uff00"


def embedding_text(chunk: Chunk) -> str:
    """What the model embeds: the heading in front gives a passage its context."""
    return f"{chunk.heading}\n\n{chunk.text}" if chunk.heading else chunk.text
