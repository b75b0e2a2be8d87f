"""Where the window finds its icons and translations."""

from __future__ import annotations

import sys
from pathlib import Path


def assets_dir() -> Path | None:
    """``assets/`` beside the package (source checkout) or inside a frozen bundle."""
    candidates = [Path(__file__).resolve().parents[2] / "assets"]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.insert(0, Path(bundle) / "assets")
    return next((c for c in candidates if c.is_dir()), None)


def asset_path(*parts: str) -> Path | None:
    root = assets_dir()
    if root is None:
        return None
    path = root.joinpath(*parts)
    return path if path.exists() else None
