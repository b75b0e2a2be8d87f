"""The final transcript is plain faster-whisper's; the cheap draft pass runs only when asked.

The speech is made here, on speech the pipeline was not tuned on: espeak-ng in several
accents and speeds, and the starter Piper voice with its normal random variation (a new
take every run), clean and with white noise at 20 dB SNR. The reference is
``WhisperModel.transcribe(audio, language=...)`` with the library's defaults, on the same
model and audio, in the same run: no test depends on the words the model picks.
"""

from __future__ import annotations

import importlib
import math
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from app.catalog.library import ModelEntry
from app.voice.audio_io import resample
from app.voice.stt import SpeechToText, Transcript, model_files
from app.voice.tts import TextToSpeech
from tests.bench.wer import normalize

Audio = npt.NDArray[np.float32]
RATE = 16_000

# (voice, words a minute, sentence, SNR in dB or None); none of the benchmark's sentences.
ESPEAK_CLIPS = [
    # The greedy short window loops on this one ("... the moon Tell me one fact about ...").
    ("en-us", 165, "Tell me one fact about the moon.", None),
    ("en-gb", 180, "How do I get a red wine stain out of a carpet?", None),
    ("en-us+f3", 150, "Remind me to call my sister tomorrow morning.", None),
    ("en-gb-scotland", 140, "What is the weather going to be like this weekend?", 20.0),
]
PIPER_SENTENCE = "Can you recommend a book for a long train journey?"


def _padded(speech: Audio) -> Audio:
    """Speech as the endpoint detector cuts it: 0.4 s of pre-roll, 0.3 s after."""
    return np.concatenate(
        [np.zeros(int(0.4 * RATE), np.float32), speech, np.zeros(int(0.3 * RATE), np.float32)]
    )


def _noisy(audio: Audio, snr_db: float, seed: int) -> Audio:
    power = float(np.mean(audio[np.abs(audio) > 1e-3] ** 2))
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(audio.size) * math.sqrt(power / 10 ** (snr_db / 10))
    return (audio + noise).astype(np.float32)


def _espeak(folder: Path, voice: str, wpm: int, text: str) -> Audio:
    decode_audio = importlib.import_module("faster_whisper.audio").decode_audio
    wav = folder / f"{voice}-{wpm}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(wav), text],
        check=True,
        capture_output=True,
        timeout=30,
    )
    speech = np.asarray(decode_audio(str(wav)), dtype=np.float32)
    return (speech / float(np.max(np.abs(speech))) * 0.6).astype(np.float32)


@pytest.fixture(scope="module")
def clips(voice_entry: ModelEntry, tmp_path_factory: pytest.TempPathFactory) -> list[Audio]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt install espeak-ng)")
    folder = tmp_path_factory.mktemp("parity")
    made = []
    for seed, (voice, wpm, text, snr) in enumerate(ESPEAK_CLIPS):
        audio = _padded(_espeak(folder, voice, wpm, text))
        made.append(audio if snr is None else _noisy(audio, snr, seed))
    piper = TextToSpeech.load(voice_entry)
    assert piper.variation == 1.0  # the voice's own variation: a new take each run
    made.append(_padded(resample(piper.synthesize(PIPER_SENTENCE, 0.0), piper.sample_rate, RATE)))
    return made


@pytest.fixture(scope="module")
def plain_whisper(whisper_entry: ModelEntry) -> Iterator[Any]:
    """faster-whisper's own WhisperModel on the starter model, as Hearth loads it."""
    whisper_model = importlib.import_module("faster_whisper").WhisperModel
    name, files = model_files(whisper_entry)
    try:
        model = whisper_model(
            name,
            device="cpu",
            compute_type="int8",
            cpu_threads=2,
            local_files_only=True,
            files=files,
        )
    finally:
        for value in (files or {}).values():
            if hasattr(value, "close"):
                value.close()
    yield model


