"""The voice loop on the virtual devices with a recording engine: what the turn tests
share (tests/voice/test_voice_turns_*.py)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.core.generation import Message
from app.voice.audio_io import AudioCapture, AudioPlayer
from app.voice.loop import ChatEngine, TurnResult, VoiceCallbacks, VoiceConfig, VoiceLoop
from app.voice.tts import TextToSpeech
from app.voice.vad import SileroVad
from tests.fixtures.models import smollm2_path
from tests.fixtures.reference import RecordingEngineClient
from tests.voice.conftest import words


@pytest.fixture(scope="module")
def recording_engine() -> Iterator[RecordingEngineClient]:
    """The real engine with the starter model, keeping every request it is sent."""
    client = RecordingEngineClient()
    client.start()
    # One llama.cpp thread: the voice pipeline needs the other core (see cli.voice).
    client.load(str(smollm2_path()), n_ctx=2048, n_gpu_layers=0, n_threads=1).wait(120)
    yield client
    client.shutdown()


def questions_asked(engine: RecordingEngineClient, since: int = 0) -> list[str]:
    """The last user message of each real generation from the ``since``-th request on
    (the prompt-cache warm-ups, one token each, left out), in the order they were asked."""
    asked = []
    for request in engine.generations[since:]:
        if request.params.prefill:
            continue
        messages: list[Message] = list(request.messages)
        asked.append(messages[-1]["content"])
    return asked


def repeated_run(text: str, size: int = 3) -> str | None:
    """The first run of ``size`` words that comes back later in ``text`` (None: none)."""
    said = words(text)
    seen: set[tuple[str, ...]] = set()
    for i in range(len(said) - size + 1):
        run = tuple(said[i : i + size])
        if run in seen:
            return " ".join(run)
        seen.add(run)
    return None


def espeak_wav(path: Path, text: str, voice: str = "en-us", wpm: int = 165) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt install espeak-ng)")
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path


@dataclass
class Run:
    loop: VoiceLoop
    results: list[TurnResult] = field(default_factory=list)
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


@contextlib.contextmanager
def voice_loop(
    engine: ChatEngine,
    stt: Any,
    tts: TextToSpeech,
    config: VoiceConfig,
    callbacks: VoiceCallbacks | None = None,
    *,
    max_turns: int,
    timeout: float,
    vad: SileroVad | None = None,
) -> Iterator[Run]:
    """The loop on the virtual devices, running on a thread of its own."""
    capture = AudioCapture()
    player = AudioPlayer(source_rate=tts.sample_rate)
    capture.start()
    player.start()
    loop = VoiceLoop(
        engine=engine,
        stt=stt,
        tts=tts,
        capture=capture,
        player=player,
        vad=vad or SileroVad(),
        config=config,
        callbacks=callbacks,
    )
    run = Run(loop)

    def target() -> None:
        try:
            run.results = loop.run(max_turns=max_turns, timeout=timeout)
        except BaseException as exc:
            run.error = exc
        finally:
            run.done.set()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield run
    finally:
        loop.stop()
        thread.join(30)
        capture.close()
        player.close()


def users(loop: VoiceLoop) -> list[str]:
    return [m["content"] for m in loop.conversation.history() if m["role"] == "user"]
