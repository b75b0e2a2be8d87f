"""The running transcript: what Whisper heard so far, while the user is still speaking.

Real parts: a long question in Piper's voice played into the virtual microphone, Silero,
Whisper, the engine process with the starter model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.generation import GenerationParams
from app.voice.loop import VoiceCallbacks, VoiceConfig
from app.voice.stt import SpeechToText, Transcript
from app.voice.tts import TextToSpeech
from tests.fixtures.reference import RecordingEngineClient
from tests.voice.audio_env import PulseServer
from tests.voice.conftest import wait_for, word_overlap, words
from tests.voice.turns_env import recording_engine, users, voice_loop  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

LONG = (
    "Tell me about the history of the famous iron tower in the city of Paris and how "
    "it was built for the world fair"
)


def test_the_running_transcript_follows_the_speech_and_stops_at_the_final_one(
    pulse: PulseServer,
    recording_engine: RecordingEngineClient,  # noqa: F811
    stt: SpeechToText,
    tts: TextToSpeech,
    speech_wav: Callable[[str], Path],
) -> None:
    shown: list[tuple[str, float, str]] = []  # ("partial" | "final", when, text)
    final_shown = threading.Event()
    late_corrections: list[bool] = []

    def on_final(transcript: Transcript) -> None:
        shown.append(("final", time.perf_counter(), transcript.text))
        final_shown.set()

    callbacks = VoiceCallbacks(
        transcript_partial=lambda text: shown.append(("partial", time.perf_counter(), text)),
        transcript_ready=on_final,
    )
    # Hands-free, no correction grace; only the hang-over ends the turn (a pause that
    # reads as a finished sentence must not cut this long one in two).
    config = VoiceConfig(
        params=GenerationParams(max_tokens=16, temperature=0.0, seed=1), finished_silence_ms=0
    )
    with voice_loop(recording_engine, stt, tts, config, callbacks, max_turns=1, timeout=60) as run:
        player = pulse.play(speech_wav(LONG))
        assert player.wait(30) == 0
        speech_over = time.perf_counter()
        assert wait_for(lambda: final_shown.is_set() or run.done.is_set(), timeout=60), shown
        assert run.error is None, run.error
        late_corrections.append(run.loop.correct("What is the capital of Italy?"))
        assert run.done.wait(90)
    assert run.error is None, run.error
    (result,) = run.results
    kinds = [kind for kind, _, _ in shown]
    partials = [(at, text) for kind, at, text in shown if kind == "partial"]
    # Several running transcripts, then the final one, and none after it.
    assert kinds[-1] == "final" and kinds.count("final") == 1, kinds
    assert len(partials) >= 2, shown
    # The first came while the question was still being played into the microphone.
    assert partials[0][0] < speech_over, (partials[0][0] - speech_over, shown)
    # At most about one per second of speech (and the draft at the last pause).
    speech_s = len(words(LONG)) / 2.5
    assert len(partials) <= speech_s + 2, shown
    # Each one is the question so far: its words are the question's, more each time. (A
    # first second of speech cut mid-word can come out as one made-up word: Whisper base
    # once heard "Tell me about" as "Tommyabad".)
    for _, text in partials:
        assert len(words(text)) < 3 or word_overlap(text, LONG) >= 0.5, text
    assert word_overlap(partials[-1][1], LONG) >= 0.5, partials
    assert len(words(partials[-1][1])) > len(words(partials[0][1])), partials
    assert word_overlap(LONG, result.transcript) >= 0.7, result.transcript
    # Without a grace period nothing can be corrected, and the question stands.
    assert late_corrections == [False]
    assert not result.corrected and users(run.loop) == [result.transcript]
