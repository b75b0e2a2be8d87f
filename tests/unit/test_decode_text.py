"""The token loop's text rules (engine.decode), without a model: stop sequences found
on the text's tail, what is held back, and llama-cpp-python's wait for a whole character.
"""

from __future__ import annotations

from app.engine.decode import _find_stop, _held_back, _unfinished_character


def test_the_earliest_stop_is_found_from_the_start_given() -> None:
    text = bytearray(b"one two. three\n\nfour")
    assert _find_stop(text, [b"\n\n", b"."], 0) == 7
    assert _find_stop(text, [b"\n\n", b"."], 8) == 14
    assert _find_stop(text, [b"five"], 0) is None


def test_the_start_of_a_possible_stop_is_held_back() -> None:
    stops = [b"<|im_end|>", b"\n\n"]
    assert _held_back(bytearray(b"hello <|im"), stops) == 4
    assert _held_back(bytearray(b"hello\n"), stops) == 1
    assert _held_back(bytearray(b"hello"), stops) == 0
    # The longest start of any stop counts.
    assert _held_back(bytearray(b"ab"), [b"b", b"abc"]) == 2


def test_an_unfinished_character_waits_as_llama_cpp_python_does() -> None:
    sea = "海".encode()  # three bytes
    assert _unfinished_character(bytearray(b"xyz" + sea[:1]), 0) == 2
    assert _unfinished_character(bytearray(b"xyz" + sea[:2]), 0) == 1
    assert _unfinished_character(bytearray(b"xyz" + sea), 0) == 0
    # A finished character leaves the count as it was (llama-cpp-python's rule).
    assert _unfinished_character(bytearray(b"xy" + sea), 1) == 1
    wave = "🌊".encode()  # four bytes
    assert _unfinished_character(bytearray(b"ab" + wave[:1]), 0) == 3
    assert _unfinished_character(bytearray(b"plain"), 0) == 0
