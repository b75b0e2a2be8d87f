"""The offload planner and the hardware probe, on synthetic and real GGUF headers.

Expected KV sizes are the ones llama.cpp (llama-cpp-python 0.3.36) logged when loading
the real starter models, so a change in the cache formula shows up here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from app.catalog.gguf_meta import ArrayInfo, GGUFInfo, TensorInfo, read_gguf
from app.core.errors import ConfigError, ModelTooLargeError
from app.engine import hardware
from app.engine.hardware import GIB, MIB, GPUInfo, HardwareInfo, parse_nvidia_smi
from app.engine.planner import ensure_fits, gpu_margin, plan_offload, ram_margin
from tests.fixtures.models import smollm2_path

Q4_K = GGMLQuantizationType.Q4_K
F32 = GGMLQuantizationType.F32


def _tensor(name: str, shape: tuple[int, ...], qtype: GGMLQuantizationType) -> TensorInfo:
    block, size = GGML_QUANT_SIZES[qtype]
    n = int(np.prod(shape))
    return TensorInfo(name, int(qtype), shape, n, n // block * size, 0)


def synthetic(
    arch: str = "llama",
    *,
    n_layer: int = 32,
    n_embd: int = 4096,
    n_head: int = 32,
    n_head_kv: int = 8,
    n_ff: int = 14336,
    n_vocab: int = 128256,
    tied: bool = True,
    head_dim: int | None = None,
    extra: dict[str, Any] | None = None,
) -> GGUFInfo:
    """A header-only GGUFInfo shaped like a real model (default: an 8B llama at Q4_K)."""
    hd = head_dim or n_embd // n_head
    tensors = [_tensor("token_embd.weight", (n_embd, n_vocab), Q4_K)]
    for il in range(n_layer):
        for name, shape in (
            ("attn_q", (n_embd, n_head * hd)),
            ("attn_k", (n_embd, n_head_kv * hd)),
            ("attn_v", (n_embd, n_head_kv * hd)),
            ("attn_output", (n_head * hd, n_embd)),
            ("ffn_gate", (n_embd, n_ff)),
            ("ffn_up", (n_embd, n_ff)),
            ("ffn_down", (n_ff, n_embd)),
        ):
            tensors.append(_tensor(f"blk.{il}.{name}.weight", shape, Q4_K))
        tensors.append(_tensor(f"blk.{il}.attn_norm.weight", (n_embd,), F32))
    tensors.append(_tensor("output_norm.weight", (n_embd,), F32))
    if not tied:
        tensors.append(_tensor("output.weight", (n_embd, n_vocab), Q4_K))
    metadata: dict[str, Any] = {
        "general.architecture": arch,
        "general.name": f"Synthetic {arch}",
        f"{arch}.block_count": n_layer,
        f"{arch}.context_length": 8192,
        f"{arch}.embedding_length": n_embd,
        f"{arch}.feed_forward_length": n_ff,
        f"{arch}.attention.head_count": n_head,
        f"{arch}.attention.head_count_kv": n_head_kv,
    }
    if head_dim:
        metadata[f"{arch}.attention.key_length"] = head_dim
        metadata[f"{arch}.attention.value_length"] = head_dim
    metadata.update({f"{arch}.{k}": v for k, v in (extra or {}).items()})
    arrays = {"tokenizer.ggml.tokens": ArrayInfo(8, n_vocab, 0, 0)}
    return GGUFInfo(Path("synthetic.gguf"), 0, 3, metadata, arrays, tensors)


def gemma3_like() -> GGUFInfo:
    """Gemma 3 270M's attention shape: 18 layers, 1 KV head of 256, window 512."""
    return synthetic(
        "gemma3",
        n_layer=18,
        n_embd=640,
        n_head=4,
        n_head_kv=1,
        n_ff=2048,
        n_vocab=262144,
        head_dim=256,
        extra={"attention.sliding_window": 512},
    )


def machine(
    *, ram_free: float = 16, gpus: tuple[GPUInfo, ...] = (), ram_total: float = 32
) -> HardwareInfo:
    return HardwareInfo(8, 16, int(ram_total * GIB), int(ram_free * GIB), gpus, "Linux", "x86_64")


