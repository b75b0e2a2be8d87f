"""The paths, settings and library every front end starts from."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from app.catalog.library import Library
from app.catalog.starter import register_starter_models
from app.core.i18n import translate
from app.core.logsetup import setup_logging
from app.core.paths import AppPaths, app_paths
from app.core.settings import Settings, read_settings

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    paths: AppPaths
    settings: Settings
    library: Library
    # One sentence each for the user: settings that were damaged and replaced.
    notices: list[str] = field(default_factory=list)

    @property
    def models_dir(self) -> Path:
        return self.settings.models_path(self.paths)


def open_app_context(*, verbose: bool = False) -> AppContext:
    """Create folders, start logging, load settings and register the starter models.

    Notices (a damaged setting replaced by its default) go to stderr at once; the window
    shows them in its notice banner too.
    """
    paths = app_paths().ensure()
    setup_logging(paths, verbose=verbose)
    loaded = read_settings(paths)
    settings = loaded.settings
    if sys.stderr is not None:
        for notice in loaded.notices:
            print(notice, file=sys.stderr)
    models_dir = settings.models_path(paths)
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file, or a folder this user may not create
        notice = translate(
            "Errors",
            "The models folder {models_dir} cannot be used ({error}); Hearth uses "
            "{default_models_dir} instead.",
        ).format(
            models_dir=models_dir,
            error=exc.strerror or exc,
            default_models_dir=paths.default_models_dir,
        )
        log.warning("%s", notice)
        loaded.notices.append(notice)
        if sys.stderr is not None:
            print(notice, file=sys.stderr)
        settings.models_dir = None
        models_dir = paths.default_models_dir
        models_dir.mkdir(parents=True, exist_ok=True)
    dirs = [models_dir, *(Path(d).expanduser() for d in settings.extra_model_dirs)]
    library = Library(paths.library_file, dirs)
    register_starter_models(library)
    return AppContext(paths, settings, library, loaded.notices)
