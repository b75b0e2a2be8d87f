"""Passages follow the structure: sizes in the embedding model's tokens, overlap, and the
page and heading of every passage."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest

from app.docs.chunking import chunk_sections, embedding_text
from app.docs.embedder import Embedder
from app.docs.sections import Section


def words(texts: Sequence[str]) -> list[int]:
    """A fast stand-in counter: a token per word, a token per Chinese character."""
    return [len(t.split()) + sum(1 for c in t if "\u4e00" <= c <= "\u9fff") for t in texts]


def numbered(n: int, start: int = 0) -> str:
    return " ".join(f"w{i}" for i in range(start, start + n))


def test_short_sections_stay_whole_and_keep_page_and_heading() -> None:
    sections = [
        Section("Rent is due on the first.", page=1, heading="Rent"),
        Section("One cat allowed.", page=2, heading="Pets"),
    ]
    chunks = chunk_sections(sections, words, target_tokens=50)
    assert [(c.text, c.page, c.heading, c.ordinal) for c in chunks] == [
        ("Rent is due on the first.", 1, "Rent", 0),
        ("One cat allowed.", 2, "Pets", 1),
    ]


def test_paragraphs_fill_passages_and_never_cross_a_section() -> None:
    paragraphs = [numbered(30, start=100 * n) for n in range(5)]
    sections = [Section("\n\n".join(paragraphs), heading="A"), Section("tail text", heading="B")]
    chunks = chunk_sections(sections, words, target_tokens=70, overlap_tokens=0)
    assert all(c.tokens <= 70 for c in chunks)
    assert [c.heading for c in chunks] == ["A", "A", "A", "B"]
    # Whole paragraphs: two per passage, none cut.
    assert chunks[0].text == "\n\n".join(paragraphs[:2])
    assert chunks[2].text == paragraphs[4]


def test_consecutive_passages_overlap() -> None:
    sentences = [f"Sentence {n} says something {n}." for n in range(60)]
    chunks = chunk_sections(
        [Section(" ".join(sentences))], words, target_tokens=40, overlap_tokens=10
    )
    assert len(chunks) > 3
    for before, after in itertools.pairwise(chunks):
        assert after.tokens <= 40
        last_sentence = before.text.split(". ")[-1]
        assert last_sentence.rstrip(".") in after.text  # the cut sentence is whole in the next
    joined = " ".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)


def test_a_sentence_longer_than_a_passage_is_cut_at_words() -> None:
    chunks = chunk_sections([Section(numbered(250))], words, target_tokens=100, overlap_tokens=0)
    assert [c.tokens for c in chunks] == [100, 100, 50]
    assert " ".join(c.text for c in chunks) == numbered(250)


def test_chinese_without_spaces_is_cut_at_sentence_ends_then_characters() -> None:
    sentence = "房东允许租客养一只猫。"  # 10 characters + a full stop
    text = sentence * 12
    chunks = chunk_sections([Section(text)], words, target_tokens=25, overlap_tokens=0)
    assert all(c.tokens <= 25 for c in chunks)
    assert "".join(c.text for c in chunks) == text
    assert all(c.text.endswith("。") for c in chunks)
    run = "猫" * 100
    pieces = chunk_sections([Section(run)], words, target_tokens=30, overlap_tokens=0)
    assert all(c.tokens <= 30 for c in pieces) and "".join(c.text for c in pieces) == run


def test_sizes_in_the_real_tokenizer(embedder: Embedder) -> None:
    text = "\n\n".join(
        f"Paragraph {n}: the tenant must give notice in writing {n} months before leaving."
        for n in range(40)
    )
    chunks = chunk_sections([Section(text, page=4)], embedder.count_tokens, target_tokens=120)
    assert len(chunks) > 3
    for chunk in chunks:
        measured = embedder.count_tokens([chunk.text])[0]
        assert measured <= 120 + 2 and abs(measured - chunk.tokens) <= 2
        assert chunk.page == 4


def test_the_heading_goes_in_front_of_the_embedded_text() -> None:
    (chunk,) = chunk_sections([Section("One cat allowed.", heading="Lease › Pets")], words)
    assert embedding_text(chunk) == "Lease › Pets\n\nOne cat allowed."


def test_an_absurd_target_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        chunk_sections([Section("x")], words, target_tokens=2)