def nvidia(name: str, free_gib: float, total_gib: float | None = None) -> GPUInfo:
    return GPUInfo(0, name, "nvidia", int((total_gib or free_gib) * GIB), int(free_gib * GIB))


# -- layer choice ------------------------------------------------------------------------------
def test_8gb_gpu_takes_every_layer_of_an_8b_q4_model() -> None:
    plan = plan_offload(
        synthetic(),
        machine(gpus=(nvidia("NVIDIA RTX 4070", 8),)),
        n_ctx=8192,
        gpu_offload_supported=True,
    )
    assert plan.fits
    assert (plan.n_gpu_layers, plan.n_layers) == (33, 33)
    assert plan.backend == "cuda"
    assert 4 * GIB < plan.gpu_bytes <= 8 * GIB - gpu_margin(nvidia("x", 8))
    # Only the token embedding, the host-side buffers and the runtime stay in RAM.
    assert plan.cpu_bytes < 0.5 * GIB
    assert plan.explain().startswith("all 33 layers on the GPU (NVIDIA RTX 4070), ")
    assert plan.explain().endswith(" of 8.0 GB free")


def test_2gb_gpu_gets_the_most_layers_that_fit_and_no_more() -> None:
    gpu = nvidia("NVIDIA GTX 1050", 2)
    hw = machine(gpus=(gpu,))
    plan = plan_offload(synthetic(), hw, n_ctx=4096, gpu_offload_supported=True)
    budget = gpu.free_bytes - gpu_margin(gpu)
    assert plan.fits
    assert 0 < plan.n_gpu_layers < plan.n_layers
    assert plan.gpu_bytes <= budget
    one_more = plan_offload(
        synthetic(), hw, n_ctx=4096, gpu_layers=plan.n_gpu_layers + 1, gpu_offload_supported=True
    )
    assert one_more.gpu_bytes > budget
    assert not one_more.fits
    assert "set GPU layers to auto or lower them." in one_more.explain()
    assert plan.explain().startswith(
        f"{plan.n_gpu_layers} of 33 layers on the GPU (NVIDIA GTX 1050)"
    )
    assert "the rest needs" in plan.explain()


def test_no_gpu_and_no_offload_build_both_plan_for_the_cpu() -> None:
    info = synthetic(n_layer=4, n_embd=512, n_head=8, n_head_kv=8, n_ff=1024, n_vocab=1000)
    no_gpu = plan_offload(info, machine(), n_ctx=2048, gpu_offload_supported=True)
    assert (no_gpu.n_gpu_layers, no_gpu.backend, no_gpu.gpu_bytes) == (0, "cpu", 0)
    assert no_gpu.explain().startswith("CPU only: no supported GPU found; needs ")
    cpu_build = plan_offload(
        info,
        machine(gpus=(nvidia("NVIDIA RTX 4090", 24),)),
        n_ctx=2048,
        gpu_layers=-1,
        gpu_offload_supported=False,
    )
    assert cpu_build.n_gpu_layers == 0
    assert cpu_build.explain().startswith("CPU only: no GPU offload in this llama.cpp build; ")
    assert cpu_build.explain().endswith(" of 16.0 GB free RAM")


def test_a_gpu_build_without_a_gpu_says_so_and_plans_for_the_cpu() -> None:
    """A CUDA build on a machine with no NVIDIA GPU (or no driver): llama.cpp's device
    list is empty, so offload is unsupported; the plan names what it looked for."""
    info = synthetic(n_layer=4, n_embd=512, n_head=8, n_head_kv=8, n_ff=1024, n_vocab=1000)
    plan = plan_offload(info, machine(), n_ctx=2048, gpu_offload_supported=False, backend="cuda")
    assert (plan.n_gpu_layers, plan.backend, plan.gpu_bytes) == (0, "cpu", 0) and plan.fits
    assert plan.explain().startswith(
        "CPU only: this llama.cpp is built for CUDA, but no CUDA GPU was found; needs "
    )


