"""The takes benchmark keeps the take SpeechToText keeps, and scores what it printed."""

from __future__ import annotations

from tests.bench.bench_final_takes import surest, table


def take(text: str, logprob: float, sampled: bool = False) -> dict[str, object]:
    return {"text": text, "avg_logprob": logprob, "sampled": sampled}


def test_the_surest_take_is_a_beams_then_the_most_probable_then_the_first() -> None:
    assert surest([take("a", -0.5), take("b", -0.2), take("c", -0.3)]) == "b"
    assert surest([take("a", -0.5), take("b", -0.1, sampled=True)]) == "a"
    assert surest([take("a", -0.2), take("b", -0.2)]) == "a"
    assert surest([take("", 0.0), take("b", -0.9)]) == "b"


def test_the_table_scores_each_take_their_mean_and_the_surest() -> None:
    row = {
        "voice": "piper",
        "noise": "clean",
        "language": "en",
        "reference": "turn on the lights",
        "plain": "turn on the light",
        "takes": [
            take("turn on the light", -0.4),
            take("turn on the lights", -0.2),
            take("turn on the light", -0.4),
        ],
    }
    printed = table([row])
    # Take 1 and 3 miss one word of four, take 2 none: mean 16.7 %, the surest 0 %.
    assert "| all | 1 | 25.0 % | 0.0 % | 25.0 % | 16.7 % | 0.0 % | -16.7 | 25.0 % | 1 |" in printed
