"""What a pull downloads from a repo, where it lands, and how it joins the library.

Three kinds of repo are understood:

* GGUF chat models (and vision projectors): one variant, every part of a split file, into
  ``<models>/<owner>/<repo>/<path in repo>``; a vision model's projector
  (:meth:`~app.catalog.hub.RepoFiles.projector_for`) comes with it, and the library
  pairs the two;
* CTranslate2 Whisper models (``Systran/faster-whisper-*``): every file of the repo into
  ``<models>/whisper/<repo name>/``;
* Piper voices (``rhasspy/piper-voices``): the ``.onnx`` and its ``.onnx.json`` into
  ``<models>/voices/<locale>/``, without the repo's folder tree.

Downloads go through :class:`~app.catalog.downloads.DownloadManager` (resume, retries,
SHA-256 checks); afterwards :func:`register` records the model in the library by path, so
pulling it again replaces its entry instead of adding a second one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.catalog.downloads import PART_SUFFIX, DownloadHandle, DownloadManager, dest_path
from app.catalog.hub import QuantVariant, RemoteFile, RepoFiles
from app.catalog.library import (
    CHAT,
    PROJECTOR,
    STT,
    TTS,
    WHISPER_VOCABULARIES,
    Library,
    ModelEntry,
    describe_gguf,
    describe_voice,
    describe_whisper,
)
from app.catalog.portable import check_portable
from app.core.errors import ConfigError, HearthError, ModelNotFoundError, ModelTooLargeError

log = logging.getLogger(__name__)

KINDS = (CHAT, STT, TTS)
_LOCALE_RE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}$")


@dataclass(frozen=True)
class PullPlan:
    """The files to fetch for one model and where they go."""

    repo_id: str
    revision: str  # the commit the listing was taken at: every file comes from it
    kind: str
    name: str
    files: tuple[RemoteFile, ...]
    dest_dir: Path
    flat: bool  # files land as dest_dir/<name> instead of dest_dir/<repo path>
    quant: str | None = None
    variant: str | None = None  # the GGUF variant's name, for chat models and projectors
    projector: str | None = None  # a vision model's projector (its files are in ``files``)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def projector_path(self) -> Path | None:
        """Where the projector that comes with a vision model lands."""
        if self.projector is None:
            return None
        first = next(
            f for f in self.files if f.path.startswith(self.projector.removesuffix(".gguf"))
        )
        return self.dest(first)

    def dest(self, remote: RemoteFile) -> Path:
        return dest_path(self.dest_dir, remote.name if self.flat else remote.path)

    @property
    def entry_path(self) -> Path:
        """The path the library records: first GGUF part, Whisper folder, or voice .onnx."""
        if self.kind == STT:
            return self.dest_dir
        if self.kind == TTS:
            return next(self.dest(f) for f in self.files if f.path.endswith(".onnx"))
        return self.dest(self.files[0])


# -- what a repo holds ---------------------------------------------------------------------------


def voices_in(repo: RepoFiles) -> dict[str, tuple[RemoteFile, RemoteFile]]:
    """Piper voices in a repo: voice name → (``.onnx``, ``.onnx.json``)."""
    files = {f.path: f for f in repo.other_files}
    return {
        PurePosixPath(path).name.removesuffix(".onnx"): (remote, files[f"{path}.json"])
        for path, remote in files.items()
        if path.endswith(".onnx") and f"{path}.json" in files
    }


def is_whisper_repo(repo: RepoFiles) -> bool:
    """A CTranslate2 Whisper model: model.bin, config.json and a vocabulary at the top."""
    top = {f.path for f in repo.other_files if "/" not in f.path}
    return {"model.bin", "config.json"} <= top and any(v in top for v in WHISPER_VOCABULARIES)


def detect_kind(repo: RepoFiles, spec: str | None = None) -> str:
    """``chat`` (GGUF), ``stt`` (Whisper) or ``tts`` (Piper) for a repo and a file choice."""
    voices = voices_in(repo)
    if spec and (spec.endswith((".onnx", ".onnx.json")) or spec in voices):
        return TTS
    if repo.variants and (
        spec is None
        or not voices
        or spec.lower().endswith(".gguf")
        or repo.variant(spec) is not None
    ):
        return CHAT
    if voices:
        return TTS
    if is_whisper_repo(repo):
        return STT
    raise ModelNotFoundError(
        f"{repo.repo_id} holds no GGUF model, Whisper model (CTranslate2) or Piper voice that "
        "Hearth can use; search for a GGUF build of it with 'hearth models search'."
    )


def select_variant(repo: RepoFiles, spec: str) -> QuantVariant:
    """A variant by quantisation (``Q4_K_M``) or by file path or name (any split part)."""
    if spec.lower().endswith(".gguf"):
        wanted = spec.lower()
        matches = [
            v
            for v in repo.variants
            if v.name.lower() == wanted or any(f.path.lower() == wanted for f in v.files)
        ]
        if not matches:
            matches = [
                v
                for v in repo.variants
                if PurePosixPath(v.name).name.lower() == PurePosixPath(wanted).name
                or any(f.name.lower() == PurePosixPath(wanted).name for f in v.files)
            ]
        if len(matches) > 1:
            names = ", ".join(v.name for v in matches)
            raise ModelNotFoundError(
                f"{spec} matches several files in {repo.repo_id} ({names}); "
                "give its full path in the repo."
            )
        variant = matches[0] if matches else None
    else:
        variant = repo.variant(spec)
    if variant is None:
        quants = sorted({v.quant for v in repo.models if v.quant})
        offered = ", ".join(quants) if quants else "none named by quantisation"
        raise ModelNotFoundError(
            f"{repo.repo_id} has no {spec}; it offers {offered} "
            f"(see 'hearth models files {repo.repo_id}')."
        )
    if not variant.complete:
        raise ModelNotFoundError(
            f"{variant.name} is split into {variant.n_parts} parts but only "
            f"{len(variant.files)} are in {repo.repo_id}; pick another quantisation."
        )
    return variant


def voice_locale(name: str, path: str) -> str:
    """The locale folder for a voice: from its name (``zh_CN-huayan-medium``) or path."""
    head = name.split("-", 1)[0]
    if _LOCALE_RE.match(head):
        return head
    return next((p for p in PurePosixPath(path).parts if _LOCALE_RE.match(p)), "other")


# -- planning ----------------------------------------------------------------------------------


def plan_pull(
    repo: RepoFiles,
    spec: str | None,
    *,
    models_dir: Path,
    kind: str | None = None,
    recommended: QuantVariant | None = None,
) -> PullPlan:
    """Decide what to download for ``spec`` (None: the recommended quant, the only voice,
    or the whole Whisper repo)."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"Unknown model kind {kind!r}; use one of {', '.join(KINDS)}.")
    # The repo's folder under models_dir, and a file the listing left out, are refused
    # by name here rather than reported as missing.
    check_portable(repo.repo_id, "repo name")
    if spec is not None and spec in repo.unsafe_files:
        check_portable(spec)
    kind = kind or detect_kind(repo, spec)
    if kind == CHAT:
        return _plan_gguf(repo, spec, models_dir, recommended)
    if kind == TTS:
        return _plan_voice(repo, spec, models_dir)
    return _plan_whisper(repo, spec, models_dir)


