"""Where Hearth keeps its settings, data, logs and models.

Platform directories come from platformdirs. ``HEARTH_HOME`` puts everything under one
folder instead (used by tests and portable installs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.core.private import make_files_private, private_dir

APP_NAME = "Hearth"


@dataclass(frozen=True)
class AppPaths:
    """The folders Hearth writes to. ``ensure()`` creates them."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def secrets_file(self) -> Path:
        """Where secrets go when the system has no keyring (see app.core.secrets)."""
        return self.config_dir / "secrets.json"

    @property
    def default_models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def library_file(self) -> Path:
        return self.data_dir / "library.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "hearth.log"

    def ensure(self) -> AppPaths:
        """Create the folders, readable only by this user, and tighten the files in them
        that an older Hearth left readable by others (settings, history, logs)."""
        for folder in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            private_dir(folder)
        for folder in (self.config_dir, self.data_dir, self.log_dir):
            make_files_private(folder)
        return self


def app_paths() -> AppPaths:
    """The folders for this user, honouring ``HEARTH_HOME``."""
    home = os.environ.get("HEARTH_HOME")
    if home:
        root = Path(home).expanduser()
        return AppPaths(
            config_dir=root / "config",
            data_dir=root / "data",
            cache_dir=root / "cache",
            log_dir=root / "logs",
        )
    import platformdirs

    return AppPaths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
