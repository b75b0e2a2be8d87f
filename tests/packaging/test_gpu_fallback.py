"""When a GPU build cannot use the GPU, Hearth runs on the CPU and says so.

Two paths: the planner (no GPU offload in this build, or no GPU found: plan for the CPU
with the reason) and the worker (the GPU load itself fails - missing CUDA runtime,
driver error, GPU memory taken by another program: load again on the CPU). The second is
exercised here in-process on the real llama.cpp and the starter model, with a
``Llama`` that fails whenever layers are offloaded, as a broken GPU stack does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.engine import protocol as p


class _Pipe:
    """Collects what the worker sends."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, event: Any) -> None:
        self.sent.append(event)


def test_a_failed_gpu_load_falls_back_to_the_cpu_with_a_notice(
    smol_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CPU load passes llama.cpp an empty device list: with n_gpu_layers=0 alone a GPU
    build still sends the prompt's matrix products to the GPU, whose memory may be what ran
    out (CUDA's allocator then aborts the process; seen on an H200)."""
    llama_cpp = pytest.importorskip("llama_cpp")
    import llama_cpp.llama_cpp as raw

    from app.engine import hardware, worker

    real_llama = llama_cpp.Llama
    layers_tried: list[int] = []
    devices_seen: dict[int, int | None] = {}

    def gpu_broken_llama(**kwargs: Any) -> Any:
        layers_tried.append(kwargs["n_gpu_layers"])
        devices_seen[kwargs["n_gpu_layers"]] = raw.llama_model_default_params().devices
        if kwargs["n_gpu_layers"] > 0:
            raise ValueError(f"Failed to load model from file: {kwargs['model_path']}")
        return real_llama(**kwargs)

    monkeypatch.setattr(llama_cpp, "Llama", gpu_broken_llama)
    monkeypatch.setattr(hardware, "llama_supports_gpu_offload", lambda: True)
    monkeypatch.setattr(
        worker,
        "_load_plan",
        lambda info, request: worker._LoadPlan(31, "cuda", "all 31 layers on the GPU"),
    )
    pipe = _Pipe()
    engine = worker._Worker(pipe)  # type: ignore[arg-type]
    try:
        engine.load(p.LoadModel(request_id=1, path=str(smol_model), n_ctx=512, n_gpu_layers=None))
        loaded = [e for e in pipe.sent if isinstance(e, p.ModelLoaded)]
        assert layers_tried == [31, 0]
        assert len(loaded) == 1
        assert loaded[0].backend == "cpu" and loaded[0].n_gpu_layers == 0
        assert loaded[0].plan.startswith("CPU only: the GPU could not be used")
        assert engine.stats()["backend"] == "cpu"
        assert devices_seen[31] is None  # the GPU load: llama.cpp's own device choice
        assert devices_seen[0] is not None  # the CPU load: an explicit, empty list
        assert raw.llama_model_default_params().devices is None  # the factory is restored
    finally:
        engine.unload()


def test_a_model_error_is_not_retried_on_the_cpu(
    smol_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An architecture llama.cpp cannot run fails the same on the CPU: one load, one error."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from app.core.errors import UnsupportedModelError
    from app.engine import worker

    engine = worker._Worker(_Pipe())  # type: ignore[arg-type]
    layers_tried: list[int] = []

    def unknown_architecture(**kwargs: Any) -> Any:
        layers_tried.append(kwargs["n_gpu_layers"])
        engine.llama_log.lines.append(
            "llama_model_load: error loading model: unknown model architecture: 'x'"
        )
        raise ValueError(f"Failed to load model from file: {kwargs['model_path']}")

    monkeypatch.setattr(llama_cpp, "Llama", unknown_architecture)
    monkeypatch.setattr(
        worker,
        "_load_plan",
        lambda info, request: worker._LoadPlan(31, "cuda", "all 31 layers on the GPU"),
    )
    with pytest.raises(UnsupportedModelError):
        engine.load(p.LoadModel(request_id=1, path=str(smol_model), n_ctx=512))
    assert layers_tried == [31]
    assert engine.loaded is None


def test_the_planner_runs_a_cpu_build_on_the_cpu_and_says_why() -> None:
    """An NVIDIA GPU with a CPU-only llama.cpp: plan for the CPU, with the reason."""
    from app.catalog.gguf_meta import read_gguf
    from app.engine.hardware import GPUInfo, HardwareInfo
    from app.engine.planner import plan_offload
    from tests.fixtures.models import smollm2_path

    gib = 1024**3
    hardware = HardwareInfo(
        cpu_physical_cores=2,
        cpu_logical_cores=2,
        total_ram_bytes=8 * gib,
        available_ram_bytes=6 * gib,
        gpus=(GPUInfo(0, "NVIDIA Test GPU", "nvidia", 24 * gib, 23 * gib),),
    )
    plan = plan_offload(
        read_gguf(smollm2_path()), hardware, n_ctx=2048, gpu_offload_supported=False
    )
    assert plan.backend == "cpu" and plan.n_gpu_layers == 0 and plan.fits
    assert plan.explain().startswith("CPU only: no GPU offload in this llama.cpp build")


def test_an_unloadable_llama_cpp_gives_one_clear_sentence(
    tmp_path: Path, smol_model: Path, hearth_home: Path
) -> None:
    """A GPU build whose runtime is missing (here: a llama_cpp whose import fails the way
    a CUDA build's does without libcudart) makes `chat` fail with what to do, not a crash.
    """
    import os
    import subprocess
    import sys

    fake = tmp_path / "fake" / "llama_cpp"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        'raise OSError("libcudart.so.12: cannot open shared object file")\n'
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{fake.parent}{os.pathsep}{root}"}
    env["HEARTH_HOME"] = str(hearth_home)
    result = subprocess.run(
        [sys.executable, "-m", "app", "chat", "--json", "-m", str(smol_model), "-p", "hi"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "llama.cpp cannot be loaded on this computer (libcudart.so.12" in result.stderr
    assert "Traceback" not in result.stderr
