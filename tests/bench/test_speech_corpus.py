"""The benchmark's noisy speech: pink noise at the asked signal-to-noise ratio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.voice.audio_io import SAMPLE_RATE
from tests.bench.speech_corpus import (
    ENGLISH,
    ENGLISH_HELD_OUT,
    ENGLISH_PAUSED,
    ENGLISH_TEST,
    MANDARIN,
    PAUSES_S,
    VOICES,
    active_level,
    build,
    mix_noise,
    pink_noise,
    without_pause,
)


def test_noise_is_mixed_at_the_asked_snr_against_the_speech_not_its_pauses() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    speech = np.concatenate(
        [np.zeros(SAMPLE_RATE, np.float32), tone, np.zeros(SAMPLE_RATE // 2, np.float32)]
    )
    noisy = mix_noise(speech, 20.0, seed=3)
    snr = 10 * np.log10(active_level(tone) / np.mean((noisy - speech) ** 2))
    assert snr == pytest.approx(20.0, abs=0.1)
    assert np.array_equal(noisy, mix_noise(speech, 20.0, seed=3))  # seeded: the same noise


def test_pink_noise_falls_3_db_an_octave() -> None:
    noise = pink_noise(SAMPLE_RATE * 8, seed=1)
    power = np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(noise.size, 1 / SAMPLE_RATE)

    def band(low: float) -> float:
        return float(np.mean(power[(freqs >= low) & (freqs < 2 * low)]))

    assert 10 * np.log10(band(250) / band(2000)) == pytest.approx(9.0, abs=1.0)  # 3 octaves


def test_the_corpus_is_large_enough_and_new() -> None:
    from tests.bench.bench_voice import QUESTIONS

    assert len(ENGLISH) >= 30 and len(set(ENGLISH)) == len(ENGLISH)
    assert not set(ENGLISH) & set(QUESTIONS)
    # The held-out sentences are new to the word error benchmark (two are also questions
    # of the latency benchmark, bench_voice.py, which never scores words).
    assert len(set(ENGLISH_HELD_OUT)) == len(ENGLISH_HELD_OUT) >= 20
    assert not set(ENGLISH_HELD_OUT) & set(ENGLISH)
    assert set(ENGLISH_HELD_OUT) & set(QUESTIONS) == {
        "Tell me a joke about cats.",
        "Which planet is closest to the sun?",
    }
    # The test set is new to both benchmarks and to the other sets.
    assert len(set(ENGLISH_TEST)) == len(ENGLISH_TEST) >= 20
    assert not set(ENGLISH_TEST) & (set(ENGLISH) | set(ENGLISH_HELD_OUT) | set(QUESTIONS))
    # The paused questions are new too, each paused once; each length as often.
    others = set(ENGLISH) | set(ENGLISH_HELD_OUT) | set(ENGLISH_TEST) | set(QUESTIONS)
    assert all(q.count("|") == 1 for q in ENGLISH_PAUSED)
    assert not {without_pause(q) for q in ENGLISH_PAUSED} & others
    assert len(ENGLISH_PAUSED) % len(PAUSES_S) == 0
    assert all(
        len(pinyin.split()) == len([c for c in text if c.isalpha()]) for text, pinyin in MANDARIN
    )


def test_a_paused_question_is_its_halves_with_the_pause_between(tmp_path: Path) -> None:
    # espeak-ng, as the benchmark runs it: the reference has no bar, the clip has the
    # set's pause between the halves, and the speech ends with the second half.
    en_us = next(v for v in VOICES if v.key == "en-us")
    paused, whole = build(tmp_path, [en_us], {"clean": None}, 2, "paused")
    assert paused.text == "What is the tallest mountain in South America?"
    assert (paused.pause_s, whole.pause_s) == PAUSES_S[:2]
    audio = paused.audio()
    speech = audio[
        int(paused.speech_start_s * SAMPLE_RATE) : int(paused.speech_end_s * SAMPLE_RATE)
    ]
    block = SAMPLE_RATE // 50
    quiet = np.max(np.abs(speech[: speech.size // block * block].reshape(-1, block)), axis=1) < 1e-4
    longest = run = 0
    for silent in quiet:
        run = run + 1 if silent else 0
        longest = max(longest, run)
    # The pause, in whole 20 ms blocks (espeak's own gaps between words are far shorter).
    assert longest * block / SAMPLE_RATE == pytest.approx(paused.pause_s, abs=0.045)
