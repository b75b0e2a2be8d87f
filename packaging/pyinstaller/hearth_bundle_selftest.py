"""Self-test of the frozen bundle's voice stack: ``HEARTH_SELFTEST=1 hearth``.

The bundle has no Python to run scripts with, so this module travels inside it and the
runtime hook (``rthook_hearth.py``) runs it instead of the app when ``HEARTH_SELFTEST``
is set. It speaks a sentence with the starter Piper voice (espeak-ng data + onnxruntime),
finds the speech with the Silero VAD shipped in faster-whisper, transcribes it with the
starter Whisper model (CTranslate2) and loads PortAudio through sounddevice; it prints
one JSON object and exits 0 when every part worked.
"""

from __future__ import annotations

import json
import time
from typing import Any

SENTENCE = "The quick brown fox jumps over the lazy dog."


def _resample(audio: Any, rate: int, target: int) -> Any:
    """Linear resampling (good enough for a transcription check)."""
    import numpy as np

    n = round(audio.size * target / rate)
    return np.interp(np.linspace(0, audio.size - 1, n), np.arange(audio.size), audio).astype(
        np.float32
    )


def run() -> dict[str, Any]:
    """Exercise TTS, VAD, STT and PortAudio; returns what each step found."""
    from app.catalog.library import STT, TTS
    from app.catalog.starter import starter_entries

    report: dict[str, Any] = {"ok": False}
    entries = {e.kind: e for e in starter_entries()}
    report["starter"] = sorted(e.name for e in entries.values())

    from app.voice.tts import TextToSpeech

    started = time.perf_counter()
    tts = TextToSpeech.load(entries[TTS])
    speech = tts.synthesize(SENTENCE)
    report["tts"] = {
        "samples": int(speech.size),
        "rate": tts.sample_rate,
        "s": round(time.perf_counter() - started, 2),
    }

    from app.voice.vad import SileroVad, silero_model_path

    audio = _resample(speech, tts.sample_rate, 16000)
    vad = SileroVad(silero_model_path())
    report["vad_max_speech_prob"] = round(float(vad.probabilities(audio).max()), 3)

    from app.voice.stt import SpeechToText

    started = time.perf_counter()
    stt = SpeechToText.load(entries[STT])
    transcript = stt.transcribe(audio, language="en")
    report["stt"] = {"text": transcript.text, "s": round(time.perf_counter() - started, 2)}

    try:
        import sounddevice  # type: ignore[import-untyped, unused-ignore]

        report["portaudio"] = {
            "version": sounddevice.get_portaudio_version()[1],
            "devices": len(sounddevice.query_devices()),
        }
    except Exception as exc:  # no PortAudio, or no audio server: report, do not fail
        report["portaudio"] = {"error": str(exc)}

    words = {w.strip(".,").lower() for w in str(transcript.text).split()}
    report["ok"] = (
        report["vad_max_speech_prob"] > 0.5 and len(words & {"quick", "brown", "fox", "lazy"}) >= 3
    )
    return report


def main() -> int:
    """Print the report as JSON; exit status 0 when the voice stack works."""
    try:
        report = run()
    except Exception as exc:
        report = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(report), flush=True)
    return 0 if report.get("ok") else 1
