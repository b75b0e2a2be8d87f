"""The voice tests' check that the speaker played the reply, not something else (no audio:
the transcripts the end-to-end tests got)."""

from __future__ import annotations

from tests.voice.conftest import heard_as_said

QUESTION = "What is the capital of France?"
FRENCH = "L'Alma, la France, est une femme."  # the starter model's reply on some CPUs
FRENCH_ECHO = "El Alma, La France, E. S. D. Yoon Femme."  # Whisper on Piper saying it


def test_a_reply_heard_right_is_the_reply_even_when_it_says_the_questions_words() -> None:
    said = "The capital of France is Paris."
    assert heard_as_said(said, "The capital of France is Paris.", QUESTION)


def test_a_french_reply_mangled_by_the_english_voice_is_still_the_reply() -> None:
    # Seen in a run: "France" in both the reply and the question.
    heard = "Hello Almo, my friends, ESD Unifim."
    assert heard_as_said(FRENCH, heard, QUESTION, echo=FRENCH_ECHO)


def test_the_question_played_back_or_something_unrelated_is_not_the_reply() -> None:
    assert not heard_as_said(FRENCH, QUESTION, QUESTION, echo=FRENCH_ECHO)
    assert not heard_as_said("The capital of France is Paris.", QUESTION, QUESTION)
    assert not heard_as_said(FRENCH, "I like green bananas very much.", QUESTION, FRENCH_ECHO)
