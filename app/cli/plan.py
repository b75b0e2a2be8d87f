"""``hearth plan``: will a model fit, and how many layers go to the GPU?"""

from __future__ import annotations

import argparse
import json

from app.catalog.library import CHAT
from app.cli.args import overrides_from_args
from app.composition.context import open_app_context
from app.composition.options import load_options
from app.core.errors import HearthError
from app.core.gguf_meta import GGUFInfo, read_gguf
from app.engine.hardware import build_backend, llama_supports_gpu_offload, probe_hardware
from app.engine.planner import OffloadPlan, format_memory, plan_offload


def _describe(plan: OffloadPlan, kv_type: str = "f16") -> str:
    headline = plan.explain() if not plan.fits else f"{plan.model_name}: {plan.explain()}"
    lines = [
        headline,
        f"  context      {plan.n_ctx} tokens",
        f"  GPU layers   {plan.n_gpu_layers} of {plan.n_layers} ({plan.backend})",
        f"  weights      {format_memory(plan.weights_bytes)}",
        f"  KV cache     {format_memory(plan.kv_bytes)} ({kv_type})",
        f"  compute      {format_memory(plan.compute_bytes)}",
        f"  other        {format_memory(plan.overhead_bytes)}",
        f"  on the GPU   {format_memory(plan.gpu_bytes)}",
        f"  in RAM       {format_memory(plan.cpu_bytes)}"
        f" (of {format_memory(plan.ram_free_bytes)} free)",
    ]
    if plan.projector_bytes:
        where = "on the GPU" if plan.projector_on_gpu else "in RAM"
        lines.insert(7, f"  projector    {format_memory(plan.projector_bytes)} ({where})")
    if plan.moe_layers:
        lines.insert(
            3,
            f"  experts      {plan.cpu_moe_layers} of {plan.moe_layers} layers in RAM"
            f" ({format_memory(plan.experts_ram_bytes)})",
        )
    return "\n".join(lines)


def _projector(path: str | None) -> GGUFInfo | None:
    """The vision projector's header, counted in the plan; None without a usable one (the
    model then loads text only, as the engine says)."""
    if not path:
        return None
    try:
        return read_gguf(path)
    except HearthError:
        return None


def run_plan(args: argparse.Namespace) -> int:
    context = open_app_context(verbose=args.verbose)
    entry = context.library.resolve(args.model, CHAT)
    info = read_gguf(entry.path)
    hardware = probe_hardware()
    supported = llama_supports_gpu_offload()
    # The options hearth chat, the window and voice would load it with.
    options = load_options(entry, context.settings, overrides_from_args(args))
    from app.engine.kv_cache import kv_setup

    plan = plan_offload(
        info,
        hardware,
        n_ctx=options.n_ctx,
        gpu_layers=options.n_gpu_layers,
        flash_attn=kv_setup(options.kv_type, options.flash_attn).flash_attn,
        cache_type_k=options.kv_type,
        cache_type_v=options.kv_type,
        gpu_offload_supported=supported,
        backend=build_backend(),
        projector=_projector(options.mmproj),
        cpu_moe=options.cpu_moe,
    )
    if args.json:
        payload = {
            "plan": {**plan.to_dict(), "kv_type": options.kv_type},
            "hardware": hardware.to_dict(),
            "gpu_offload": supported,
        }
        print(json.dumps(payload, indent=2))
    else:
        print(_describe(plan, options.kv_type))
    return 0 if plan.fits else 1
