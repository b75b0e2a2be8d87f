"""Voice over a remote endpoint: the loop hears, speaks and keeps the history here, while
the reply comes from a real ``hearth serve`` process (the window's "MODEL @ host")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.generation import GenerationParams
from app.engine import protocol as p
from app.remote.client import RemoteEngineClient
from app.voice.loop import VoiceConfig
from app.voice.stt import SpeechToText
from app.voice.tts import TextToSpeech
from app.voice.vad import SileroVad
from tests.server.conftest import API_KEY, CHAT_MODEL, ServeProcess, start_serve, stop_serve
from tests.voice.audio_env import PulseServer
from tests.voice.conftest import heard_as_said, word_overlap
from tests.voice.test_voice_e2e import running_loop, transcribe_recording

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def one_thread_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    # One llama.cpp thread, as on a real second machine the server has its own cores:
    # here it shares two with Whisper and Piper.
    home = tmp_path_factory.mktemp("serve-home")
    served = start_serve(home, "--api-key", API_KEY, "--threads", "1")
    yield served
    stop_serve(served)


def test_a_spoken_question_is_answered_by_a_remote_model(
    pulse: PulseServer,
    one_thread_server: ServeProcess,
    stt: SpeechToText,
    tts: TextToSpeech,
    silero: SileroVad,
    speech_wav: Callable[[str], Path],
    whisper_echo: Callable[[str], str],
) -> None:
    client = RemoteEngineClient(one_thread_server.url, API_KEY)
    assert isinstance(client.load(CHAT_MODEL).wait(60), p.ModelLoaded)
    # Only the answer is played: a draft's reply stopped and made again (the final pass
    # heard other words) would put its first words in the recording too.
    config = VoiceConfig(
        params=GenerationParams(max_tokens=40, temperature=0.0, seed=1),
        language="en",
        wait_for_final=True,
    )
    speaker = pulse.recorder("speaker.monitor")
    with running_loop(client, stt, tts, silero, config, max_turns=1, timeout=60) as run:
        assert pulse.play(speech_wav("What is the capital of France?")).wait(20) == 0
        assert run.done.wait(120), run.states
    speaker_audio = speaker.stop()
    client.shutdown()
    assert run.error is None, run.error
    (result,) = run.results
    assert word_overlap("What is the capital of France", result.transcript) >= 0.8
    assert not result.interrupted and result.finish_reason in ("stop", "length")
    assert result.reply and result.spoken.split() == result.reply.split()  # all was heard
    # The remote reply was spoken here: the speaker's recording, transcribed, is it
    # (whatever its words).
    said = " ".join(result.sentences)
    heard = transcribe_recording(stt, speaker_audio)
    assert heard_as_said(
        said, heard, instead="What is the capital of France?", echo=whisper_echo(said)
    ), (said, heard)
    assert run.loop.conversation.history() == [
        {"role": "user", "content": result.transcript},
        {"role": "assistant", "content": result.spoken},
    ]
