"""The first-run suggestion weighs speed: the best catalog model that fits this machine
AND answers at a comfortable pace, on synthetic machines (a 2-core laptop, an 8-core
desktop, an 8 GB and a 24 GB GPU) through the real planner and catalog."""

from __future__ import annotations

import pytest

from app.catalog.catalog import ChatModel, for_machine
from app.catalog.fit import QuantFit, Verdict
from app.catalog.speed import (
    COMFORTABLE_TOKENS_PER_S,
    cpu_bandwidth_gbps,
    estimate_tokens_per_s,
    gpu_bandwidth_gbps,
)
from app.engine.hardware import GPUInfo, HardwareInfo
from app.services.welcome import catalog_fit, suggest_model

GIB = 1 << 30


def gpu(name: str, gib: float) -> GPUInfo:
    return GPUInfo(0, name, "nvidia", int(gib * GIB), int((gib - 0.4) * GIB))


LAPTOP_2_CORES = HardwareInfo(2, 4, 8 * GIB, 6 * GIB, (), "Linux", "x86_64")
# This CI machine's shape: Qwen3 8B fits in its memory, at two tokens a second.
TWO_CORES_BIG_RAM = HardwareInfo(2, 2, 23 * GIB, 21 * GIB, (), "Linux", "x86_64")
DESKTOP_8_CORES = HardwareInfo(8, 16, 16 * GIB, 12 * GIB, (), "Linux", "x86_64")
GPU_8GB = HardwareInfo(
    8, 16, 16 * GIB, 12 * GIB, (gpu("NVIDIA GeForce RTX 3070", 8),), "Linux", "x86_64"
)
GPU_24GB = HardwareInfo(
    8, 16, 32 * GIB, 26 * GIB, (gpu("NVIDIA GeForce RTX 4090", 24),), "Linux", "x86_64"
)
MACHINES = {
    "laptop-2-cores": LAPTOP_2_CORES,
    "2-cores-23-gb": TWO_CORES_BIG_RAM,
    "desktop-8-cores": DESKTOP_8_CORES,
    "gpu-8-gb": GPU_8GB,
    "gpu-24-gb": GPU_24GB,
}


def verdict(model: ChatModel, hardware: HardwareInfo) -> QuantFit:
    return catalog_fit(model, hardware, gpu_offload_supported=True)


def by_name(hardware: HardwareInfo, name: str) -> ChatModel:
    return next(m for m in for_machine(hardware).chat if m.name == name)


@pytest.mark.parametrize("machine", list(MACHINES))
def test_the_suggestion_is_the_first_model_that_fits_and_answers_comfortably(
    machine: str,
) -> None:
    hardware = MACHINES[machine]
    suggestion = suggest_model([], hardware, gpu_offload_supported=True)
    assert suggestion is not None
    assert suggestion.fit.verdict is not Verdict.TOO_BIG
    assert suggestion.tokens_per_s >= COMFORTABLE_TOKENS_PER_S
    assert suggestion.tokens_per_s == estimate_tokens_per_s(suggestion.fit, hardware)
    # Every model ranked above it either does not fit or would make the user wait.
    ranked = for_machine(hardware).chat
    for better in ranked[: ranked.index(suggestion.model)]:
        fit = verdict(better, hardware)
        assert (
            fit.verdict is Verdict.TOO_BIG
            or estimate_tokens_per_s(fit, hardware) < COMFORTABLE_TOKENS_PER_S
        ), better.name


def test_a_model_that_fits_but_crawls_is_not_suggested_on_two_cores() -> None:
    qwen3_8b = by_name(TWO_CORES_BIG_RAM, "Qwen3 8B")
    fit = verdict(qwen3_8b, TWO_CORES_BIG_RAM)
    assert fit.verdict is Verdict.CPU  # it fits in 23 GB...
    assert estimate_tokens_per_s(fit, TWO_CORES_BIG_RAM) < 4  # ...at a crawl
    for hardware in (TWO_CORES_BIG_RAM, LAPTOP_2_CORES):
        suggestion = suggest_model([], hardware, gpu_offload_supported=True)
        assert suggestion is not None
        assert suggestion.model.approx_size_gb < 1.5, suggestion.model.name


