"""A load asks the offload planner once: the layers, the vision projector's place and a
MoE model's experts in RAM come from that one plan (the planner probes the hardware, and
after the model loads the GPU's free memory no longer shows the room it planned for)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from app.core.gguf_meta import read_gguf
from app.engine import protocol as p
from app.engine.moe import expert_pattern, first_expert_layers
from tests.fixtures.moe_gguf import write_tiny_moe


class _Pipe:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, event: Any) -> None:
        self.sent.append(event)


def test_a_gpu_plan_is_made_once_and_its_expert_choice_reaches_llama_cpp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real planner's plan for the tiny MoE model, told to put every layer on the GPU
    with the experts of 3 blocks in RAM (as on a small GPU): planned once, and the override
    array the load hands llama.cpp names the experts of exactly those 3 blocks (that
    llama.cpp honours the array is tests/moe/test_moe_offload.py's part)."""
    pytest.importorskip("llama_cpp")
    from app.engine import worker

    model = write_tiny_moe(tmp_path / "tiny-moe-F16.gguf")
    real_plan = worker._plan
    plans: list[Any] = []

    def planned_for_a_small_gpu(info: Any, request: p.LoadModel) -> Any:
        plan = dataclasses.replace(
            real_plan(info, request), n_gpu_layers=info.block_count + 1, cpu_moe_layers=3
        )
        plans.append(plan)
        return plan

    monkeypatch.setattr(worker, "_plan", planned_for_a_small_gpu)
    pipe = _Pipe()
    engine = worker._Worker(pipe)  # type: ignore[arg-type]
    try:
        engine.load(p.LoadModel(request_id=1, path=str(model), n_ctx=256, n_gpu_layers=None))
        loaded = [e for e in pipe.sent if isinstance(e, p.ModelLoaded)]
        assert len(plans) == 1
        assert len(loaded) == 1 and loaded[0].n_gpu_layers == plans[0].n_gpu_layers
        assert loaded[0].plan == plans[0].explain()
        info = read_gguf(model)
        assert engine.moe_overrides is not None
        assert engine.moe_overrides.patterns == (expert_pattern(first_expert_layers(info, 3)),)
    finally:
        engine.unload()
