"""User settings: a small JSON file in the config directory.

Unknown keys are kept (a newer Hearth may have written them); a damaged file is moved
aside and replaced by defaults rather than stopping the app.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.core.paths import AppPaths

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1


@dataclass
class Settings:
    """Everything the user can change. ``None`` means "choose automatically"."""

    models_dir: str | None = None
    extra_model_dirs: list[str] = field(default_factory=list)
    default_model: str | None = None
    n_threads: int | None = None
    n_ctx: int = 4096
    gpu_layers: str = "auto"
    # Per-model chat-template override: model name -> template name (see engine.templates).
    template_overrides: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def models_path(self, paths: AppPaths) -> Path:
        """The folder new models go to."""
        return Path(self.models_dir).expanduser() if self.models_dir else paths.default_models_dir


def load_settings(paths: AppPaths) -> Settings:
    """Read settings, falling back to defaults when the file is missing or damaged."""
    file = paths.settings_file
    if not file.exists():
        return Settings()
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("settings file does not hold an object")
    except (OSError, ValueError) as exc:
        backup = file.with_suffix(".damaged.json")
        log.warning("settings file %s unreadable (%s); moved to %s", file, exc, backup)
        os.replace(file, backup)
        return Settings()
    known = {f.name for f in fields(Settings)} - {"extra"}
    values = {k: v for k, v in raw.items() if k in known}
    extra = {k: v for k, v in raw.items() if k not in known and k != "version"}
    try:
        return Settings(**values, extra=extra)
    except TypeError as exc:
        log.warning("settings file %s has bad values (%s); using defaults", file, exc)
        return Settings()


def save_settings(paths: AppPaths, settings: Settings) -> None:
    """Write settings atomically (a crash mid-write never leaves half a file)."""
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    data = asdict(settings)
    extra = data.pop("extra")
    payload = {"version": SETTINGS_VERSION, **extra, **data}
    tmp = paths.settings_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, paths.settings_file)
