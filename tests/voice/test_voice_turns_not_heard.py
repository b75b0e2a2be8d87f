"""Speech Whisper could not make out: Hearth says so, stores nothing, and hears the next
question on its own.

Whisper's final pass here is the real one, its transcript replaced, for the first
utterance, by the rejection it gives a question it cannot make out ("unlikely text", as
it did on a clean Scottish question of the benchmark's test set); everything else is
real: the virtual devices, Silero, the draft, Piper, and the engine process with the
starter model.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.generation import GenerationParams
from app.voice.loop import VoiceCallbacks, VoiceConfig
from app.voice.not_heard import not_heard_phrase
from app.voice.stt import REJECTED_UNLIKELY, SpeechToText, Transcript
from app.voice.tts import TextToSpeech
from app.voice.vad import VadConfig
from app.voice.wake_word import WakeConfig, match_wake
from tests.fixtures.reference import RecordingEngineClient
from tests.voice.audio_env import HeardFor, PulseServer
from tests.voice.conftest import Audio, wait_for, word_overlap, words
from tests.voice.turns_env import (  # noqa: F401  (fixture)
    questions_asked,
    recording_engine,
    users,
    voice_loop,
)

pytestmark = pytest.mark.slow

QUESTION = "What is the capital of France?"


class UnclearFirst:
    """Whisper whose first final pass (once ``armed`` is set) comes back rejected as
    unlikely text; drafts get ``draft_logprob`` as their average log-probability, when
    given. Keeps each pass's (draft?, text) in ``passes``; the rest is Whisper's own (the
    wake word's reading)."""

    def __init__(self, stt: SpeechToText, draft_logprob: float | None = None) -> None:
        self.stt = stt
        self.draft_logprob = draft_logprob
        self.armed = threading.Event()
        self.armed.set()
        self.rejected = 0
        self.passes: list[tuple[bool, str]] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> object:
        return getattr(self.stt, name)

    def transcribe(
        self,
        audio: Audio,
        language: str | None = None,
        *,
        likely: str | None = None,
        draft: bool = False,
        stop: threading.Event | None = None,
    ) -> Transcript:
        heard = self.stt.transcribe(audio, language, likely=likely, draft=draft, stop=stop)
        if draft and self.draft_logprob is not None and heard.text:
            heard = dataclasses.replace(heard, avg_logprob=self.draft_logprob)
        with self._lock:
            if not draft and heard.text and not self.rejected and self.armed.is_set():
                self.rejected += 1
                why = f"{REJECTED_UNLIKELY} {heard.text!r} (log-prob -1.62)"
                heard = dataclasses.replace(heard, text="", avg_logprob=-1.62, rejected=why)
            self.passes.append((draft, heard.text))
        return heard


@pytest.mark.parametrize("sure", [False, True], ids=["unsure draft", "sure draft"])
def test_a_question_whisper_cannot_make_out_is_answered_by_saying_so(
    pulse: PulseServer,
    recording_engine: RecordingEngineClient,  # noqa: F811
    stt: SpeechToText,
    tts: TextToSpeech,
    speech_wav: Callable[[str], Path],
    sure: bool,
) -> None:
    # Unsure draft: the benchmark's case; nothing is asked of the model before the final
    # pass. Sure draft: its reply was begun, and is dropped when the final pass rejects.
    limit = VoiceConfig().unsure_draft_logprob
    assert limit is not None
    whisper = UnclearFirst(stt, draft_logprob=None if sure else limit - 0.5)
    config = VoiceConfig(
        params=GenerationParams(max_tokens=24, temperature=0.0, seed=1),
        language="en",
        vad=VadConfig(silence_ms=600),
        finished_silence_ms=0,
        wait_for_final=True,  # nothing of a draft's reply is played: only what is said here
    )
    said: list[str] = []
    callbacks = VoiceCallbacks(not_heard=said.append)
    phrase = not_heard_phrase("en")
    phrase_s = tts.synthesize(phrase).size / tts.sample_rate
    speaker = pulse.recorder("speaker.monitor")
    before = len(recording_engine.generations)
    try:
        with voice_loop(
            recording_engine, whisper, tts, config, callbacks, max_turns=2, timeout=120
        ) as run:
            assert pulse.play(speech_wav(QUESTION)).wait(20) == 0
            assert wait_for(lambda: len(run.loop.results) == 1, timeout=90), whisper.passes
            first = run.loop.results[0]
            # Said aloud: the phrase reached the speaker, most of its length.
            assert wait_for(HeardFor(speaker, 0.7 * phrase_s), timeout=30)
            asked_first = questions_asked(recording_engine, since=before)
            # Asked again: a question of its own.
            assert pulse.play(speech_wav(QUESTION)).wait(20) == 0
            assert run.done.wait(120), run.loop.results
    finally:
        speaker.stop()
    assert run.error is None, run.error
    first, second = run.results

    assert first.not_heard and said == [phrase]
    assert first.spoken == phrase and first.transcript == "" and first.question == ""
    assert not first.interrupted and not first.carried
    assert first.to_dict()["not_heard"] is True
    assert "first_audio_written" in first.timings, first.timings
    if sure:  # the draft's reply was begun, then dropped
        assert len(asked_first) == 1 and word_overlap(QUESTION, asked_first[0]) >= 0.8
    else:  # never asked
        assert asked_first == [] and first.unsure_draft

    # The second utterance is heard on its own (the first's audio is not put before it,
    # or Whisper would hear the question twice) and answered.
    assert not second.not_heard and second.spoken and not second.interrupted
    assert word_overlap(QUESTION, second.question) >= 0.8, second.question
    assert words(second.question).count("capital") == 1, second.question
    assert users(run.loop) == [second.question]  # nothing of the first turn is stored
    assert questions_asked(recording_engine, since=before)[-1] == second.question


def test_asked_to_say_it_again_after_the_wake_phrase_the_question_needs_no_phrase(
    pulse: PulseServer,
    recording_engine: RecordingEngineClient,  # noqa: F811
    stt: SpeechToText,
    tts: TextToSpeech,
    speech_wav: Callable[[str], Path],
) -> None:
    # "Hey Hearth, <not made out>" - "Sorry, I didn't catch that. Could you say it
    # again?" - the question said again, as a person would, without the phrase: answered.
    whisper = UnclearFirst(stt)
    whisper.armed.clear()  # the wake word's own readings are Whisper's
    config = VoiceConfig(
        params=GenerationParams(max_tokens=24, temperature=0.0, seed=1),
        language="en",
        wake=WakeConfig(),
    )
    said: list[str] = []

    def woken(_phrase: str) -> None:
        whisper.armed.set()  # the question after the phrase is the one not made out

    callbacks = VoiceCallbacks(not_heard=said.append, wake_heard=woken)
    before = len(recording_engine.generations)
    with voice_loop(
        recording_engine, whisper, tts, config, callbacks, max_turns=2, timeout=120
    ) as run:
        wake = run.loop.wake
        assert wake is not None
        for _ in range(2):  # said again if no chime answered (Whisper can miss the phrase)
            checks = wake.checks
            assert pulse.play(speech_wav(f"Hey Hearth, {QUESTION}")).wait(20) == 0
            assert wait_for(lambda: wake.checks > checks, timeout=60)  # noqa: B023
            if wake.found:
                break
        assert wait_for(lambda: len(run.loop.results) == 1, timeout=90), whisper.passes
        assert pulse.play(speech_wav(QUESTION)).wait(20) == 0
        assert run.done.wait(120), run.loop.results
    assert run.error is None, run.error
    first, second = run.results
    assert first.not_heard and said == [not_heard_phrase("en")]
    assert wake.found == 1  # the second question was not read for the phrase: awake
    assert not second.not_heard and second.spoken
    assert match_wake(second.transcript) is None, second.transcript
    assert word_overlap(QUESTION, second.question) >= 0.8, second.question
    assert questions_asked(recording_engine, since=before)[-1] == second.question
