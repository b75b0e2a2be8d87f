"""GGUF models other applications keep: the Hugging Face cache and LM Studio's folder.

They are listed (source ``hf-cache`` or ``lmstudio``) so a model the user already has
need not be downloaded again; Hearth never deletes or moves them.

The cache is read from its layout (``models--owner--name/snapshots/<commit>/...``, with
files linking into ``blobs/``) rather than through ``huggingface_hub.scan_cache_dir``,
which also walks every blob of every dataset: a directory listing is enough here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.gguf_meta import SPLIT_RE

HF_CACHE, LMSTUDIO = "hf-cache", "lmstudio"


@dataclass(frozen=True)
class ExternalFile:
    """A GGUF another application keeps; the library describes it."""

    source: str  # HF_CACHE or LMSTUDIO
    path: Path
    repo_id: str | None = None  # the Hub repository, for files in the cache


def hf_cache_dir() -> Path:
    """The Hub cache, as huggingface_hub finds it (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "huggingface" / "hub"


def lmstudio_dirs() -> list[Path]:
    """LM Studio's model folders: the current one and the pre-0.3 one."""
    home = Path.home()
    return [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]


def default_roots() -> list[tuple[str, Path]]:
    return [(HF_CACHE, hf_cache_dir()), *((LMSTUDIO, d) for d in lmstudio_dirs())]


def gguf_files(folder: Path) -> list[Path]:
    """GGUF files under ``folder`` (recursively, hidden folders skipped); a split model
    once, by its first part."""
    found: list[Path] = []
    if not folder.is_dir():
        return found
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file_name in sorted(names):
            if not file_name.lower().endswith(".gguf"):
                continue
            match = SPLIT_RE.search(file_name)
            if match and int(match.group(1)) != 1:
                continue
            found.append(Path(root) / file_name)
    return found


def find_external(roots: Sequence[tuple[str, Path]]) -> list[ExternalFile]:
    """The GGUFs under each ``(source, folder)``; missing folders are skipped."""
    found: list[ExternalFile] = []
    for source, folder in roots:
        if source == HF_CACHE:
            found += [ExternalFile(source, path, repo) for path, repo in hf_cache_files(folder)]
        else:
            found += [ExternalFile(source, path) for path in gguf_files(folder)]
    return found


def hf_cache_files(cache: Path) -> list[tuple[Path, str]]:
    """``(file, owner/name)`` for the GGUFs in the newest snapshot holding them, per repo."""
    found: list[tuple[Path, str]] = []
    if not cache.is_dir():
        return found
    for repo_dir in sorted(cache.glob("models--*")):
        repo_id = repo_dir.name.removeprefix("models--").replace("--", "/")
        snapshots = [s for s in (repo_dir / "snapshots").glob("*") if s.is_dir()]
        seen_files: set[str] = set()
        # Newest first: an older snapshot's copy of the same file is the same blob.
        for snapshot in sorted(snapshots, key=lambda s: s.stat().st_mtime, reverse=True):
            for path in gguf_files(snapshot):
                relative = os.path.relpath(path, snapshot)
                if relative in seen_files:
                    continue
                seen_files.add(relative)
                found.append((path, repo_id))
    return found