def _library_defaults(model: Any, audio: Audio, language: str | None) -> tuple[str, bool, Any]:
    """The library's text, whether it was sampled (temperature fallback), and its info."""
    segments, info = model.transcribe(audio, language=language)
    segments = list(segments)
    text = "".join(segment.text for segment in segments)
    return text, any(segment.temperature for segment in segments), info


def _same_hearing(final: Transcript, reference: str, sampled: bool) -> None:
    # The same beam and quality tests: both fall back to sampling, or neither does.
    assert final.sampled == sampled, (final, reference)
    if not sampled:  # a sampled text is an unseeded draw, other words each time
        # Whisper's own text, words and all (only case and punctuation may differ).
        assert normalize(final.text) == normalize(reference), (final, reference)


def test_final_transcript_is_plain_faster_whispers(
    stt: SpeechToText, plain_whisper: Any, clips: list[Audio]
) -> None:
    assert stt.device == "cpu" and not stt.config.compute_type  # int8, as plain_whisper
    for audio in clips:
        reference, sampled, _ = _library_defaults(plain_whisper, audio, "en")
        final = stt.transcribe(audio, "en")
        assert not final.draft and final.full_window
        _same_hearing(final, reference, sampled)


def test_final_transcript_with_detection_is_plain_faster_whispers(
    stt: SpeechToText, plain_whisper: Any, clips: list[Audio]
) -> None:
    # The library detects the language on the same window Hearth's final pass encodes.
    audio = clips[1]
    reference, sampled, info = _library_defaults(plain_whisper, audio, None)
    final = stt.transcribe(audio, likely=str(info.language))
    assert final.language == info.language
    _same_hearing(final, reference, sampled)


def test_draft_pass_runs_only_when_asked(
    stt: SpeechToText, clips: list[Audio], monkeypatch: pytest.MonkeyPatch
) -> None:
    whisper_model = importlib.import_module("faster_whisper").WhisperModel
    windows: list[int] = []  # the frames of each window the encoder really ran on
    real_encode = whisper_model.encode

    def encode(self: Any, features: Any) -> Any:
        windows.append(int(features.shape[-1]))
        return real_encode(self, features)

    monkeypatch.setattr(whisper_model, "encode", encode)
    audio = clips[2]
    draft = stt.transcribe(audio, "en", draft=True)
    assert draft.draft and not draft.full_window
    # The draft encodes its short window (10 s: the audio, padded with silence), not
    # Whisper's 30 s; a longer question gets its own frames and a second more.
    own = math.ceil(audio.size / 160) + 101
    assert windows == [max(own, round(stt.config.draft_window_s * 100))], windows
    assert windows[0] < 3000
    windows.clear()
    final = stt.transcribe(audio, "en")
    assert not final.draft and final.full_window
    assert windows and set(windows) == {3000}  # Whisper's full window
    encodes = len(windows)
    windows.clear()
    # Detecting the language costs no encoder pass: it shares the decoder's.
    detected = stt.transcribe(audio, likely="en")
    assert not detected.draft and set(windows) == {3000} and len(windows) == encodes
    assert detected.text == final.text


def test_text_without_words_is_rejected(stt: SpeechToText, monkeypatch: pytest.MonkeyPatch) -> None:
    # What the final pass once made of noisy espeak-ng speech: combining marks, no words.
    looped = "\u0304 \u0304 \u0304 \u0304 \u0304 \u0304"
    result = {
        "text": looped,
        "language": "en",
        "language_probability": 0.9,
        "no_speech_prob": 0.1,
        "avg_logprob": -0.5,
        "compression_ratio": 1.0,
        "tokens": 40,
    }
    monkeypatch.setattr(stt, "_final_pass", lambda audio, language: dict(result))
    audio = np.full(RATE, 0.1, np.float32)
    heard = stt.transcribe(audio, "en")
    assert heard.text == "" and heard.rejected == f"no words in {looped!r}"
    monkeypatch.setattr(stt, "_final_pass", lambda audio, language: {**result, "text": "你好。"})
    assert stt.transcribe(audio, "en").text == "你好。"
