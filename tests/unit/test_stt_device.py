"""Whisper's device: CUDA only with a GPU and cuBLAS 12, the CPU otherwise, said in one
sentence; a CUDA failure at warm-up or in a transcription falls back to the CPU.

Fakes stand for the GPU, cuBLAS and CTranslate2 (no GPU here); the real thing is
tests/voice/test_stt_cuda.py, and the real ctypes loading is checked below where it can
be (a file that is not a library, the wheel when it is installed).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from app.core.errors import VoiceModelError
from app.voice import stt as stt_module
from app.voice.cuda_libs import (
    FUNCTIONS,
    INSTALL,
    LINUX,
    WINDOWS,
    Cublas,
    install_hint,
    load_cublas,
    platform_names,
    wheel_folders,
)
from app.voice.stt import SpeechToText, SttConfig, choose_device

MISSING = Cublas(False, reason="cuBLAS 12 is missing")


def gpus(count: int) -> Any:
    return lambda: count


class Probe:
    """A cuBLAS probe that answers ``status`` and counts its calls."""

    def __init__(self, status: Cublas) -> None:
        self.status = status
        self.calls = 0

    def __call__(self) -> Cublas:
        self.calls += 1
        return self.status


# --- choose_device -------------------------------------------------------------------


def test_cpu_asked_never_probes_cuda() -> None:
    probe = Probe(Cublas(True, source="x"))
    assert choose_device("cpu", gpus(1), probe) == ("cpu", None)
    assert not probe.calls


def test_auto_without_a_gpu_is_the_cpu_silently_and_loads_no_cublas() -> None:
    probe = Probe(Cublas(True, source="x"))
    assert choose_device("auto", gpus(0), probe) == ("cpu", None)
    assert not probe.calls  # no GPU: cuBLAS (hundreds of MB) is not loaded for nothing


def test_auto_with_a_gpu_and_cublas_is_cuda() -> None:
    assert choose_device("auto", gpus(1), Probe(Cublas(True, source="x"))) == ("cuda", None)


def test_auto_with_a_gpu_but_no_cublas_is_the_cpu_and_says_why() -> None:
    device, notice = choose_device("auto", gpus(2), Probe(MISSING))
    assert device == "cpu"
    assert notice == (
        "Whisper runs on the CPU: a CUDA GPU was found but cuBLAS 12 is missing "
        "(pip install nvidia-cublas-cu12)."
    )


def test_cuda_asked_without_cublas_names_the_fix() -> None:
    with pytest.raises(
        VoiceModelError,
        match=r"cuBLAS 12 is missing; pip install nvidia-cublas-cu12, or use the CPU",
    ):
        choose_device("cuda", gpus(1), Probe(MISSING))


def test_cuda_asked_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(VoiceModelError, match=r"no CUDA GPU was found.*--stt-device auto"):
        choose_device("cuda", gpus(0), Probe(Cublas(True, source="x")))


def test_an_unknown_device_is_refused() -> None:
    with pytest.raises(VoiceModelError, match=r"Unknown Whisper device 'gpu'"):
        choose_device("gpu", gpus(1), Probe(MISSING))


# --- load_cublas -----------------------------------------------------------------------


class FakeLoader:
    """Records what is loaded; ``fails`` paths raise OSError; libraries have ``FUNCTIONS``
    unless listed in ``lacking``."""

    def __init__(self, fails: Collection[str] = (), lacking: tuple[str, ...] = ()) -> None:
        self.fails = fails
        self.lacking = lacking
        self.loaded: list[str] = []

    def __call__(self, path: str) -> object:
        if path in self.fails:
            raise OSError(f"{path}: cannot open shared object file")
        self.loaded.append(path)
        return SimpleNamespace(**{f: object() for f in FUNCTIONS if f not in self.lacking})


def test_the_wheel_is_loaded_cublaslt_first(tmp_path: Path) -> None:
    loader = FakeLoader()
    status = load_cublas(LINUX, [tmp_path], loader)
    assert status == Cublas(True, source=str(tmp_path))
    assert loader.loaded == [str(tmp_path / "libcublasLt.so.12"), str(tmp_path / "libcublas.so.12")]


def test_without_the_wheel_the_system_library_is_loaded_by_name() -> None:
    loader = FakeLoader()
    assert load_cublas(LINUX, [], loader) == Cublas(True, source="the system library path")
    assert loader.loaded == ["libcublas.so.12"]  # CTranslate2's own name


def test_a_broken_wheel_falls_through_to_the_system(tmp_path: Path) -> None:
    loader = FakeLoader(fails={str(tmp_path / "libcublasLt.so.12")})
    assert load_cublas(LINUX, [tmp_path], loader).source == "the system library path"


def test_nothing_loadable_says_missing() -> None:
    status = load_cublas(LINUX, [], FakeLoader(fails={"libcublas.so.12"}))
    assert status == MISSING


def test_a_wheel_that_does_not_load_says_so(tmp_path: Path) -> None:
    broken = str(tmp_path / "libcublas.so.12")
    status = load_cublas(LINUX, [tmp_path], FakeLoader(fails={broken, "libcublas.so.12"}))
    assert not status.loaded
    assert status.reason.startswith(f"cuBLAS 12 does not load ({tmp_path}: {broken}")


def test_a_library_without_ctranslate2s_functions_is_not_taken() -> None:
    status = load_cublas(LINUX, [], FakeLoader(lacking=("cublasGemmEx",)))
    assert status == MISSING


def test_the_bundle_is_told_to_put_the_library_on_the_path() -> None:
    assert install_hint(frozen=False) == "pip install nvidia-cublas-cu12"
    assert install_hint(frozen=True).startswith("put CUDA 12's ")


def test_platforms() -> None:
    assert platform_names("linux") is LINUX
    assert platform_names("win32") is WINDOWS
    assert WINDOWS.cublas == "cublas64_12.dll" and WINDOWS.folder == "bin"
    assert platform_names("darwin") is None
    assert load_cublas(None, []) == Cublas(False, reason="CUDA is not available on this platform")


def test_wheel_folders_are_the_ones_with_cublas(tmp_path: Path) -> None:
    full, empty = tmp_path / "a", tmp_path / "b"
    (full / "lib").mkdir(parents=True)
    (full / "lib" / "libcublas.so.12").write_bytes(b"")
    (empty / "lib").mkdir(parents=True)
    assert wheel_folders(LINUX, [str(full), str(empty), str(full)]) == [full / "lib"]


def test_a_file_that_is_not_a_library_is_refused_by_the_real_loader(tmp_path: Path) -> None:
    for name in (LINUX.lt, LINUX.cublas):
        (tmp_path / name).write_bytes(b"not a library")
    status = load_cublas(LINUX, [tmp_path])  # real ctypes
    assert not status.loaded and "does not load" in status.reason


def test_the_installed_wheel_is_found_by_ctranslate2s_name() -> None:
    """With nvidia-cublas-cu12 installed (or on PYTHONPATH), a fresh process loads it, and
    then opening "libcublas.so.12" by name (as CTranslate2 does) finds that copy."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the wheel's layout is checked on Linux")
    if not wheel_folders(LINUX):
        pytest.skip(f"nvidia-cublas-cu12 is not installed ({INSTALL})")
    script = (
        "import ctypes\n"
        "from app.voice.cuda_libs import ensure_cublas\n"
        "status = ensure_cublas()\n"
        "assert status.loaded, status\n"
        "ctypes.CDLL('libcublas.so.12').cublasGemmEx\n"
        "maps = open('/proc/self/maps').read()\n"
        "print(status.source in maps)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True"


# --- falling back at warm-up and in a transcription ----------------------------------


class FakeModel:
    """Enough of faster-whisper's WhisperModel for ``SpeechToText._run``."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.encode_frames = 0
        self.last_encoded = None
        self.model = SimpleNamespace(is_multilingual=False)
        self.calls = 0

    def transcribe(self, audio: Any, **_: Any) -> tuple[list[Any], Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        segment = SimpleNamespace(
            text=" Hello there.",
            tokens=[1, 2, 3],
            no_speech_prob=0.01,
            avg_logprob=-0.2,
            compression_ratio=1.0,
            temperature=0.0,  # as faster-whisper's Segment: decoded by the beam
        )
        return [segment], SimpleNamespace(language="en", language_probability=1.0)


CUBLAS_GONE = RuntimeError("libcublas.so.12: cannot open shared object file")


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, FakeModel]]:
    """``_open_model`` replaced: CUDA models fail at their first product, CPU ones work."""
    made: list[tuple[str, FakeModel]] = []

    def fake_open(source: Any, config: SttConfig, device: str) -> tuple[Any, str]:
        model = FakeModel(CUBLAS_GONE if device == "cuda" else None)
        made.append((device, model))
        return model, "whisper-fake"

    monkeypatch.setattr(stt_module, "_open_model", fake_open)
    return made


def on_cuda(requested: str) -> SpeechToText:
    model = FakeModel(CUBLAS_GONE)
    return SpeechToText(model, SttConfig(device=requested), "w", "cuda", source="somewhere")


def test_warm_up_failing_on_cuda_falls_back_to_the_cpu(opened: list[Any]) -> None:
    stt = on_cuda("auto")
    stt.warm_up()
    assert stt.device == "cpu"
    assert stt.notice == (
        "Whisper runs on the CPU: it failed on the CUDA GPU "
        "(libcublas.so.12: cannot open shared object file)."
    )
    assert [d for d, _ in opened] == ["cpu"]
    assert opened[0][1].calls == 2  # the warm-up ran again, on the CPU


def test_a_transcription_failing_on_cuda_is_done_again_on_the_cpu(opened: list[Any]) -> None:
    stt = on_cuda("auto")
    audio = (np.random.default_rng(1).standard_normal(16_000) * 0.1).astype(np.float32)
    result = stt.transcribe(audio, "en")
    assert result.text == "Hello there." and stt.device == "cpu" and stt.notice


def test_cuda_asked_for_explicitly_fails_clearly_instead(opened: list[Any]) -> None:
    stt = on_cuda("cuda")
    with pytest.raises(VoiceModelError, match=r"Whisper failed on the CUDA GPU \(libcublas"):
        stt.warm_up()
    assert not opened and stt.device == "cuda"


def test_a_cpu_failure_is_not_hidden(opened: list[Any]) -> None:
    stt = SpeechToText(FakeModel(RuntimeError("boom")), SttConfig(), "w", "cpu", source="x")
    with pytest.raises(RuntimeError, match="boom"):
        stt.warm_up()
    assert not opened


def test_load_on_auto_falls_back_when_cuda_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[tuple[str, str | None]] = []

    def fake_open(source: Any, config: SttConfig, device: str) -> tuple[Any, str]:
        tried.append((device, config.compute_type))
        if device == "cuda":
            raise VoiceModelError("cannot be loaded on cuda") from RuntimeError("out of memory")
        return FakeModel(), "whisper-fake"

    monkeypatch.setattr(stt_module, "_open_model", fake_open)
    monkeypatch.setattr(stt_module, "choose_device", lambda requested: ("cuda", None))
    stt = SpeechToText.load("somewhere", SttConfig(compute_type="float16"))
    assert stt.device == "cpu"
    assert stt.notice == (
        "Whisper runs on the CPU: it could not be loaded on the CUDA GPU (out of memory)."
    )
    assert tried == [("cuda", "float16"), ("cpu", None)]  # the CPU's own int8


def test_load_says_why_it_is_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stt_module, "_open_model", lambda s, c, d: (FakeModel(), "w"))
    monkeypatch.setattr(stt_module, "choose_device", lambda requested: ("cpu", "Because."))
    stt = SpeechToText.load("somewhere")
    assert (stt.device, stt.notice) == ("cpu", "Because.")
