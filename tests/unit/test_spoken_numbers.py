"""Number words folded to digits, so a draft and a final transcript compare as one question."""

from __future__ import annotations

import pytest

from app.voice.spoken_numbers import fold_number_words


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("set a timer for ten minutes.", "set a timer for 10 minutes ."),
        ("call my sister at six", "call my sister at 6"),
        ("twenty-five people", "25 people"),
        ("twenty five people", "25 people"),
        ("one hundred and five", "105"),
        ("two thousand five hundred", "2500"),
        ("three million", "3000000"),
        ("zero", "0"),
    ],
)
def test_cardinal_numbers_become_digits(spoken: str, written: str) -> None:
    assert fold_number_words(spoken) == written


@pytest.mark.parametrize(
    "text",
    ["a hundred ways", "the million", "someone tone", "often", "thousands of stars"],
)
def test_words_that_only_look_like_numbers_stay(text: str) -> None:
    assert fold_number_words(text) == text


def test_digits_read_out_one_by_one_stay_separate() -> None:
    assert fold_number_words("one two three") == "1 2 3"
    assert fold_number_words("five twenty") == "5 20"


def test_an_and_between_numbers_is_kept() -> None:
    assert fold_number_words("five and six") == "5 and 6"
    assert fold_number_words("a hundred and ten") == "a hundred and 10"


def test_other_scripts_pass_through() -> None:
    assert fold_number_words("明天 会 下雨 吗") == "明天 会 下雨 吗"
