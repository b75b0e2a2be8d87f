"""A reply to the draft transcript, talked over before Whisper's final pass is in.

The loop answers Whisper's quick draft while the final pass reads the whole utterance;
the draft's reply plays as soon as the end of speech is confirmed. When the user talks
over it before the final transcript is in, the turn is still a turn: it is stored with
the final transcript (of its own audio only) and the reply as far as it was heard, and
what the user says next is a question of its own, not joined to it.

The final pass is held here until the user has spoken again (a stand-in around the real
Whisper whose final passes wait on an event), so the barge-in lands before the final
transcript on any machine; everything else is real: the virtual devices, Silero, both
Whisper passes, Piper, and the engine process with the starter model.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.generation import GenerationParams
from app.voice.loop import VoiceCallbacks, VoiceConfig
from app.voice.sentences import Sentence
from app.voice.stt import SpeechToText, Transcript
from app.voice.tts import TextToSpeech
from tests.fixtures.reference import RecordingEngineClient
from tests.voice.audio_env import HeardFor, PulseServer
from tests.voice.conftest import Audio, wait_for, word_overlap, words
from tests.voice.turns_env import (  # noqa: F401  (fixture)
    questions_asked,
    recording_engine,
    voice_loop,
)

pytestmark = pytest.mark.slow

FIRST = "Tell me a story about a dragon."
MISHEARD = "Tell me a story about a wagon."
SECOND = "What is the capital of France?"
STORY_PROMPT = "You are a storyteller. Answer every question with a long story."


class HeldFinals:
    """Whisper whose final passes begin only once ``release`` is set, and whose draft
    pass may be replaced by ``draft`` (a draft that misheard). Keeps each pass's
    (draft?, text) in ``passes``."""

    def __init__(self, stt: SpeechToText, draft: str | None = None) -> None:
        self.stt = stt
        self.draft = draft
        self.release = threading.Event()
        self.passes: list[tuple[bool, str]] = []

    def transcribe(
        self,
        audio: Audio,
        language: str | None = None,
        *,
        likely: str | None = None,
        draft: bool = False,
        stop: threading.Event | None = None,
    ) -> Transcript:
        if not draft:
            assert self.release.wait(300), "the test never let the final pass go"
        heard = self.stt.transcribe(audio, language, likely=likely, draft=draft, stop=stop)
        said = set(words(heard.text))
        if draft and self.draft is not None and "dragon" in said and "france" not in said:
            heard = dataclasses.replace(heard, text=self.draft)  # the first question's draft
        self.passes.append((draft, heard.text))
        return heard


@pytest.mark.parametrize("draft", ["as heard", "misheard"])
def test_a_reply_talked_over_before_the_final_transcript_is_stored_as_a_turn(
    pulse: PulseServer,
    recording_engine: RecordingEngineClient,  # noqa: F811
    stt: SpeechToText,
    tts: TextToSpeech,
    speech_wav: Callable[[str], Path],
    draft: str,
) -> None:
    whisper = HeldFinals(stt, MISHEARD if draft == "misheard" else None)
    config = VoiceConfig(
        system_prompt=STORY_PROMPT,
        params=GenerationParams(max_tokens=160, temperature=0.0, seed=1),
        language="en",
        unsure_draft_logprob=None,  # the draft's reply is heard however sure Whisper was
    )
    queued: list[Sentence] = []
    callbacks = VoiceCallbacks(sentence_queued=queued.append)
    speaker = pulse.recorder("speaker.monitor")
    before = len(recording_engine.generations)
    try:
        with voice_loop(
            recording_engine, whisper, tts, config, callbacks, max_turns=2, timeout=300
        ) as run:
            assert pulse.play(speech_wav(FIRST)).wait(20) == 0
            # The draft's reply plays, heard for a while; no final pass has begun.
            assert wait_for(lambda: bool(queued), timeout=240), whisper.passes
            assert wait_for(HeardFor(speaker, 1.5), timeout=240), whisper.passes
            assert not run.done.is_set() and not whisper.release.is_set()
            assert pulse.play(speech_wav(SECOND)).wait(20) == 0

            def second_drafted() -> bool:
                return any(d and word_overlap(SECOND, text) >= 0.5 for d, text in whisper.passes)

            # The second question's draft is made; nothing is stored yet: the first turn
            # waits for its final transcript (held until now).
            assert wait_for(second_drafted, timeout=240), whisper.passes
            assert run.loop.conversation.history() == []
            assert not run.loop.results
            whisper.release.set()
            assert run.done.wait(300), run.loop.results
    finally:
        whisper.release.set()
        speaker.stop()
    assert run.error is None, run.error
    first, second = run.results

    # The first turn: its final transcript, from its own audio, and what was heard.
    assert first.interrupted and first.finish_reason == "cancelled"
    assert first.question == first.transcript
    assert word_overlap(FIRST, first.transcript) >= 0.8, first.transcript
    assert not {"capital", "france"} & set(words(first.transcript)), first.transcript
    assert first.spoken, first
    assert first.reply.startswith(first.spoken.rstrip("…").rsplit(" ", 1)[0]), first
    if draft == "misheard":  # the reply heard answered the draft: the turn says so
        assert first.draft == MISHEARD
    else:
        assert first.draft is None

    # The second: a question of its own, answered in full after the first was stored.
    assert not second.interrupted and second.spoken
    assert word_overlap(SECOND, second.question) >= 0.8, second.question
    assert "dragon" not in words(second.question), second.question
    first_turn = [
        {"role": "user", "content": first.transcript},
        {"role": "assistant", "content": first.spoken},
    ]
    assert run.loop.conversation.history() == [
        *first_turn,
        {"role": "user", "content": second.question},
        {"role": "assistant", "content": second.spoken},
    ]
    # The reply to the second question was made from a history holding the first turn.
    answered = [
        r.messages
        for r in recording_engine.generations[before:]
        if not r.params.prefill and r.messages[-1]["content"] == second.question
    ]
    assert answered and all(list(m[1:-1]) == first_turn for m in answered), answered
    # Nothing asked of the engine joins the two questions.
    for asked in questions_asked(recording_engine, since=before):
        assert not ({"dragon", "wagon"} & set(words(asked)) and "france" in words(asked)), asked
