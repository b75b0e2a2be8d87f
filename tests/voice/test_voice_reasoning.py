"""The whole voice loop on the virtual devices, Whisper and Piper real, with a reply
that thinks first (scripted: the starter model does not think): only the answer is
heard on the speaker and kept in the history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.voice.loop import VoiceConfig
from app.voice.stt import SpeechToText
from app.voice.tts import TextToSpeech
from app.voice.vad import SileroVad
from tests.reasoning.test_voice_thinking import ANSWER, THINKING, ScriptedEngine, every_two
from tests.voice.audio_env import PulseServer
from tests.voice.conftest import word_overlap, words
from tests.voice.test_voice_e2e import running_loop, transcribe_recording

pytestmark = pytest.mark.slow


def test_thinking_is_never_heard(
    pulse: PulseServer,
    stt: SpeechToText,
    tts: TextToSpeech,
    silero: SileroVad,
    speech_wav: Callable[[str], Path],
) -> None:
    engine = ScriptedEngine(every_two(f"<think>\n{THINKING}\n</think>\n\n{ANSWER}"))
    config = VoiceConfig(language="en")
    speaker = pulse.recorder("speaker.monitor")
    with running_loop(engine, stt, tts, silero, config, max_turns=1, timeout=60) as run:
        assert pulse.play(speech_wav("What is the capital of France?")).wait(20) == 0
        assert run.done.wait(90)
    audio = speaker.stop()
    assert run.error is None, run.error
    (result,) = run.results
    assert result.reply.strip() == ANSWER and result.spoken.strip() == ANSWER
    assert " ".join(result.sentences) == ANSWER
    assert run.loop.conversation.history()[-1] == {"role": "assistant", "content": result.spoken}
    heard = transcribe_recording(stt, audio)
    print(f"heard on the speaker: {heard!r}")
    assert word_overlap(ANSWER, heard) >= 0.6, heard
    # Words only the thinking holds never reached the speaker.
    assert not {"pelican", "zeppelin", "marmalade"} & set(words(heard)), heard
