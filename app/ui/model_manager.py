"""The model manager: installed models, Hub discovery with fit verdicts, and downloads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import HearthError
from app.core.units import format_bytes, format_duration
from app.services.background import run_in_background
from app.services.download_service import DownloadService
from app.services.model_service import ModelService
from app.services.types import (
    DownloadHandle,
    DownloadProgress,
    DownloadState,
    HubClient,
    ModelEntry,
    QuantVariant,
    RepoFiles,
    RepoSummary,
)
from app.ui.icons import apply_icon
from app.ui.model_card import ModelCardView
from app.ui.vision_badge import VISION_TIP, can_see, repo_sees, vision_icon

FitFunction = Any  # (RepoFiles) -> dict[variant name, (verdict text, recommended)]


def _item(text: str, data: object = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if data is not None:
        item.setData(Qt.ItemDataRole.UserRole, data)
    return item


# Where an installed model came from, in words (ModelEntry.source); translated where shown.
ORIGINS = {
    "starter": "Starter set",
    "download": "Downloaded",
    "import": "Imported",
    "path": "Imported",
    "scan": "Models folder",
    "remote": "Remote endpoint",
}


def origin_label(source: str) -> str:
    """A model's origin for people: "Starter set" rather than a site-packages path."""
    return ORIGINS.get(source, "Models folder")


