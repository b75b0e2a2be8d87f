"""The benchmark's error rates: normalisation, alignment counts and duplicated words."""

from __future__ import annotations

import pytest

from tests.bench.wer import error_rate, normalize, pooled, wer


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("Set a timer for 10 minutes.", "set a timer for ten minutes"),
        ("Wake me at 7:30 a.m.", "wake me at seven thirty am"),
        ("What's 12 times 15?", "what is twelve times fifteen"),
        ("It's the 3rd, 25% off $5", "it is the third twenty five percent off five dollars"),
        ("Her favourite colour is grey", "her favorite color is gray"),
        ("Change a car tyre", "change a car tire"),
        ("1,205 and 2.5", "one thousand two hundred five and two point five"),
    ],
)
def test_written_forms_are_the_spoken_words(written: str, said: str) -> None:
    assert normalize(written) == said


def test_counts_substitutions_deletions_insertions() -> None:
    found = error_rate("What is the capital of France?", "What is capital and France, OK")
    assert (found.substitutions, found.deletions, found.insertions) == (1, 1, 1)
    assert found.rate == pytest.approx(3 / 6)
    assert wer("Why is the sky blue?", "why is the sky blue") == 0.0


def test_a_joined_repeat_counts_as_duplicated_words() -> None:
    found = error_rate(
        "Tell me one fact about the moon.",
        "Tell me one fact about the moon Tell me one fact about the moon",
    )
    assert found.insertions == 7 and found.duplicated == 7
    assert (
        error_rate(
            "I have a headache. What can I take?", "I have a headache what can I take"
        ).duplicated
        == 0
    )


def test_repeats_are_told_from_a_reused_word() -> None:
    joined = error_rate(
        "Tell me one fact about the moon.",
        "Tell me one fact about the moon Tell me one fact about the moon",
    )
    assert joined.repeated == 7
    # A mishearing that reuses a word is a duplicated word, not a repeat.
    misheard = error_rate(
        "Is it safe to eat raw cookie dough?", "Is it safe to eat or cook it though?"
    )
    assert misheard.duplicated == 1 and misheard.repeated == 0
    assert error_rate("Suggest a good book.", "Suggest a Lord Lord.").repeated == 1
    assert error_rate("Tell me a knock knock joke.", "Tell me a knock knock joke").repeated == 0
    assert error_rate("Tell me a knock joke.", "Tell me a knock knock joke").repeated == 1


def test_chinese_is_scored_by_character_in_either_script() -> None:
    assert error_rate("今天天气怎么样？", "今天天氣怎麼樣", "zh").errors == 0
    assert error_rate("现在几点了？", "现在3点了", "zh").substitutions == 1
    assert error_rate("明天会下雨吗？", "明天会下去吗", "zh").rate == pytest.approx(1 / 6)


def test_corpus_rate_pools_errors_over_all_words() -> None:
    scores = [error_rate("a b c d", "a b c d"), error_rate("x y", "x z")]
    assert pooled(scores) == pytest.approx(1 / 6)
