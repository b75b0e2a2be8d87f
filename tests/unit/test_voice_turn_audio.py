"""A turn keeps what the microphone gave after its cut, and where it ends in the stream:
a question still open is continued by the next utterance as the one recording it was."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import numpy as np

from app.voice.audio_io import SAMPLE_RATE
from app.voice.loop import CARRY_GAP_S, VoiceConfig, VoiceLoop, _Turn


def turn_of(samples: int, max_samples: int) -> _Turn:
    audio = np.arange(samples, dtype=np.float32)
    event: Any = SimpleNamespace(audio=audio, speech_start=0.0, speech_end=0.0, first_sample=0)
    return _Turn(1, event, audio, True, 1, max_samples=max_samples)


def test_without_a_tail_the_turn_is_its_cut() -> None:
    turn = turn_of(100, 1000)
    assert turn.heard_audio() is turn.audio


def test_the_tail_follows_the_cut_in_order() -> None:
    turn = turn_of(100, 1000)
    turn.grow(np.full(10, -1, np.float32))
    turn.grow(np.full(5, -2, np.float32))
    heard = turn.heard_audio()
    assert heard.dtype == np.float32 and heard.size == 115
    assert np.array_equal(heard[:100], turn.audio)
    assert np.array_equal(heard[100:], [-1] * 10 + [-2] * 5)


def test_the_tail_stops_at_whispers_window() -> None:
    turn = turn_of(100, 112)
    for _ in range(3):
        turn.grow(np.full(10, -1, np.float32))
    assert turn.heard_audio().size == 112
    full = turn_of(120, 112)  # already past it (a long carried-over question)
    full.grow(np.ones(10, np.float32))
    assert full.heard_audio() is full.audio


def test_the_stream_end_follows_the_tail_until_it_is_cut() -> None:
    turn = turn_of(100, 112)
    assert turn.stream_end == 100
    turn.grow(np.ones(10, np.float32))
    assert turn.stream_end == 110
    turn.grow(np.ones(10, np.float32))  # past Whisper's window: not the stream's end
    assert turn.stream_end is None


def carrying(audio: np.ndarray, end: int | None) -> VoiceLoop:
    loop = VoiceLoop.__new__(VoiceLoop)  # no devices: only the join is run
    loop.config = VoiceConfig()
    loop._lock = threading.Lock()
    loop._carry_audio, loop._carry_end = audio, end
    return loop


def test_a_question_that_went_on_at_once_is_joined_as_one_recording() -> None:
    stream = np.arange(1000, dtype=np.float32)
    # The open question's audio ended at 600; the next utterance's pre-roll starts there.
    loop = carrying(stream[200:600], 600)
    assert np.array_equal(loop._after_carried(stream[600:1000], 600), stream[200:1000])
    # Overlapping audio is not heard twice.
    assert np.array_equal(loop._after_carried(stream[500:1000], 500), stream[200:1000])


def test_a_question_that_went_on_later_is_joined_over_a_short_silence() -> None:
    stream = np.arange(1, 20_001, dtype=np.float32)
    for end in (600, None):  # audio between was lost, or where it ended is not known
        loop = carrying(stream[200:600], end)
        joined = loop._after_carried(stream[10_000:], 10_000)
        gap = int(CARRY_GAP_S * SAMPLE_RATE)
        assert np.array_equal(joined[:400], stream[200:600])
        assert not joined[400 : 400 + gap].any()
        assert np.array_equal(joined[400 + gap :], stream[10_000:])
