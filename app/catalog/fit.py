"""Will a quantisation from the Hub run on this machine, and which one to download?

Every language-model variant of a repo gets a verdict from the offload planner
(:func:`app.engine.planner.plan_offload`) at the context Hearth will load it with:

* ``gpu``: "fits on the GPU", every layer offloaded;
* ``partial``: "partial offload, N of M layers";
* ``cpu``: "CPU only" (no usable GPU, or not one layer fits in it);
* ``too_big``: "too big", not even RAM (plus VRAM) holds it.

``basis`` says how the verdict was reached:

* ``header``: exact. The variant's own GGUF header was read with HTTP Range requests
  (:mod:`app.catalog.remote_gguf`), so the planner sees the real tensors and shape.
* ``scaled``: the shape comes from another variant's header in the same repo, and its
  tensor sizes are scaled to this file's size. Quants of one model differ only in bytes
  per weight, so this is within a few per cent; it saves fetching 5-15 MB per variant.
* ``size``: an estimate from the file size alone, with a typical transformer shape for
  the parameter count that the name (``7B``, ``135M``) or the size suggests.

A model that comes with a vision projector (:meth:`RepoFiles.projector_for`) is planned
with it: its weights and compute buffer count in the verdict, from its own header when
it was read (a few hundred KB), else from its size with a typical encoder's shape.

The recommended quant (:func:`recommend`) follows this rule:

1. Candidates are complete language-model variants that are not ``too_big`` and leave
   :data:`HEADROOM` of the memory they draw on (RAM for CPU and partial offload, and
   VRAM for an estimated full offload) for the rest of the system. Free memory moves
   around, and an estimate can be off.
2. Quants under 3 bits per weight (IQ1/IQ2/Q2/TQ) lose too much quality. They are only
   candidates when nothing else fits.
3. If some candidates run entirely on the GPU, the highest quality of those wins, up to
   Q8_0. F16/BF16/F32 double the memory for no gain you can see in chat, so they are
   only taken when nothing smaller runs on the GPU.
4. Otherwise (partial offload or CPU), tokens/s are bound by memory bandwidth, so the
   highest quality up to the Q4_K_M class (5 bits per weight or less) wins. If none of
   those fits, the smallest candidate wins.
5. No candidate means no recommendation. The verdicts say why.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from app.catalog.hub import HubClient, QuantVariant, RepoFiles
from app.core.errors import HearthError
from app.core.gguf_meta import GGUFInfo, TensorInfo
from app.core.i18n import translate
from app.engine.hardware import HardwareInfo
from app.engine.planner import gpu_margin, plan_offload, ram_margin

log = logging.getLogger(__name__)

DEFAULT_CTX = 4096  # Settings.n_ctx's default: the context a new model is loaded with
HEADROOM = 0.15
LOW_BITS = 3.0
GPU_CEILING_BITS = 8.5  # Q8_0
CPU_CEILING_BITS = 5.0  # the Q4_K_M class

Basis = Literal["header", "scaled", "size"]
FitMode = Literal["auto", "exact", "estimate"]

# Approximate bits per weight, used as the quality scale (legacy Q4_0/Q4_1 are placed where
# their perplexity puts them, below the K-quants of the same size).
QUANT_BITS: dict[str, float] = {
    "IQ1_S": 1.56,
    "IQ1_M": 1.75,
    "TQ1_0": 1.69,
    "TQ2_0": 2.06,
    "IQ2_XXS": 2.06,
    "IQ2_XS": 2.31,
    "IQ2_S": 2.5,
    "IQ2_M": 2.7,
    "Q2_K_S": 2.8,
    "Q2_K": 2.96,
    "Q2_K_L": 2.99,
    "Q2_K_XL": 2.99,
    "IQ3_XXS": 3.06,
    "IQ3_XS": 3.3,
    "IQ3_S": 3.44,
    "Q3_K_S": 3.41,
    "IQ3_M": 3.66,
    "Q3_K_M": 3.74,
    "Q3_K_L": 4.03,
    "Q3_K_XL": 4.1,
    "Q4_0": 4.3,
    "IQ4_XS": 4.25,
    "MXFP4": 4.25,
    "MXFP4_MOE": 4.25,
    "IQ4_NL": 4.5,
    "Q4_1": 4.55,
    "Q4_K_S": 4.58,
    "Q4_K_M": 4.89,
    "Q4_K_L": 4.95,
    "Q4_K_XL": 4.98,
    "Q5_0": 5.3,
    "Q5_1": 5.5,
    "Q5_K_S": 5.54,
    "Q5_K_M": 5.69,
    "Q5_K_L": 5.8,
    "Q5_K_XL": 5.9,
    "Q6_K": 6.56,
    "Q6_K_L": 6.6,
    "Q6_K_XL": 6.7,
    "Q8_0": 8.5,
    "Q8_K_XL": 9.0,
    "F16": 16.0,
    "BF16": 16.0,
    "F32": 32.0,
}
_LOW_PREFIXES = ("IQ1", "IQ2", "Q2", "TQ")

# Typical shapes by parameter count, for estimates from size alone:
# (up to params, layers, embedding, heads, KV heads, head dim, FFN width, vocabulary).
# Each row takes the hungrier KV cache of the common models of that size.
_SHAPES: tuple[tuple[float, int, int, int, int, int, int, int], ...] = (
    (0.3e9, 30, 576, 9, 3, 64, 1536, 49152),  # SmolLM2-135M/360M
    (0.8e9, 28, 1024, 16, 8, 128, 3072, 151936),  # Qwen3-0.6B
    (2.5e9, 28, 2048, 16, 8, 128, 8192, 151936),  # Qwen2.5-1.5B, Llama-3.2-1B, Qwen3-1.7B
    (5e9, 36, 3072, 32, 8, 128, 9728, 151936),  # Llama-3.2-3B, Qwen3-4B
    (10e9, 36, 4096, 32, 8, 128, 14336, 151936),  # Llama-3.1-8B, Qwen3-8B
    (16e9, 48, 5120, 40, 8, 128, 17408, 151936),  # Qwen2.5-14B, Qwen3-14B
    (36e9, 64, 5120, 64, 8, 128, 27648, 151936),  # Qwen2.5-32B, Gemma-3-27B
    (80e9, 80, 8192, 64, 8, 128, 28672, 151936),  # Llama-3.3-70B
    (float("inf"), 126, 16384, 128, 8, 128, 53248, 151936),  # Llama-3.1-405B
)
_PARAMS_RE = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)\s?([BM])(?![A-Za-z0-9])", re.IGNORECASE)
_MOE_RE = re.compile(r"(?<![A-Za-z0-9])(\d+)x(\d+(?:\.\d+)?)B(?![A-Za-z0-9])", re.IGNORECASE)


class Verdict(enum.StrEnum):
    GPU = "gpu"
    PARTIAL = "partial"
    CPU = "cpu"
    TOO_BIG = "too_big"


@dataclass(frozen=True)
class QuantFit:
    """The verdict for one variant; bytes throughout."""

    name: str  # the variant's name (repo path without the split suffix)
    quant: str | None
    size_bytes: int
    verdict: Verdict
    n_gpu_layers: int
    n_layers: int
    basis: Basis
    explanation: str  # the planner's sentence
    n_ctx: int
    gpu_bytes: int
    cpu_bytes: int
    roomy: bool  # leaves HEADROOM of the memory it draws on (see the module docstring)
    projector: str | None = None  # the vision projector downloaded with it (variant name)
    projector_bytes: int = 0  # its file size (not in size_bytes)

    @property
    def download_bytes(self) -> int:
        """What a pull downloads: the model and its projector."""
        return self.size_bytes + self.projector_bytes

    @property
    def exact(self) -> bool:
        return self.basis == "header"

    @property
    def label(self) -> str:
        """The verdict as the CLI and the window show it."""
        if self.verdict is Verdict.GPU:
            return translate("Fit", "fits on the GPU")
        if self.verdict is Verdict.PARTIAL:
            return translate("Fit", "partial offload, {k} of {n} layers").format(
                k=self.n_gpu_layers, n=self.n_layers
            )
        if self.verdict is Verdict.CPU:
            return translate("Fit", "CPU only")
        return translate("Fit", "too big")

    def describe(self) -> str:
        """The label, marked when it is not exact."""
        if self.exact:
            return self.label
        return translate("Fit", "{verdict} (estimate)").format(verdict=self.label)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(verdict=str(self.verdict), label=self.label, exact=self.exact)
        return data


@dataclass(frozen=True)
class RepoFit:
    """Verdicts for every language-model variant of a repo, and the recommended one."""

    repo_id: str
    n_ctx: int
    fits: tuple[QuantFit, ...]
    recommended: QuantFit | None
    notes: tuple[str, ...] = field(default=())

    def get(self, name: str) -> QuantFit | None:
        return next((f for f in self.fits if f.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "n_ctx": self.n_ctx,
            "recommended": self.recommended.name if self.recommended else None,
            "fits": [f.to_dict() for f in self.fits],
            "notes": list(self.notes),
        }


# -- quantisation quality ------------------------------------------------------------------


def quant_bits(quant: str | None) -> float | None:
    """Approximate bits per weight of a quantisation name, None when unknown."""
    if not quant:
        return None
    return QUANT_BITS.get(quant.upper().removeprefix("UD-"))


def is_low_quality(quant: str | None) -> bool:
    """Under 3 bits per weight: too lossy to recommend while something else fits."""
    if not quant:
        return False
    return quant.upper().removeprefix("UD-").startswith(_LOW_PREFIXES)


# -- one verdict -----------------------------------------------------------------------------


def fit_info(
    info: GGUFInfo,
    hardware: HardwareInfo,
    *,
    name: str,
    quant: str | None,
    size_bytes: int,
    basis: Basis,
    n_ctx: int = DEFAULT_CTX,
    gpu_offload_supported: bool,
    projector: GGUFInfo | None = None,
    projector_name: str | None = None,
    projector_bytes: int = 0,
) -> QuantFit:
    """The planner's verdict for a model described by ``info`` (real or estimated), with
    its vision ``projector``'s header when it has one."""
    ctx = min(n_ctx, info.context_length) if info.context_length > 0 else n_ctx
    plan = plan_offload(
        info,
        hardware,
        n_ctx=ctx,
        gpu_offload_supported=gpu_offload_supported,
        projector=projector,
    )
    if not plan.fits:
        verdict = Verdict.TOO_BIG
    elif plan.n_gpu_layers == 0:
        verdict = Verdict.CPU
    elif plan.n_gpu_layers >= plan.n_layers:
        verdict = Verdict.GPU
    else:
        verdict = Verdict.PARTIAL
    ram_budget = hardware.available_ram_bytes - ram_margin(hardware)
    roomy = plan.cpu_bytes <= (1 - HEADROOM) * ram_budget
    gpu = hardware.best_gpu if gpu_offload_supported else None
    if verdict is Verdict.GPU and gpu is not None:
        # The planner's GPU margin is already there when the header is known.
        gpu_budget = gpu.free_bytes - gpu_margin(gpu)
        factor = 1 - HEADROOM if basis == "size" else 1.0
        roomy = plan.gpu_bytes <= factor * gpu_budget and (
            not gpu.unified_memory or plan.total_bytes <= (1 - HEADROOM) * ram_budget
        )
    return QuantFit(
        name=name,
        quant=quant,
        size_bytes=size_bytes,
        verdict=verdict,
        n_gpu_layers=plan.n_gpu_layers,
        n_layers=plan.n_layers,
        basis=basis,
        explanation=plan.explain(),
        n_ctx=plan.n_ctx,
        gpu_bytes=plan.gpu_bytes,
        cpu_bytes=plan.cpu_bytes,
        roomy=roomy and verdict is not Verdict.TOO_BIG,
        projector=projector_name,
        projector_bytes=projector_bytes,
    )