def test_gpu_too_small_for_even_the_output_layer_means_cpu() -> None:
    plan = plan_offload(
        synthetic(),
        machine(gpus=(nvidia("NVIDIA GT 710", 0.6, 1),)),
        n_ctx=4096,
        gpu_offload_supported=True,
    )
    assert plan.n_gpu_layers == 0 and plan.fits
    assert "not even one layer fits in the NVIDIA GT 710's 0.60 GB free memory" in plan.explain()


def test_explicit_zero_layers_is_respected() -> None:
    plan = plan_offload(
        synthetic(),
        machine(gpus=(nvidia("NVIDIA RTX 4090", 24),)),
        n_ctx=4096,
        gpu_layers=0,
        gpu_offload_supported=True,
    )
    assert plan.n_gpu_layers == 0
    assert plan.explain().startswith("CPU only: GPU layers are set to 0; ")


def test_output_layer_is_offloaded_first_with_its_tied_embedding_copy() -> None:
    """llama.cpp: n_gpu_layers=1 offloads the output layer only, 2 adds the last block."""
    info = synthetic(n_layer=8, n_embd=1024, n_head=8, n_head_kv=8, n_ff=2816, n_vocab=32000)
    hw = machine(gpus=(nvidia("NVIDIA RTX 4070", 12),))
    plans = [
        plan_offload(info, hw, n_ctx=2048, gpu_layers=k, gpu_offload_supported=True)
        for k in (0, 1, 2, 3)
    ]
    embd = next(t.n_bytes for t in info.tensors if t.name == "token_embd.weight")
    block = sum(t.n_bytes for t in info.tensors if t.layer == 7)
    kv_block = 2048 * 2 * 1024 * 2  # cells x (K + V) x width x f16
    assert plans[0].gpu_bytes == 0
    assert plans[1].gpu_bytes > embd  # the tied head is a second token_embd, on the GPU
    assert plans[3].gpu_bytes - plans[2].gpu_bytes == block + kv_block
    # The embedding never leaves the CPU, so tying costs it twice in total.
    assert plans[3].weights_bytes == info.tensor_bytes + embd
    untied = synthetic(
        n_layer=8, n_embd=1024, n_head=8, n_head_kv=8, n_ff=2816, n_vocab=32000, tied=False
    )
    assert (
        plan_offload(
            untied, hw, n_ctx=2048, gpu_layers=-1, gpu_offload_supported=True
        ).weights_bytes
        == untied.tensor_bytes
    )


def test_too_large_for_ram_and_gpu_raises_model_too_large() -> None:
    plan = plan_offload(
        synthetic(), machine(ram_free=3, ram_total=4), n_ctx=8192, gpu_offload_supported=False
    )
    assert not plan.fits
    message = plan.explain()
    assert message.startswith("Synthetic llama needs ")
    assert "of RAM at a context of 8192 tokens, but only 3.0 GB is free" in message
    assert message.endswith("choose a shorter context or a smaller quantisation.")
    with pytest.raises(ModelTooLargeError) as caught:
        ensure_fits(plan)
    assert str(caught.value) == message
    small = plan_offload(synthetic(n_layer=2), machine(), n_ctx=512, gpu_offload_supported=False)
    assert ensure_fits(small) is small


def test_unified_memory_counts_gpu_and_cpu_against_the_same_ram() -> None:
    def mac(available: int) -> HardwareInfo:
        working_set = hardware.metal_working_set(16 * GIB)
        gpu = GPUInfo(0, "Apple M2 GPU", "apple", working_set, min(working_set, available), True)
        return HardwareInfo(8, 8, 16 * GIB, available, (gpu,), "Darwin", "arm64")

    roomy = plan_offload(synthetic(), mac(15 * GIB), n_ctx=4096, gpu_offload_supported=True)
    assert (roomy.backend, roomy.device_name, roomy.n_gpu_layers) == ("metal", "Apple M2 GPU", 33)
    # Free RAM that covers the GPU share plus its margin, but not the CPU share as well.
    tight = mac(roomy.gpu_bytes + gpu_margin(mac(15 * GIB).gpus[0]) + 16 * MIB)
    plan = plan_offload(synthetic(), tight, n_ctx=4096, gpu_layers=-1, gpu_offload_supported=True)
    assert plan.gpu_bytes <= tight.gpus[0].free_bytes - gpu_margin(tight.gpus[0])
    assert plan.gpu_bytes + plan.cpu_bytes > tight.available_ram_bytes - ram_margin(tight)
    assert not plan.fits and "of RAM at a context of 4096 tokens" in plan.explain()
    # The same numbers on a discrete GPU fit: its memory is not the RAM.
    discrete = HardwareInfo(
        8,
        8,
        16 * GIB,
        tight.available_ram_bytes,
        (replace(tight.gpus[0], unified_memory=False),),
        "Linux",
        "arm64",
    )
    assert plan_offload(
        synthetic(), discrete, n_ctx=4096, gpu_layers=-1, gpu_offload_supported=True
    ).fits


