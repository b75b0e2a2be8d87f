"""Voice fixtures: the real starter Whisper model and Piper voice, speech made with Piper,
and a private PulseAudio server with a virtual microphone and speaker."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from app.catalog.library import ModelEntry
from app.catalog.starter import starter_entries
from app.engine import protocol as p
from app.engine.client import EngineClient
from app.voice.audio_io import refresh_devices, resample
from app.voice.stt import SpeechToText, SttConfig
from app.voice.tts import TextToSpeech
from app.voice.vad import SileroVad
from tests.voice.audio_env import PulseServer, mandarin_wav, sound_stack_missing, write_wav

Audio = npt.NDArray[np.float32]


def starter(kind: str) -> ModelEntry:
    found = [e for e in starter_entries() if e.kind == kind]
    assert found, f"the starter {kind} model is not installed: run pip install -e '.[test]'"
    return found[0]


@pytest.fixture(scope="session")
def whisper_entry() -> ModelEntry:
    return starter("stt")


@pytest.fixture(scope="session")
def voice_entry() -> ModelEntry:
    return starter("tts")


@pytest.fixture(scope="session")
def tts(voice_entry: ModelEntry) -> TextToSpeech:
    """The starter voice without Piper's random variation: the speech the tests play is
    the same, sample for sample, on every run, so a test never hinges on one odd take."""
    voice = TextToSpeech.load(voice_entry)
    voice.variation = 0.0
    return voice


@pytest.fixture(scope="session")
def stt(whisper_entry: ModelEntry) -> SpeechToText:
    return SpeechToText.load(whisper_entry, SttConfig(language=None, cpu_threads=2))


@pytest.fixture(scope="session")
def silero() -> SileroVad:
    return SileroVad()


@pytest.fixture(scope="session")
def speak(tts: TextToSpeech) -> Callable[..., Audio]:
    """Piper speech for ``text`` at 16 kHz, with silence around it (cached)."""
    cache: dict[tuple[str, float, float], Audio] = {}

    def make(text: str, before: float = 0.5, after: float = 1.0) -> Audio:
        key = (text, before, after)
        if key not in cache:
            voice = resample(tts.synthesize(text), tts.sample_rate, 16_000)
            cache[key] = np.concatenate(
                [
                    np.zeros(int(before * 16_000), np.float32),
                    voice,
                    np.zeros(int(after * 16_000), np.float32),
                ]
            )
        return cache[key]

    return make


@pytest.fixture(scope="session")
def speech_wav(
    tts: TextToSpeech, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """A WAV (the voice's own rate) of Piper saying ``text``, to play into the mic."""
    folder = tmp_path_factory.mktemp("speech")
    made: dict[str, Path] = {}

    def make(text: str) -> Path:
        if text not in made:
            name = re.sub(r"\W+", "_", text.lower()).strip("_")[:40] + ".wav"
            made[text] = write_wav(folder / name, tts.synthesize(text), tts.sample_rate)
        return made[text]

    return make


@pytest.fixture(scope="session")
def mandarin(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A WAV of espeak-ng saying ``pinyin`` in Mandarin (see ``audio_env.mandarin_wav``)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt install espeak-ng)")
    folder = tmp_path_factory.mktemp("mandarin")
    made: dict[str, Path] = {}

    def make(pinyin: str) -> Path:
        if pinyin not in made:
            name = re.sub(r"\W+", "_", pinyin)[:40] + ".wav"
            made[pinyin] = mandarin_wav(folder / name, pinyin)
        return made[pinyin]

    return make


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A PulseAudio server for the session; this process's audio goes through it."""
    missing = sound_stack_missing()
    if missing:
        pytest.skip(missing)
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    server.start()
    saved = server.apply_env()
    refresh_devices()  # PortAudio may have started before the server
    yield server
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    refresh_devices()


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def word_overlap(expected: str, heard: str) -> float:
    """Share of the expected words that were heard (order-free, with repeats)."""
    want = words(expected)
    if not want:
        return 1.0
    pool = words(heard)
    hit = 0
    for word in want:
        if word in pool:
            pool.remove(word)
            hit += 1
    return hit / len(want)


def sounds_alike(expected: str, heard: str) -> float:
    """How closely ``heard`` spells ``expected``, 0..1, ignoring spaces and punctuation.

    Whisper may hear "France is" as "France's": a word count calls that a miss, the
    letters barely differ.
    """
    a = "".join(words(expected)).replace("'", "")
    b = "".join(words(heard)).replace("'", "")
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def heard_as_said(said: str, heard: str, instead: str, echo: str = "") -> bool:
    """Whether ``heard`` (Whisper on the speaker's recording) is the reply that was said,
    rather than ``instead`` (the question, say).

    The reply's words are the model's, and depend on the CPU: on some, the starter model
    answers in French, which the English voice and Whisper mangle ("est une femme" heard
    as "ESD UNEFEM", "L'Alma, la France" as "Allow me, my friends"). So by letters, against
    the reply's text or ``echo`` (what Whisper makes of the test's own Piper saying it,
    see the ``whisper_echo`` fixture), whichever is nearer: at least 0.4 alike (unrelated
    sentences score 0.2 to 0.3), and clearly nearer (by 0.1) to what was said than to
    what else could have been played. A mangled French reply measured 0.49 against its
    text and 0.29 against the question; another, "L'Alma, la France, est une femme."
    heard as "Hello Almo, my friends, ESD Unifim.", 0.53 against its echo and 0.35
    against the question ("France" in both), which a test of 1.5 times nearer failed by
    0.001 (and a reply that says the question's words back, heard right, failed too).
    """
    alike = max(sounds_alike(said, heard), sounds_alike(echo, heard) if echo else 0.0)
    return alike >= max(0.4, sounds_alike(instead, heard) + 0.1)


@pytest.fixture(scope="session")
def whisper_echo(tts: TextToSpeech, stt: SpeechToText) -> Callable[[str], str]:
    """What Whisper hears (as English) when the test's own Piper voice says ``text``."""

    def echo(text: str) -> str:
        audio = resample(tts.synthesize(text), tts.sample_rate, 16_000)
        return stt.transcribe(audio, "en").text

    return echo


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.perf_counter() + timeout
    pause = threading.Event()
    while not condition():
        if time.perf_counter() > deadline:
            return False
        pause.wait(step)
    return True


@pytest.fixture(scope="module")
def smol_engine(smol_model: Path) -> Iterator[EngineClient]:
    """The starter chat model loaded in a real engine, shared by a module's voice tests."""
    client = EngineClient()
    loaded = client.load(str(smol_model), n_ctx=2048, n_threads=1).wait(180)
    assert isinstance(loaded, p.ModelLoaded)
    yield client
    client.shutdown()
