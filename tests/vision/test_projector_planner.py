"""The offload planner counts a vision projector: weights and compute buffer, on the GPU
when there is room after the layers, else in RAM (real headers of the tiny pair)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.gguf_meta import GGUFInfo, read_gguf
from app.engine.hardware import GIB, MIB, GPUInfo, HardwareInfo
from app.engine.planner import plan_offload, projector_memory
from tests.fixtures.vision_gguf import VisionPair, write_tiny_projector


def machine(ram_free: float = 16, gpu_free: float | None = None) -> HardwareInfo:
    gpus = (
        (GPUInfo(0, "NVIDIA Test", "nvidia", int(gpu_free * GIB), int(gpu_free * GIB)),)
        if gpu_free is not None
        else ()
    )
    return HardwareInfo(8, 16, 32 * GIB, int(ram_free * GIB), gpus, "Linux", "x86_64")


def heavier(info: GGUFInfo, n_bytes: int) -> GGUFInfo:
    """The projector with its first tensor grown to ``n_bytes`` (a 2 GB encoder's weights)."""
    first = replace(info.tensors[0], n_bytes=n_bytes)
    return replace(info, tensors=[first, *info.tensors[1:]])


def test_projector_bytes_are_counted_in_ram_without_a_gpu(vision_pair: VisionPair) -> None:
    model, projector = read_gguf(vision_pair.model), read_gguf(vision_pair.mmproj)
    # Loads go without flash attention unless asked (llama-cpp-python's default), and the
    # projector follows: its KQ matrix counts.
    weights, compute = projector_memory(projector, flash_attn=False)
    assert weights == projector.tensor_bytes and compute > projector_memory(projector)[1]
    alone = plan_offload(model, machine(), n_ctx=2048, gpu_offload_supported=True)
    paired = plan_offload(
        model, machine(), n_ctx=2048, gpu_offload_supported=True, projector=projector
    )
    assert paired.projector_bytes == weights + compute and not paired.projector_on_gpu
    assert paired.cpu_bytes - alone.cpu_bytes == weights + compute
    assert paired.weights_bytes - alone.weights_bytes == weights
    assert paired.compute_bytes - alone.compute_bytes == compute
    assert "vision projector" in paired.explain() and "in RAM" in paired.explain()


def test_projector_goes_on_the_gpu_when_it_fits_after_the_layers(
    vision_pair: VisionPair,
) -> None:
    model, projector = read_gguf(vision_pair.model), read_gguf(vision_pair.mmproj)
    hardware = machine(gpu_free=8)
    alone = plan_offload(model, hardware, n_ctx=2048, gpu_offload_supported=True)
    paired = plan_offload(
        model, hardware, n_ctx=2048, gpu_offload_supported=True, projector=projector
    )
    assert paired.projector_on_gpu and paired.n_gpu_layers == alone.n_gpu_layers
    assert paired.gpu_bytes - alone.gpu_bytes == paired.projector_bytes
    assert paired.cpu_bytes == alone.cpu_bytes

    # A projector too big for what the GPU has left stays in RAM; the layers keep the GPU.
    big = heavier(projector, 8 * GIB)
    crowded = plan_offload(model, hardware, n_ctx=2048, gpu_offload_supported=True, projector=big)
    assert not crowded.projector_on_gpu and crowded.fits
    assert crowded.n_gpu_layers == alone.n_gpu_layers and crowded.gpu_bytes == alone.gpu_bytes
    assert crowded.cpu_bytes - alone.cpu_bytes == crowded.projector_bytes > 8 * GIB

    # GPU layers set to 0: nothing goes to the GPU, the projector neither.
    cpu = plan_offload(
        model, hardware, n_ctx=2048, gpu_layers=0, gpu_offload_supported=True, projector=projector
    )
    assert cpu.n_gpu_layers == 0 and not cpu.projector_on_gpu


def test_a_projector_that_does_not_fit_in_ram_makes_the_plan_not_fit(
    vision_pair: VisionPair,
) -> None:
    model, projector = read_gguf(vision_pair.model), read_gguf(vision_pair.mmproj)
    hardware = machine(ram_free=3)
    assert plan_offload(model, hardware, n_ctx=2048, gpu_offload_supported=True).fits
    big = heavier(projector, 2 * GIB)
    plan = plan_offload(model, hardware, n_ctx=2048, gpu_offload_supported=True, projector=big)
    assert not plan.fits and "of RAM" in plan.explain()


# libmtmd's "CPU compute buffer size" (MiB) for projectors written by write_tiny_projector
# (4 heads, FFN twice the width), measured with llama-cpp-python 0.3.36 on 2026-11-30:
# (width, image side, patch side, flash attention) -> MiB.
MEASURED_COMPUTE_MIB = {
    (256, 448, 14, True): 5.31,
    (256, 448, 14, False): 20.34,
    (512, 448, 14, True): 10.31,
    (512, 448, 14, False): 24.34,
    (256, 224, 14, True): 1.33,
    (256, 224, 14, False): 2.09,
    (128, 896, 14, True): 13.81,
}


@pytest.mark.parametrize(("shape", "measured"), list(MEASURED_COMPUTE_MIB.items()))
def test_projector_compute_estimate_covers_what_libmtmd_reserved(
    shape: tuple[int, int, int, bool], measured: float, tmp_path: Path
) -> None:
    width, image, patch, flash = shape
    path = write_tiny_projector(
        tmp_path / "mmproj-m-F16.gguf", n_embd=width, image_size=image, patch_size=patch
    )
    _, compute = projector_memory(read_gguf(path), flash_attn=flash)
    assert measured * MIB <= compute <= 1.25 * measured * MIB


def test_hearth_plan_counts_the_projector_beside_the_model(
    vision_pair: VisionPair, hearth_home: Path
) -> None:
    del hearth_home  # only for its HEARTH_HOME
    command = [sys.executable, "-m", "app", "plan", str(vision_pair.model), "--ctx", "2048"]
    result = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)["plan"]
    _, compute = projector_memory(read_gguf(vision_pair.mmproj), flash_attn=False)
    assert plan["projector_bytes"] == read_gguf(vision_pair.mmproj).tensor_bytes + compute
    assert "vision projector" in plan["explanation"]
    text = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "  projector    " in text