def _table(headers: list[str], parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class InstalledTab(QWidget):
    def __init__(self, models: ModelService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self.table = _table(
            [
                self.tr("Name"),
                self.tr("Kind"),
                self.tr("Size"),
                self.tr("Architecture"),
                self.tr("Parameters"),
                self.tr("Quantisation"),
                self.tr("Context"),
                self.tr("Origin"),
            ],
            self,
        )
        self.table.setAccessibleName(self.tr("Installed models"))
        self.import_button = QPushButton(self.tr("Import…"), self)
        self.pair_button = QPushButton(self.tr("Projector…"), self)
        self.pair_button.setToolTip(
            self.tr("Choose the projector (mmproj GGUF) that lets the selected model see images")
        )
        self.status = QLabel(self)
        self.status.setObjectName("installedStatus")
        self.status.setWordWrap(True)
        self.reveal_button = QPushButton(self.tr("Show in folder"), self)
        self.delete_button = QPushButton(self.tr("Delete…"), self)
        for button, role in (
            (self.import_button, "import"),
            (self.reveal_button, "folder"),
            (self.delete_button, "delete"),
        ):
            apply_icon(button, role)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.pair_button)
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.reveal_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.import_button.clicked.connect(self._import)
        self.pair_button.clicked.connect(self.choose_projector)
        self.reveal_button.clicked.connect(self._reveal)
        self.delete_button.clicked.connect(self._delete)
        models.models_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        entries = self.models.library.entries()
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            params = f"{entry.parameters / 1e6:.0f}M" if entry.parameters else "-"
            values = [
                entry.name,
                entry.kind,
                format_bytes(entry.size_bytes),
                entry.architecture or "-",
                params,
                entry.quantization or "-",
                str(entry.context_length or "-"),
                entry.error or self.tr(origin_label(entry.source)),
            ]
            for column, value in enumerate(values):
                self.table.setItem(row, column, _item(value, entry if column == 0 else None))
            # The file's place is one hover away (and in Show in folder), not in the row.
            origin = self.table.item(row, len(values) - 1)
            if origin is not None:
                origin.setToolTip(f"{entry.error}\n{entry.path}" if entry.error else entry.path)
            name = self.table.item(row, 0)
            if can_see(entry) and name is not None:
                name.setIcon(vision_icon())
                name.setToolTip(f"{self.tr(VISION_TIP)}: {entry.mmproj}")

    def selected(self) -> ModelEntry | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        entry = item.data(Qt.ItemDataRole.UserRole) if item else None
        return entry if isinstance(entry, ModelEntry) else None

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Import a model"), "", "GGUF (*.gguf)")
        if path:
            self.models.import_file(Path(path))

    def choose_projector(self) -> None:
        """Ask for the projector file of the selected chat model and pair them."""
        entry = self.selected()
        if entry is None or entry.kind != "chat":
            self.status.setText(self.tr("Select a chat model first."))
            return
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Projector for %s") % entry.name, "", "GGUF (*.gguf)"
        )
        if path:
            self.pair_projector(entry, path)

    def pair_projector(self, entry: ModelEntry, path: str) -> None:
        """Pair ``entry`` with the projector at ``path`` by hand; one made for another
        model is refused with why."""
        try:
            self.models.library.pair(entry.path, path)
        except HearthError as exc:
            self.status.setText(str(exc))
            return
        self.status.setText(self.tr("%s can see images now.") % entry.name)
        self.models.models_changed.emit()

    def _reveal(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.models.reveal(entry)

    def _delete(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        answer = QMessageBox.question(
            self,
            self.tr("Delete model"),
            self.tr(
                "Remove %s from Hearth? Files Hearth downloaded are deleted; files it "
                "only registered stay where they are."
            )
            % entry.name,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.models.delete(entry)


class DiscoverTab(QWidget):
    download_requested = Signal(str, str)  # repo id, file path

    def __init__(
        self, hub: HubClient, fit: FitFunction | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.hub = hub
        self.fit = fit
        self.query = QLineEdit(self)
        self.query.setPlaceholderText(self.tr("Search GGUF models on the Hugging Face Hub"))
        self.sort = QComboBox(self)
        for key, label in (
            ("downloads", self.tr("Most downloaded")),
            ("likes", self.tr("Most liked")),
            ("recent", self.tr("Recently updated")),
        ):
            self.sort.addItem(label, key)
        self.search_button = QPushButton(self.tr("Search"), self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.repos = _table(
            [
                self.tr("Repository"),
                self.tr("Downloads"),
                self.tr("Likes"),
                self.tr("Access"),
                self.tr("Adapter"),
            ],
            self,
        )
        self.repos.horizontalHeader().moveSection(4, 1)  # shown beside the name
        # The installed chat models, to say which base an adapter in the results is for.
        self.chat_models: Callable[[], Sequence[ModelEntry]] = list
        self.files = _table(
            [self.tr("Quantisation"), self.tr("Size"), self.tr("Fit"), self.tr("File")], self
        )
        self.card = ModelCardView(hub, parent=self)
        self.sort.setAccessibleName(self.tr("Sort by"))
        self.sort.setToolTip(self.tr("Sort by"))
        self.repos.setAccessibleName(self.tr("Repositories found"))
        self.files.setAccessibleName(self.tr("Files in the repository"))
        self.download_button = QPushButton(self.tr("Download"), self)
        self.download_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.query, 1)
        top.addWidget(self.sort)
        top.addWidget(self.search_button)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.files, 1)
        right_layout.addWidget(self.download_button)
        right_layout.addWidget(self.card, 3)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.repos)
        split.addWidget(right)
        split.setSizes([380, 520])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self.query.returnPressed.connect(self.search)
        self.search_button.clicked.connect(self.search)
        self.repos.itemSelectionChanged.connect(self._repo_selected)
        self.files.itemSelectionChanged.connect(
            lambda: self.download_button.setEnabled(self.files.currentRow() >= 0)
        )
        self.download_button.clicked.connect(self._download)
        self.current: RepoFiles | None = None

    def search(self) -> None:
        query, sort = self.query.text().strip(), str(self.sort.currentData())
        self.status.setText(self.tr("Searching…"))
        self.search_button.setEnabled(False)
        run_in_background(
            lambda: self.hub.search(query, sort=sort, limit=50),  # type: ignore[arg-type]
            self._show_repos,
            self._show_error,
        )

    def _show_error(self, error: HearthError) -> None:
        self.search_button.setEnabled(True)
        self.status.setText(str(error))

    def _show_repos(self, repos: list[RepoSummary]) -> None:
        self.search_button.setEnabled(True)
        self.status.setText(self.tr("%n repositories", "", len(repos)))
        self.repos.setRowCount(len(repos))
        for row, repo in enumerate(repos):
            self.repos.setItem(row, 0, _item(repo.repo_id, repo.repo_id))
            self._mark_vision(row, repo_sees(repo))
            self.repos.setItem(row, 1, _item(f"{repo.downloads:,}"))
            self.repos.setItem(row, 2, _item(f"{repo.likes:,}"))
            self.repos.setItem(row, 3, _item(self.tr("gated") if repo.gated else self.tr("open")))
            self.repos.setItem(row, 4, self._adapter_item(repo))

    def _adapter_item(self, repo: RepoSummary) -> QTableWidgetItem:
        """For an adapter: the base model it names, and the installed models that are it."""
        if not repo.adapter:
            return _item("")
        from app.services.lora_service import adapter_column

        base, fits = adapter_column(repo, self.chat_models())
        short = base.rsplit("/", 1)[-1] if base else self.tr("base not named")
        item = _item(self.tr("LoRA for %s") % short + (" ✓" if fits else ""))
        named = base or self.tr("a model it does not name")
        item.setToolTip(
            self.tr("A LoRA adapter for %s; installed: %s") % (named, ", ".join(fits))
            if fits
            else self.tr("A LoRA adapter for %s, which is not installed") % named
        )
        return item

    def _mark_vision(self, row: int, sees: bool) -> None:
        item = self.repos.item(row, 0)
        if item is not None:
            item.setIcon(vision_icon() if sees else QIcon())
            item.setToolTip(self.tr(VISION_TIP) if sees else "")

    def _repo_selected(self) -> None:
        row = self.repos.currentRow()
        item = self.repos.item(row, 0) if row >= 0 else None
        if item is None:
            return
        repo_id = str(item.data(Qt.ItemDataRole.UserRole))
        self.status.setText(self.tr("Listing files of %s…") % repo_id)
        self.card.show_repo(repo_id)  # its own worker thread; a new pick cancels it
        fit = self.fit

        def work() -> tuple[RepoFiles, dict[str, tuple[str, bool]]]:
            files = self.hub.list_files(repo_id)
            return files, (fit(files) if fit is not None else {})

        run_in_background(work, self._show_files, self._show_error)

    def _show_files(self, result: tuple[RepoFiles, dict[str, tuple[str, bool]]]) -> None:
        files, verdicts = result
        self.current = files
        row = next(
            (
                r
                for r in range(self.repos.rowCount())
                if (item := self.repos.item(r, 0)) is not None
                and item.data(Qt.ItemDataRole.UserRole) == files.repo_id
            ),
            -1,
        )
        if row >= 0:  # its files say for sure: a projector among them or not
            self._mark_vision(row, repo_sees(files))
        models: list[QuantVariant] = list(files.models)
        self.files.setRowCount(len(models))
        for row, variant in enumerate(models):
            verdict, recommended = verdicts.get(variant.name, ("", False))
            if files.adapter:  # applied to a loaded model: no memory plan of its own
                verdict, recommended = self.tr("LoRA adapter (small; loads with its base)"), False
            quant = (variant.quant or "?") + ("  ★" if recommended else "")
            # A vision model comes with its projector: one row, both files, both sizes.
            projector = files.projector_for(variant)
            size = variant.size + (projector.size if projector is not None else 0)
            self.files.setItem(row, 0, _item(quant, variant.files[0].path))
            self.files.setItem(row, 1, _item(format_bytes(size)))
            self.files.setItem(row, 2, _item(verdict or "-"))
            parts = f" ({variant.n_parts} parts)" if variant.is_split else ""
            with_projector = f" + {projector.name}" if projector is not None else ""
            self.files.setItem(row, 3, _item(variant.name + parts + with_projector))
        licence = files.license or self.tr("unknown licence")
        gated = (
            self.tr("; gated: accept its terms on the Hub and set a token") if files.gated else ""
        )
        adapter = (
            self.tr("; a LoRA adapter for %s") % (files.base_model or self.tr("an unnamed model"))
            if files.adapter
            else ""
        )
        self.status.setText(f"{files.repo_id}: {licence}{gated}{adapter}")

    def _download(self) -> None:
        row = self.files.currentRow()
        item = self.files.item(row, 0) if row >= 0 and self.current else None
        if item is None or self.current is None:
            return
        path = str(item.data(Qt.ItemDataRole.UserRole))
        self.download_requested.emit(self.current.repo_id, path)
        # The projector comes along; the library pairs it with the model once both are in.
        variant = next((v for v in self.current.models if v.files[0].path == path), None)
        projector = self.current.projector_for(variant) if variant is not None else None
        if projector is not None:
            for part in projector.files:
                self.download_requested.emit(self.current.repo_id, part.path)


class DownloadsTab(QWidget):
    def __init__(self, downloads: DownloadService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.downloads = downloads
        self.table = _table(
            [
                self.tr("File"),
                self.tr("Progress"),
                self.tr("Speed"),
                self.tr("Remaining"),
                self.tr("State"),
            ],
            self,
        )
        self.table.setAccessibleName(self.tr("Downloads"))
        self.pause_button = QPushButton(self.tr("Pause"), self)
        self.resume_button = QPushButton(self.tr("Resume"), self)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.pause_button, self.resume_button, self.cancel_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.rows: dict[Path, int] = {}
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(1, 220)
        self.pause_button.clicked.connect(lambda: self._act("pause"))
        self.resume_button.clicked.connect(lambda: self._act("resume"))
        self.cancel_button.clicked.connect(lambda: self._act("cancel"))
        downloads.progress_changed.connect(self.update_progress)

    def update_progress(self, progress: DownloadProgress) -> None:
        row = self.rows.get(progress.dest)
        if row is None:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.rows[progress.dest] = row
            self.table.setItem(
                row, 0, _item(f"{progress.repo_id}/{progress.filename}", str(progress.dest))
            )
            new_bar = QProgressBar(self.table)
            new_bar.setRange(0, 1000)
            self.table.setCellWidget(row, 1, new_bar)
        bar = self.table.cellWidget(row, 1)
        if isinstance(bar, QProgressBar):
            bar.setValue(int((progress.fraction or 0) * 1000))
            total = format_bytes(progress.total) if progress.total else "?"
            bar.setFormat(f"{format_bytes(progress.done)} / {total}")
        running = progress.state == DownloadState.RUNNING
        self.table.setItem(
            row, 2, _item(f"{format_bytes(progress.speed_bps)}/s" if running else "")
        )
        eta = format_duration(progress.eta_s) if running and progress.eta_s is not None else ""
        self.table.setItem(row, 3, _item(eta))
        state = progress.error if progress.error else progress.state.value
        self.table.setItem(row, 4, _item(state))

    def _selected(self) -> DownloadHandle | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        if item is None:
            return None
        dest = str(item.data(Qt.ItemDataRole.UserRole))
        return next((h for h in self.downloads.handles() if str(h.dest) == dest), None)

    def _act(self, action: str) -> None:
        handle = self._selected()
        if handle is not None:
            getattr(handle, action)()


class ModelManager(QDialog):
    """Installed · Discover · Downloads, over the catalog code (no second implementation)."""

    def __init__(
        self,
        models: ModelService,
        downloads: DownloadService,
        hub: HubClient,
        fit: FitFunction | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models"))
        self.resize(980, 620)
        self.tabs = QTabWidget(self)
        self.installed = InstalledTab(models, self)
        self.discover = DiscoverTab(hub, fit, self)
        self.discover.chat_models = models.chat_models
        self.downloads_tab = DownloadsTab(downloads, self)
        self.tabs.addTab(self.installed, self.tr("Installed"))
        self.tabs.addTab(self.discover, self.tr("Discover"))
        self.tabs.addTab(self.downloads_tab, self.tr("Downloads"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        self._downloads = downloads
        self.discover.download_requested.connect(self._download)
        downloads.finished.connect(lambda _p: models.models_changed.emit())

    def _download(self, repo_id: str, path: str) -> None:
        self._downloads.download(repo_id, path)
        self.tabs.setCurrentWidget(self.downloads_tab)
