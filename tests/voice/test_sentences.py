"""The streaming sentence splitter and the speech cleaner."""

from __future__ import annotations

import pytest

from app.voice.sentences import CODE_BLOCK_SPOKEN, PieceEnd, SentenceSplitter, clean_for_speech


def split(text: str, step: int, **kwargs: int) -> list[str]:
    splitter = SentenceSplitter(**kwargs)
    out = []
    for i in range(0, len(text), step):
        out += splitter.feed(text[i : i + step])
    out += splitter.flush()
    assert [s.index for s in out] == list(range(len(out)))
    return [s.spoken for s in out]


REPLY = (
    "Paris is the capital of France. Dr. Smith lives 3.5 km away, e.g. near the **Louvre**! "
    "Is it big? Yes... very.\n\n1. First item\n2. Second `item`\n"
    "Here is code:\n```python\nprint('not. spoken.')\nx = 1\n```\nDone. 这是中文。好吗？"
)
EXPECTED = [
    "Paris is the capital of France.",
    "Dr. Smith lives 3.5 km away, e.g. near the Louvre!",
    "Is it big?",
    "Yes...",
    "very.",
    "First item",
    "Second item",
    "Here is code:",
    CODE_BLOCK_SPOKEN,
    "Done.",
    "这是中文。",
    "好吗？",
]


@pytest.mark.parametrize("step", [1, 2, 3, 5, 8, 13, 1000])
def test_same_sentences_whatever_the_delta_size(step: int) -> None:
    assert split(REPLY, step) == EXPECTED


def test_sentence_is_released_as_soon_as_the_next_character_arrives() -> None:
    splitter = SentenceSplitter(first_clause_words=0)
    assert splitter.feed("The capital is Paris.") == []  # "." might be "3.5" or "e.g."
    got = splitter.feed(" It")
    assert [s.spoken for s in got] == ["The capital is Paris."]
    assert [s.raw for s in splitter.flush()] == ["It"]


def test_first_piece_may_end_at_a_clause_later_ones_do_not() -> None:
    text = "Well, the capital of France, as you know, is Paris, a big city. Then, later, more."
    assert split(text, 4) == [
        "Well, the capital of France,",
        "as you know, is Paris, a big city.",
        "Then, later, more.",
    ]
    assert split(text, 4, first_clause_words=0)[0] == (
        "Well, the capital of France, as you know, is Paris, a big city."
    )


def test_run_on_text_is_cut_at_a_space() -> None:
    text = "word " * 100
    pieces = split(text, 7, max_chars=60)
    assert len(pieces) > 5
    assert all(len(p) <= 62 for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_code_block_is_announced_not_read_even_unclosed() -> None:
    assert split("Look:\n```\nrm -rf /tmp/x.\n", 3) == ["Look:", CODE_BLOCK_SPOKEN]
    assert split("```js\nlet a = 1;\n```", 2) == [CODE_BLOCK_SPOKEN]


def test_nothing_speakable_gives_no_sentence() -> None:
    assert split("***\n---\n😀\n", 2) == []


@pytest.mark.parametrize(
    ("markdown", "spoken"),
    [
        ("See [the docs](https://docs.python.org/3/) now.", "See the docs now."),
        ("Visit https://www.example.com/a/b?c=1.", "Visit example.com."),
        ("Go to www.wikipedia.org for more", "Go to wikipedia.org for more"),
        ("![a cat](cat.png) Cute.", "a cat Cute."),
        ("## Heading", "Heading"),
        ("> quoted *text*", "quoted text"),
        ("- item with __bold__", "item with bold"),
        ("Call `print()` on my_var_name.", "Call print() on my_var_name."),
        ("***both*** and ~~gone~~", "both and gone"),
        ("| Name | Age |", "Name, Age"),
        ("|---|:---:|", ""),
        ("Line<br>break", "Line break"),
        ("Great job 🎉🎉!", "Great job !"),
    ],
)
def test_clean_for_speech(markdown: str, spoken: str) -> None:
    assert clean_for_speech(markdown) == spoken


def test_first_piece_may_end_before_a_new_phrase_and_says_how_it_ends() -> None:
    def pieces(text: str, step: int) -> list[tuple[str, PieceEnd]]:
        splitter = SentenceSplitter(first_phrase_words=3)
        out = []
        for i in range(0, len(text), step):
            out += splitter.feed(text[i : i + step])
        out += splitter.flush()
        return [(s.spoken, s.ends) for s in out]

    for step in (1, 3, 1000):
        assert pieces("The capital of France is Paris. It is big, and old.", step) == [
            ("The capital of France", PieceEnd.PHRASE),
            ("is Paris.", PieceEnd.SENTENCE),
            ("It is big, and old.", PieceEnd.SENTENCE),  # only the first piece is cut
        ]
    # Too few words before the phrase word: no cut there.
    whole = "A spider has eight legs."
    assert pieces(whole, 2) == [(whole, PieceEnd.SENTENCE)]
    assert pieces("The tallest mountain in the world is Everest.", 4)[0] == (
        "The tallest mountain",
        PieceEnd.PHRASE,
    )
    # "island" merely starts like "is": a model's tokens are whole words (" island"), so
    # the cut comes before "is"; fed letter by letter it may come before "island", but
    # always between whole words.
    assert pieces("The big old island is far.", 1000)[0] == ("The big old island", PieceEnd.PHRASE)
    assert pieces("The big old island is far.", 1)[0] == ("The big old", PieceEnd.PHRASE)
    # A comma after enough words is a clause.
    assert pieces("Well then my friend, hello there.", 5)[0] == (
        "Well then my friend,",
        PieceEnd.CLAUSE,
    )
    # Off by default: whole sentences.
    assert [s.ends for s in SentenceSplitter().feed("The capital of France is Paris. ")] == [
        PieceEnd.SENTENCE
    ]


def test_the_first_piece_is_cut_as_soon_as_the_phrase_word_arrives() -> None:
    # Not a token later, when the next word shows that "of" was complete: the cut is
    # between whole words either way, and the listener hears the reply a token sooner.
    splitter = SentenceSplitter(first_phrase_words=2)
    tokens = ["The", " capital", " of", " France", " is", " Paris", "."]
    cut_at = next(i for i, token in enumerate(tokens) if splitter.feed(token))
    assert tokens[cut_at] == " of"
    rest = [s.spoken for t in tokens[cut_at + 1 :] for s in splitter.feed(t)]
    assert rest + [s.spoken for s in splitter.flush()] == ["of France is Paris."]