def _plan_gguf(
    repo: RepoFiles, spec: str | None, models_dir: Path, recommended: QuantVariant | None
) -> PullPlan:
    if spec is None:
        if recommended is None:
            raise ModelTooLargeError(
                f"None of {repo.repo_id}'s quantisations fits this machine comfortably; see "
                f"'hearth models files {repo.repo_id}' and name one to pull it anyway."
            )
        variant = recommended
    else:
        variant = select_variant(repo, spec)
    projector = repo.projector_for(variant)
    return PullPlan(
        repo_id=repo.repo_id,
        revision=repo.revision,
        kind=PROJECTOR if variant.is_projector else CHAT,
        name=PurePosixPath(variant.name).name.removesuffix(".gguf"),
        files=variant.files + (projector.files if projector is not None else ()),
        dest_dir=models_dir.joinpath(*repo.repo_id.split("/")),
        flat=False,
        quant=variant.quant,
        variant=variant.name,
        projector=projector.name if projector is not None else None,
    )


def _plan_voice(repo: RepoFiles, spec: str | None, models_dir: Path) -> PullPlan:
    voices = voices_in(repo)
    if not voices:
        raise ModelNotFoundError(
            f"{repo.repo_id} holds no Piper voice (an .onnx file with its .onnx.json)."
        )
    if spec is None:
        if len(voices) > 1:
            examples = ", ".join(sorted(voices)[:5])
            raise ConfigError(
                f"{repo.repo_id} has {len(voices)} voices; name one, e.g. "
                f"'hearth models pull {repo.repo_id} {sorted(voices)[0]}' ({examples}, ...)."
            )
        name = next(iter(voices))
    else:
        name = PurePosixPath(spec.removesuffix(".json")).name.removesuffix(".onnx")
        if name not in voices:
            raise ModelNotFoundError(
                f"{repo.repo_id} has no voice {name!r}; list them with "
                f"'hearth models files {repo.repo_id}'."
            )
    onnx, config = voices[name]
    return PullPlan(
        repo_id=repo.repo_id,
        revision=repo.revision,
        kind=TTS,
        name=name,
        files=(onnx, config),
        dest_dir=models_dir / "voices" / voice_locale(name, onnx.path),
        flat=True,
    )


