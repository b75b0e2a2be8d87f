"""Which transcripts read as finished (they end a turn after a short silence)."""

from __future__ import annotations

import pytest

from app.voice.turn_end import sounds_finished


@pytest.mark.parametrize(
    "text",
    [
        "What is the capital of France?",
        "Set a timer for 10 minutes.",
        "Where are you from?",  # a question may end on a preposition
        "What is it like?",
        "Thank you!",
        "Play some music.",
        '"Hello there."',
        "今天天气怎么样？",
        "给我讲个笑话。",
    ],
)
def test_finished_sentences(text: str) -> None:
    assert sounds_finished(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Tell me a joke about.",  # Whisper puts a full stop after almost anything
        "What is the weather like in Paris and?",
        "I would like to know the.",
        "Can you tell me um.",
        "Play some music",  # no punctuation: Whisper heard no end
        "Well...",
        "So I was thinking…",
        "我想知道因为。",
        "?",
    ],
)
def test_unfinished_sentences(text: str) -> None:
    assert not sounds_finished(text)


def test_language_hint_selects_the_chinese_rules() -> None:
    assert not sounds_finished("还有。", "zh")
    assert sounds_finished("好的。", "zh")
