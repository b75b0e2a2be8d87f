"""When Hearth says it did not catch what was said, and when it says nothing (no models)."""

from __future__ import annotations

import pytest

from app.voice.not_heard import NOT_HEARD_MIN_SPEECH_S, could_not_make_out, not_heard_phrase
from app.voice.stt import REJECTED_UNLIKELY, Transcript

UNLIKELY = f"{REJECTED_UNLIKELY} 'What an uphill a break first' (log-prob -1.62)"


def final(rejected: str | None, text: str = "") -> Transcript:
    return Transcript(text, "en", 0.9, 3.0, 0.8, avg_logprob=-1.6, rejected=rejected)


def draft(text: str) -> Transcript:
    return Transcript(text, "en", 0.9, 3.0, 0.2, avg_logprob=-0.9, draft=True)


HEARD = draft("What an uphill a breakfast from the morning!")


def test_speech_whisper_could_not_make_out_is_said_to_be_so() -> None:
    # The benchmark's case: a clean Scottish question whose draft read words (unsure of
    # them) and whose final pass rejected its own text as unlikely.
    assert could_not_make_out(final(UNLIKELY), HEARD, speculative=True, speech_s=2.4)
    # Push-to-talk or a wake-word turn: the user spoke to Hearth; no draft is needed.
    assert could_not_make_out(final(UNLIKELY), None, speculative=False, speech_s=2.4)


@pytest.mark.parametrize(
    "rejected",
    ["no speech", "silence", "stopped", "silence phrase 'Thank you.'", "no words in '...'"],
)
def test_noise_silence_and_a_given_up_pass_say_nothing(rejected: str) -> None:
    assert not could_not_make_out(final(rejected), HEARD, speculative=True, speech_s=2.4)
    assert not could_not_make_out(final(rejected), None, speculative=False, speech_s=2.4)


def test_a_hands_free_turn_whose_draft_read_no_words_says_nothing() -> None:
    # Noise the VAD let through: the draft found nothing either.
    empty = Transcript("", "en", 0.5, 1.0, 0.1, rejected="no speech", draft=True)
    assert not could_not_make_out(final(UNLIKELY), empty, speculative=True, speech_s=2.4)
    assert not could_not_make_out(final(UNLIKELY), None, speculative=True, speech_s=2.4)


def test_a_cough_says_nothing() -> None:
    short = NOT_HEARD_MIN_SPEECH_S - 0.1
    assert not could_not_make_out(final(UNLIKELY), HEARD, speculative=True, speech_s=short)
    assert not could_not_make_out(final(UNLIKELY), None, speculative=False, speech_s=short)


def test_a_kept_transcript_is_answered_not_apologised_for() -> None:
    kept = final(None, "What is a healthy breakfast?")
    assert not could_not_make_out(kept, HEARD, speculative=True, speech_s=2.4)


def test_the_phrase_is_in_the_conversations_language() -> None:
    assert "catch" in not_heard_phrase("en")
    assert "catch" in not_heard_phrase(None)  # unknown: English
    assert "没听清" in not_heard_phrase("zh")