def test_more_cores_and_a_gpu_bring_bigger_models() -> None:
    sizes = {}
    for machine, hardware in MACHINES.items():
        suggestion = suggest_model([], hardware, gpu_offload_supported=True)
        assert suggestion is not None
        sizes[machine] = suggestion.model.approx_size_gb
    assert sizes["desktop-8-cores"] > 2 * sizes["laptop-2-cores"]
    assert sizes["gpu-8-gb"] >= sizes["desktop-8-cores"]
    assert sizes["gpu-24-gb"] > sizes["gpu-8-gb"]
    on_gpu = suggest_model([], GPU_8GB, gpu_offload_supported=True)
    assert on_gpu is not None and on_gpu.fit.verdict is Verdict.GPU
    # The same model is faster on the GPU than with the GPU left out.
    no_offload = estimate_tokens_per_s(verdict(on_gpu.model, DESKTOP_8_CORES), DESKTOP_8_CORES)
    assert on_gpu.tokens_per_s > 3 * no_offload
    big = suggest_model([], GPU_24GB, gpu_offload_supported=True)
    assert big is not None and big.model.tier == "workstation"


def test_an_installed_suggestion_means_nothing_better() -> None:
    suggestion = suggest_model([], DESKTOP_8_CORES, gpu_offload_supported=True)
    assert suggestion is not None
    installed = [f"/models/{suggestion.model.file}"]
    assert suggest_model(installed, DESKTOP_8_CORES, gpu_offload_supported=True) is None


def test_bandwidth_estimates() -> None:
    # Cores add bandwidth until the memory's own limit; hyper-threads add none.
    assert cpu_bandwidth_gbps(LAPTOP_2_CORES) < cpu_bandwidth_gbps(DESKTOP_8_CORES)
    assert cpu_bandwidth_gbps(HardwareInfo(2, 4, GIB, GIB)) == cpu_bandwidth_gbps(
        HardwareInfo(2, 2, GIB, GIB)
    )
    assert cpu_bandwidth_gbps(HardwareInfo(64, 128, GIB, GIB)) == cpu_bandwidth_gbps(
        HardwareInfo(32, 64, GIB, GIB)
    )
    # A known card by name; an unknown one by its memory size; Apple by unified memory.
    assert gpu_bandwidth_gbps(gpu("NVIDIA GeForce RTX 4090", 24)) > gpu_bandwidth_gbps(
        gpu("NVIDIA GeForce RTX 4060", 8)
    )
    assert gpu_bandwidth_gbps(gpu("NVIDIA A100-SXM4-80GB", 80)) > gpu_bandwidth_gbps(
        gpu("NVIDIA A10", 24)
    )
    assert gpu_bandwidth_gbps(gpu("Some GPU", 24)) > gpu_bandwidth_gbps(gpu("Some GPU", 8))
    m1 = GPUInfo(0, "Apple M1", "apple", 12 * GIB, 12 * GIB, unified_memory=True)
    m2_max = GPUInfo(0, "Apple M2 Max", "apple", 72 * GIB, 70 * GIB, unified_memory=True)
    assert gpu_bandwidth_gbps(m2_max) > gpu_bandwidth_gbps(m1)
    # Every GPU streams faster than any CPU here.
    assert gpu_bandwidth_gbps(m1) > cpu_bandwidth_gbps(DESKTOP_8_CORES)


def test_partial_offload_lies_between_cpu_and_gpu() -> None:
    model = by_name(GPU_24GB, "Qwen2.5 32B Instruct")
    small_gpu = HardwareInfo(8, 16, 32 * GIB, 26 * GIB, (gpu("Some GPU", 12),))
    fit = verdict(model, small_gpu)
    assert fit.verdict is Verdict.PARTIAL
    no_gpu = HardwareInfo(8, 16, 32 * GIB, 26 * GIB)
    assert verdict(model, no_gpu).verdict is Verdict.CPU
    cpu_only = estimate_tokens_per_s(verdict(model, no_gpu), no_gpu)
    full = estimate_tokens_per_s(verdict(model, GPU_24GB), GPU_24GB)
    assert cpu_only < estimate_tokens_per_s(fit, small_gpu) < full
    too_big = verdict(model, LAPTOP_2_CORES)
    assert too_big.verdict is Verdict.TOO_BIG
    assert estimate_tokens_per_s(too_big, LAPTOP_2_CORES) == 0.0
