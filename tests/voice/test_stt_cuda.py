"""Whisper on a CUDA GPU, for real: runs wherever CTranslate2 sees a CUDA device.

The starter Whisper model hears the starter Piper voice on the GPU (float16) as it does
on the CPU (int8): compared by words, not letter for letter (the two compute types round
differently). cuBLAS 12 must be loadable (``pip install nvidia-cublas-cu12``, or a
CUDA 12 toolkit on the library path): without it this fails, naming the fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from app.catalog.library import ModelEntry
from app.voice.stt import SpeechToText, SttConfig, _cuda_devices
from tests.voice.conftest import word_overlap

pytestmark = pytest.mark.skipif(
    _cuda_devices() == 0,
    reason="CTranslate2 sees no CUDA device here (no NVIDIA GPU or driver)",
)

SENTENCES = [
    "What is the capital of France?",
    "Please turn on the lights in the kitchen.",
    "Can you explain why the sky looks blue during the day?",
]


def test_whisper_on_cuda_hears_what_it_hears_on_the_cpu(
    whisper_entry: ModelEntry, stt: SpeechToText, speak: Callable[..., np.ndarray]
) -> None:
    started = time.perf_counter()
    gpu = SpeechToText.load(whisper_entry, SttConfig(device="cuda"))
    gpu.warm_up()  # the first matrix product: cuBLAS is really used here
    print(f"whisper on cuda: loaded and warmed up in {time.perf_counter() - started:.2f} s")
    assert gpu.device == "cuda" and gpu.notice is None
    for text in SENTENCES:
        audio = speak(text)
        on_gpu = gpu.transcribe(audio, "en")
        on_cpu = stt.transcribe(audio, "en")
        print(
            f"{text!r}: cuda {on_gpu.text!r} {on_gpu.elapsed_s:.3f} s, "
            f"cpu {on_cpu.text!r} {on_cpu.elapsed_s:.3f} s"
        )
        assert gpu.device == "cuda", gpu.notice  # no silent fall back to the CPU
        assert word_overlap(text, on_gpu.text) >= 0.75, on_gpu.text
        assert word_overlap(on_cpu.text, on_gpu.text) >= 0.8, (on_cpu.text, on_gpu.text)
        drafted = gpu.transcribe(audio, "en", draft=True)
        assert word_overlap(text, drafted.text) >= 0.75, drafted.text


def test_auto_takes_the_gpu(whisper_entry: ModelEntry) -> None:
    auto = SpeechToText.load(whisper_entry)
    assert (auto.device, auto.notice) == ("cuda", None)
