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


@pytest.mark.parametrize(
    "said",
    [
        "Hey Hearth, what time is it?",
        "Hey Hearth.",
        "Hey Hearth?",  # alone and asked: the transcript's end after the name is the call
        "Hearth, what time is it?",
        "Hello Hearth, what time is it?",
    ],
)
def test_the_phrase_scores_above_the_thresholds(
    scorer: PhraseScorer, speak: Callable[..., Audio], said: str
) -> None:
    found = scorer.score(head(speak(said, before=0.3, after=0.0)))
    assert found is not None
    assert found.wakes(scorer.config), found


@pytest.mark.parametrize(
    "said",
    [
        "Hey, hard to say what happened.",
        "Hearth opens no network connection unless you ask.",
        "Hey there, how are you doing today?",
        "Hey Seth, grab a chair.",
    ],
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


def test_forced_token_probs_are_ctranslate2s_alignment_probabilities(
    stt: SpeechToText, speak: Callable[..., Audio]
) -> None:
    # The decoder's logits, read row by row, must give about the probabilities
    # CTranslate2's own forced alignment gives for the same tokens and encoder output.
    import ctranslate2

    audio = head(speak("Hey Hearth, what time is it?", before=0.3, after=0.0))
    tokens = stt.text_tokens("Hey Hearth, what time")
    end = stt.end_of_text()
    found = stt.forced_token_probs(audio, [tokens], then=[end, tokens[3]])[0]
    assert len(found) == len(tokens) + 2
    model = stt._model
    padded = np.concatenate([audio, np.zeros(16_000, np.float32)])
    features = model.feature_extractor(padded)
    frames = features.shape[-1] - 1
    frames -= frames % 2
    encoded = model.model.encode(
        ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None, :, :frames]))
    )
    tokenizer = stt._tokenizer("en")
    start = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    aligned = model.model.align(encoded, start, [tokens], frames)[0].text_token_probs
    # Within a few hundredths (align decodes with its own start handling, measured up to
    # 0.05 apart); a row off by one would put " He" (~0.01) against "arth" (~0.9).
    assert found[: len(tokens)] == pytest.approx(list(aligned), abs=0.1)
    # Two tokens of one distribution after the reading.
    assert all(0.0 <= p <= 1.0 for p in found) and found[-2] + found[-1] <= 1.0 + 1e-6
