"""The draft-window benchmark sorts each draft as the voice loop would, and scores it."""

from __future__ import annotations

from tests.bench.bench_draft_window import outcome, table


def draft(text: str, logprob: float, same: bool, seconds: float = 0.1) -> dict[str, object]:
    return {"text": text, "avg_logprob": logprob, "same": same, "s": seconds}


def test_a_draft_stands_starts_wrong_or_is_held_as_the_loop_decides() -> None:
    assert outcome(draft("turn on the lights", -0.2, True), -0.4) == "stood"
    assert outcome(draft("turn on the light", -0.2, False), -0.4) == "wrong"
    assert outcome(draft("turn in the night", -0.6, False), -0.4) == "held"
    assert outcome(draft("", 0.0, False), -0.4) == "held"


def test_the_table_counts_each_windows_outcomes_and_scores_its_drafts() -> None:
    row = {
        "voice": "piper",
        "noise": "clean",
        "language": "en",
        "reference": "turn on the lights",
        "final": "turn on the lights",
        "drafts": {
            "0.0": draft("turn on the light", -0.2, False, 0.1),
            "10.0": draft("turn on the lights", -0.3, True, 0.2),
        },
    }
    printed = table([row], -0.4)
    assert "| all | 0.0 | 1 | 0 | 0 | 1 | 0 | 25.0 % | 0.0 % | 0.100 / 0.100 |" in printed
    assert "| all | 10.0 | 1 | 1 | 1 | 0 | 0 | 0.0 % | 0.0 % | 0.200 / 0.200 |" in printed
