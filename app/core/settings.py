"""User settings: a small JSON file in the config directory, readable only by the user.

Every value is checked on load (see :mod:`app.core.settings_rules`): a wrong one is named
in one sentence and replaced by its default, keeping every other value. Unknown keys
are kept (a newer Hearth may have written them). A file that cannot be read, or whose
values had to be replaced, is first copied to a new ``settings.damaged-<time>.json``:
a backup is never overwritten. API keys never stay in the file: they go to the OS
keyring (:mod:`app.core.secrets`), including plain keys an older Hearth wrote.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from app.core import settings_rules
from app.core.i18n import translate
from app.core.paths import AppPaths
from app.core.private import make_private, write_private_text
from app.core.secrets import REMOTE_API_KEY, SERVER_API_KEY, secret_store

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1

# Groups of Settings.extra holding an API key, and the secret each key is stored as.
_SECRET_KEYS = {"server": SERVER_API_KEY, "remote": REMOTE_API_KEY}


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
    # Folders whose images API clients may name by file:// URL (empty: data: URLs only).
    api_image_folders: list[str] = field(default_factory=list)
    kv_type: str = "f16"  # the KV cache's type: f16, q8_0 or q4_0 (engine.kv_cache)
    # Saved state of recent conversations, in MiB (engine.kv_state); 0: none saved. On:
    # reopening a long conversation skips reading it again (bench_kv.py); the files hold
    # conversation content and are deleted with their conversation (engine.kv_files).
    kv_state_mb: int = 1024
    # MoE models: the experts of the first N blocks kept in RAM (engine.moe), "auto":
    # the planner's choice.
    cpu_moe: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)
    # Flash attention: "auto" (on for a quantised KV cache), "on" or "off" (engine.kv_cache).
    flash_attn: str = "auto"

    def models_path(self, paths: AppPaths) -> Path:
        """The folder new models go to."""
        return Path(self.models_dir).expanduser() if self.models_dir else paths.default_models_dir


@dataclass
class LoadedSettings:
    """Settings as loaded, and a sentence for each thing the user should hear about."""

    settings: Settings
    notices: list[str] = field(default_factory=list)


def load_settings(paths: AppPaths) -> Settings:
    """Read settings; a missing, damaged or wrong value falls back to its default."""
    return read_settings(paths).settings


def read_settings(paths: AppPaths) -> LoadedSettings:
    """Read, check and repair the settings file; the notices name every repair."""
    file = paths.settings_file
    if not file.exists():
        return LoadedSettings(Settings())
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("it does not hold a JSON object")
    except (OSError, ValueError) as exc:
        backup = _backup_name(file)
        log.warning("settings file %s unreadable (%s); moved to %s", file, exc, backup)
        try:
            os.replace(file, backup)
        except OSError as move_exc:
            log.warning("cannot move %s aside: %s", file, move_exc)
            backup = file
        return LoadedSettings(
            Settings(),
            [
                translate(
                    "Errors",
                    "Your settings file could not be read ({error}); it was kept as {backup} "
                    "and Hearth starts with default settings.",
                ).format(error=_reason(exc), backup=backup)
            ],
        )
    defaults = asdict(Settings())
    clean, notices = settings_rules.check(raw, defaults)
    for notice in notices:
        log.warning("%s", notice)
    settings = _from_dict(clean)
    try:
        moved = _move_secrets(paths, settings.extra)
    except OSError as exc:  # not even the private file could be written: keep them
        log.warning("cannot store the API keys of %s outside it: %s", file, exc)
        moved = False
    if notices:
        backup = _backup_name(file)
        try:
            shutil.copyfile(file, backup)
            make_private(backup)
            notices.append(
                translate(
                    "Errors",
                    "Your settings file as it was is kept as {backup}.",
                ).format(backup=backup)
            )
        except OSError as exc:
            log.warning("cannot keep a copy of %s: %s", file, exc)
    if notices or moved:
        try:  # the repaired file, so the same notices do not come back at every start
            save_settings(paths, settings)
        except OSError as exc:
            log.warning("cannot rewrite %s: %s", file, exc)
    return LoadedSettings(settings, notices)


def save_settings(paths: AppPaths, settings: Settings) -> None:
    """Write settings atomically (a crash mid-write never leaves half a file), keeping
    any API key found in ``settings.extra`` in the keyring instead of the file."""
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    _move_secrets(paths, settings.extra)
    data = asdict(settings)
    extra = data.pop("extra")
    payload = {"version": SETTINGS_VERSION, **extra, **data}
    write_private_text(paths.settings_file, json.dumps(payload, indent=2, sort_keys=True))


def _from_dict(clean: dict[str, Any]) -> Settings:
    known = {f.name for f in fields(Settings)} - {"extra"}
    values = {k: v for k, v in clean.items() if k in known}
    extra = {k: v for k, v in clean.items() if k not in known and k != "version"}
    settings = Settings(**values, extra=extra)
    settings.gpu_layers = str(settings.gpu_layers)  # a bare number in the file is fine
    return settings


def _move_secrets(paths: AppPaths, extra: dict[str, Any]) -> bool:
    """Store the API keys found in ``extra`` as secrets and take them out of it.

    A key present (even empty: the user cleared it) is the one the user wants now.
    Returns whether any key was moved.
    """
    found = {
        group: secret
        for group, secret in _SECRET_KEYS.items()
        if isinstance(extra.get(group), dict) and "api_key" in extra[group]
    }
    if not found:
        return False
    store = secret_store(paths)
    for group, secret in found.items():
        store.set(secret, str(extra[group]["api_key"] or ""))
        extra[group] = {k: v for k, v in extra[group].items() if k != "api_key"}
    log.info("API keys of %s kept in %s", ", ".join(found), store.location)
    return True


def _backup_name(file: Path) -> Path:
    """A name no backup has yet: ``settings.damaged-<time>.json`` (``-2``, ``-3`` …)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    backup = file.with_name(f"{file.stem}.damaged-{stamp}{file.suffix}")
    n = 2
    while backup.exists():
        backup = file.with_name(f"{file.stem}.damaged-{stamp}-{n}{file.suffix}")
        n += 1
    return backup


def _reason(exc: BaseException) -> str:
    text = str(exc).rstrip(".")
    return text[:1].lower() + text[1:] if text else type(exc).__name__
