"""Silero VAD and the end-of-speech detector, on real speech (Piper) and real noise."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from app.voice.audio_io import FRAME_SAMPLES, SAMPLE_RATE
from app.voice.vad import FRAME_S, EndpointDetector, SileroVad, VadConfig, VadEvent, VadEventKind
from tests.voice.audio_env import active_spans

Audio = np.ndarray


def run(detector: EndpointDetector, audio: Audio) -> list[VadEvent]:
    """Feed ``audio`` frame by frame, frame i ending at time (i + 1) * 32 ms."""
    events: list[VadEvent] = []
    for i in range(audio.size // FRAME_SAMPLES):
        frame = audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
        events += detector.push(frame, (i + 1) * FRAME_S)
    return events


CANDIDATES = {VadEventKind.MAYBE_SPEECH, VadEventKind.NOT_SPEECH}


def kinds(events: list[VadEvent]) -> list[VadEventKind]:
    """The utterance events, without the onset candidates."""
    return [e.kind for e in events if e.kind not in CANDIDATES]


def speech_bounds(audio: Audio) -> tuple[float, float]:
    spans = active_spans(audio.astype(np.float32), threshold_db=-40, gap_s=1.0)
    return spans[0][0] / SAMPLE_RATE, spans[-1][1] / SAMPLE_RATE


def with_noise(audio: Audio, level: float = 0.003, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return (audio + rng.standard_normal(audio.size) * level).astype(np.float32)


def test_silero_scores_speech_high_and_silence_low(
    silero: SileroVad, speak: Callable[..., Audio]
) -> None:
    audio = speak("What is the capital of France?", before=1.0, after=1.0)
    probs = silero.probabilities(audio)
    start, end = speech_bounds(audio)
    frame_t = (np.arange(probs.size) + 1) * FRAME_S
    assert probs[frame_t < start - 0.1].max() < 0.2
    assert np.median(probs[(frame_t > start + 0.2) & (frame_t < end - 0.2)]) > 0.8
    assert probs[frame_t > end + 0.3].max() < 0.2


def test_one_utterance_with_pre_roll_and_hangover(
    silero: SileroVad, speak: Callable[..., Audio]
) -> None:
    audio = with_noise(speak("What is the capital of France?", before=1.0, after=1.5))
    start, end = speech_bounds(audio)
    # clear_silence=0: only pause_ms starts the pause (the quick start is tested below).
    config = VadConfig(silence_ms=600, pause_ms=160, pre_roll_ms=400, clear_silence=0.0)
    events = run(EndpointDetector(silero, config), audio)
    assert kinds(events) == [
        VadEventKind.SPEECH_START,
        VadEventKind.PAUSE,
        VadEventKind.SPEECH_END,
    ]
    started, paused, ended = [e for e in events if e.kind not in CANDIDATES]
    (maybe,) = [e for e in events if e.kind is VadEventKind.MAYBE_SPEECH]
    assert maybe.time < started.time  # the first hint of speech comes before the onset
    assert start <= started.time <= start + 0.25  # onset confirmed within 250 ms
    assert abs(ended.speech_end - end) < 0.15  # the last speech frame is the real end
    assert ended.time - ended.speech_end == pytest.approx(0.6, abs=0.05)  # the hang-over
    assert paused.time - paused.speech_end == pytest.approx(0.16, abs=0.05)
    # The utterance starts before the onset was confirmed: the first syllable is kept.
    assert ended.audio is not None
    utterance_start = ended.time - ended.audio.size / SAMPLE_RATE
    assert utterance_start < start - 0.2
    assert ended.speech_s > 1.0


def test_a_clean_stop_is_a_pause_at_the_first_clearly_silent_frame(
    silero: SileroVad, speak: Callable[..., Audio]
) -> None:
    audio = speak("How many legs does a spider have?", before=0.5, after=1.0)
    _, end = speech_bounds(audio)
    pauses = {}
    for clear in (0.0, VadConfig().clear_silence):
        events = run(EndpointDetector(silero, VadConfig(clear_silence=clear)), audio)
        (pause,) = [e for e in events if e.kind is VadEventKind.PAUSE]
        pauses[clear] = pause.time
    # Waiting for pause_ms (96 ms) of quiet frames starts the pause well after the speech
    # ends; a frame Silero is sure is silence starts it two frames sooner.
    assert pauses[0.0] - pauses[VadConfig().clear_silence] >= 2 * FRAME_S - 1e-6
    assert pauses[VadConfig().clear_silence] - end < 0.1


def test_hangover_is_tunable(silero: SileroVad, speak: Callable[..., Audio]) -> None:
    audio = speak("Hello there.", before=0.5, after=2.0)
    ends = {}
    for silence_ms in (300, 1200):
        events = run(EndpointDetector(silero, VadConfig(silence_ms=silence_ms)), audio)
        (end,) = [e for e in events if e.kind is VadEventKind.SPEECH_END]
        ends[silence_ms] = end.time - end.speech_end
    assert ends[300] == pytest.approx(0.3, abs=0.05)
    assert ends[1200] == pytest.approx(1.2, abs=0.05)


def trimmed(audio: Audio, floor: float = 0.02) -> Audio:
    """``audio`` from its first to its last sample louder than ``floor``."""
    loud = np.flatnonzero(np.abs(audio) > floor)
    return audio[loud[0] : loud[-1] + 1]


def two_phrases(speak: Callable[..., Audio]) -> tuple[Audio, Audio]:
    """ "Tell me about" after half a second of silence, and "the tallest mountain in
    Europe." before a second of it, each trimmed of Piper's own silence."""
    first = np.concatenate(
        [np.zeros(SAMPLE_RATE // 2, np.float32), trimmed(speak("Tell me about"))]
    )
    second = np.concatenate(
        [trimmed(speak("the tallest mountain in Europe.")), np.zeros(SAMPLE_RATE, np.float32)]
    )
    return first, second


def test_short_pause_keeps_one_utterance_long_pause_makes_two(
    silero: SileroVad, speak: Callable[..., Audio]
) -> None:
    # Piper's own silence around a phrase varies from one synthesis to the next; trim it
    # so the pause between the phrases is exactly ``gap``.
    first, second = two_phrases(speak)
    for gap, expected in ((0.35, 1), (1.2, 2)):
        audio = np.concatenate([first, np.zeros(int(gap * SAMPLE_RATE), np.float32), second])
        events = run(EndpointDetector(silero, VadConfig(silence_ms=700)), audio)
        assert kinds(events).count(VadEventKind.SPEECH_END) == expected, (gap, kinds(events))
        if expected == 1:
            # The pause started speculative work, and the resumed speech cancelled it.
            assert VadEventKind.RESUME in kinds(events)


def noises() -> dict[str, Audio]:
    rng = np.random.default_rng(7)
    n = 6 * SAMPLE_RATE
    t = np.arange(n) / SAMPLE_RATE
    white = rng.standard_normal(n) * 0.05
    brown = np.cumsum(rng.standard_normal(n))
    brown = (brown - np.convolve(brown, np.ones(400) / 400, mode="same")) * 0.01
    hum = 0.2 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 150 * t)
    clicks = np.zeros(n)
    clicks[:: SAMPLE_RATE // 3] = 0.9
    fan = np.convolve(rng.standard_normal(n), np.ones(8) / 8, mode="same") * 0.2
    beeps = 0.3 * np.sin(2 * np.pi * 1000 * t) * ((t % 1.0) < 0.2)
    return {
        "silence": np.zeros(n),
        "white": white,
        "brown": brown,
        "hum": hum,
        "clicks": clicks,
        "fan": fan,
        "beeps": beeps,
    }


@pytest.mark.parametrize("name", sorted(noises()))
def test_noise_alone_never_starts_an_utterance(silero: SileroVad, name: str) -> None:
    audio = noises()[name].astype(np.float32)
    events = run(EndpointDetector(silero, VadConfig()), audio)
    assert kinds(events) == [], (name, kinds(events))
    # Candidates may come and go, but each is withdrawn (playback would resume).
    maybe = [e for e in events if e.kind is VadEventKind.MAYBE_SPEECH]
    assert len(maybe) == len([e for e in events if e.kind is VadEventKind.NOT_SPEECH])


def test_push_to_talk_collects_audio_between_press_and_release(
    silero: SileroVad, speak: Callable[..., Audio]
) -> None:
    audio = speak("Good morning.", before=0.5, after=0.5)
    detector = EndpointDetector(silero, VadConfig(pre_roll_ms=300))
    frames = audio.size // FRAME_SAMPLES
    detector.begin(0.0)
    for i in range(frames):
        frame = audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
        assert detector.push(frame, (i + 1) * FRAME_S, detect=False) == []
    event = detector.finish(frames * FRAME_S)
    assert event is not None and event.kind is VadEventKind.SPEECH_END
    assert event.audio is not None and event.audio.size == frames * FRAME_SAMPLES
    assert event.speech_s > 0.4
    assert detector.finish(1.0) is None


def test_each_utterance_says_where_its_audio_is_in_the_stream(
    silero: SileroVad, speak: Callable[..., Audio]
) -> None:
    # A hang-over shorter than the pause between two phrases splits them; the second
    # starts (its pre-roll) right where the first ended, so the voice loop can join a
    # question that went on after the cut as the one recording it was.
    first, second = two_phrases(speak)
    stream = np.concatenate([first, np.zeros(int(0.6 * SAMPLE_RATE), np.float32), second])
    detector = EndpointDetector(silero, VadConfig(silence_ms=300))
    events = [e for e in run(detector, stream) if e.audio is not None]
    for event in events:
        start = event.first_sample
        assert np.array_equal(stream[start : start + event.audio.size], event.audio), event
    ends = [e for e in events if e.kind is VadEventKind.SPEECH_END]
    assert len(ends) == 2, kinds(events)
    assert ends[1].first_sample == ends[0].first_sample + ends[0].audio.size
    # After a break in the stream (the device was reopened), nothing continues.
    detector.reset()
    again = [e for e in run(detector, second) if e.kind is VadEventKind.SPEECH_END]
    assert again and again[0].first_sample > ends[1].first_sample + ends[1].audio.size
