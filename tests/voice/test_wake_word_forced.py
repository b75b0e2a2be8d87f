"""The wake phrase scored against the audio (:class:`app.voice.wake_word.PhraseScorer`):
the real starter Whisper reading real Piper speech. Only the scorer's verdict is
asserted (its thresholds have a wide margin on these clips), never Whisper's words."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from app.voice.stt import SpeechToText
from app.voice.wake_word import PhraseScorer, WakeConfig, WakeWord

Audio = np.ndarray


@pytest.fixture(scope="module")
def scorer(stt: SpeechToText) -> PhraseScorer:
    return PhraseScorer(stt, WakeConfig())


def head(audio: Audio) -> Audio:
    return audio[: int(WakeConfig().head_s * 16_000)]


@pytest.mark.parametrize("said", ["Hey Hearth, what time is it?", "Hey Hearth."])
def test_the_phrase_scores_above_the_thresholds(
    scorer: PhraseScorer, speak: Callable[..., Audio], said: str
) -> None:
    found = scorer.score(head(speak(said, before=0.3, after=0.0)))
    assert found is not None
    assert found.wakes(scorer.config), found


@pytest.mark.parametrize(
    "said",
    ["Hey, hard to say what happened.", "Hearth opens no network connection unless you ask."],
)
def test_near_misses_and_mentions_score_below(
    scorer: PhraseScorer, speak: Callable[..., Audio], said: str
) -> None:
    found = scorer.score(head(speak(said, before=0.3, after=0.0)))
    assert found is not None
    assert not found.wakes(scorer.config), found


def test_check_wakes_on_the_phrase_and_not_on_the_near_miss(
    stt: SpeechToText, speak: Callable[..., Audio]
) -> None:
    wake = WakeWord(stt)
    found, _ = wake.check(speak("Hey Hearth, what time is it?", before=0.3, after=0.3))
    assert found is not None
    found, _ = wake.check(speak("Hey, hard to say what happened.", before=0.3, after=0.3))
    assert found is None
    assert wake.checks == 2
