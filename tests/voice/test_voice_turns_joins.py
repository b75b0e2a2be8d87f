"""Pieces of a question are never joined into duplicates.

The issue heard "Tell me one fact about the moon." as "Tell me one fact about the moon
Tell me one fact about the moon": Whisper's short-window pass starts the utterance over
when it runs out of speech, and a repeat without a full stop between the rounds was
kept. The question Hearth answers and stores now comes from the final pass over the
whole utterance, and a question continued after a barge-in is joined by its audio (the
two utterances transcribed as one), never by gluing texts.

Real parts: the virtual microphone and speaker (PulseAudio), Silero, Whisper, Piper and
espeak-ng speech, the engine process with the starter model (recording what it is asked).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.generation import GenerationParams
from app.voice.loop import CONTINUE_WITHIN_S, VoiceCallbacks, VoiceConfig, question_key
from app.voice.stt import SpeechToText, Transcript
from app.voice.tts import TextToSpeech
from tests.fixtures.reference import RecordingEngineClient
from tests.voice.audio_env import HeardFor, PulseServer, write_wav
from tests.voice.conftest import wait_for, word_overlap, words
from tests.voice.turns_env import (  # noqa: F401  (fixture)
    Run,
    espeak_wav,
    questions_asked,
    recording_engine,
    repeated_run,
    users,
    voice_loop,
)

pytestmark = pytest.mark.slow

MOON = "Tell me one fact about the moon."
FIRST, REST = "Tell me a joke.", "About cats, please."  # a question said in two presses


def halves(tts: TextToSpeech, tmp_path: Path) -> list[Path]:
    """FIRST and REST in the starter voice, a file each."""
    return [
        write_wav(tmp_path / f"part{i}.wav", tts.synthesize(text), tts.sample_rate)
        for i, text in enumerate((FIRST, REST))
    ]


def push_to_talk(**changes: Any) -> VoiceConfig:
    """Push-to-talk in English, greedy: when each turn ends does not hang on the CPU."""
    params = GenerationParams(max_tokens=changes.pop("max_tokens", 24), temperature=0.0, seed=1)
    return VoiceConfig(push_to_talk=True, params=params, language="en", **changes)


def say_in_two_presses(
    run: Run, pulse: PulseServer, wavs: list[Path], between: Callable[[], None]
) -> None:
    """Each file said while the talk key is held; ``between`` waits after the first."""
    for number, wav in enumerate(wavs):
        run.loop.press()
        assert pulse.play(wav).wait(20) == 0
        run.loop.release()
        if number == 0:
            between()


def test_a_question_whisper_once_heard_twice_is_answered_once(
    pulse: PulseServer,
    recording_engine: RecordingEngineClient,  # noqa: F811
    stt: SpeechToText,
    tts: TextToSpeech,
    tmp_path: Path,
) -> None:
    # espeak-ng's en-us voice at 165 words a minute: the short-window pass heard this
    # question twice over ("... about the moon Tell me one thing about the").
    wav = espeak_wav(tmp_path / "moon.wav", MOON)
    config = VoiceConfig(params=GenerationParams(max_tokens=24, temperature=0.0, seed=1))
    before = len(recording_engine.generations)
    with voice_loop(recording_engine, stt, tts, config, max_turns=1, timeout=60) as run:
        assert pulse.play(wav).wait(20) == 0
        assert run.done.wait(90)
    assert run.error is None, run.error
    (result,) = run.results
    assert result.spoken and not result.interrupted
    assert word_overlap(MOON, result.question) >= 0.6, result.question
    for text in (result.transcript, result.question, *users(run.loop)):
        assert repeated_run(text) is None, text
    answered = questions_asked(recording_engine, since=before)[-1]
    # The engine answered this question: the draft's words when the final pass heard the
    # same ones (punctuation aside, the draft's reply stands), else the final's.
    assert question_key(answered) == question_key(result.question), (answered, result.question)
    assert repeated_run(answered) is None, answered
    assert users(run.loop) == [result.question]


@pytest.mark.parametrize("cut_when", ["transcribed", "transcribing"])
def test_a_question_continued_after_an_unheard_answer_is_heard_once(
    pulse: PulseServer,
    recording_engine: RecordingEngineClient,  # noqa: F811
    stt: SpeechToText,
    tts: TextToSpeech,
    tmp_path: Path,
    cut_when: str,
) -> None:
    # Push-to-talk, so that when each turn ends does not hang on the machine's speed:
    # "Tell me a joke." is one turn; the user presses again before any answer is heard
    # (while the answer waits out a correction grace, or before Whisper is even done),
    # which interrupts it and leaves the question open, and goes on "About cats, please.".
    # Both halves are transcribed together, once each, and that is what is answered and
    # kept; the old text join lost the first half when it had no transcript yet.
    config = push_to_talk(correction_grace_s=5.0)
    heard: list[Transcript] = []
    callbacks = VoiceCallbacks(transcript_ready=heard.append)
    before = len(recording_engine.generations)

    def between() -> None:
        if cut_when == "transcribed":
            assert wait_for(lambda: bool(heard), timeout=60)

    with voice_loop(recording_engine, stt, tts, config, callbacks, max_turns=2, timeout=90) as run:
        say_in_two_presses(run, pulse, halves(tts, tmp_path), between)
        assert run.done.wait(90), run.loop.results
    assert run.error is None, run.error
    cut, answered = run.results
    assert cut.interrupted and not cut.spoken, cut
    assert cut.carried and not answered.carried  # what `hearth voice --json` says
    assert bool(cut.transcript) == (cut_when == "transcribed"), cut
    assert answered.spoken and not answered.interrupted
    question = answered.question
    assert word_overlap(f"{FIRST} {REST}", question) >= 0.8, question
    assert repeated_run(question, size=2) is None, question
    for word in ("joke", "cats"):
        assert words(question).count(word) == 1, question
    # One question in the history, as answered; the engine was asked nothing glued.
    assert users(run.loop) == [question]
    asked = questions_asked(recording_engine, since=before)
    assert asked and asked[-1] == question
    assert all(repeated_run(text, size=2) is None for text in asked), asked
    assert heard[-1].text == answered.transcript == question


def test_the_terminal_says_a_carried_question_is_still_open() -> None:
    import contextlib
    import io

    from app.cli.voice import _console_callbacks
    from app.voice.loop import TurnResult

    def result(carried: bool) -> TurnResult:
        return TurnResult(
            transcript="Tell me a joke.", language="en", reply="Why",
            spoken="" if carried else "Why?", sentences=(), finish_reason="cancelled",
            interrupted=True, speculative=True, ended_early=True, timings={}, stages={},
            question="Tell me a joke.", carried=carried,
        )  # fmt: skip

    shown = []
    for carried in (True, False):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            _console_callbacks(io.StringIO()).turn_finished(result(carried))
        shown.append(out.getvalue())
    assert shown[0] == (
        "you: Tell me a joke. …\n  (listening on: this goes with what you say next)\n"
    )
    assert shown[1] == "you: Tell me a joke.\nhearth: Why? (interrupted)\n"


@pytest.mark.parametrize("heard_s", [0.3, 1.6])
def test_a_reply_talked_over_in_its_first_second_lets_the_question_go_on(
    pulse: PulseServer,
    recording_engine: RecordingEngineClient,  # noqa: F811
    stt: SpeechToText,
    tts: TextToSpeech,
    tmp_path: Path,
    heard_s: float,
) -> None:
    # "Tell me a joke." and the reply begins; the user goes on "About cats, please." once
    # it has been heard for ``heard_s``. Within its first second (CONTINUE_WITHIN_S) the
    # reply was not an answer the user took: it is dropped and the two halves are one
    # question, heard together. Later, the reply as far as it was heard is kept, and the
    # rest is a question of its own (as a user who stops a reply to ask on).
    before = len(recording_engine.generations)
    speaker = pulse.recorder("speaker.monitor")

    def between() -> None:
        assert wait_for(HeardFor(speaker, heard_s), timeout=90), run.loop.results

    try:
        with voice_loop(
            recording_engine, stt, tts, push_to_talk(max_tokens=48), max_turns=2, timeout=120
        ) as run:
            say_in_two_presses(run, pulse, halves(tts, tmp_path), between)
            assert run.done.wait(120), run.loop.results
    finally:
        speaker.stop()
    assert run.error is None, run.error
    cut, answered = run.results
    assert cut.interrupted and answered.spoken and not answered.interrupted
    asked = questions_asked(recording_engine, since=before)
    if heard_s < CONTINUE_WITHIN_S:
        assert cut.carried and not cut.spoken, cut
        question = answered.question
        assert word_overlap(f"{FIRST} {REST}", question) >= 0.8, question
        for word in ("joke", "cats"):
            assert words(question).count(word) == 1, question
        assert users(run.loop) == [question]  # the dropped reply is not in the history
        assert asked[-1] == question
    else:
        assert not cut.carried and cut.spoken, cut
        assert users(run.loop) == [cut.question, answered.question]
        assert word_overlap(FIRST, cut.question) >= 0.6, cut.question
        assert word_overlap(REST, answered.question) >= 0.6, answered.question
        assert "joke" not in words(answered.question), answered.question
