"""English number words as digits, so "ten minutes" and "10 minutes" read as one question.

Whisper writes the same spoken number either way from one pass to the next (its cheap
draft says "ten", the final pass "10"); comparing the two transcripts word for word would
redo a reply that answered the right question. Only what is unambiguous is folded:
cardinal numbers from "zero" to the millions, with "hundred"/"thousand"/"million", an
"and" inside them ("one hundred and five") and hyphens ("twenty-five"). "A hundred",
ordinals and fractions are left as words.
"""

from __future__ import annotations

import re

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"thousand": 1_000, "million": 1_000_000}
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]+|_+")


def _small(word: str) -> bool:
    return word in _UNITS or word in _TENS


def _joins(last: str, word: str) -> bool:
    """Whether ``word`` goes on the number that ``last`` ended: "twenty five" is one
    number, "five twenty" and "one two" (digits read out one by one) are two."""
    if word == "and" or last == "and":
        return True  # only kept inside a number by fold_number_words
    if last in _TENS:
        return (word in _UNITS and 0 < _UNITS[word] < 10) or word in _SCALES
    if word == "hundred":
        return last in _UNITS and _UNITS[last] > 0
    if word in _SCALES:
        return last != "zero" and last not in _SCALES
    return last == "hundred" or last in _SCALES


def _value(words: list[str]) -> int:
    total = current = 0
    for word in words:
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current *= 100
        elif word in _SCALES:
            total += current * _SCALES[word]
            current = 0
    return total + current


def _numbers(run: list[str]) -> list[str]:
    groups: list[list[str]] = []
    for word in run:
        if groups and _joins(groups[-1][-1], word):
            groups[-1].append(word)
        else:
            groups.append([word])
    return [str(_value(group)) for group in groups]


def fold_number_words(text: str) -> str:
    """``text`` (lower case) as tokens joined by single spaces, with English cardinal
    number words written as digits."""
    tokens = _TOKEN.findall(text.replace("-", " "))
    out: list[str] = []
    run: list[str] = []
    for index, token in enumerate(tokens):
        after = tokens[index + 1] if index + 1 < len(tokens) else ""
        starts_number = _small(token) or (bool(run) and (token == "hundred" or token in _SCALES))
        # "and" belongs to a number only between a hundred or thousand and what follows.
        inner_and = token == "and" and bool(run) and run[-1] in ("hundred", *_SCALES)
        if starts_number or (inner_and and _small(after)):
            run.append(token)
            continue
        if run:
            out += _numbers(run)
            run.clear()
        out.append(token)
    out += _numbers(run)
    return " ".join(out)
