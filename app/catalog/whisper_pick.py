"""Which Whisper model suits this machine, and what each one costs on it.

The same hardware description that places a machine in a chat tier
(:func:`app.catalog.catalog.machine_tier`) picks its Whisper model:

* an NVIDIA GPU with room for it: ``large-v3-turbo`` (CTranslate2 runs it in float16 on
  CUDA; Apple's GPU is not used by CTranslate2, so a Mac is judged by its CPU);
* a CPU with at least ``SMALL_CORES`` physical cores: ``small``. The catalog's measured
  costs (``cpu_rtf_final``, 2 threads) put small at about three times base, so
  with three times the cores a 4 s question takes about what base takes on two;
* two to five cores: ``base`` (what Hearth was tuned on: 2 cores);
* a single core or under ``TINY_RAM_GIB`` of RAM: ``tiny``.

With English only (the voice language set to English), the ``.en`` variant of the pick is
used where one exists (there is none of large-v3-turbo).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

from app.core.i18n import translate
from app.engine.hardware import GIB, HardwareInfo

if TYPE_CHECKING:  # app.catalog.catalog calls pick_whisper: no import back at run time
    from app.catalog.catalog import Catalog, WhisperModel

GPU_MIN_GIB = 4.0  # large-v3-turbo in float16: ~1.6 GB of weights plus activations
SMALL_CORES = 6
TINY_RAM_GIB = 3.0
QUESTION_S = 4.0  # the typical spoken question the costs are quoted for
MEASURED_THREADS = 2  # the catalog's cpu_rtf figures were measured with this many threads


@dataclass(frozen=True)
class WhisperPick:
    """The Whisper model suggested for a machine, and why (one sentence)."""

    model: WhisperModel
    device: str  # "cuda" or "cpu"
    reason: str
    question_s: float | None = None  # estimated seconds for a 4 s question here (CPU only)


def nvidia_gpu_gib(hardware: HardwareInfo) -> float:
    """Memory of the largest NVIDIA GPU, in GiB (0 without one)."""
    return max((g.total_bytes for g in hardware.gpus if g.vendor == "nvidia"), default=0) / GIB


def pick_whisper(
    hardware: HardwareInfo, catalog: Catalog, *, english_only: bool = False
) -> WhisperPick:
    """The Whisper model of ``catalog`` for ``hardware`` (see the module docstring)."""
    cores = max(1, hardware.cpu_physical_cores)
    ram_gib = hardware.total_ram_bytes / GIB
    vram = nvidia_gpu_gib(hardware)
    if vram >= GPU_MIN_GIB:
        size, device = "large-v3-turbo", "cuda"
        why = translate(
            "Voice", "an NVIDIA GPU with {vram:.0f} GB runs it faster than base runs on a CPU"
        ).format(vram=vram)
    elif cores >= SMALL_CORES and ram_gib >= TINY_RAM_GIB:
        size, device = "small", "cpu"
        why = translate("Voice", "{cores} CPU cores run it about as fast as 2 cores run base")
        why = why.format(cores=cores)
    elif cores >= 2 and ram_gib >= TINY_RAM_GIB:
        size, device = "base", "cpu"
        why = translate(
            "Voice", "{cores} CPU cores transcribe a spoken question in well under a second"
        ).format(cores=cores)
    else:
        size, device = "tiny", "cpu"
        why = translate(
            "Voice", "{cores} CPU core(s) and {ram:.1f} GB of RAM need the lightest model"
        ).format(cores=cores, ram=ram_gib)
    model = _model(catalog, size)
    if english_only:
        model = catalog.whisper_model(f"{size}.en") or model
    cost = question_seconds(model, cores) if device == "cpu" else None
    costs = (
        translate("Voice", "; about {cost:.2f} s of compute for a {question:.0f} s question")
        if cost
        else ""
    )
    if costs:
        costs = costs.format(cost=cost, question=QUESTION_S)
    reason = translate("Voice", "Whisper {model}: {why}{costs}.").format(
        model=model.id, why=why, costs=costs
    )
    return WhisperPick(model, device, reason, cost)


def pull_command(model: WhisperModel) -> str:
    """The command that installs ``model``."""
    return f"hearth models pull {model.id}"


def question_seconds(model: WhisperModel, cores: int) -> float | None:
    """Estimated seconds of the final transcript of a 4 s question (the one Hearth
    answers: full window, beam 5) with ``cores`` CPU threads (at most 8: past that
    CTranslate2 gains little), scaled from the 2-thread measurement."""
    rtf = model.cpu_rtf_final or model.cpu_rtf_question
    if rtf is None:
        return None
    threads = max(1, min(cores, 8))
    return rtf * QUESTION_S * MEASURED_THREADS / threads


def cost_text(model: WhisperModel) -> str:
    """Its measured cost, e.g. "0.132 s per second of a question (its running draft:
    0.019) on 2 CPU threads", or ""."""
    if model.cpu_rtf_question is None:
        return ""
    if model.cpu_rtf_final is None:
        return translate("Voice", "{rtf:.3f} s per second of speech on {threads} threads").format(
            rtf=model.cpu_rtf_question, threads=MEASURED_THREADS
        )
    return translate(
        "Voice",
        "{final:.3f} s per second of a question (its running draft: {draft:.3f}) on "
        "{threads} CPU threads",
    ).format(final=model.cpu_rtf_final, draft=model.cpu_rtf_question, threads=MEASURED_THREADS)


def catalog_entry_for(name_or_path: str, catalog: Catalog) -> WhisperModel | None:
    """The catalog model an installed Whisper model is (by its folder or library name:
    ``faster-whisper-small``, ``whisper-base`` for the starter), or None."""
    name = PurePath(name_or_path).name
    for model in catalog.whisper:
        if name in (model.repo.split("/")[-1], f"whisper-{model.id}", model.id):
            return model
    return None


def _model(catalog: Catalog, model_id: str) -> WhisperModel:
    model = catalog.whisper_model(model_id)
    if model is None:  # a trimmed HEARTH_CATALOG: its lightest multilingual model
        multilingual = [w for w in catalog.whisper if w.languages != ("en",)]
        return min(multilingual or list(catalog.whisper), key=lambda w: w.approx_size_mb)
    return model
