"""Prompt lookup follows a reply through the edits it makes to what it copies: a token
replaced (by one token or several), dropped, or text inserted; an edit learned once is
drafted wherever the source has its token, and forgotten when the reply stops making it."""

from __future__ import annotations

from app.engine.speculative import PromptLookup

X, COUNT, TOTAL, UNDERSCORE = 1, 2, 3, 4
# A function whose every line uses x: 50 + i, x, 60 + i, x, 70 + i, newline (9).
SOURCE = [t for i in range(4) for t in (50 + i, X, 60 + i, X, 70 + i, 9)]


def lookup_after(reply: list[int]) -> PromptLookup:
    lookup = PromptLookup(max_ngram=2, min_ngram=2, max_draft=16, adaptive=False)
    lookup.length = 16
    lookup.extend([100, 101, *SOURCE, 102, 50, X])  # the prompt ends starting the copy
    for token in reply:
        lookup.extend([token])
    return lookup


def test_a_renamed_token_is_drafted_renamed_on_the_following_lines() -> None:
    lookup = lookup_after([])
    assert lookup.draft(4) == [60, X, 70, 9]  # the plain copy, found by n-gram
    # The reply renames x: 60, count, 70 — the copy goes on after the edit.
    lookup = lookup_after([60, COUNT, 70, 9])
    assert lookup.draft(8) == [51, COUNT, 61, COUNT, 71, 9, 52, COUNT]
    assert lookup.draft(2) == [51, COUNT]


def test_a_token_replaced_by_several_is_drafted_as_all_of_them() -> None:
    lookup = lookup_after([60, TOTAL, UNDERSCORE, 70, 9])
    assert lookup.draft(6) == [51, TOTAL, UNDERSCORE, 61, TOTAL, UNDERSCORE]
    # Inside a replacement the rest of it comes first.
    lookup.extend([51, TOTAL])
    assert lookup.draft(3) == [UNDERSCORE, 61, TOTAL]


def test_an_edit_the_reply_stops_making_is_forgotten() -> None:
    lookup = lookup_after([60, COUNT, 70, 9, 51, X])  # back to x on the next line
    assert lookup.draft(4) == [61, X, 71, 9]


def test_a_dropped_token_and_inserted_text_keep_the_place() -> None:
    dropped = lookup_after([X, 70, 9])  # the reply skips the 60
    assert dropped.draft(3) == [51, X, 61]
    inserted = lookup_after([60, 200, 201, X, 70])  # two tokens inserted before x
    assert inserted.draft(3) == [9, 51, X]
    assert inserted.draft(1) == [9]  # not learned as an edit of x
    assert 200 not in inserted.draft(16)


def test_a_reply_that_stops_copying_loses_the_place_and_the_ngram_finds_it_again() -> None:
    lookup = lookup_after([60, 300, 301, 302, 303, 304])  # more than max_replaced
    assert lookup.draft(4) == []
    lookup.extend([52, X])  # copying again, from the third line: the n-gram (52, x)
    assert lookup.draft(4) == [62, X, 72, 9]


def test_the_adaptive_lookup_foresees_the_edited_copy() -> None:
    lookup = PromptLookup()
    lookup.extend([100, 101, *SOURCE, 102, 50, X])
    for token in [60, COUNT, 70, 9, 51, COUNT, 61, COUNT, 71, 9]:
        lookup.extend([token])
    # From the first line's end on, every token was foreseen, renames included.
    assert lookup.odds.run >= 6
