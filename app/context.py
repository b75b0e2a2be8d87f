"""Composition helpers: the paths, settings and library every entry point starts from."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.catalog.library import Library
from app.catalog.starter import register_starter_models
from app.core.logsetup import setup_logging
from app.core.paths import AppPaths, app_paths
from app.core.settings import Settings, load_settings

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    paths: AppPaths
    settings: Settings
    library: Library

    @property
    def models_dir(self) -> Path:
        return self.settings.models_path(self.paths)


def open_app_context(*, verbose: bool = False) -> AppContext:
    """Create folders, start logging, load settings and register the starter models."""
    paths = app_paths().ensure()
    setup_logging(paths, verbose=verbose)
    settings = load_settings(paths)
    models_dir = settings.models_path(paths)
    models_dir.mkdir(parents=True, exist_ok=True)
    dirs = [models_dir, *(Path(d).expanduser() for d in settings.extra_model_dirs)]
    library = Library(paths.library_file, dirs)
    register_starter_models(library)
    return AppContext(paths, settings, library)
