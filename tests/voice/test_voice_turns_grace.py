"""Correcting a misheard question by typing, during a grace period before the answer.

With ``VoiceConfig.correction_grace_s`` the reply waits that long after the final
transcript is shown; ``VoiceLoop.correct`` meanwhile replaces the question, and the
answer is made for the typed text. ``hold_correction`` keeps the turn waiting while the
user types. Once reply audio has started, a correction is refused.

Real parts: spoken questions on the virtual microphone, Silero, Whisper, Piper, and the
engine process with the starter model, whose requests are recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.generation import GenerationParams
from app.voice.loop import VoiceCallbacks, VoiceConfig, VoiceLoop
from app.voice.sentences import Sentence
from app.voice.stt import SpeechToText, Transcript
from app.voice.tts import TextToSpeech
from tests.fixtures.reference import RecordingEngineClient
from tests.voice.audio_env import PulseServer
from tests.voice.conftest import wait_for, word_overlap
from tests.voice.turns_env import (  # noqa: F401  (fixture)
    questions_asked,
    recording_engine,
    users,
    voice_loop,
)

pytestmark = pytest.mark.slow

GRACE_S = 1.5
SPOKEN = (
    "What is the capital of France?",
    "How many legs does a spider have?",
    "What do bees make?",
)
TYPED = {1: "What is the capital of Italy?", 2: "What do ants eat?"}


class Typist:
    """Plays the user at the window: reads each final transcript, and for each turn
    corrects at once (turn 1), holds past the grace and then corrects (turn 2), or lets
    it be (turn 0); tries a late correction once the answer is heard."""

    def __init__(self) -> None:
        self.loop: VoiceLoop | None = None
        self.turn = -1
        self.shown_at: list[float] = []
        self.first_piece_at: dict[int, float] = {}
        self.accepted: dict[int, bool] = {}
        self.held: dict[int, bool] = {}
        self.late: dict[int, bool] = {}

    def on_final(self, transcript: Transcript) -> None:
        self.turn += 1
        self.shown_at.append(time.perf_counter())
        threading.Thread(target=self._type, args=(self.turn,), daemon=True).start()

    def _type(self, turn: int) -> None:
        assert self.loop is not None
        if turn == 1:
            self.accepted[turn] = self.loop.correct(TYPED[turn])
        elif turn == 2:
            self.held[turn] = self.loop.hold_correction()
            threading.Event().wait(2 * GRACE_S)  # a slow typist: well past the grace
            self.accepted[turn] = self.loop.correct(TYPED[turn])

    def on_piece(self, sentence: Sentence) -> None:
        assert self.loop is not None
        if sentence.index == 0:
            self.first_piece_at[self.turn] = time.perf_counter()
            self.late[self.turn] = self.loop.correct("Never mind.")


def test_a_typed_correction_within_the_grace_replaces_the_question(
    pulse: PulseServer,
    recording_engine: RecordingEngineClient,  # noqa: F811
    stt: SpeechToText,
    tts: TextToSpeech,
    speech_wav: Callable[[str], Path],
) -> None:
    typist = Typist()
    callbacks = VoiceCallbacks(transcript_ready=typist.on_final, sentence_queued=typist.on_piece)
    config = VoiceConfig(
        params=GenerationParams(max_tokens=16, temperature=0.0, seed=1),
        language="en",
        correction_grace_s=GRACE_S,
    )
    before = len(recording_engine.generations)
    with voice_loop(
        recording_engine, stt, tts, config, callbacks, max_turns=len(SPOKEN), timeout=90
    ) as run:
        typist.loop = run.loop
        for count, question in enumerate(SPOKEN, start=1):
            assert pulse.play(speech_wav(question)).wait(20) == 0
            assert wait_for(lambda n=count: len(run.loop.results) >= n, timeout=60), (
                run.loop.results
            )
        assert run.done.wait(60)
    assert run.error is None, run.error
    left, fixed, held = run.results
    assert all(r.spoken and not r.interrupted for r in run.results), run.results

    # Left alone: the question stands, and the answer waited the grace out.
    assert not left.corrected and left.question == left.transcript
    assert word_overlap(SPOKEN[0], left.transcript) >= 0.8
    assert typist.first_piece_at[0] - typist.shown_at[0] >= GRACE_S - 0.05
    # Corrected at once, and after holding past the grace: the typed question is
    # answered and stored; what Whisper heard is kept in the result.
    assert typist.accepted == {1: True, 2: True} and typist.held == {2: True}
    for result, number in ((fixed, 1), (held, 2)):
        assert result.corrected and result.question == TYPED[number]
        assert result.transcript and result.transcript != TYPED[number], result.transcript
    assert typist.first_piece_at[2] - typist.shown_at[2] >= 2 * GRACE_S
    assert users(run.loop) == [left.transcript, TYPED[1], TYPED[2]]
    asked = questions_asked(recording_engine, since=before)
    assert [q for q in asked if q in TYPED.values()] == [TYPED[1], TYPED[2]], asked
    assert asked[-1] == TYPED[2]
    # Once the answer is playing, it is too late.
    assert typist.late == {0: False, 1: False, 2: False}
