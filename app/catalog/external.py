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
from pathlib import Path

from app.catalog.library import ModelEntry, scan_folder

HF_CACHE, LMSTUDIO = "hf-cache", "lmstudio"


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


def scan_external(roots: Sequence[tuple[str, Path]]) -> list[ModelEntry]:
    """Entries for the GGUFs under each ``(source, folder)``; missing folders are skipped."""
    entries: list[ModelEntry] = []
    for source, folder in roots:
        found = scan_hf_cache(folder) if source == HF_CACHE else scan_folder(folder)
        for entry in found:
            entry.source = source
        entries += found
    return entries


def scan_hf_cache(cache: Path) -> list[ModelEntry]:
    """GGUFs in the newest snapshot holding them, per repo, named ``file (owner/name)``."""
    entries: list[ModelEntry] = []
    if not cache.is_dir():
        return entries
    for repo_dir in sorted(cache.glob("models--*")):
        repo_id = repo_dir.name.removeprefix("models--").replace("--", "/")
        snapshots = [s for s in (repo_dir / "snapshots").glob("*") if s.is_dir()]
        seen_files: set[str] = set()
        # Newest first: an older snapshot's copy of the same file is the same blob.
        for snapshot in sorted(snapshots, key=lambda s: s.stat().st_mtime, reverse=True):
            for entry in scan_folder(snapshot):
                relative = os.path.relpath(entry.path, snapshot)
                if relative in seen_files:
                    continue
                seen_files.add(relative)
                entry.name = f"{entry.name} ({repo_id})"
                entries.append(entry)
    return entries
