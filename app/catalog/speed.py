"""How fast a model would answer on this machine: an estimate of decode tokens/s.

Writing a reply reads every weight once per token, so decoding is bound by how fast the
weights stream from memory (llama.cpp's own finding, and what Hearth measures: the
starter's 98 MB answer at ~100 tokens/s on this 2-core CPU). The estimate is

    tokens/s = 1 / (CPU-side weight bytes / CPU bandwidth + GPU-side bytes / GPU bandwidth)

with the weights split between the two as the planner's verdict splits the layers.

* CPU bandwidth: what llama.cpp's threads pull through their dot products, about
  :data:`CPU_GBPS_PER_CORE` per physical core (hyper-threads add nothing), up to what a
  desktop's dual-channel memory delivers (:data:`CPU_GBPS_CAP`).
* GPU bandwidth: the card's memory bandwidth from its name when it is a known one, else
  a typical figure for its memory size; Apple Silicon by its unified memory (the larger
  the memory, the wider the chip); times :data:`GPU_EFFICIENCY`.

It is an estimate, within a factor of about 1.5: good enough to tell a model that answers
at a reading pace from one that makes the user wait, never shown as a measurement.
"""

from __future__ import annotations

from app.catalog.fit import QuantFit, Verdict
from app.engine.hardware import GPUInfo, HardwareInfo

GB = 1e9
GIB = 1 << 30
# Faster than most people read (about 5 tokens/s): a reply never makes them wait.
COMFORTABLE_TOKENS_PER_S = 8.0
CPU_GBPS_PER_CORE = 6.0
CPU_GBPS_CAP = 45.0
GPU_EFFICIENCY = 0.7  # llama.cpp's decode reaches about 70 % of a GPU's memory bandwidth

# Memory bandwidth (GB/s) of common NVIDIA cards, by a word of their name; the first match
# wins, so longer names come before the names they contain.
_NVIDIA_GBPS: tuple[tuple[str, float], ...] = (
    ("H200", 4800),
    ("H100", 3350),
    ("A100", 1900),
    ("RTX 5090", 1792),
    ("RTX 4090", 1008),
    ("RTX 3090", 936),
    ("RTX 5080", 960),
    ("RTX 4080", 717),
    ("RTX 3080", 760),
    ("RTX 5070", 672),
    ("RTX 4070", 504),
    ("RTX 3070", 448),
    ("RTX 4060 Ti", 288),
    ("RTX 4060", 272),
    ("RTX 3060", 360),
    ("RTX 2080", 448),
    ("RTX 2070", 448),
    ("RTX 2060", 336),
    ("GTX 1080", 320),
    ("GTX 1070", 256),
    ("GTX 1660", 192),
    ("L40", 864),
    ("A10", 600),
    ("V100", 900),
    ("T4", 320),
    ("L4", 300),
)
# Otherwise by memory size: (up to GiB, GB/s) of the typical card with that much.
_BY_VRAM: tuple[tuple[float, float], ...] = (
    (4.5, 128),
    (6.5, 192),
    (8.5, 288),
    (12.5, 360),
    (16.5, 500),
    (24.5, 900),
    (float("inf"), 1500),
)
# Apple Silicon by unified memory: (up to GiB, GB/s) base, Pro, Max, Ultra chips.
_APPLE: tuple[tuple[float, float], ...] = (
    (24.5, 100),
    (48.5, 200),
    (128.5, 400),
    (float("inf"), 800),
)


def cpu_bandwidth_gbps(hardware: HardwareInfo) -> float:
    """What llama.cpp's CPU threads stream of the weights, in GB/s."""
    cores = max(1, hardware.cpu_physical_cores)
    return min(CPU_GBPS_PER_CORE * cores, CPU_GBPS_CAP)


def gpu_bandwidth_gbps(gpu: GPUInfo) -> float:
    """The GPU's memory bandwidth as llama.cpp's decode uses it, in GB/s."""
    size_gib = gpu.total_bytes / GIB
    if gpu.vendor == "apple" or gpu.unified_memory:
        table = _APPLE
    else:
        name = gpu.name.upper()
        known = next((gbps for word, gbps in _NVIDIA_GBPS if word.upper() in name), None)
        if known is not None:
            return known * GPU_EFFICIENCY
        table = _BY_VRAM
    return next(gbps for limit, gbps in table if size_gib <= limit) * GPU_EFFICIENCY


def estimate_tokens_per_s(
    fit: QuantFit, hardware: HardwareInfo, *, gpu_offload_supported: bool = True
) -> float:
    """Decode tokens/s of the model ``fit`` judges, on ``hardware`` (0.0: too big)."""
    if fit.verdict is Verdict.TOO_BIG or fit.size_bytes <= 0:
        return 0.0
    weights = fit.size_bytes + fit.projector_bytes
    gpu = hardware.best_gpu if gpu_offload_supported else None
    on_gpu = 0.0
    if gpu is not None and fit.n_layers > 0 and fit.n_gpu_layers > 0:
        on_gpu = weights * min(1.0, fit.n_gpu_layers / fit.n_layers)
    seconds = (weights - on_gpu) / (cpu_bandwidth_gbps(hardware) * GB)
    if on_gpu:
        assert gpu is not None
        seconds += on_gpu / (gpu_bandwidth_gbps(gpu) * GB)
    return 1.0 / seconds


def comfortable(tokens_per_s: float) -> bool:
    """Whether replies come faster than the user reads them."""
    return tokens_per_s >= COMFORTABLE_TOKENS_PER_S


__all__ = [
    "COMFORTABLE_TOKENS_PER_S",
    "comfortable",
    "cpu_bandwidth_gbps",
    "estimate_tokens_per_s",
    "gpu_bandwidth_gbps",
]