def _plan_whisper(repo: RepoFiles, spec: str | None, models_dir: Path) -> PullPlan:
    if spec is not None:
        raise ConfigError(
            f"{repo.repo_id} is a Whisper model and is pulled whole; leave out {spec!r}."
        )
    if not is_whisper_repo(repo):
        raise ModelNotFoundError(
            f"{repo.repo_id} is not a CTranslate2 Whisper model (it needs "
            "model.bin, config.json and a vocabulary)."
        )
    files = tuple(
        f
        for f in repo.other_files
        if not any(part.startswith(".") for part in PurePosixPath(f.path).parts)
    )
    name = repo.repo_id.split("/")[-1]
    return PullPlan(
        repo_id=repo.repo_id,
        revision=repo.revision,
        kind=STT,
        name=name,
        files=files,
        dest_dir=models_dir / "whisper" / name,
        flat=False,
    )


# -- doing it ------------------------------------------------------------------------------------


def enqueue(manager: DownloadManager, plan: PullPlan) -> list[DownloadHandle]:
    """Queue every file of ``plan`` (a ``.part`` left by an earlier try is resumed)."""
    return [
        manager.enqueue(plan.repo_id, f.path, plan.dest_dir, revision=plan.revision, flat=plan.flat)
        for f in plan.files
    ]


def partial_bytes(plan: PullPlan) -> int:
    """Bytes already downloaded by an earlier, interrupted pull of the same files."""
    total = 0
    for remote in plan.files:
        part = plan.dest(remote).with_name(plan.dest(remote).name + PART_SUFFIX)
        with contextlib.suppress(OSError):
            st = os.lstat(part)  # a link is not a partial download: it will be replaced
            if stat.S_ISREG(st.st_mode):
                total += min(st.st_size, remote.size)
    return total


def register(library: Library, plan: PullPlan) -> ModelEntry:
    """Record a finished pull in the library (by path: a second pull replaces the entry)."""
    path = plan.entry_path
    if plan.kind == STT:
        entry = describe_whisper(path, name=plan.name, source="download")
    elif plan.kind == TTS:
        entry = describe_voice(path, name=plan.name, source="download")
    else:
        entry = describe_gguf(path, source="download")
    projector = plan.projector_path
    if projector is None:
        library.register([entry])
        return entry
    library.register([entry, describe_gguf(projector, source="download")])
    try:  # remembered, so a projector moved away later is reported, not just missed
        return library.pair(path, projector)
    except HearthError as exc:
        log.warning("%s came with %s, which does not fit it: %s", path, projector.name, exc)
        return library.with_vision(entry)
