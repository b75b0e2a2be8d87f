"""The offload planner counts a draft model (engine.planner ``draft=``): its weights, KV
cache and buffers, in RAM or with all its layers on the GPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.gguf_meta import read_gguf
from app.engine.hardware import GIB, GPUInfo, HardwareInfo
from app.engine.planner import format_memory, plan_offload
from tests.fixtures.draft_gguf import write_starter_draft
from tests.fixtures.models import smollm2_path


def _machine(gpu_free_gib: float = 0) -> HardwareInfo:
    gpus = (GPUInfo(0, "Test GPU", "nvidia", 24 * GIB, int(gpu_free_gib * GIB)),)
    return HardwareInfo(8, 16, 32 * GIB, 16 * GIB, gpus if gpu_free_gib else (), "Linux", "x86_64")


@pytest.fixture(scope="module")
def draft_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_starter_draft(tmp_path_factory.mktemp("plan") / "starter-draft.gguf", 6)


@pytest.mark.parametrize("gpu_free_gib", [0, 20])
def test_the_plan_counts_the_draft(draft_path: Path, gpu_free_gib: float) -> None:
    info, draft = read_gguf(smollm2_path()), read_gguf(draft_path)
    kwargs = {"n_ctx": 2048, "gpu_offload_supported": gpu_free_gib > 0}
    alone = plan_offload(info, _machine(gpu_free_gib), **kwargs)  # type: ignore[arg-type]
    both = plan_offload(info, _machine(gpu_free_gib), draft=draft, **kwargs)  # type: ignore[arg-type]
    assert alone.draft_bytes == 0
    # Its weights (the file's tensors) and a KV cache of 6 blocks at 2048 cells, at least.
    kv = 6 * 2048 * 2 * 3 * 64 * 2  # blocks x cells x (K and V) x heads x head size x f16
    assert both.draft_bytes > draft.tensor_bytes + kv
    assert both.total_bytes == alone.total_bytes + both.draft_bytes
    assert both.draft_on_gpu is (gpu_free_gib > 0)
    assert both.n_gpu_layers == alone.n_gpu_layers  # the main model's layers come first
    where = "on the GPU" if gpu_free_gib else "in RAM"
    assert f"; draft model {format_memory(both.draft_bytes)} {where}" in both.explain()
