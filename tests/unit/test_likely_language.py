"""The conversation's language follows a sure detection only: one unsure guess kept as a
turn's text must not drag the next turns into that language."""

from __future__ import annotations

from app.voice.loop import next_likely_language
from app.voice.stt import UNSURE_LANGUAGE, SttConfig, Transcript


def heard(language: str, probability: float, text: str = "words") -> Transcript:
    return Transcript(text, language, probability, audio_s=2.0, elapsed_s=0.5)


def test_an_unsure_guess_does_not_change_the_conversations_language() -> None:
    # As in a 60-turn hands-free run: a noisy English question heard as Thai at 0.47
    # (kept as the more probable text), then the next English one detected at 0.33.
    likely = next_likely_language("en", heard("th", 0.47, "ค่ะ ฟาลาเวอร์สมืน"), UNSURE_LANGUAGE)
    assert likely == "en"  # the next unsure detection is checked against English
    assert next_likely_language(likely, heard("en", 0.33), UNSURE_LANGUAGE) == "en"


def test_a_sure_detection_changes_it() -> None:
    assert next_likely_language("en", heard("zh", 0.93, "今天天气怎么样"), UNSURE_LANGUAGE) == "zh"
    assert next_likely_language("en", heard("zh", UNSURE_LANGUAGE), UNSURE_LANGUAGE) == "zh"


def test_the_first_language_heard_is_taken_however_sure() -> None:
    assert next_likely_language(None, heard("fr", 0.4), UNSURE_LANGUAGE) == "fr"


def test_the_threshold_is_whispers_unsure_language() -> None:
    assert SttConfig().unsure_language == UNSURE_LANGUAGE == 0.7
