"""Passages into the prompt: numbered sources the model can cite, or a plain statement
that the documents hold nothing relevant (so it does not invent citations)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.docs.search import Passage

DEFAULT_MAX_CHARS = 4000  # about 1,000 tokens: room for the answer in a 2,048 context


@dataclass(frozen=True)
class Grounded:
    """The user message to send, and the passages it cites in their numbered order."""

    content: str
    passages: tuple[Passage, ...]

    @property
    def found(self) -> bool:
        return bool(self.passages)

    def sources(self) -> list[dict[str, Any]]:
        """``[{"n", "path", "page", "heading", "text", "collection"}]`` in citation order
        ([1] first): what an answer stores (``messages.sources``) and shows under it."""
        return [
            {
                "n": n,
                "path": p.path,
                "page": p.page,
                "heading": p.heading,
                "text": p.text,
                "collection": p.collection,
            }
            for n, p in enumerate(self.passages, start=1)
        ]


def source_label(passage: Passage) -> str:
    """``lease.pdf, page 3 — Pets``: what a reference shows."""
    return label(passage.path, passage.page, passage.heading)


def label(path: str, page: int | None, heading: str) -> str:
    """The label of a passage from its parts (a stored source's ``path``, ``page`` and
    ``heading``)."""
    text = Path(path).name
    if page is not None:
        text += f", page {page}"
    if heading:
        text += f" — {heading}"
    return text


def ground(
    question: str,
    passages: Sequence[Passage],
    collections: Sequence[str],
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Grounded:
    """The message for ``question`` with the relevant ``passages`` (best first) that fit
    in ``max_chars``; irrelevant ones are left out."""
    chosen: list[Passage] = []
    used = 0
    for passage in passages:
        if not passage.relevant:
            continue
        if chosen and used + len(passage.text) > max_chars:
            break
        chosen.append(passage)
        used += len(passage.text)
    blocks = [(source_label(p), p.text) for p in chosen]
    return Grounded(_content(question, blocks, collections, max_chars), tuple(chosen))


def grounded_content(
    question: str,
    sources: Sequence[Mapping[str, Any]],
    collections: Sequence[str],
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> str:
    """The message ``ground`` made for ``question``, again, from the ``sources`` stored
    with its answer (``Grounded.sources()``; empty: nothing relevant was found)."""
    blocks = [
        (
            label(str(s.get("path", "")), s.get("page"), str(s.get("heading") or "")),
            str(s.get("text", "")),
        )
        for s in sources
    ]
    return _content(question, blocks, collections, max_chars)


def _content(
    question: str, blocks: Sequence[tuple[str, str]], collections: Sequence[str], max_chars: int
) -> str:
    names = ", ".join(repr(n) for n in collections)
    if not blocks:
        return (
            f"The user's documents ({names}) were searched and nothing in them is relevant "
            "to the question below. Say that the documents do not cover it; if you answer "
            "from general knowledge, say so, and cite no document.\n\n"
            f"Question: {question}"
        )
    numbered = [f"[{n}] {name}\n{text[:max_chars]}" for n, (name, text) in enumerate(blocks, 1)]
    return (
        f"Passages from the user's documents ({names}):\n\n"
        + "\n\n".join(numbered)
        + "\n\nAnswer the question below from these passages and cite the ones you use by "
        "number, like [1]. If they do not answer it, say so.\n\n"
        f"Question: {question}"
    )