# -- KV cache -----------------------------------------------------------------------------------
def test_real_smollm2_header_matches_llama_cpp_buffers() -> None:
    info = read_gguf(smollm2_path())
    plan = plan_offload(info, machine(), n_ctx=2048, gpu_offload_supported=False)
    assert plan.kv_bytes == 45 * MIB  # "llama_kv_cache: size = 45.00 MiB (2048 cells, 30 layers)"
    assert plan.weights_bytes == info.tensor_bytes
    assert (plan.n_layers, plan.n_ctx) == (31, 2048)
    assert (
        plan_offload(info, machine(), n_ctx=8192, gpu_offload_supported=False).kv_bytes == 180 * MIB
    )


def test_context_is_padded_to_256_cells_and_zero_means_training_length() -> None:
    info = read_gguf(smollm2_path())
    assert plan_offload(info, machine(), n_ctx=2000, gpu_offload_supported=False).n_ctx == 2048
    full = plan_offload(info, machine(), n_ctx=0, gpu_offload_supported=False)
    assert full.n_ctx == 8192 and full.kv_bytes == 180 * MIB


@pytest.mark.parametrize(
    ("swa_full", "n_ubatch", "expected_mib"),
    [(True, 512, 144.0), (False, 512, 39.0), (False, 128, 35.25)],
)
def test_sliding_window_layers_hold_window_plus_ubatch_cells(
    swa_full: bool, n_ubatch: int, expected_mib: float
) -> None:
    """Gemma 3 at 8192: 3 full layers x 8192 cells + 15 SWA layers x pad256(512 + ubatch),
    exactly what llama.cpp logged (llama-cpp-python's default is the full-size cache)."""
    plan = plan_offload(
        gemma3_like(),
        machine(),
        n_ctx=8192,
        n_ubatch=n_ubatch,
        swa_full=swa_full,
        gpu_offload_supported=False,
    )
    assert plan.kv_bytes == expected_mib * MIB


def test_swa_pattern_array_in_the_header_wins_over_the_default() -> None:
    every_other = [il % 2 == 0 for il in range(18)]
    info = gemma3_like()
    info.metadata["gemma3.attention.sliding_window_pattern"] = every_other
    plan = plan_offload(info, machine(), n_ctx=8192, swa_full=False, gpu_offload_supported=False)
    assert plan.kv_bytes == (9 * 8192 + 9 * 1024) * 1024


