"""MoE expert offload: the tiny qwen3moe fixture through llama.cpp, the planner's choice
for a 30B-A3B-shaped model on an 8 GB GPU, and the command line.

On this CPU build every tensor is in RAM anyway, so what proves the override is llama.cpp's
own log: it names every tensor a pattern moved ("buffer type overridden to CPU"), and the
worker reports the blocks it named. Generation must not change: the same greedy tokens
and log-probabilities as a load without the override.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from app.core.errors import ConfigError
from app.core.generation import GenerationParams, Message
from app.core.gguf_meta import ArrayInfo, GGUFInfo, TensorInfo, read_gguf
from app.engine import moe
from app.engine import protocol as p
from app.engine.client import EngineClient
from app.engine.hardware import GIB, GPUInfo, HardwareInfo
from app.engine.planner import gpu_margin, plan_offload, ram_margin
from tests.fixtures.moe_gguf import write_tiny_moe

TIMEOUT = 120
GREEDY = GenerationParams(max_tokens=12, temperature=0.0, logprobs=3, n_threads=1)
ASK: list[Message] = [{"role": "user", "content": "Name three rivers."}]
EXPERT_PARTS = ("ffn_gate_exps", "ffn_up_exps", "ffn_down_exps")


@pytest.fixture(scope="module")
def tiny_moe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_moe(tmp_path_factory.mktemp("moe") / "tiny-moe-F16.gguf")


# -- detection and patterns ------------------------------------------------------------------
def test_the_fixture_is_a_moe_model_and_the_starter_is_not(
    tiny_moe: Path, smol_model: Path
) -> None:
    info = read_gguf(tiny_moe)
    assert info.architecture == "qwen3moe"
    assert (info.arch_value("expert_count"), info.arch_value("expert_used_count")) == (4, 2)
    assert moe.expert_layers(info) == (0, 1, 2, 3)
    sizes = moe.expert_bytes_per_layer(info)
    assert set(sizes) == {0, 1, 2, 3} and len(set(sizes.values())) == 1
    assert not moe.is_moe(read_gguf(smol_model))


def test_the_pattern_matches_exactly_the_experts_of_the_first_blocks(tiny_moe: Path) -> None:
    info = read_gguf(tiny_moe)
    pattern = moe.expert_pattern(moe.first_expert_layers(info, 2))
    assert pattern is not None
    matched = {t.name for t in info.tensors if re.search(pattern, t.name)}
    assert matched == {f"blk.{il}.{part}.weight" for il in (0, 1) for part in EXPERT_PARTS}
    assert moe.expert_pattern([]) is None
    assert moe.overrides_for(info, 0) is None


def test_the_override_array_is_null_terminated_and_points_at_the_cpu_buffer_type() -> None:
    import ctypes

    overrides = moe.build_overrides(["a", "b"])
    assert overrides.pointer is not None
    array = (ctypes.c_void_p * 6).from_address(overrides.pointer)
    cpu = moe.cpu_buffer_type()
    assert [array[1], array[3]] == [cpu, cpu]
    assert ctypes.string_at(array[0]) == b"a" and ctypes.string_at(array[2]) == b"b"
    assert array[4] is None and array[5] is None  # {NULL, NULL} ends it


def test_overridden_layers_read_llama_cpp_log_lines() -> None:
    lines = [
        "tensor blk.0.ffn_gate_exps.weight (0 MiB f16) buffer type overridden to CPU",
        "tensor blk.3.ffn_down_exps.weight (12 MiB q4_K) buffer type overridden to CPU_REPACK",
        "tensor blk.5.ffn_up_exps.weight (12 MiB q4_K) buffer type overridden to CUDA0",
        "tensor blk.6.attn_q.weight (1 MiB f16) buffer type overridden to CPU",
        "load_tensors: something else",
    ]
    assert moe.overridden_layers(lines) == (0, 3)


def test_cpu_moe_on_a_dense_model_is_one_sentence(smol_model: Path, tiny_moe: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        moe.check_cpu_moe(read_gguf(smol_model), 2)
    assert str(caught.value) == (
        f"{smol_model.name} is not a mixture-of-experts model; --cpu-moe applies only to those."
    )
    assert moe.check_cpu_moe(read_gguf(smol_model), 0) == 0
    assert moe.check_cpu_moe(read_gguf(tiny_moe), 99) == 4
    with pytest.raises(ConfigError):
        moe.check_cpu_moe(read_gguf(tiny_moe), -1)


# -- through the engine worker ---------------------------------------------------------------
def load(engine: EngineClient, model: Path, cpu_moe: int | None) -> p.ModelLoaded:
    event = engine.load(str(model), n_ctx=512, n_threads=1, cpu_moe=cpu_moe).wait(TIMEOUT)
    assert isinstance(event, p.ModelLoaded)
    return event


def reply(engine: EngineClient) -> tuple[str, list[Any]]:
    done = engine.generate(ASK, GREEDY).wait(TIMEOUT)
    assert isinstance(done, p.GenerationDone) and done.logprobs
    return done.text, [(t.data, round(t.logprob, 4)) for t in done.logprobs]


@pytest.mark.slow
def test_llama_cpp_puts_the_matched_experts_in_the_cpu_buffer_and_replies_the_same(
    engine: EngineClient, tiny_moe: Path
) -> None:
    plain = load(engine, tiny_moe, 0)
    assert plain.cpu_moe_layers == 0  # no override asked: llama.cpp logged none
    base = reply(engine)
    two = load(engine, tiny_moe, 2)
    assert two.cpu_moe_layers == 2  # llama.cpp's log named the experts of blocks 0 and 1
    assert reply(engine) == base
    every = load(engine, tiny_moe, 99)  # clipped to the model's 4 expert blocks
    assert every.cpu_moe_layers == 4
    assert reply(engine) == base


@pytest.mark.slow
def test_cpu_moe_on_a_dense_model_is_refused_and_the_engine_stays_usable(
    engine: EngineClient, smol_model: Path
) -> None:
    with pytest.raises(ConfigError, match="is not a mixture-of-experts model"):
        engine.load(str(smol_model), n_ctx=512, n_threads=1, cpu_moe=2).wait(TIMEOUT)
    assert load(engine, smol_model, None).cpu_moe_layers == 0
    assert reply(engine)[0]


# -- the planner -----------------------------------------------------------------------------
Q4_K, F32 = GGMLQuantizationType.Q4_K, GGMLQuantizationType.F32


def _tensor(name: str, shape: tuple[int, ...], qtype: GGMLQuantizationType) -> TensorInfo:
    block, size = GGML_QUANT_SIZES[qtype]
    n = int(np.prod(shape))
    return TensorInfo(name, int(qtype), shape, n, n // block * size, 0)


def a30b_a3b(*, n_layer: int = 48) -> GGUFInfo:
    """A header shaped like Qwen3-30B-A3B at Q4_K: 48 blocks of 128 experts (8 used, 768
    wide), 32 query heads and 4 KV heads of 128, a 151936-token vocabulary."""
    n_embd, n_head, n_head_kv, hd, n_exp, n_ff_exp, n_vocab = 2048, 32, 4, 128, 128, 768, 151936
    tensors = [_tensor("token_embd.weight", (n_embd, n_vocab), Q4_K)]
    for il in range(n_layer):
        blk = f"blk.{il}"
        for name, shape in (
            ("attn_q", (n_embd, n_head * hd)),
            ("attn_k", (n_embd, n_head_kv * hd)),
            ("attn_v", (n_embd, n_head_kv * hd)),
            ("attn_output", (n_head * hd, n_embd)),
            ("ffn_gate_exps", (n_embd, n_ff_exp, n_exp)),
            ("ffn_up_exps", (n_embd, n_ff_exp, n_exp)),
            ("ffn_down_exps", (n_ff_exp, n_embd, n_exp)),
        ):
            tensors.append(_tensor(f"{blk}.{name}.weight", shape, Q4_K))
        tensors.append(_tensor(f"{blk}.ffn_gate_inp.weight", (n_embd, n_exp), F32))
        tensors.append(_tensor(f"{blk}.attn_norm.weight", (n_embd,), F32))
    tensors.append(_tensor("output_norm.weight", (n_embd,), F32))
    tensors.append(_tensor("output.weight", (n_embd, n_vocab), Q4_K))
    arch = "qwen3moe"
    metadata: dict[str, Any] = {
        "general.architecture": arch,
        "general.name": "Synthetic 30B-A3B",
        f"{arch}.block_count": n_layer,
        f"{arch}.context_length": 40960,
        f"{arch}.embedding_length": n_embd,
        f"{arch}.feed_forward_length": 6144,
        f"{arch}.attention.head_count": n_head,
        f"{arch}.attention.head_count_kv": n_head_kv,
        f"{arch}.attention.key_length": hd,
        f"{arch}.attention.value_length": hd,
        f"{arch}.expert_count": n_exp,
        f"{arch}.expert_used_count": 8,
        f"{arch}.expert_feed_forward_length": n_ff_exp,
    }
    arrays = {"tokenizer.ggml.tokens": ArrayInfo(8, n_vocab, 0, 0)}
    return GGUFInfo(Path("a30b.gguf"), 0, 3, metadata, arrays, tensors)


def laptop(gpu_gib: float = 8, ram_free_gib: float = 28) -> HardwareInfo:
    gpu = GPUInfo(0, "NVIDIA RTX 4060 Laptop", "nvidia", int(gpu_gib * GIB), int(gpu_gib * GIB))
    return HardwareInfo(8, 16, 32 * GIB, int(ram_free_gib * GIB), (gpu,), "Linux", "x86_64")


def plan(hardware: HardwareInfo, **kwargs: Any) -> Any:
    return plan_offload(
        a30b_a3b(), hardware, n_ctx=8192, gpu_offload_supported=True, flash_attn=True, **kwargs
    )


def test_an_8gb_gpu_takes_every_layer_and_the_fewest_expert_blocks_go_to_ram() -> None:
    hardware = laptop()
    chosen = plan(hardware)
    assert chosen.fits
    assert (chosen.n_gpu_layers, chosen.n_layers) == (49, 49)
    assert 0 < chosen.cpu_moe_layers < chosen.moe_layers == 48
    gpu_budget = 8 * GIB - gpu_margin(hardware.gpus[0])
    assert chosen.gpu_bytes <= gpu_budget
    assert chosen.cpu_bytes <= hardware.available_ram_bytes - ram_margin(hardware)
    # The fewest: one expert block fewer in RAM would not fit the GPU.
    fewer = plan(hardware, cpu_moe=chosen.cpu_moe_layers - 1, gpu_layers=-1)
    assert fewer.gpu_bytes > gpu_budget and not fewer.fits
    # The experts in RAM are the first blocks' (every block's experts are the same size).
    per_block = chosen.experts_ram_bytes / chosen.cpu_moe_layers
    assert 0.3 * GIB < per_block < 0.4 * GIB
    text = chosen.explain()
    assert text.startswith(f"experts of {chosen.cpu_moe_layers} of 48 layers in RAM: ")
    assert "the rest on the GPU (NVIDIA RTX 4060 Laptop): " in text and "of 8.0 GB free" in text
    assert chosen.to_dict()["cpu_moe_layers"] == chosen.cpu_moe_layers


def test_a_gpu_with_room_keeps_every_expert_and_a_user_choice_is_kept() -> None:
    roomy = plan(laptop(gpu_gib=80))
    assert roomy.fits and roomy.cpu_moe_layers == 0 and roomy.n_gpu_layers == 49
    assert roomy.explain().startswith("all 49 layers on the GPU")
    asked = plan(laptop(gpu_gib=80), cpu_moe=10)
    assert asked.cpu_moe_layers == 10 and asked.n_gpu_layers == 49
    assert asked.gpu_bytes < roomy.gpu_bytes and asked.cpu_bytes > roomy.cpu_bytes
    moved = roomy.gpu_bytes - asked.gpu_bytes
    # The experts' bytes move, less the op-offload copy of one expert block the GPU keeps.
    assert moved == pytest.approx(asked.experts_ram_bytes - asked.experts_ram_bytes / 10, rel=0.02)


def test_no_gpu_plans_for_the_cpu_and_a_dense_model_refuses_cpu_moe() -> None:
    cpu = HardwareInfo(8, 16, 64 * GIB, 60 * GIB, (), "Linux", "x86_64")
    plain = plan_offload(a30b_a3b(), cpu, n_ctx=8192, gpu_offload_supported=False)
    assert plain.fits and plain.n_gpu_layers == 0 and plain.cpu_moe_layers == 0
    dense = a30b_a3b()
    dense.metadata.pop("qwen3moe.expert_count")
    with pytest.raises(ConfigError, match="not a mixture-of-experts model"):
        plan_offload(dense, laptop(), n_ctx=8192, gpu_offload_supported=True, cpu_moe=4)


# -- the command line --------------------------------------------------------------------------
def hearth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_hearth_plan_shows_the_experts_and_refuses_cpu_moe_on_a_dense_model(
    tiny_moe: Path, smol_model: Path
) -> None:
    shown = hearth("plan", str(tiny_moe), "--cpu-moe", "3")
    assert shown.returncode == 0, shown.stderr
    assert "  experts      3 of 4 layers in RAM" in shown.stdout
    payload = json.loads(hearth("plan", str(tiny_moe), "--cpu-moe", "3", "--json").stdout)
    assert (payload["plan"]["cpu_moe_layers"], payload["plan"]["moe_layers"]) == (3, 4)
    refused = hearth("plan", str(smol_model), "--cpu-moe", "2")
    assert refused.returncode != 0
    assert "is not a mixture-of-experts model; --cpu-moe applies only to those." in refused.stderr
    bad = hearth("plan", str(tiny_moe), "--cpu-moe", "many")
    assert bad.returncode == 2 and "'auto'" in bad.stderr
