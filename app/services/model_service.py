"""ModelService: which chat models exist, which one is loaded, and importing new ones."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.catalog.library import CHAT, STT, TTS, Library, ModelEntry
from app.composition.options import LoadOverrides, load_options
from app.core.errors import HearthError
from app.core.i18n import translate
from app.core.settings import Settings
from app.engine import protocol as p
from app.services.engine_service import EngineService

log = logging.getLogger(__name__)

REMOTE_SOURCE = "remote"  # ModelEntry.source of the remote endpoint's model


class ModelService(QObject):
    models_changed = Signal()
    load_started = Signal(str)  # model name
    load_progress = Signal(float)
    model_ready = Signal(object)  # protocol.ModelLoaded
    load_failed = Signal(str)
    import_failed = Signal(str)

    def __init__(
        self,
        library: Library,
        engine: EngineService,
        parent: QObject | None = None,
        *,
        settings: Callable[[], Settings] = Settings,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.engine = engine
        # The settings as they are now (Preferences replaces them on save): read at each load.
        self._settings = settings
        self.current: ModelEntry | None = None
        self.loaded: p.ModelLoaded | None = None
        self._load_request = 0
        self._pending: ModelEntry | None = None
        # The remote endpoint's settings (a ServerService), when the window has them.
        self.remote: Any = None
        engine.load_progress.connect(self._on_progress)
        engine.model_loaded.connect(self._on_loaded)
        engine.request_failed.connect(self._on_failed)

    def chat_models(self) -> list[ModelEntry]:
        return self.library.entries(CHAT)

    def pickable_models(self) -> list[ModelEntry]:
        """What the model picker offers: installed chat models, then the remote endpoint's."""
        remote = self.remote.remote_entry() if self.remote is not None else None
        return [*self.chat_models(), *([remote] if remote is not None else [])]

    def speech_models(self) -> list[ModelEntry]:
        """Installed Whisper models, for the voice settings."""
        return [e for e in self.library.entries(STT) if e.error is None]

    def voices(self) -> list[ModelEntry]:
        """Installed Piper voices, for the voice settings."""
        return [e for e in self.library.entries(TTS) if e.error is None]

    @property
    def loading(self) -> bool:
        return self._load_request != 0

    def load(self, entry: ModelEntry, overrides: LoadOverrides | None = None) -> None:
        """Load ``entry`` with the settings' options (``overrides``: a conversation's own);
        progress and the outcome come as signals."""
        if entry.error:
            self.load_failed.emit(entry.error)
            return
        if entry.source == REMOTE_SOURCE:
            factory = self.remote.remote_backend_factory() if self.remote is not None else None
            if factory is None:
                self.load_failed.emit(
                    translate(
                        "ModelService",
                        "No remote endpoint is set up. Add one in Preferences, API server.",
                    )
                )
                return
            self.engine.use_remote(self.remote.remote_key(), factory)
        else:
            self.engine.use_local()
        options = load_options(entry, self._settings(), overrides)
        self._pending = entry
        self._load_request = self.engine.load(options.path, **options.load_kwargs())
        self.load_started.emit(entry.name)

    def import_file(self, path: Path) -> ModelEntry | None:
        """Add a model file or folder to the library where it is (no copy); on a broken
        file, None and ``import_failed`` with the reason."""
        try:
            entries = self.library.import_path(path)
        except HearthError as exc:
            self.import_failed.emit(str(exc))
            return None
        self.models_changed.emit()
        return entries[0] if entries else None

    def delete(self, entry: ModelEntry) -> None:
        """Remove ``entry`` from the library (its files too when Hearth owns them)."""
        if self.current is not None and self.current.path == entry.path:
            self.engine.unload()
            self.current = self.loaded = None
        try:
            self.library.delete(entry)
        except (HearthError, OSError) as exc:
            self.import_failed.emit(str(exc))
            return
        self.models_changed.emit()

    def reveal(self, entry: ModelEntry) -> None:
        """Open the folder holding ``entry`` in the desktop's file manager."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        folder = Path(entry.path) if Path(entry.path).is_dir() else Path(entry.path).parent
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _on_progress(self, request_id: int, fraction: float) -> None:
        if request_id == self._load_request:
            self.load_progress.emit(fraction)

    def _on_loaded(self, event: p.ModelLoaded) -> None:
        if event.request_id != self._load_request:
            self._follow(event)
            return
        self._load_request = 0
        self.current, self._pending = self._pending, None
        self.loaded = event
        self.model_ready.emit(event)

    def _follow(self, event: p.ModelLoaded) -> None:
        """Someone else loaded a model in the shared worker (the API server, say): the
        window talks to it from now on, so it shows it. A load of the window's own that is
        still on its way follows it and wins; with a remote endpoint chosen, nothing the
        local worker loads changes what the window talks to."""
        if self.engine.is_remote:
            return
        self.current = next((e for e in self.chat_models() if e.path == event.path), None)
        self.loaded = event
        self.model_ready.emit(event)

    def _on_failed(self, event: p.ErrorEvent) -> None:
        if event.request_id != self._load_request:
            return
        self._load_request = 0
        self._pending = None
        self.load_failed.emit(event.message)