def test_quantized_cache_is_smaller_and_needs_flash_attention() -> None:
    info = read_gguf(smollm2_path())
    f16 = plan_offload(info, machine(), n_ctx=4096, gpu_offload_supported=False)
    q8 = plan_offload(
        info,
        machine(),
        n_ctx=4096,
        cache_type_k="q8_0",
        cache_type_v="q8_0",
        flash_attn=True,
        gpu_offload_supported=False,
    )
    assert q8.kv_bytes == 30 * 4096 * 2 * (192 // 32 * 34)
    assert q8.kv_bytes < f16.kv_bytes
    with pytest.raises(ConfigError, match="needs flash attention"):
        plan_offload(info, machine(), n_ctx=4096, cache_type_v="q8_0", gpu_offload_supported=False)
    with pytest.raises(ConfigError, match="Unknown KV cache type 'q3'"):
        plan_offload(info, machine(), n_ctx=4096, cache_type_k="q3", gpu_offload_supported=False)
    with pytest.raises(ConfigError):
        plan_offload(info, machine(), n_ctx=-1, gpu_offload_supported=False)


def test_flash_attention_shrinks_compute_but_not_the_cache() -> None:
    info = read_gguf(smollm2_path())
    plain = plan_offload(info, machine(), n_ctx=8192, gpu_offload_supported=False)
    flash = plan_offload(info, machine(), n_ctx=8192, flash_attn=True, gpu_offload_supported=False)
    assert flash.kv_bytes == plain.kv_bytes
    # No 9 x 8192 x 512 KQ matrix (144 MiB) and no f16 copy of it (72 MiB).
    assert plain.compute_bytes - flash.compute_bytes > 200 * MIB


def test_per_layer_kv_heads_long_array_is_read_from_the_file(tmp_path: Path) -> None:
    """70 layers: the array is longer than the reader keeps in memory; 0 heads = no cache."""
    import gguf

    path = tmp_path / "hybrid.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(70)
    writer.add_context_length(4096)
    writer.add_embedding_length(64)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_head_count_kv([2 if il % 2 else 0 for il in range(70)])
    writer.add_token_list([f"t{i}" for i in range(100)])
    writer.add_tensor("token_embd.weight", np.zeros((100, 64), dtype=np.float32))
    for il in range(70):
        writer.add_tensor(f"blk.{il}.attn_norm.weight", np.ones((64,), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    info = read_gguf(path)
    assert "llama.attention.head_count_kv" not in info.metadata  # only its byte range is
    plan = plan_offload(info, machine(), n_ctx=1024, gpu_offload_supported=False)
    assert plan.kv_bytes == 35 * 1024 * 2 * (2 * 16) * 2


def test_plan_serialises_to_json() -> None:
    plan = plan_offload(
        read_gguf(smollm2_path()), machine(), n_ctx=2048, gpu_offload_supported=False
    )
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["n_gpu_layers"] == 0 and data["kv_bytes"] == 45 * MIB
    assert data["explanation"] == plan.explain()


# -- hardware -----------------------------------------------------------------------------------
def test_parse_nvidia_smi_handles_commas_in_names_and_missing_values() -> None:
    text = "0, NVIDIA GeForce RTX 4070, 12282, 11545\n1, Tesla T4, [N/A], [N/A]\n2, A, B, 100, 50\n"
    gpus = parse_nvidia_smi(text)
    assert [g.index for g in gpus] == [0, 2]
    assert gpus[0] == GPUInfo(0, "NVIDIA GeForce RTX 4070", "nvidia", 12282 * MIB, 11545 * MIB)
    assert gpus[1].name == "A, B"


def test_probe_reads_a_fake_nvidia_smi_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\necho '0, NVIDIA RTX A2000, 6138, 5900'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(hardware, "_probe_nvml", lambda: None)
    info = hardware.probe_hardware()
    assert info.gpus == (GPUInfo(0, "NVIDIA RTX A2000", "nvidia", 6138 * MIB, 5900 * MIB),)
    assert info.best_gpu == info.gpus[0]
    assert info.cpu_logical_cores >= info.cpu_physical_cores >= 1
    assert 0 < info.available_ram_bytes <= info.total_ram_bytes


def test_probe_without_nvidia_smi_finds_no_nvidia_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(hardware, "_probe_nvml", lambda: None)
    assert not [g for g in hardware.probe_hardware().gpus if g.vendor == "nvidia"]


def test_metal_working_set_assumption() -> None:
    assert hardware.metal_working_set(16 * GIB) == int(16 * GIB * 2 / 3)
    assert hardware.metal_working_set(128 * GIB) == 96 * GIB


def test_modules_do_not_import_llama_cpp_and_the_build_is_reported() -> None:
    code = textwrap.dedent(
        """
        import sys
        import app.engine.hardware as h, app.engine.planner
        assert "llama_cpp" not in sys.modules
        h.probe_hardware()
        assert "llama_cpp" not in sys.modules
        print(h.build_backend(), h.llama_supports_gpu_offload())
        """
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
        timeout=120,
    ).stdout.split()
    backend, offload = out[-2], out[-1]
    assert backend in {"cpu", "cuda", "metal", "vulkan", "rocm", "musa", "sycl", "opencl", "cann"}
    assert offload in {"True", "False"}
    if backend == "cpu":
        assert offload == "False"  # a CPU build has nothing to offload to
