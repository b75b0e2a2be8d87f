"""The server's voice: the library's Whisper model and Piper voice, loaded on first use.

Both are loaded lazily (faster-whisper and onnxruntime are heavy) and kept for the
server's life; each runs one request at a time, so calls come from worker threads.
"""

from __future__ import annotations

import importlib
import io
import threading
import wave

import numpy as np

from app.catalog.library import STT, TTS, Library, ModelEntry
from app.core.errors import ModelNotFoundError, VoiceModelError
from app.server.names import named
from app.voice.audio_io import SAMPLE_RATE, Samples, resample
from app.voice.stt import SpeechToText, SttConfig, Transcript
from app.voice.tts import TextToSpeech

# Model names OpenAI clients send by default; they mean "Hearth's default" here.
STT_ALIASES = frozenset({"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"})
TTS_ALIASES = frozenset({"tts-1", "tts-1-hd", "gpt-4o-mini-tts"})


class AudioDecodeError(ValueError):
    """The uploaded bytes are not audio this server can read."""


class UnknownLanguageError(ValueError):
    """A transcription language Whisper does not know."""


class VoiceModels:
    """Loads and caches Whisper models and Piper voices by library name."""

    def __init__(self, library: Library, *, threads: int = 0) -> None:
        self.library = library
        self.threads = threads
        self._lock = threading.Lock()
        self._stt: dict[str, SpeechToText] = {}
        self._tts: dict[str, TextToSpeech] = {}

    def entries(self, kind: str) -> list[ModelEntry]:
        return [e for e in self.library.entries(kind) if e.error is None]

    def _pick(self, kind: str, name: str | None, aliases: frozenset[str]) -> ModelEntry:
        if name and name not in aliases:
            what = "speech-to-text model" if kind == STT else "voice"
            return named(self.entries(kind), name, what)
        usable = self.entries(kind)
        if not usable:
            what = "speech-to-text" if kind == STT else "voice"
            raise ModelNotFoundError(f"No {what} model is installed in Hearth's library.")
        return usable[0]

    def transcriber(self, name: str | None) -> SpeechToText:
        entry = self._pick(STT, name, STT_ALIASES)
        with self._lock:
            if entry.path not in self._stt:
                config = SttConfig(cpu_threads=self.threads)
                self._stt[entry.path] = SpeechToText.load(entry, config)
            return self._stt[entry.path]

    def speaker(self, voice: str | None, model: str | None = None) -> TextToSpeech:
        """The voice named ``voice`` (or ``model``) in the library, else the default one."""
        for name in (voice, model):
            if name and name not in TTS_ALIASES:
                try:
                    entry = named(self.entries(TTS), name, "voice")
                    break
                except ModelNotFoundError:
                    continue  # OpenAI voice names (alloy, ...) mean the default voice
        else:
            entry = self._pick(TTS, None, TTS_ALIASES)
        with self._lock:
            if entry.path not in self._tts:
                self._tts[entry.path] = TextToSpeech.load(entry, threads=self.threads, pause_s=0.0)
            return self._tts[entry.path]

    def transcribe(self, data: bytes, model: str | None, language: str | None) -> Transcript:
        stt = self.transcriber(model)
        return stt.transcribe(decode_audio(data), language=language or None)

    def speak(
        self, text: str, voice: str | None, model: str | None, speed: float = 1.0
    ) -> tuple[Samples, int]:
        tts = self.speaker(voice, model)
        return tts.synthesize(text, speed=speed), tts.sample_rate


def check_language(language: str | None) -> str | None:
    """``language`` if Whisper knows it (None: detect it); else a ValueError's sentence."""
    if not language:
        return None
    tokenizer = importlib.import_module("faster_whisper.tokenizer")
    codes: tuple[str, ...] = tokenizer._LANGUAGE_CODES  # the list faster-whisper checks
    if language.lower() not in codes:
        raise UnknownLanguageError(
            f"Whisper does not know the language {language!r}; give an ISO 639-1 code "
            "such as en, fr or de, or leave it out to detect the language."
        )
    return language.lower()


def decode_audio(data: bytes) -> Samples:
    """16 kHz mono float32 from a WAV (read here) or anything PyAV can decode."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
        if width not in (1, 2, 4):
            raise AudioDecodeError(f"{width * 8}-bit WAV is not supported")
        dtype = {1: np.uint8, 2: np.int16, 4: np.int32}[width]
        raw = np.frombuffer(frames, dtype=dtype).astype(np.float32)
        if width == 1:
            raw = (raw - 128.0) / 128.0
        else:
            raw /= float(2 ** (8 * width - 1))
        mono = raw.reshape(-1, channels).mean(axis=1).astype(np.float32)
        return resample(mono, rate, SAMPLE_RATE) if rate != SAMPLE_RATE else mono
    except (wave.Error, EOFError):
        pass  # not a PCM WAV: let PyAV (faster-whisper's decoder) try
    try:
        fw = importlib.import_module("faster_whisper")
        samples = fw.decode_audio(io.BytesIO(data), sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises many kinds of errors for garbage input
        raise AudioDecodeError(f"the file cannot be decoded as audio ({exc})") from exc
    return np.asarray(samples, dtype=np.float32)


def encode_wav(samples: Samples, rate: int) -> bytes:
    """16-bit mono PCM WAV bytes."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


__all__ = [
    "AudioDecodeError",
    "UnknownLanguageError",
    "VoiceModelError",
    "VoiceModels",
    "check_language",
    "decode_audio",
    "encode_wav",
]
