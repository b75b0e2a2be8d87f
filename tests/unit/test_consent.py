"""A spoken yes or no to a tool's permission question; anything unclear is no answer."""

from __future__ import annotations

import pytest

from app.voice.consent import heard_consent, permission_question


@pytest.mark.parametrize(
    "said", ["Yes.", "Yeah, go ahead.", "Sure!", "OK", "Okay, allow it.", "可以。", "好的"]
)
def test_a_clear_yes(said: str) -> None:
    assert heard_consent(said) is True


@pytest.mark.parametrize(
    "said", ["No.", "Nope.", "No, thank you.", "Don't.", "Stop!", "不行。", "不要", "别"]
)
def test_a_clear_no(said: str) -> None:
    assert heard_consent(said) is False


@pytest.mark.parametrize("said", ["", "Maybe.", "What?", "Yes, no, I don't know.", "嗯，不"])
def test_anything_else_is_no_answer(said: str) -> None:
    # A hesitation then a no ("嗯" then "不"): the no wins over the Chinese yes.
    expected = False if said == "嗯，不" else None
    assert heard_consent(said) is expected


def test_the_question_is_in_the_conversations_language() -> None:
    assert permission_question("Calculator", "en") == "May I use Calculator? Say yes or no."
    assert "Calculator" in permission_question("Calculator", "zh")
    assert permission_question("Calculator", "zh").endswith("。")
