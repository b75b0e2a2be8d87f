"""DownloadService: the download manager's progress as GUI-thread signals."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from app.catalog.catalog import ChatModel
from app.catalog.downloads import DownloadHandle, DownloadManager, DownloadProgress, DownloadState
from app.catalog.fit import fit_function
from app.catalog.hub import HubClient
from app.catalog.library import Library, describe_gguf


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
        self.hub = hub or HubClient()
        # (RepoFiles) -> {variant name: (fit verdict, recommended)}, run on a pool thread.
        self.fit = fit_function(self.hub, cache_dir=cache_dir or models_dir / ".cache")
        self._update.connect(self._on_update, Qt.ConnectionType.QueuedConnection)
        self.manager = DownloadManager(parallel=parallel, hub=self.hub, on_update=self._update.emit)

    def download(self, repo_id: str, filename: str) -> DownloadHandle:
        """Queue a file into ``<models>/<repo>/``; it joins the library once verified."""
        return self.manager.enqueue(repo_id, filename, self.models_dir / repo_id)

    def recommended_chat_models(self, language: str | None = None) -> list[ChatModel]:
        """The catalog's chat models for this machine, best first (for the first-run guide)."""
        from app.catalog.catalog import for_machine
        from app.engine.hardware import probe_hardware

        return list(for_machine(probe_hardware(), language=language).chat)

    def resume_incomplete(self) -> list[DownloadHandle]:
        return self.manager.resume_incomplete(self.models_dir)

    def handles(self) -> list[DownloadHandle]:
        return self.manager.handles()

    def shutdown(self) -> None:
        self.manager.close()

    def _on_update(self, progress: DownloadProgress) -> None:
        self.progress_changed.emit(progress)
        if progress.state == DownloadState.DONE and progress.dest.suffix.lower() == ".gguf":
            self.library.register([describe_gguf(progress.dest, source="download")])
            self.finished.emit(progress)
