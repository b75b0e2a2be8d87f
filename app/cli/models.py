"""``hearth models``: list the library, search the Hub, show a repo's files with fit
verdicts, pull models (chat GGUFs, Whisper models, Piper voices), remove them, and show
the curated catalog for this machine."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from app.catalog.library import CHAT, LORA, STT, ModelEntry
from app.context import AppContext, open_app_context
from app.core.errors import ModelNotFoundError
from app.core.units import format_bytes

if TYPE_CHECKING:
    from app.catalog.downloads import DownloadHandle
    from app.catalog.fit import FitMode, RepoFit
    from app.catalog.hub import HubClient, RepoFiles, RepoSummary
    from app.catalog.pull import PullPlan
    from app.cli.progress import ProgressBar
    from app.engine.hardware import HardwareInfo

EXIT_INTERRUPTED = 130


def format_size(n_bytes: int) -> str:
    """Bytes as a short human figure (``93.8 MB``)."""
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def format_params(count: int | None) -> str:
    if not count:
        return "-"
    if count >= 1e9:
        return f"{count / 1e9:.1f}B"
    return f"{count / 1e6:.0f}M"


def _columns(rows: Sequence[Sequence[str]], *, last_free: bool = True) -> str:
    """Rows as aligned columns (the last one unpadded when ``last_free``)."""
    n = len(rows[0]) - (1 if last_free else 0)
    widths = [max(len(row[i]) for row in rows) for i in range(n)]
    lines = []
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row[:n], widths, strict=True)]
        lines.append("  ".join([*cells, *row[n:]]).rstrip())
    return "\n".join(lines)


def _table(entries: list[ModelEntry]) -> str:
    headers = (
        "NAME",
        "KIND",
        "SIZE",
        "ARCH",
        "PARAMS",
        "QUANT",
        "CTX",
        "TEMPLATE",
        "SOURCE",
        "PATH",
    )
    rows: list[Sequence[str]] = [headers]
    for e in entries:
        rows.append(
            (
                e.name,
                f"{e.kind}+vision" if e.vision else e.kind,
                format_size(e.size_bytes),
                e.architecture or "-",
                format_params(e.parameters),
                e.quantization or "-",
                str(e.context_length or "-"),
                {True: "yes", False: "no", None: "-"}[e.has_chat_template],
                e.source,
                _path_cell(e),
            )
        )
    return _columns(rows)


def _path_cell(entry: ModelEntry) -> str:
    """The path, with why the model cannot be used, or its projector beside it."""
    if entry.error:
        return f"{entry.path}  ({entry.error})"
    if entry.mmproj:
        return f"{entry.path}  (projector: {Path(entry.mmproj).name})"
    if entry.mmproj_problem:
        return f"{entry.path}  ({entry.mmproj_problem})"
    if entry.kind == "lora":
        bases = ", ".join(entry.lora_bases) or "no model in the library"
        return f"{entry.path}  (adapter for: {bases})"
    return entry.path


def run_models(args: argparse.Namespace) -> int:
    context = open_app_context(verbose=args.verbose)
    handlers = {
        "ls": _ls,
        "search": _search,
        "files": _files,
        "pull": _pull,
        "rm": _rm,
        "pair": _pair,
        "unpair": _unpair,
        "catalog": _catalog,
    }
    handler = handlers.get(args.models_command)
    if handler is None:
        raise AssertionError(f"unknown models command {args.models_command}")
    return handler(context, args)


# -- ls ----------------------------------------------------------------------------------------


def _ls(context: AppContext, args: argparse.Namespace) -> int:
    entries = context.library.entries(args.kind, external=args.external)
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2))
    elif entries:
        print(_table(entries))
    else:
        print(
            f"No models yet. Put GGUF files in {context.models_dir}, pull one with "
            "'hearth models pull', or install the starter set."
        )
    return 0


# -- search --------------------------------------------------------------------------------------


def _search(context: AppContext, args: argparse.Namespace) -> int:
    from app.catalog.hub import HubClient

    results = HubClient().search(args.query, sort=args.sort, limit=args.limit)
    fits = _adapter_fits(context, results)
    if args.json:
        payload = []
        for repo in results:
            item = asdict(repo)
            item["last_modified"] = repo.last_modified.isoformat() if repo.last_modified else None
            item["tags"] = list(repo.tags)
            if repo.adapter:  # the installed chat models it is for (by name)
                item["installed_bases"] = fits.get(repo.repo_id, [])
            payload.append(item)
        print(json.dumps(payload, indent=2))
        return 0
    if not results:
        print(f"No GGUF models match {args.query!r} on the Hub.")
        return 0
    rows: list[Sequence[str]] = [("REPO", "DOWNLOADS", "LIKES", "UPDATED", "ACCESS")]
    for repo in results:
        updated = repo.last_modified.date().isoformat() if repo.last_modified else "-"
        rows.append(
            (
                repo.repo_id,
                f"{repo.downloads:,}",
                f"{repo.likes:,}",
                updated,
                "gated" if repo.gated else "open",
            )
        )
    print(_columns(rows))
    adapters = [repo for repo in results if repo.adapter]
    if adapters:
        from app.catalog.adapters import describe_fit

        print()
        for repo in adapters:
            print(f"{repo.repo_id}: {describe_fit(repo.base_model, fits.get(repo.repo_id, []))}")
    return 0


def _adapter_fits(context: AppContext, results: Sequence[RepoSummary]) -> dict[str, list[str]]:
    """For each adapter among ``results``: the installed chat models its base names."""
    from app.catalog.adapters import installed_bases

    wanted = [repo for repo in results if repo.adapter and repo.base_model]
    if not wanted:
        return {}
    models = context.library.entries(CHAT)
    return {repo.repo_id: installed_bases(str(repo.base_model), models) for repo in wanted}


# -- files -------------------------------------------------------------------------------------


def _machine_line(hardware: HardwareInfo, gpu_offload: bool) -> str:
    from app.engine.planner import format_memory

    ram = (
        f"{format_memory(hardware.available_ram_bytes)} of "
        f"{format_memory(hardware.total_ram_bytes)} RAM free"
    )
    gpu = hardware.best_gpu
    if gpu is None:
        gpu_text = "no GPU"
    else:
        gpu_text = f"{gpu.name} with {format_memory(gpu.free_bytes)} free"
        if not gpu_offload:
            gpu_text += " (this llama.cpp build cannot offload to it)"
    return f"this machine: {hardware.cpu_physical_cores} CPU cores, {ram}, {gpu_text}"


def _assess(
    context: AppContext, hub: HubClient, repo: RepoFiles, ctx: int | None, mode: FitMode
) -> tuple[RepoFit, HardwareInfo, bool]:
    from app.catalog.fit import assess_repo, machine
    from app.catalog.remote_gguf import header_cache_dir
    from app.composition.options import context_length

    hardware, gpu_offload = machine()
    fit = assess_repo(
        hub,
        repo,
        hardware,
        gpu_offload_supported=gpu_offload,
        cache_dir=header_cache_dir(context.paths.cache_dir),
        n_ctx=context_length(context.settings, ctx),
        mode=mode,
    )
    return fit, hardware, gpu_offload


def _files(context: AppContext, args: argparse.Namespace) -> int:
    from app.catalog.hub import HubClient
    from app.catalog.pull import detect_kind, is_whisper_repo, voices_in

    hub = HubClient()
    repo = hub.list_files(args.repo)
    kind = (
        detect_kind(repo) if (repo.variants or voices_in(repo) or is_whisper_repo(repo)) else None
    )
    payload: dict[str, Any] = {
        "repo_id": repo.repo_id,
        "revision": repo.revision,
        "license": repo.license,
        "gated": repo.gated,
        "kind": kind,
    }
    fit: RepoFit | None = None
    if repo.models:
        mode: FitMode = "exact" if args.exact else "estimate" if args.estimate else "auto"
        fit, hardware, gpu_offload = _assess(context, hub, repo, args.ctx, mode)
        payload.update(
            n_ctx=fit.n_ctx,
            machine=_machine_line(hardware, gpu_offload),
            recommended=fit.recommended.name if fit.recommended else None,
            recommended_quant=fit.recommended.quant if fit.recommended else None,
            notes=list(fit.notes),
        )
    payload["variants"] = [
        {
            "name": v.name,
            "quant": v.quant,
            "size": v.size,
            "projector": v.is_projector,
            "mmproj": mmproj.name if (mmproj := repo.projector_for(v)) else None,
            "split": v.is_split,
            "n_parts": v.n_parts,
            "complete": v.complete,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in v.files],
            "fit": fitted.to_dict() if fit and (fitted := fit.get(v.name)) else None,
        }
        for v in repo.variants
    ]
    voices = voices_in(repo)
    payload["voices"] = [
        {"name": name, "onnx": onnx.path, "config": config.path, "size": onnx.size + config.size}
        for name, (onnx, config) in sorted(voices.items())
    ]
    payload["other_files"] = [{"path": f.path, "size": f.size} for f in repo.other_files]
    if args.json:
        print(json.dumps(payload, indent=2))
        return 0
    print(_files_text(repo, fit, payload))
    return 0


def _files_text(repo: RepoFiles, fit: RepoFit | None, payload: dict[str, Any]) -> str:
    licence = repo.license or "unknown licence"
    lines = [
        f"{repo.repo_id}  ({licence}{', gated' if repo.gated else ''}, commit {repo.revision[:10]})"
    ]
    if fit is not None:
        lines.append(f"Fit at a {fit.n_ctx}-token context on {payload['machine']}:")
        rows: list[Sequence[str]] = [("", "QUANT", "SIZE", "FIT", "FILE")]
        for variant in repo.models:
            verdict = fit.get(variant.name)
            star = "*" if fit.recommended and fit.recommended.name == variant.name else ""
            parts = f"  ({variant.n_parts} parts)" if variant.is_split else ""
            mmproj = repo.projector_for(variant)
            with_projector = f" + {mmproj.name}" if mmproj else ""
            rows.append(
                (
                    star,
                    variant.quant or "?",
                    format_bytes(variant.size + (mmproj.size if mmproj else 0)),
                    verdict.describe() if verdict else "-",
                    variant.name + parts + with_projector,
                )
            )
        lines.append(_columns(rows))
        if fit.recommended:
            lines.append(
                f"* recommended: {fit.recommended.quant or fit.recommended.name} "
                f"({fit.recommended.explanation})"
            )
        else:
            lines.append("No quantisation fits this machine comfortably.")
        bases = {f.basis for f in fit.fits}
        if bases - {"header"}:
            lines.append(
                "(estimate) = not read from the file's own header: 'scaled' from "
                "another quant's header, or from the file size alone; --exact reads "
                "every header."
            )
        lines += [f"note: {note}" for note in fit.notes]
    for projector in repo.projectors:
        lines.append(f"vision projector: {projector.name}  {format_bytes(projector.size)}")
    if repo.projectors and repo.models:
        lines.append(
            "A vision model: each quantisation downloads with its projector (SIZE and FIT "
            "count both)."
        )
    for voice in payload["voices"]:
        lines.append(f"voice: {voice['name']}  {format_bytes(voice['size'])}  {voice['onnx']}")
    if payload["kind"] == STT:
        total = sum(f.size for f in repo.other_files)
        lines.append(
            f"Whisper model (CTranslate2), {len(repo.other_files)} files, "
            f"{format_bytes(total)}: pull it with 'hearth models pull {repo.repo_id}'."
        )
    elif payload["kind"] is None:
        lines.append("No GGUF model, Whisper model or Piper voice in this repo.")
    return "\n".join(lines)


# -- pull ----------------------------------------------------------------------------------------


def _alias(name: str, spec: str | None) -> tuple[str, str | None]:
    """``owner/name`` as given, or a catalog id (chat model, Whisper size, voice,
    embedding model)."""
    if "/" in name:
        return name, spec
    from app.catalog.catalog import load_catalog

    catalog = load_catalog()
    for chat in catalog.chat:
        if chat.id == name:
            return chat.repo, spec
    whisper_id = name.removeprefix("faster-whisper-").removeprefix("whisper-")
    for whisper in catalog.whisper:
        if whisper.id == whisper_id:
            return whisper.repo, spec
    for voice in catalog.voices:
        if voice.id == name:
            return voice.repo, spec or voice.onnx
    for embedding in catalog.embedding:
        if embedding.id == name:
            return embedding.repo, spec or embedding.file
    for vision in catalog.vision:
        if vision.id == name:
            return vision.repo, spec or vision.file  # its projector comes with it
    raise ModelNotFoundError(
        f"{name!r} is neither a Hub repo (owner/name) nor a catalog id; "
        "see 'hearth models catalog'."
    )


def _pull(context: AppContext, args: argparse.Namespace) -> int:
    from app.catalog.fit import Verdict
    from app.catalog.hub import HubClient
    from app.catalog.pull import detect_kind, partial_bytes, plan_pull

    repo_id, spec = _alias(args.repo, args.spec)
    hub = HubClient()
    repo = hub.list_files(repo_id)
    kind = args.kind or detect_kind(repo, spec)
    fit: RepoFit | None = None
    recommended = None
    if kind == CHAT and repo.adapter and repo.models:
        recommended = repo.models[0]  # an adapter: small, and no load of its own to fit
    elif kind == CHAT and repo.models:
        fit, _, _ = _assess(context, hub, repo, args.ctx, "auto")
        if fit.recommended is not None:
            recommended = next(v for v in repo.models if v.name == fit.recommended.name)
    plan = plan_pull(repo, spec, models_dir=context.models_dir, kind=kind, recommended=recommended)
    err = sys.stderr
    count = f", {len(plan.files)} files" if len(plan.files) > 1 else ""
    print(
        f"Pulling {plan.name} ({LORA if repo.adapter else plan.kind}, "
        f"{format_bytes(plan.total_bytes)}{count}) from {repo.repo_id} into {plan.dest_dir}",
        file=err,
    )
    if repo.adapter:
        print(f"A LoRA adapter for {repo.base_model}, says the Hub.", file=err)
    verdict = fit.get(plan.variant) if fit is not None and plan.variant else None
    if plan.projector:
        print(f"With its vision projector {PurePosixPath(plan.projector).name}.", file=err)
    if verdict is not None:
        chosen = "recommended for this machine" if spec is None else "on this machine"
        estimate = "" if verdict.exact else " (estimate)"
        print(
            f"{verdict.quant or verdict.name} ({chosen}){estimate}: {verdict.explanation}", file=err
        )
        if verdict.verdict is Verdict.TOO_BIG:
            print("Warning: it will not load on this machine as it is now.", file=err)
    resumed = partial_bytes(plan)
    if resumed:
        print(f"Resuming: {format_bytes(resumed)} were already downloaded.", file=err)
    if not _download(hub, plan):
        return EXIT_INTERRUPTED
    from app.catalog.pull import register

    entry = register(context.library, plan)
    if entry.error:
        print(
            f"hearth: {plan.name} was downloaded to {entry.path} but cannot be used: {entry.error}",
            file=err,
        )
        return 1
    if entry.kind == LORA:
        print(_adapter_ready(context, entry))
        return 0
    sees = f", reads images with {Path(entry.mmproj).name}" if entry.vision and entry.mmproj else ""
    print(f"{entry.name}: {entry.kind} model ready at {entry.path}{sees}")
    return 0


def _adapter_ready(context: AppContext, entry: ModelEntry) -> str:
    """What a pulled LoRA adapter fits, from its own header (the Hub's tags were a hint)."""
    from app.catalog.adapters import header_base
    from app.core.gguf_meta import read_gguf

    paired = next((e for e in context.library.entries(LORA) if e.path == entry.path), entry)
    if paired.lora_bases:
        return (
            f"{entry.name}: LoRA adapter ready at {entry.path}, for "
            f"{', '.join(paired.lora_bases)} (use it with --lora {entry.path})"
        )
    base = header_base(read_gguf(entry.path, check_data=False))
    named = f"{base}, which is not installed" if base else "a model that is not installed"
    return (
        f"{entry.name}: LoRA adapter ready at {entry.path}; it fits none of your models "
        f"(it was made for {named}): pull a GGUF of its base model to use it."
    )


def _download(hub: HubClient, plan: PullPlan) -> bool:
    """Download ``plan`` with a progress bar; False when Ctrl+C paused it."""
    from app.catalog.downloads import DownloadManager
    from app.cli.progress import ProgressBar

    manager = DownloadManager(hub=hub, parallel=2)
    bar = ProgressBar(sys.stderr, plan.name, plan.total_bytes)
    try:
        from app.catalog.pull import enqueue

        handles = enqueue(manager, plan)
        _follow(handles, bar)
        for handle in handles:
            handle.result(timeout=0)  # raises the first failure
        return True
    except KeyboardInterrupt:
        manager.close(timeout=10)  # pauses: the .part files stay for the next pull
        bar.close()
        from app.catalog.pull import partial_bytes

        print(
            f"Paused: {format_bytes(partial_bytes(plan))} of {format_bytes(plan.total_bytes)} "
            "kept; run the same command again to resume.",
            file=sys.stderr,
        )
        return False
    finally:
        bar.close()
        manager.close(timeout=10)


def _follow(handles: list[DownloadHandle], bar: ProgressBar) -> None:
    """Redraw the bar until every download has finished, failed or been cancelled."""
    from app.catalog.downloads import TERMINAL_STATES, DownloadState

    while True:
        progress = [h.progress() for h in handles]
        done = sum((p.total or 0) if p.state is DownloadState.DONE else p.done for p in progress)
        speed = sum(p.speed_bps for p in progress if p.state is DownloadState.RUNNING)
        eta = (bar.total - done) / speed if speed > 0 else None
        finished = all(p.state in TERMINAL_STATES for p in progress)
        bar.update(done, speed, eta, force=finished)
        if finished:
            return
        pending = next(h for h in handles if h.state not in TERMINAL_STATES)
        pending.wait(timeout=0.1)  # wakes at once when it ends; else time to redraw


# -- rm -------------------------------------------------------------------------------------------


def _rm(context: AppContext, args: argparse.Namespace) -> int:
    library = context.library
    entry = library.find(args.name)
    owned = library.owns(entry)
    if not args.yes and sys.stdin.isatty():
        if owned:
            question = f"Delete {entry.name} ({format_bytes(entry.size_bytes)}) from {entry.path}?"
        else:
            question = f"Remove {entry.name} from the library (its files stay where they are)?"
        if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing was removed.")
            return 1
    removed = library.delete(entry)
    if removed:
        print(f"Deleted {entry.name}: {len(removed)} file(s), {format_bytes(entry.size_bytes)}.")
    else:
        where = PurePosixPath(entry.path).parent if entry.kind != STT else entry.path
        print(
            f"Removed {entry.name} from the library; its files were left in {where} "
            "(Hearth did not download them)."
        )
    return 0


# -- pair / unpair -------------------------------------------------------------------------------


def _pair(context: AppContext, args: argparse.Namespace) -> int:
    entry = context.library.resolve(args.name, CHAT)
    paired = context.library.pair(entry.path, args.projector)
    print(f"{paired.name} reads images with {paired.mmproj}.")
    return 0


def _unpair(context: AppContext, args: argparse.Namespace) -> int:
    entry = context.library.resolve(args.name, CHAT)
    context.library.unpair(entry.path)
    print(
        f"{entry.name} reads text only now; pair it again with 'hearth models pair MODEL MMPROJ'."
    )
    return 0


# -- catalog --------------------------------------------------------------------------------------


def _catalog(context: AppContext, args: argparse.Namespace) -> int:
    from app.catalog.catalog import for_machine, load_catalog
    from app.engine.hardware import probe_hardware

    catalog = load_catalog()
    picks = for_machine(probe_hardware(), catalog, language=args.language)
    chat = catalog.chat if args.all else picks.chat
    voices = catalog.voices if args.all or not args.language else picks.voices
    if args.json:
        print(
            json.dumps(
                {
                    "tier": asdict(picks.tier),
                    "chat": [asdict(c) for c in chat],
                    "whisper": asdict(picks.whisper),
                    "whisper_reason": picks.whisper_reason,
                    "whisper_all": [asdict(w) for w in catalog.whisper],
                    "voices": [asdict(v) for v in voices],
                    "embedding": [asdict(e) for e in catalog.embedding],
                    "vision": [asdict(v) for v in (catalog.vision if args.all else picks.vision)],
                },
                indent=2,
            )
        )
        return 0
    print(f"This machine: {picks.tier.label}")
    rows: list[Sequence[str]] = [("ID", "TIER", "SIZE", "LANGUAGES", "LICENCE", "REPO")]
    for model in chat:
        rows.append(
            (
                model.id,
                model.tier,
                f"{model.approx_size_gb:.2f} GB",
                ",".join(model.languages),
                model.license,
                model.repo,
            )
        )
    print(_columns(rows))
    print(
        f"\nSpeech recognition: whisper {picks.whisper.id} ({picks.whisper.repo}, about "
        f"{picks.whisper.approx_size_mb:.0f} MB)\n  {picks.whisper_reason}"
    )
    print("Voices: " + ", ".join(v.id for v in voices))
    vision = catalog.vision if args.all else picks.vision
    if vision:
        print(
            "Vision models (each downloads with its projector): "
            + ", ".join(f"{v.id} ({v.approx_size_gb:.2f} GB)" for v in vision)
        )
    if catalog.embedding:
        print(
            "Embedding models for documents: "
            + ", ".join(f"{e.id} ({e.approx_size_mb:.0f} MB)" for e in catalog.embedding)
        )
    print(
        "\nPull any of them by id, e.g. 'hearth models pull "
        f"{chat[0].id if chat else catalog.chat[0].id}'."
    )
    return 0
