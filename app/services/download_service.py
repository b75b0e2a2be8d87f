"""DownloadService: the download manager's progress as GUI-thread signals.

The download machinery (HTTP pool, hashing, Hub client) is created on first use, so
the window starts without loading it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal

from app.catalog.library import Library, describe_gguf

if TYPE_CHECKING:
    from app.catalog.catalog import ChatModel
    from app.catalog.downloads import DownloadHandle, DownloadManager, DownloadProgress
    from app.catalog.hub import HubClient


class DownloadService(QObject):
    progress_changed = Signal(object)  # DownloadProgress
    finished = Signal(object)  # DownloadProgress of a download that is now in the library
    _update = Signal(object)

    def __init__(
        self,
        library: Library,
        models_dir: Path,
        *,
        hub: HubClient | None = None,
        parallel: int = 2,
        cache_dir: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.models_dir = models_dir
        self.parallel = parallel
        self.cache_dir = cache_dir or models_dir / ".cache"
        self._hub = hub
        self._manager: DownloadManager | None = None
        self._fit: Any = None
        self._update.connect(self._on_update, Qt.ConnectionType.QueuedConnection)

    @property
    def hub(self) -> HubClient:
        if self._hub is None:
            from app.catalog.hub import HubClient

            self._hub = HubClient()
        return self._hub

    @property
    def manager(self) -> DownloadManager:
        if self._manager is None:
            from app.catalog.downloads import DownloadManager

            self._manager = DownloadManager(
                parallel=self.parallel, hub=self.hub, on_update=self._update.emit
            )
        return self._manager

    @property
    def fit(self) -> Any:
        """(RepoFiles) -> {variant name: (fit verdict, recommended)}; runs on a pool thread."""
        if self._fit is None:
            from app.catalog.fit import fit_function

            self._fit = fit_function(self.hub, cache_dir=self.cache_dir)
        return self._fit

    def download(self, repo_id: str, filename: str) -> DownloadHandle:
        """Queue a file into ``<models>/<repo>/``; it joins the library once verified."""
        return self.manager.enqueue(repo_id, filename, self.models_dir / repo_id)

    def recommended_chat_models(self, language: str | None = None) -> list[ChatModel]:
        """The catalog's chat models for this machine, best first (for the first-run guide)."""
        from app.catalog.catalog import for_machine
        from app.engine.hardware import probe_hardware

        return list(for_machine(probe_hardware(), language=language).chat)

    def resume_incomplete(self) -> list[DownloadHandle]:
        """Queue again the downloads a previous run left unfinished (none: nothing loads)."""
        from app.catalog.downloads import SIDECAR_SUFFIX

        if not any(self.models_dir.rglob(f"*{SIDECAR_SUFFIX}")):
            return []
        return self.manager.resume_incomplete(self.models_dir)

    def handles(self) -> list[DownloadHandle]:
        return self.manager.handles() if self._manager is not None else []

    def shutdown(self) -> None:
        if self._manager is not None:
            self._manager.close()

    def _on_update(self, progress: DownloadProgress) -> None:
        from app.catalog.downloads import DownloadState

        self.progress_changed.emit(progress)
        if progress.state == DownloadState.DONE and progress.dest.suffix.lower() == ".gguf":
            self.library.register([describe_gguf(progress.dest, source="download")])
            self.finished.emit(progress)
