"""How many layers to offload to the GPU, and whether a model fits at all.

The estimate follows what llama.cpp (the build vendored in llama-cpp-python 0.3.36)
allocates, read from its source:

* **Weights** come from the GGUF tensor table. ``n_gpu_layers = k`` offloads the
  *output layer first* and then the last ``k - 1`` blocks (llama-model.cpp:
  ``i_gpu_start = n_layer + 1 - n_gpu_layers``; the output layer has index
  ``n_layer``), so a 30-block model has 31 offloadable layers. The token embedding
  always stays on the CPU; a model without ``output.weight`` (tied embeddings) puts a
  second copy of ``token_embd`` on the GPU once the output layer is offloaded. On the
  CPU, Q4_0/Q4_K/IQ4_NL matrices (x86) are repacked into an interleaved copy
  (CPU_REPACK); the mmapped originals stay in RSS until the kernel needs the memory,
  but they are clean file pages that are never read again, so they are not counted.
* **KV cache** per layer: ``cells x (n_head_kv x key_length + n_head_kv x value_length)``
  at the cache type's size, with ``n_ctx`` padded to 256 cells. Sliding-window layers
  (gemma2/3, gpt-oss, cohere2, ...) hold ``pad256(min(n_ctx, n_swa + n_ubatch))`` cells
  unless ``swa_full``, which llama.cpp's context defaults turn on (llama-cpp-python
  passes ``swa_full=None``, i.e. the default, so full-size it is).
* **Compute buffers**: llama.cpp reserves the worst-case graph, a full ubatch with
  every token producing logits, so the buffer is the largest of the logits block
  (``n_vocab x n_ubatch`` floats), the attention block (``n_head x n_kv x n_ubatch``
  floats for KQ without flash attention, plus the mask) and the FFN block. A GPU
  allocates all of it. System RAM only holds the pages a graph really writes, and with
  one logits row per batch (llama-cpp-python's default) the logits block is never
  touched; instead the CPU backend's work buffer converts KQ to f16 for the KQ x V
  product (``n_head x n_kv x n_ubatch x 2`` bytes, CUDA's pool does the same on a GPU).
* **Overhead**: the vocabulary (about 168 bytes per token plus 190 per BPE merge,
  measured), llama-cpp-python's per-token arrays, the logits output buffer and a few MiB
  of runtime state.

The numbers are calibrated against llama.cpp's own buffer logs and against measured
RSS (``tests/bench/bench_planner_memory.py``): within a few per cent on the CPU with a
context filled to the last cell. On the GPU the same formulas plus ``GPU_RUNTIME_BYTES``
are within 3 % of NVML's figures on an H200 (``tests/bench/bench_gpu.py``), for a build
with llama.cpp's virtual-memory pool; a GGML_CUDA_NO_VMM build's pool keeps every
buffer a growing context outgrew, which no formula here covers. Recurrent state (Mamba,
RWKV and hybrids) is not modelled.

A vision projector (``mmproj``, see :func:`projector_memory`) adds its weights, which
libmtmd reads into its own buffer (not mmapped), and the compute buffer of one image
through its encoder. It goes on the GPU when the model uses the GPU and there is room
left after the layers, else in RAM (layers first: they run for every token, the
projector once per image).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from app.core.errors import ConfigError, InvalidModelError, ModelTooLargeError
from app.core.gguf_meta import GGUFInfo
from app.core.i18n import translate
from app.engine.hardware import GIB, MIB, GPUInfo, HardwareInfo

# ggml cache types: (elements per block, bytes per block).
CACHE_TYPES: dict[str, tuple[int, int]] = {
    "f32": (1, 4),
    "f16": (1, 2),
    "bf16": (1, 2),
    "q8_0": (32, 34),
    "q5_1": (32, 24),
    "q5_0": (32, 22),
    "q4_1": (32, 20),
    "q4_0": (32, 18),
    "iq4_nl": (32, 18),
}
_QUANTIZED_CACHE = {name for name, (block, _) in CACHE_TYPES.items() if block > 1}

# llama.cpp rounds the context (and each sequence's share of it) up to 256 cells, and
# the sliding-window cache too (llama-context.cpp, llama-kv-cache-iswa.cpp).
CTX_PAD = 256

# Default sliding-window layer patterns, used when the GGUF has no
# ``attention.sliding_window_pattern``: (n_pattern, dense_first) as each model's
# load_swa_pattern() call passes them. With dense_first=False every n-th layer
# (il % n == n - 1) is a full-attention layer; with True it is il % n == 0.
# Architectures not listed get full-size caches on every layer, which is what
# llama.cpp does for phi3 and what over-estimates safely elsewhere.
SWA_PATTERNS: dict[str, tuple[int, bool]] = {
    "gemma2": (2, False),
    "gemma3": (6, False),
    "gemma3n": (5, False),
    "cohere2": (4, False),
    "cohere2moe": (4, True),
    "exaone4": (4, False),
    "exaone-moe": (4, False),
    "gpt-oss": (2, False),
    "olmo2": (4, False),
    "afmoe": (4, False),
    "mellum": (4, False),
    "muse-glimmer": (4, False),
    "plamo3": (8, False),
    "smallthinker": (4, True),
    "laguna": (4, True),
}

_INPUT_TENSORS = ("token_embd.", "position_embd.", "token_types.", "per_layer_token_embd.")

# Runtime overhead measured with llama-cpp-python 0.3.36 (SmolLM2 with a 49k BPE
# vocabulary, Gemma 3 with a 262k SentencePiece one): llama_vocab's token table and
# piece cache, its BPE merge ranks, and llama-cpp-python's per-token candidate array.
VOCAB_BYTES_PER_TOKEN = 168 + 12
VOCAB_BYTES_PER_MERGE = 190
RUNTIME_BYTES = 5 * MIB  # graph metadata, scheduler, sampler, Python objects
# GPU memory a process takes beyond llama.cpp's buffers and the CUDA context once it
# computes (cuBLAS's handle and workspace, kernel images, the pool's granularity):
# 171 MiB measured on an H200 (CUDA 13, llama.cpp's virtual-memory pool) with the starter
# model at 2048 tokens, all layers; the other 11 measured configurations (both starter
# models, 2k to 32k, all or half of the layers) then land within 3 %
# (tests/bench/bench_gpu.py; the figures are kept in tests/bench/data/).
GPU_RUNTIME_BYTES = 171 * MIB

_ARRAY_FORMATS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q"}
_ARRAY_FORMATS |= {11: "q", 12: "d"}


def gpu_margin(gpu: GPUInfo) -> int:
    """VRAM left unused: room for the CUDA context (524 MiB measured on an H200, about
    300 MiB on smaller GPUs) and allocator slack. A tenth of the card, at most 1.5 GiB:
    a tenth of an H200 (14 GiB) kept a 1.4 GiB model off a GPU with 14 GiB free."""
    return max(512 * MIB, min(gpu.total_bytes // 10, 1536 * MIB))


def ram_margin(hardware: HardwareInfo) -> int:
    """RAM left for the window, the OS and estimate error."""
    return max(256 * MIB, hardware.total_ram_bytes // 20)


@dataclass(frozen=True)
class OffloadPlan:
    """Where a model's memory goes for one load. Bytes throughout.

    ``n_gpu_layers`` is the value for ``Llama(n_gpu_layers=...)``; ``n_layers`` counts
    the offloadable layers (blocks + the output layer). ``gpu_bytes`` is what the GPU
    must allocate; ``cpu_bytes`` is the RAM the process will keep resident.
    """

    model_name: str
    backend: str
    device_name: str | None
    n_gpu_layers: int
    n_layers: int
    gpu_bytes: int
    cpu_bytes: int
    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    overhead_bytes: int
    n_ctx: int
    fits: bool
    gpu_free_bytes: int | None
    ram_free_bytes: int
    reason: str  # why not everything is on the GPU, or why it does not fit
    projector_bytes: int = 0  # a vision projector's weights and compute buffer (in the above)
    projector_on_gpu: bool = False
    # MoE models (engine.moe): the expert tensors of the first ``cpu_moe_layers`` of the
    # ``moe_layers`` expert blocks stay in RAM, ``experts_ram_bytes`` of them.
    cpu_moe_layers: int = 0
    moe_layers: int = 0
    experts_ram_bytes: int = 0
    # Speculative decoding's draft model (engine.draft_model): its weights, KV cache and
    # buffers (in the above), all its layers on the GPU where the main model's all are
    # and room is left, else in RAM.
    draft_bytes: int = 0
    draft_on_gpu: bool = False

    @property
    def total_bytes(self) -> int:
        return self.gpu_bytes + self.cpu_bytes

    def explain(self) -> str:
        """One line for the log or the status bar; for a plan that does not fit, a
        sentence that says what to do."""
        # Translated sentences filled in (app.core.i18n): the window shows them in its
        # language, the worker and the CLI in English.
        if not self.fits:
            return self.reason
        ram = translate("Plan", "{used} of {free} free RAM").format(
            used=format_memory(self.cpu_bytes), free=format_memory(self.ram_free_bytes)
        )
        projector = draft = ""
        if self.projector_bytes:
            projector = (
                translate("Plan", "; vision projector {size} on the GPU")
                if self.projector_on_gpu
                else translate("Plan", "; vision projector {size} in RAM")
            ).format(size=format_memory(self.projector_bytes))
        if self.draft_bytes:
            draft = (
                translate("Plan", "; draft model {size} on the GPU")
                if self.draft_on_gpu
                else translate("Plan", "; draft model {size} in RAM")
            ).format(size=format_memory(self.draft_bytes))
        if self.n_gpu_layers == 0:
            return translate("Plan", "CPU only: {reason}; needs {ram}{projector}{draft}").format(
                reason=self.reason, ram=ram, projector=projector, draft=draft
            )
        gpu = translate("Plan", "{used} of {free} free").format(
            used=format_memory(self.gpu_bytes), free=format_memory(self.gpu_free_bytes or 0)
        )
        if self.cpu_moe_layers:
            # All (or most) layers on the GPU, the experts of the first blocks in RAM.
            layers = (
                ""
                if self.n_gpu_layers >= self.n_layers
                else translate("Plan", "; {k} of {n} layers on the GPU").format(
                    k=self.n_gpu_layers, n=self.n_layers
                )
            )
            return translate(
                "Plan",
                "experts of {moe} of {blocks} layers in RAM: {experts} ({ram} in all){layers}; "
                "the rest on the GPU ({device}): {gpu}{projector}{draft}",
            ).format(
                moe=self.cpu_moe_layers,
                blocks=self.moe_layers,
                experts=format_memory(self.experts_ram_bytes),
                ram=ram,
                layers=layers,
                device=self.device_name,
                gpu=gpu,
                projector=projector,
                draft=draft,
            )
        if self.n_gpu_layers >= self.n_layers:
            return translate(
                "Plan", "all {n} layers on the GPU ({device}), {gpu}{projector}{draft}"
            ).format(
                n=self.n_layers, device=self.device_name, gpu=gpu, projector=projector, draft=draft
            )
        return translate(
            "Plan",
            "{k} of {n} layers on the GPU ({device}), {gpu}; "
            "the rest needs {ram}{projector}{draft}",
        ).format(
            k=self.n_gpu_layers,
            n=self.n_layers,
            device=self.device_name,
            gpu=gpu,
            ram=ram,
            projector=projector,
            draft=draft,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["explanation"] = self.explain()
        return data


def ensure_fits(plan: OffloadPlan) -> OffloadPlan:
    """Return ``plan``, or raise ModelTooLargeError with its explanation."""
    if not plan.fits:
        raise ModelTooLargeError(plan.explain())
    return plan


_BACKEND_LABELS = {
    "cuda": "CUDA",
    "metal": "Metal",
    "vulkan": "Vulkan",
    "rocm": "ROCm",
    "sycl": "SYCL",
}


def plan_offload(
    info: GGUFInfo,
    hardware: HardwareInfo,
    *,
    n_ctx: int,
    gpu_layers: int | None = None,
    gpu_offload_supported: bool,
    backend: str | None = None,
    cache_type_k: str = "f16",
    cache_type_v: str = "f16",
    n_batch: int = 512,
    n_ubatch: int = 512,
    n_seq: int = 1,
    flash_attn: bool | None = False,
    swa_full: bool = True,
    projector: GGUFInfo | None = None,
    cpu_moe: int | None = None,
    draft: GGUFInfo | None = None,
) -> OffloadPlan:
    """Estimate memory for loading ``info`` (and its vision ``projector``, the header of
    an mmproj GGUF) and choose ``n_gpu_layers``.

    Defaults mirror ``llama_cpp.Llama()`` in 0.3.36 (n_batch = n_ubatch = 512, f16
    cache, flash attention off, llama.cpp's default full-size SWA cache).
    ``n_ctx=0`` means the model's training context. ``gpu_layers``: None picks the
    most layers that fit the best GPU, -1 asks for all, N asks for N. ``backend`` names
    the GPU build ("cuda", "metal", ...) for the plan; by default it follows the GPU's
    vendor. A GPU build without a usable device (``gpu_offload_supported`` False)
    plans for the CPU and says which GPU it looked for. Only the GPU with the most free
    memory is planned for, which under-uses a multi-GPU machine but never over-commits
    one.

    ``cpu_moe`` (mixture-of-experts models): keep the expert tensors of the first N expert
    blocks in RAM; None lets the planner choose, with a GPU, the fewest that let every
    layer on the GPU (0 when all fits; without a GPU, 0).

    ``draft``: speculative decoding's draft model (its header), counted with the main
    model at the same context: on the GPU when all the main model's layers are and room
    is left (layers first: the main model verifies every token), else in RAM.
    """
    from app.engine.moe import check_cpu_moe

    moe_asked = check_cpu_moe(info, cpu_moe)
    if n_ctx < 0 or n_batch < 1 or n_ubatch < 1 or n_seq < 1:
        raise ConfigError(
            translate(
                "Errors",
                "The context size must be 0 or more and the batch sizes and sequence "
                "count at least 1; check the model settings.",
            )
        )
    if gpu_layers is not None and gpu_layers < -1:
        raise ConfigError(
            translate(
                "Errors",
                "GPU layers must be -1 (all), 0 or more, or auto; check the model settings.",
            )
        )
    for name in (cache_type_k, cache_type_v):
        if name not in CACHE_TYPES:
            raise ConfigError(
                translate(
                    "Errors",
                    "Unknown KV cache type {name!r}; use one of {types}.",
                ).format(name=name, types=", ".join(CACHE_TYPES))
            )
    if cache_type_v in _QUANTIZED_CACHE and flash_attn is False:
        raise ConfigError(
            translate(
                "Errors",
                "A {cache_type_v} V cache needs flash attention; turn flash attention on "
                "or use f16.",
            ).format(cache_type_v=cache_type_v)
        )

    model = _Model.from_gguf(info)
    shape = _Shape.resolve(
        model,
        n_ctx=n_ctx,
        n_batch=n_batch,
        n_ubatch=n_ubatch,
        n_seq=n_seq,
        flash_attn=flash_attn,
        swa_full=swa_full,
        type_k=cache_type_k,
        type_v=cache_type_v,
    )
    gpu = hardware.best_gpu if gpu_offload_supported else None
    n_layers = model.n_layer + 1
    ram_budget = hardware.available_ram_bytes - ram_margin(hardware)
    common: dict[str, Any] = {
        "cpu_moe": moe_asked or 0,
        "backend": backend,
        "ram_budget": ram_budget,
        "projector": (
            projector_memory(projector, flash_attn=flash_attn is not False)
            if projector is not None
            else (0, 0)
        ),
        "draft": _draft_splits(draft, n_ctx=shape.n_ctx) if draft is not None else None,
    }

    if gpu_layers is None:
        requested = None
    elif gpu_layers == -1:
        requested = n_layers
    else:
        requested = min(gpu_layers, n_layers)

    reason: str
    if gpu is None:
        if gpu_offload_supported:
            reason = translate("Plan", "no supported GPU found")
        elif backend and backend != "cpu":
            # A GPU build whose device list is empty: no GPU, or no driver for it.
            label = _BACKEND_LABELS.get(backend, backend)
            reason = translate(
                "Plan", "this llama.cpp is built for {backend}, but no {backend} GPU was found"
            ).format(backend=label)
        else:
            reason = translate("Plan", "no GPU offload in this llama.cpp build")
        if requested == 0:
            reason = translate("Plan", "GPU layers are set to 0")
        return _finish(
            model, shape=shape, hardware=hardware, gpu=None, k=0, **common, reason=reason
        )

    gpu_budget = gpu.free_bytes - gpu_margin(gpu)

    unified = gpu.unified_memory

    def fits(k: int, n_moe: int) -> bool:
        gpu_bytes, cpu_bytes, _ = _split(model, shape, k, n_moe)
        if unified:
            return gpu_bytes <= gpu_budget and gpu_bytes + cpu_bytes <= ram_budget
        return gpu_bytes <= gpu_budget and (n_moe == 0 or cpu_bytes <= ram_budget)

    if moe_asked is None and model.moe_layers:
        # The fewest expert blocks in RAM that let the asked layers (all, by default)
        # fit the GPU: attention and the shared weights run every token, an expert
        # rarely. None fits: every expert in RAM, and fewer layers if need be.
        target = n_layers if requested is None else requested
        choice = next(
            (n for n in range(model.moe_layers + 1) if target and fits(target, n)),
            model.moe_layers if target else 0,
        )
        common["cpu_moe"] = choice
        if choice and fits(target, choice):
            return _finish(
                model, shape=shape, hardware=hardware, gpu=gpu, k=target, **common, reason=""
            )
    if requested is not None:
        reason = translate("Plan", "GPU layers are set to 0") if requested == 0 else ""
        if 0 < requested < n_layers:
            reason = translate("Plan", "GPU layers are set to {n}").format(n=requested)
        return _finish(
            model, shape=shape, hardware=hardware, gpu=gpu, k=requested, **common, reason=reason
        )

    # Auto: the most layers whose GPU share fits the budget (GPU bytes grow with k).
    for k in range(n_layers, 0, -1):
        if fits(k, common["cpu_moe"]):
            reason = (
                ""
                if k == n_layers
                else translate("Plan", "only {k} layers fit in {free} free").format(
                    k=k, free=format_memory(gpu.free_bytes)
                )
            )
            return _finish(
                model, shape=shape, hardware=hardware, gpu=gpu, k=k, **common, reason=reason
            )
    reason = translate("Plan", "not even one layer fits in the {gpu}'s {free} free memory").format(
        gpu=gpu.name, free=format_memory(gpu.free_bytes)
    )
    return _finish(model, shape=shape, hardware=hardware, gpu=gpu, k=0, **common, reason=reason)


def _finish(
    model: _Model,
    *,
    shape: _Shape,
    hardware: HardwareInfo,
    gpu: GPUInfo | None,
    k: int,
    backend: str | None,
    reason: str,
    ram_budget: int,
    projector: tuple[int, int] = (0, 0),
    cpu_moe: int = 0,
    draft: tuple[_Split, _Split] | None = None,
) -> OffloadPlan:
    on_gpu = gpu is not None and k > 0
    k = k if on_gpu else 0
    gpu_bytes, cpu_bytes, parts = _split(model, shape, k, cpu_moe)
    projector_bytes = sum(projector)
    projector_on_gpu = False
    if projector_bytes:
        parts["weights"] += projector[0]
        parts["compute"] += projector[1]
        if on_gpu and gpu is not None:
            room = gpu.free_bytes - gpu_margin(gpu) - gpu_bytes
            ram_room = ram_budget - cpu_bytes - gpu_bytes if gpu.unified_memory else room
            projector_on_gpu = projector_bytes <= min(room, ram_room)
        if projector_on_gpu:
            gpu_bytes += projector_bytes
        else:
            cpu_bytes += projector_bytes
    draft_bytes, draft_on_gpu = 0, False
    if draft is not None:
        on_cpu, all_gpu = draft
        if on_gpu and gpu is not None and k >= model.n_layer + 1:
            room = gpu.free_bytes - gpu_margin(gpu) - gpu_bytes
            ram_room = ram_budget - cpu_bytes - gpu_bytes if gpu.unified_memory else room
            draft_on_gpu = all_gpu[0] <= min(room, ram_room)
        chosen = all_gpu if draft_on_gpu else on_cpu
        gpu_bytes += chosen[0]
        cpu_bytes += chosen[1]
        for key, value in chosen[2].items():
            parts[key] += value
        draft_bytes = chosen[0] + chosen[1]
    gpu_ok = True
    if on_gpu and gpu is not None:
        gpu_ok = gpu_bytes <= gpu.free_bytes - gpu_margin(gpu)
    ram_need = cpu_bytes + (gpu_bytes if on_gpu and gpu is not None and gpu.unified_memory else 0)
    ram_ok = ram_need <= ram_budget
    if not gpu_ok and gpu is not None:
        reason = translate(
            "Plan",
            "{model} needs {need} of GPU memory with {k} layers offloaded at a context of "
            "{ctx} tokens, but the {gpu} has {free} free; set GPU layers to auto or lower them.",
        ).format(
            model=model.name,
            need=format_memory(gpu_bytes),
            k=k,
            ctx=shape.n_ctx,
            gpu=gpu.name,
            free=format_memory(gpu.free_bytes),
        )
    elif not ram_ok:
        reason = translate(
            "Plan",
            "{model} needs {need} of RAM at a context of {ctx} tokens, but only {free} is free; "
            "close other programs, choose a shorter context or a smaller quantisation.",
        ).format(
            model=model.name,
            need=format_memory(ram_need),
            ctx=shape.n_ctx,
            free=format_memory(hardware.available_ram_bytes),
        )
    if on_gpu and gpu is not None:
        name = backend or {"nvidia": "cuda", "apple": "metal"}.get(gpu.vendor, "gpu")
    else:
        name = "cpu"
    return OffloadPlan(
        model_name=model.name,
        backend=name,
        device_name=gpu.name if on_gpu and gpu is not None else None,
        n_gpu_layers=k if on_gpu else 0,
        n_layers=model.n_layer + 1,
        gpu_bytes=gpu_bytes if on_gpu else 0,
        cpu_bytes=cpu_bytes,
        weights_bytes=parts["weights"],
        kv_bytes=parts["kv"],
        compute_bytes=parts["compute"],
        overhead_bytes=parts["overhead"],
        n_ctx=shape.n_ctx,
        fits=gpu_ok and ram_ok,
        gpu_free_bytes=gpu.free_bytes if gpu is not None else None,
        ram_free_bytes=hardware.available_ram_bytes,
        reason=reason,
        projector_bytes=projector_bytes,
        projector_on_gpu=projector_on_gpu,
        cpu_moe_layers=min(cpu_moe, model.moe_layers),
        moe_layers=model.moe_layers,
        experts_ram_bytes=sum(model.expert_bytes[il] for il in model.first_experts(cpu_moe)),
        draft_bytes=draft_bytes,
        draft_on_gpu=draft_on_gpu,
    )


_Split = tuple[int, int, dict[str, int]]  # _split's (gpu_bytes, cpu_bytes, totals)


def _draft_splits(info: GGUFInfo, *, n_ctx: int) -> tuple[_Split, _Split]:
    """A draft model's memory all in RAM, and with all its layers on the GPU: loaded as
    engine.draft_model loads it (the main model's context, llama-cpp-python's defaults
    otherwise: f16 cache, flash attention off, batches of 512)."""
    model = _Model.from_gguf(info)
    shape = _Shape.resolve(
        model,
        n_ctx=n_ctx,
        n_batch=512,
        n_ubatch=512,
        n_seq=1,
        flash_attn=False,
        swa_full=True,
        type_k="f16",
        type_v="f16",
    )
    return _split(model, shape, 0), _split(model, shape, model.n_layer + 1)


# -- a vision projector --------------------------------------------------------------------
# Patches one encoder pass is planned for: one image at the size the projector declares,
# capped for dynamic-resolution encoders (libmtmd caps their warm-up image likewise).
PROJECTOR_MAX_PATCHES = 4096


def projector_memory(info: GGUFInfo, *, flash_attn: bool = True) -> tuple[int, int]:
    """``(weights, compute)`` bytes of a vision projector (an mmproj GGUF's header).

    libmtmd reads the weights into its own buffer (RAM or VRAM, not mmapped). Its compute
    buffer is reserved for one image: per patch (and class token), the residual stream
    with Q, K and V and the FFN's activation in f32, plus the f16 im2col rows of the patch
    embedding; without flash attention the f32 KQ matrix (``n_head x n_tok^2``) too.
    Measured against libmtmd's "compute buffer size" log (llama-cpp-python 0.3.36, CPU)
    for encoders 128-512 wide at 224-896 pixels: 6-16 % over with flash attention (the
    default: libmtmd enables it wherever the backend has it), 9-22 % over without
    (tests/vision/test_projector_planner.py keeps the figures).
    """
    meta = info.metadata
    prefix = "clip.vision" if "clip.vision.embedding_length" in meta else "clip.audio"
    n_embd = int(meta.get(f"{prefix}.embedding_length", 0) or 0)
    n_ff = int(meta.get(f"{prefix}.feed_forward_length", 0) or 0) or 4 * n_embd
    n_head = int(meta.get(f"{prefix}.attention.head_count", 0) or 0) or max(1, n_embd // 64)
    image = int(meta.get("clip.vision.image_size", 0) or 0)
    patch = int(meta.get("clip.vision.patch_size", 0) or 0)
    patches = (image // patch) ** 2 if image and patch else PROJECTOR_MAX_PATCHES // 4
    tokens = min(patches, PROJECTOR_MAX_PATCHES) + 1
    per_token = 4 * (3 * n_embd + n_ff) + 2 * 3 * max(patch, 1) ** 2
    compute = tokens * per_token + (0 if flash_attn else 4 * n_head * tokens * tokens)
    return info.tensor_bytes, compute


# -- the model, as the estimate needs it ---------------------------------------------------
@dataclass(frozen=True)
class _Model:
    name: str
    n_ctx_train: int
    n_layer: int
    n_embd: int
    n_vocab: int
    n_merges: int
    n_head: tuple[int, ...]
    n_head_kv: tuple[int, ...]
    k_len: tuple[int, ...]
    v_len: tuple[int, ...]  # 0 for MLA caches, which store no V
    is_swa: tuple[bool, ...]
    n_swa: int
    n_ff: int  # widest FFN activation per token (dense, or experts used x expert width)
    layer_bytes: tuple[int, ...]
    input_bytes: int  # token embedding & co: always on the CPU
    output_bytes: int  # output head and final norms
    tied_output_bytes: int  # token_embd copy the GPU needs when the head is tied
    expert_bytes: tuple[int, ...] = ()  # per block: its *_exps tensors (MoE; 0 if dense)

    @property
    def moe_layers(self) -> int:
        return sum(1 for size in self.expert_bytes if size)

    def first_experts(self, n: int) -> list[int]:
        """The first ``n`` blocks holding experts (``--cpu-moe n`` keeps them in RAM)."""
        return [il for il, size in enumerate(self.expert_bytes) if size][: max(0, n)]

    @classmethod
    def from_gguf(cls, info: GGUFInfo) -> _Model:
        n_layer = info.block_count
        n_embd = int(info.arch_value("embedding_length", 0) or 0)
        if n_layer <= 0 or n_embd <= 0:
            raise InvalidModelError(
                translate(
                    "Errors",
                    "{file} does not describe a transformer (no block_count or "
                    "embedding_length in its header), so Hearth cannot plan its memory.",
                ).format(file=info.path.name)
            )
        n_head = _per_layer(info, "attention.head_count", n_layer, 0)
        n_head_kv = _per_layer(info, "attention.head_count_kv", n_layer, None) or n_head
        head0 = max(n_head) or 1
        k_full = int(info.arch_value("attention.key_length", n_embd // head0) or 0)
        v_full = int(info.arch_value("attention.value_length", n_embd // head0) or 0)
        k_swa = int(info.arch_value("attention.key_length_swa", k_full) or 0)
        v_swa = int(info.arch_value("attention.value_length_swa", v_full) or 0)
        if info.arch_value("attention.key_length_mla") is not None:
            v_full = v_swa = 0  # MLA caches the compressed K only; V is a view of it
        n_swa = int(info.arch_value("attention.sliding_window", 0) or 0)
        is_swa = _swa_layers(info, n_layer, n_swa)
        shared = int(info.arch_value("attention.shared_kv_layers", 0) or 0)
        if shared:  # gemma3n/gemma4: the last layers reuse earlier layers' caches
            n_head_kv = [h if il < n_layer - shared else 0 for il, h in enumerate(n_head_kv)]

        n_expert_used = int(info.arch_value("expert_used_count", 0) or 0)
        n_ff_exp = int(info.arch_value("expert_feed_forward_length", 0) or 0)
        n_ff_dense = _per_layer(info, "feed_forward_length", n_layer, 0)
        n_ff = max(*n_ff_dense, n_expert_used * n_ff_exp)

        layer_bytes = [0] * n_layer
        input_bytes = output_bytes = token_embd = 0
        has_output = False
        for tensor in info.tensors:
            layer = tensor.layer
            if layer is not None and layer < n_layer:
                layer_bytes[layer] += tensor.n_bytes
            elif tensor.name.startswith(_INPUT_TENSORS):
                input_bytes += tensor.n_bytes
                if tensor.name == "token_embd.weight":
                    token_embd = tensor.n_bytes
            else:
                output_bytes += tensor.n_bytes
                has_output |= tensor.name == "output.weight"
        from app.engine.moe import expert_bytes_per_layer

        experts = expert_bytes_per_layer(info) if info.arch_value("expert_count") else {}
        merges = info.arrays.get("tokenizer.ggml.merges")
        n_merges = merges.length if merges else len(info.metadata.get("tokenizer.ggml.merges", []))
        return cls(
            name=info.name,
            n_ctx_train=info.context_length,
            n_layer=n_layer,
            n_embd=n_embd,
            n_vocab=info.vocab_size,
            n_merges=n_merges,
            n_head=tuple(n_head),
            n_head_kv=tuple(n_head_kv),
            k_len=tuple(k_swa if swa else k_full for swa in is_swa),
            v_len=tuple(v_swa if swa else v_full for swa in is_swa),
            is_swa=tuple(is_swa),
            n_swa=n_swa,
            n_ff=n_ff,
            layer_bytes=tuple(layer_bytes),
            input_bytes=input_bytes,
            output_bytes=output_bytes,
            tied_output_bytes=0 if has_output else token_embd,
            expert_bytes=tuple(experts.get(il, 0) for il in range(n_layer)),
        )


@dataclass(frozen=True)
class _Shape:
    """The context as llama.cpp will size it."""

    n_ctx: int  # cells, padded
    n_ctx_seq: int  # cells per sequence (stream)
    n_seq: int
    n_ubatch: int
    flash_attn: bool | None
    swa_cells: int  # per stream
    kv_layer: tuple[int, ...]  # bytes per layer

    @classmethod
    def resolve(
        cls,
        model: _Model,
        *,
        n_ctx: int,
        n_batch: int,
        n_ubatch: int,
        n_seq: int,
        flash_attn: bool | None,
        swa_full: bool,
        type_k: str,
        type_v: str,
    ) -> _Shape:
        requested = n_ctx or _training_ctx(model)
        # llama-cpp-python: n_batch = min(n_ctx, n_batch), n_ubatch = min(n_batch, n_ubatch);
        # llama.cpp then pads the context and splits it between sequences.
        batch = min(requested, n_batch)
        ubatch = min(batch, n_ubatch)
        n_ctx_seq = _pad(_pad(requested, CTX_PAD) // n_seq, CTX_PAD)
        ubatch = min(ubatch, n_ctx_seq * n_seq)
        swa_cells = n_ctx_seq if swa_full else min(n_ctx_seq, _pad(model.n_swa + ubatch, CTX_PAD))
        # Without flash attention V is stored transposed, and layers of different V
        # widths are all padded to the widest (llama-kv-cache.cpp, TAG_V_CACHE_VARIABLE).
        v_trans = flash_attn is False
        v_max = max(h * v for h, v in zip(model.n_head_kv, model.v_len, strict=True))
        kv = []
        for il in range(model.n_layer):
            heads = model.n_head_kv[il]
            if heads == 0:
                kv.append(0)
                continue
            cells = (swa_cells if model.is_swa[il] and model.n_swa else n_ctx_seq) * n_seq
            k_row = _row_bytes(type_k, heads * model.k_len[il])
            v_width = (v_max if v_trans else heads * model.v_len[il]) if model.v_len[il] else 0
            kv.append(cells * (k_row + _row_bytes(type_v, v_width)))
        return cls(n_ctx_seq * n_seq, n_ctx_seq, n_seq, ubatch, flash_attn, swa_cells, tuple(kv))


def _split(
    model: _Model, shape: _Shape, k: int, cpu_moe: int = 0
) -> tuple[int, int, dict[str, int]]:
    """``(gpu_bytes, cpu_bytes, totals)`` with ``k`` layers offloaded (output first) and
    the experts of the first ``cpu_moe`` expert blocks in RAM."""
    n_layer = model.n_layer
    first_gpu = n_layer - max(0, min(k, n_layer + 1) - 1) if k > 0 else n_layer
    gpu_blocks = range(first_gpu, n_layer)
    cpu_blocks = range(first_gpu)
    output_on_gpu = k > 0

    gpu_weights = sum(model.layer_bytes[il] for il in gpu_blocks)
    cpu_weights = model.input_bytes + sum(model.layer_bytes[il] for il in cpu_blocks)
    if output_on_gpu:
        gpu_weights += model.output_bytes + model.tied_output_bytes
    else:
        cpu_weights += model.output_bytes
    # Experts kept in RAM: only those of offloaded blocks move (the others are there).
    moved = [il for il in model.first_experts(cpu_moe) if il >= first_gpu]
    moved_bytes = sum(model.expert_bytes[il] for il in moved)
    gpu_weights -= moved_bytes
    cpu_weights += moved_bytes
    gpu_kv = sum(shape.kv_layer[il] for il in gpu_blocks)
    cpu_kv = sum(shape.kv_layer[il] for il in cpu_blocks)

    gpu_compute = 0
    if output_on_gpu:
        # A GPU commits the whole reserved graph, plus its f16 KQ scratch.
        gpu_compute = _reserve(model, shape, gpu_blocks, output=True)
        gpu_compute += _kq_scratch(model, shape, gpu_blocks)
        if cpu_blocks or moved:
            # op offload: big-batch matmuls of CPU layers (and of experts kept in RAM)
            # run on the GPU, which copies the layer's weights into its compute buffer.
            gpu_compute += max(
                [model.layer_bytes[il] for il in cpu_blocks]
                + [model.expert_bytes[il] for il in moved]
            )
    # The host always embeds the input tokens and builds the KQ masks, which are then
    # copied to the GPU: with every layer offloaded this is llama.cpp's "CUDA_Host
    # compute buffer" (12 MiB at 2048 cells, 72 MiB at 32768 for a 7B).
    all_blocks = range(n_layer)
    cpu_compute = shape.n_ubatch * (4 * model.n_embd + _mask_bytes(model, shape, all_blocks))
    if cpu_blocks or not output_on_gpu:
        cpu_compute = max(
            cpu_compute, _resident(model, shape, cpu_blocks, output=not output_on_gpu)
        )
        cpu_compute += _kq_scratch(model, shape, cpu_blocks)
    if moved:  # the CPU runs the experts kept in RAM: their FFN block is its peak
        cpu_compute = max(cpu_compute, _peaks(model, shape, moved)[1])

    overhead = (
        model.n_vocab * 4 * shape.n_seq  # logits output buffer (one row per sequence)
        + model.n_vocab * VOCAB_BYTES_PER_TOKEN
        + model.n_merges * VOCAB_BYTES_PER_MERGE
        + shape.n_ctx * 4  # llama-cpp-python's input_ids
        + RUNTIME_BYTES
    )
    gpu_runtime = GPU_RUNTIME_BYTES if output_on_gpu else 0
    gpu_bytes = gpu_weights + gpu_kv + gpu_compute + gpu_runtime
    cpu_bytes = cpu_weights + cpu_kv + cpu_compute + overhead
    totals = {
        "weights": gpu_weights + cpu_weights,
        "kv": gpu_kv + cpu_kv,
        "compute": gpu_compute + cpu_compute,
        "overhead": overhead + gpu_runtime,
    }
    return gpu_bytes, cpu_bytes, totals


# -- compute buffers -------------------------------------------------------------------------
def _attention_kq(model: _Model, shape: _Shape, layers: Sequence[int]) -> int:
    """Largest ``n_head x n_kv`` over the layers: the KQ matrix per token."""
    widest = 0
    for il in layers:
        if model.n_head_kv[il] == 0:
            continue
        cells = shape.swa_cells if model.is_swa[il] and model.n_swa else shape.n_ctx_seq
        widest = max(widest, model.n_head[il] * cells)
    return widest


def _peaks(model: _Model, shape: _Shape, layers: Sequence[int]) -> tuple[int, int]:
    """``(attention, ffn)`` peak bytes of one ubatch through these layers."""
    ub = shape.n_ubatch
    if not layers:
        return 0, 0
    n_q = max(model.n_head[il] * model.k_len[il] for il in layers)
    n_k = max(model.n_head_kv[il] * model.k_len[il] for il in layers)
    n_v = max(model.n_head_kv[il] * model.v_len[il] for il in layers)
    # Live next to KQ: the residual stream and its norm, the fused QKV output, roped
    # Q and K (and their norms), and the i64 row indices of the transposed V store.
    activations = 2 * model.n_embd + 3 * n_q + 4 * n_k + 2 * n_v
    kq = 0 if shape.flash_attn else 4 * _attention_kq(model, shape, layers)
    attention = ub * (kq + _mask_bytes(model, shape, layers) + 4 * activations)
    ffn = ub * 4 * (2 * model.n_embd + 3 * model.n_ff)
    return attention, ffn


def _mask_bytes(model: _Model, shape: _Shape, layers: Sequence[int]) -> int:
    """KQ mask bytes per token: one row over the full cache, one over the SWA cache
    (f16 with flash attention, else f32)."""
    cells = 0
    if any(not model.is_swa[il] or not model.n_swa for il in layers):
        cells += shape.n_ctx_seq
    if model.n_swa and any(model.is_swa[il] for il in layers):
        cells += shape.swa_cells
    return (2 if shape.flash_attn else 4) * cells


def _output_peak(model: _Model, shape: _Shape, n_outputs: int) -> int:
    return 4 * (model.n_vocab * n_outputs + 2 * model.n_embd * shape.n_ubatch)


def _reserve(model: _Model, shape: _Shape, layers: Sequence[int], *, output: bool) -> int:
    """The compute buffer llama.cpp reserves: every token of a ubatch yields logits."""
    attention, ffn = _peaks(model, shape, layers)
    out = _output_peak(model, shape, shape.n_ubatch) if output else 0
    return max(attention, ffn, out)


def _resident(model: _Model, shape: _Shape, layers: Sequence[int], *, output: bool) -> int:
    """The part of the compute buffer a full context really writes in RAM: one logits
    row per batch, so the attention or FFN block is the peak, not the logits."""
    attention, ffn = _peaks(model, shape, layers)
    out = _output_peak(model, shape, 1) if output else 0
    return min(max(attention, ffn, out), _reserve(model, shape, layers, output=output))


def _kq_scratch(model: _Model, shape: _Shape, layers: Sequence[int]) -> int:
    """KQ converted to f16 for the KQ x V product: the CPU backend's work buffer (or
    CUDA's pool), outside the logged compute buffer. Flash attention needs none."""
    if shape.flash_attn is not False:
        return 0
    return 2 * shape.n_ubatch * _attention_kq(model, shape, layers)


# -- helpers ----------------------------------------------------------------------------------
def _pad(value: int, to: int) -> int:
    return (value + to - 1) // to * to


def _row_bytes(cache_type: str, n: int) -> int:
    block, size = CACHE_TYPES[cache_type]
    return (n + block - 1) // block * size


def _training_ctx(model: _Model) -> int:
    if model.n_ctx_train <= 0:
        raise ConfigError(
            translate(
                "Errors",
                "{model_name} does not say its training context; set a context size explicitly.",
            ).format(model_name=model.name)
        )
    return model.n_ctx_train


def format_memory(n: int) -> str:
    """Memory as the UI shows it: binary GB (as RAM and VRAM are sold), two decimals below 1 GB."""
    value = n / GIB
    return f"{value:.2f} GB" if value < 1 else f"{value:.1f} GB"


def _per_layer(info: GGUFInfo, key: str, n_layer: int, default: int | None) -> list[int]:
    """A hyperparameter that may be one number or one per layer (GGUF arrays); long
    arrays are not kept in ``info.metadata``, so they are read from the file."""
    value = info.arch_value(key)
    if value is None:
        array = info.arrays.get(f"{info.architecture}.{key}")
        value = _read_array(info, array) if array is not None else None
    if value is None:
        return [] if default is None else [default] * n_layer
    if isinstance(value, list):
        numbers = [int(v) for v in value][:n_layer]
        return numbers + [numbers[-1] if numbers else 0] * (n_layer - len(numbers))
    return [int(value)] * n_layer


def _read_array(info: GGUFInfo, array: Any) -> list[Any] | None:
    fmt = _ARRAY_FORMATS.get(array.item_type)
    if fmt is None:
        return None
    with info.path.open("rb") as handle:
        handle.seek(array.start)
        raw = handle.read(array.end - array.start)
    return list(struct.unpack(f"<{array.length}{fmt}", raw))


def _swa_layers(info: GGUFInfo, n_layer: int, n_swa: int) -> list[bool]:
    """Which layers use sliding-window attention (llama-hparams.cpp set_swa_pattern)."""
    if n_swa <= 0:
        return [False] * n_layer
    key = "attention.sliding_window_pattern"
    pattern = info.arch_value(key)
    if pattern is None and f"{info.architecture}.{key}" in info.arrays:
        pattern = _read_array(info, info.arrays[f"{info.architecture}.{key}"])
    if isinstance(pattern, list):
        flags = [bool(v) for v in pattern][:n_layer]
        return flags + [False] * (n_layer - len(flags))
    n_pattern, dense_first = SWA_PATTERNS.get(info.architecture, (0, False))
    if isinstance(pattern, int):
        n_pattern = pattern
    elif info.architecture not in SWA_PATTERNS:
        return [False] * n_layer
    if n_pattern == 0:
        return [True] * n_layer
    if dense_first:
        return [il % n_pattern != 0 for il in range(n_layer)]
    return [il % n_pattern < n_pattern - 1 for il in range(n_layer)]