# -- estimated headers ---------------------------------------------------------------------


def guess_parameters(*names: str) -> float | None:
    """A parameter count named in a repo or file name (``7B``, ``0.5B``, ``135M``, ``8x7B``)."""
    for text in names:
        moe = _MOE_RE.search(text)
        if moe:
            return int(moe.group(1)) * float(moe.group(2)) * 1e9
        found = _PARAMS_RE.search(text)
        if found:
            value, unit = float(found.group(1)), found.group(2).upper()
            return value * (1e9 if unit == "B" else 1e6)
    return None


def estimate_info(
    size_bytes: int, *, name: str, quant: str | None, parameters: float | None = None
) -> GGUFInfo:
    """A stand-in GGUF header for a file known only by size and name.

    The shape is a typical one for the parameter count (named, else ``size / bits``), and
    the file's bytes are spread over embedding, output head and blocks as in real models.
    """
    bits = quant_bits(quant) or 4.89
    params = parameters or guess_parameters(name) or size_bytes * 8 / bits
    limit, n_layer, n_embd, n_head, n_kv, head_dim, n_ff, n_vocab = next(
        row for row in _SHAPES if params <= row[0]
    )
    del limit
    embedding = min(int(n_vocab * n_embd * bits / 8), size_bytes // 5)
    per_layer = max(0, (size_bytes - 2 * embedding) // n_layer)
    arch = "llama"
    metadata: dict[str, Any] = {
        "general.architecture": arch,
        "general.name": name,
        f"{arch}.block_count": n_layer,
        f"{arch}.embedding_length": n_embd,
        f"{arch}.attention.head_count": n_head,
        f"{arch}.attention.head_count_kv": n_kv,
        f"{arch}.attention.key_length": head_dim,
        f"{arch}.attention.value_length": head_dim,
        f"{arch}.feed_forward_length": n_ff,
        f"{arch}.context_length": 131072,
        f"{arch}.vocab_size": n_vocab,
    }

    def tensor(tensor_name: str, n_bytes: int) -> TensorInfo:
        return TensorInfo(tensor_name, 0, (n_bytes,), n_bytes, n_bytes, 0)

    tensors = [tensor("token_embd.weight", embedding), tensor("output.weight", embedding)]
    tensors += [tensor(f"blk.{il}.ffn_up.weight", per_layer) for il in range(n_layer)]
    return GGUFInfo(
        path=Path(name),
        file_size=size_bytes,
        version=3,
        metadata=metadata,
        arrays={},
        tensors=tensors,
    )


def estimate_projector_info(size_bytes: int, *, name: str) -> GGUFInfo:
    """A stand-in header for a projector known only by size: SigLIP-so400m's shape (the
    encoder of Gemma 3, SmolVLM2 2.2B, MiniCPM-V and many more) at 896 pixels, 14 per patch."""
    metadata: dict[str, Any] = {
        "general.architecture": "clip",
        "general.name": name,
        "clip.projector_type": "mlp",
        "clip.has_vision_encoder": True,
        "clip.vision.embedding_length": 1152,
        "clip.vision.feed_forward_length": 4304,
        "clip.vision.block_count": 27,
        "clip.vision.attention.head_count": 16,
        "clip.vision.image_size": 896,
        "clip.vision.patch_size": 14,
    }
    weights = TensorInfo("v.weights", 0, (size_bytes,), size_bytes, size_bytes, 0)
    return GGUFInfo(
        path=Path(name),
        file_size=size_bytes,
        version=3,
        metadata=metadata,
        arrays={},
        tensors=[weights],
    )


def scale_info(reference: GGUFInfo, size_bytes: int) -> GGUFInfo:
    """Another quant of the same model: ``reference``'s shape, tensors scaled to the size."""
    weights = reference.tensor_bytes
    if weights <= 0:
        return reference
    factor = max(0, size_bytes - reference.data_offset) / weights
    tensors = [replace(t, n_bytes=int(t.n_bytes * factor)) for t in reference.tensors]
    return replace(reference, tensors=tensors, file_size=size_bytes)


# -- a whole repo -----------------------------------------------------------------------------


def assess_variants(
    repo: RepoFiles,
    hardware: HardwareInfo,
    *,
    gpu_offload_supported: bool,
    n_ctx: int = DEFAULT_CTX,
    headers: Mapping[str, GGUFInfo] | None = None,
    notes: Sequence[str] = (),
) -> RepoFit:
    """Verdicts for every language-model variant of ``repo`` (no network).

    ``headers`` maps variant names to their parsed headers; a variant without one is
    scaled from the header of another (basis ``scaled``), else estimated from its size.
    """
    headers = dict(headers or {})
    reference = _closest_to_q4([v for v in repo.models if v.name in headers], default=None)
    fits = []
    for variant in repo.models:
        common: dict[str, Any] = {
            "name": variant.name,
            "quant": variant.quant,
            "size_bytes": variant.size,
            "n_ctx": n_ctx,
            "gpu_offload_supported": gpu_offload_supported,
        }
        projector = repo.projector_for(variant)
        if projector is not None:
            common.update(
                projector=headers.get(projector.name)
                or estimate_projector_info(projector.size, name=projector.name),
                projector_name=projector.name,
                projector_bytes=projector.size,
            )
        info, basis = _info_for(repo, variant, headers, reference)
        try:
            fits.append(fit_info(info, hardware, basis=basis, **common))
        except (HearthError, OSError) as exc:  # not a transformer the planner knows, or
            # a per-layer array it cannot read from a header that was not cached: estimate
            log.info("planning %s from its header failed (%s); estimating", variant.name, exc)
            estimate = estimate_info(
                variant.size, name=_name_hint(repo, variant), quant=variant.quant
            )
            fits.append(fit_info(estimate, hardware, basis="size", **common))
    fits_t = tuple(fits)
    return RepoFit(
        repo_id=repo.repo_id,
        n_ctx=n_ctx,
        fits=fits_t,
        recommended=recommend(fits_t, repo),
        notes=tuple(notes),
    )


def _info_for(
    repo: RepoFiles,
    variant: QuantVariant,
    headers: Mapping[str, GGUFInfo],
    reference: QuantVariant | None,
) -> tuple[GGUFInfo, Basis]:
    if variant.name in headers:
        return headers[variant.name], "header"
    if reference is not None:
        return scale_info(headers[reference.name], variant.size), "scaled"
    return estimate_info(variant.size, name=_name_hint(repo, variant), quant=variant.quant), "size"


def _name_hint(repo: RepoFiles, variant: QuantVariant) -> str:
    return f"{repo.repo_id.split('/')[-1]} {Path(variant.name).name}"


def _closest_to_q4(
    variants: Sequence[QuantVariant], default: QuantVariant | None
) -> QuantVariant | None:
    """The variant nearest Q4_K_M in quality (the one most often recommended)."""
    if not variants:
        return default
    target = QUANT_BITS["Q4_K_M"]
    return min(variants, key=lambda v: (abs((quant_bits(v.quant) or 99.0) - target), v.size))


def recommend(fits: Sequence[QuantFit], repo: RepoFiles | None = None) -> QuantFit | None:
    """The quant to download on this machine (the rule is in the module docstring)."""
    complete = {v.name for v in repo.models if v.complete} if repo is not None else None
    usable = [
        f
        for f in fits
        if f.verdict is not Verdict.TOO_BIG and f.roomy and (complete is None or f.name in complete)
    ]
    candidates = [f for f in usable if not is_low_quality(f.quant)] or usable
    if not candidates:
        return None

    def quality(fit: QuantFit) -> tuple[float, int]:
        return (quant_bits(fit.quant) or 0.0, fit.size_bytes)

    on_gpu = [f for f in candidates if f.verdict is Verdict.GPU]
    if on_gpu:
        capped = [f for f in on_gpu if (quant_bits(f.quant) or 0.0) <= GPU_CEILING_BITS]
        if capped:
            return max(capped, key=quality)
        return min(on_gpu, key=quality)
    modest = [f for f in candidates if (quant_bits(f.quant) or 0.0) <= CPU_CEILING_BITS]
    if modest:
        return max(modest, key=quality)
    return min(candidates, key=lambda f: f.size_bytes)


# -- with the network ------------------------------------------------------------------------


def assess_repo(
    hub: HubClient,
    repo: RepoFiles,
    hardware: HardwareInfo,
    *,
    gpu_offload_supported: bool,
    cache_dir: Path,
    n_ctx: int = DEFAULT_CTX,
    mode: FitMode = "auto",
) -> RepoFit:
    """Verdicts for ``repo``'s variants, reading GGUF headers from the Hub as ``mode`` says.

    ``auto`` reads one header (the variant nearest Q4_K_M) and scales it to the others;
    ``exact`` reads every variant's header; ``estimate`` reads none. A header that cannot
    be read is reported in ``notes`` and the verdicts fall back to estimates.
    """
    from app.catalog.remote_gguf import fetch_variant_header

    complete = [v for v in repo.models if v.complete]
    if mode == "exact":
        wanted = complete
    elif mode == "auto":
        chosen = _closest_to_q4(complete, default=None)
        wanted = [chosen] if chosen is not None else []
    else:
        wanted = []
    headers: dict[str, GGUFInfo] = {}
    notes: list[str] = []
    if mode != "estimate":
        headers.update(_projector_headers(hub, repo, complete, cache_dir))
    for variant in wanted:
        try:
            headers[variant.name] = fetch_variant_header(
                hub, repo.repo_id, variant, revision=repo.revision, cache_dir=cache_dir
            )
        except HearthError as exc:
            log.info("cannot read the header of %s/%s: %s", repo.repo_id, variant.name, exc)
            notes.append(f"{Path(variant.name).name}: header not read ({exc})")
            if mode == "auto":  # the repo's files are probably not usable GGUFs: estimate
                break
    return assess_variants(
        repo,
        hardware,
        gpu_offload_supported=gpu_offload_supported,
        n_ctx=n_ctx,
        headers=headers,
        notes=notes,
    )


def _projector_headers(
    hub: HubClient, repo: RepoFiles, models: Sequence[QuantVariant], cache_dir: Path
) -> dict[str, GGUFInfo]:
    """The headers of the projectors these models come with (a few hundred KB each); one
    that cannot be read is estimated from its size instead."""
    from app.catalog.remote_gguf import FIRST_FETCH_LATER_PART, fetch_header

    found: dict[str, GGUFInfo] = {}
    for projector in {p.name: p for v in models if (p := repo.projector_for(v))}.values():
        try:
            found[projector.name] = fetch_header(
                hub,
                repo.repo_id,
                projector.files[0],
                revision=repo.revision,
                cache_dir=cache_dir,
                first_fetch=FIRST_FETCH_LATER_PART,
            )
        except HearthError as exc:
            log.info("cannot read the header of %s/%s: %s", repo.repo_id, projector.name, exc)
    return found


FitFunction = Callable[[RepoFiles], dict[str, tuple[str, bool]]]


def fit_function(
    hub: HubClient,
    *,
    cache_dir: Path,
    n_ctx: int = DEFAULT_CTX,
    hardware: HardwareInfo | None = None,
    gpu_offload_supported: bool | None = None,
) -> FitFunction:
    """For the window: ``RepoFiles`` → ``{variant name: (verdict text, recommended)}``.

    The machine is probed once, on the first call (it runs on a worker thread).
    """
    state: dict[str, Any] = {"hardware": hardware, "gpu": gpu_offload_supported}

    def fit(repo: RepoFiles) -> dict[str, tuple[str, bool]]:
        if state["hardware"] is None or state["gpu"] is None:
            state["hardware"], state["gpu"] = machine()
        result = assess_repo(
            hub,
            repo,
            state["hardware"],
            cache_dir=cache_dir,
            n_ctx=n_ctx,
            gpu_offload_supported=state["gpu"],
        )
        best = result.recommended.name if result.recommended else None
        return {f.name: (f.describe(), f.name == best) for f in result.fits}

    return fit


def machine() -> tuple[HardwareInfo, bool]:
    """This machine and whether llama.cpp can offload to its GPU.

    llama_cpp is only imported (about a second) when there is a GPU to offload to; with
    none, the answer does not matter and True lets the plan say "no supported GPU found".
    """
    from app.engine.hardware import llama_supports_gpu_offload, probe_hardware

    hardware = probe_hardware()
    return hardware, not hardware.gpus or llama_supports_gpu_offload()
