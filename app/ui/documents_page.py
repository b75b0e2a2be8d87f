"""The Documents page: the user's collections, their indexing and a search to try them.

Widgets only show and forward; indexing, its queue and search live in DocumentService.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import HearthError
from app.core.i18n import translate
from app.core.units import format_duration
from app.services.document_service import DocumentService
from app.services.index_jobs import PAUSED, QUEUED, IndexJob
from app.ui.header import ElidedLabel

if TYPE_CHECKING:  # the documents' modules bring NumPy: not while the window starts
    from app.docs.indexer import IndexReport
    from app.docs.search import Passage
    from app.docs.store import CollectionSummary

NAME_ROLE = Qt.ItemDataRole.UserRole
FILE_KINDS = "*.pdf *.docx *.epub *.md *.markdown *.txt *.text *.rst *.html *.htm"


def suggest_name(paths: Sequence[Path], existing: Sequence[str]) -> str:
    """A name for a new collection: the folder's or the file's, made unique."""
    base = "Documents"
    if len(paths) == 1:
        path = Path(paths[0])
        base = path.name if path.is_dir() else path.stem
    name, n = base, 2
    taken = {e.casefold() for e in existing}
    while name.casefold() in taken:
        name, n = f"{base} {n}", n + 1
    return name


def job_text(job: IndexJob, waiting: int = 0) -> str:
    """One line on a running job: files, pages, the file just read and the time left."""
    verb = {"reindex": "Re-indexing", "remove": "Removing"}.get(job.kind, "Indexing")
    if job.kind == "remove":
        return f"{verb} {job.name}…"
    progress = job.progress
    if progress is None:
        text = f"{verb} {job.name}: looking for files…"
    else:
        text = (
            f"{verb} {job.name}: {progress.files_done} of {progress.files_total} files · "
            f"{progress.pages_done} pages · {Path(progress.path).name} done"
        )
        left = job.time_left_s()
        if left is not None and progress.files_done < progress.files_total:
            text += f" · about {format_duration(left)} left"
    if job.paused:
        text = "Paused — " + text
    if waiting:
        text += f" (then {waiting} more)"
    return text


def activity_text(job: IndexJob) -> str:
    """The running job in a few words (for the Documents button)."""
    if job.paused:
        return "paused"
    if job.progress is None or job.kind == "remove":
        return "indexing…"
    return f"{job.progress.files_done}/{job.progress.files_total}"


def report_text(report: IndexReport) -> str:
    """What an indexing run did, in one line."""
    from app.docs.indexer import ERROR, INDEXED, MOVED, NO_TEXT, REMOVED

    labels = (
        (INDEXED, translate("DocumentsPage", "{n} indexed")),
        (MOVED, translate("DocumentsPage", "{n} renamed")),
        (REMOVED, translate("DocumentsPage", "{n} removed")),
        (NO_TEXT, translate("DocumentsPage", "{n} without text")),
        (ERROR, translate("DocumentsPage", "{n} failed")),
    )
    parts = [
        label.format(n=report.count(status)) for status, label in labels if report.count(status)
    ]
    done = (
        translate("DocumentsPage", ", ").join(parts)
        if parts
        else translate("DocumentsPage", "nothing had changed")
    )
    return translate("DocumentsPage", "{collection}: {done}; {pages} pages in {time}.").format(
        collection=report.collection,
        done=done,
        pages=report.pages,
        time=format_duration(report.elapsed_s),
    )


def status_text(service: DocumentService, summary: CollectionSummary, job: IndexJob | None) -> str:
    """The collection's state in the list."""
    if job is not None:
        if job.state == QUEUED:
            return translate("DocumentsPage", "Waiting")
        if job.progress is None:
            if job.state == PAUSED:
                return translate("DocumentsPage", "Paused")
            return translate("DocumentsPage", "Starting…")
        said = (
            translate("DocumentsPage", "Paused {done}/{total}")
            if job.state == PAUSED
            else translate("DocumentsPage", "Indexing {done}/{total}")
        )
        return said.format(done=job.progress.files_done, total=job.progress.files_total)
    if service.unfinished_reindex(summary.collection.name):
        return translate("DocumentsPage", "Re-index stopped half-way")
    if service.is_stale(summary):
        return translate("DocumentsPage", "Re-index needed (new embedding model)")
    problems = summary.errors + summary.no_text
    if problems:
        return translate("DocumentsPage", "Ready · {n} not readable").format(n=problems)
    return translate("DocumentsPage", "Ready")


def _item(text: str, name: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    item.setData(NAME_ROLE, name)
    return item


class DocumentsPage(QWidget):
    """Collections, with New/Add/Re-index/Remove, indexing progress, problems, search."""

    back_requested = Signal()
    activity_changed = Signal(str)  # "Household 3/29", "paused", or "" when nothing runs

    def __init__(self, service: DocumentService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("documentsPage")
        self.setAcceptDrops(True)
        self.service = service
        self._summaries: dict[str, CollectionSummary] = {}

        title = QLabel(self.tr("Documents"), self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        title.setFont(font)
        self.new_button = QPushButton(self.tr("New collection"), self)
        new_menu = QMenu(self.new_button)
        new_menu.addAction(self.tr("From files…"), lambda: self._choose(new=True, folder=False))
        new_menu.addAction(self.tr("From a folder…"), lambda: self._choose(new=True, folder=True))
        self.new_button.setMenu(new_menu)
        self.back_button = QPushButton(self.tr("Back to chat"), self)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.new_button)
        top.addWidget(self.back_button)

        self.hint = QLabel(self)
        self.hint.setObjectName("placeholder")
        self.hint.setWordWrap(True)
        self.hint.setText(
            self.tr(
                "Make a collection of your files (PDF, Word, EPUB, Markdown, text, HTML) and "
                "ask questions about them in a conversation. Drop files or folders here, or "
                "use New collection. Folders are followed: new and changed files are indexed."
            )
        )
        headers = [
            self.tr("Collection"),
            self.tr("Files"),
            self.tr("Pages"),
            self.tr("Passages"),
            self.tr("Status"),
        ]
        self.table = QTableWidget(0, len(headers), self)
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(120)

        self.add_files_button = QPushButton(self.tr("Add files…"), self)
        self.add_folder_button = QPushButton(self.tr("Add folder…"), self)
        self.reindex_button = QPushButton(self.tr("Re-index"), self)
        self.reindex_button.setToolTip(
            self.tr("Index again with the current embedding model; the old index answers "
                    "until the new one is complete.")
        )  # fmt: skip
        self.remove_button = QPushButton(self.tr("Remove…"), self)
        self.remove_button.setToolTip(self.tr("Forget the collection (your files stay)."))
        actions = QHBoxLayout()
        for button in (self.add_files_button, self.add_folder_button, self.reindex_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.remove_button)

        # Indexing: what runs now, with Pause/Resume and Cancel.
        self.progress_label = ElidedLabel(self)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setMaximumHeight(10)
        self.pause_button = QPushButton(self.tr("Pause"), self)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.progress_box = QWidget(self)
        box = QVBoxLayout(self.progress_box)
        box.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.cancel_button)
        box.addWidget(self.progress_label)
        box.addLayout(row)
        self.progress_box.hide()
        self.result_label = QLabel(self)
        self.result_label.setObjectName("planLabel")
        self.result_label.setWordWrap(True)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("errorBanner")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        self.problems_label = QLabel(self)
        self.problems = QListWidget(self)
        self.problems.setWordWrap(True)
        self.problems.setAccessibleName(self.tr("Files that could not be read"))
        self.problems.setMaximumHeight(110)
        self.search_box = QLineEdit(self)
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setPlaceholderText(self.tr("Try a question on the selected collection…"))
        self.results = QListWidget(self)
        self.results.setWordWrap(True)
        self.results.setAccessibleName(self.tr("Passages found"))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(top)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.result_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.problems)
        layout.addWidget(self.search_box)
        layout.addWidget(self.results, 1)

        self.back_button.clicked.connect(self.back_requested.emit)
        self.add_files_button.clicked.connect(lambda: self._choose(new=False, folder=False))
        self.add_folder_button.clicked.connect(lambda: self._choose(new=False, folder=True))
        self.reindex_button.clicked.connect(self._reindex)
        self.remove_button.clicked.connect(self._remove)
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button.clicked.connect(self._cancel)
        self.search_box.returnPressed.connect(self.search)
        self.table.itemSelectionChanged.connect(self._on_selection)
        service.collections_changed.connect(self.refresh)
        service.state_changed.connect(lambda _name, _state: self.refresh())  # counts too
        # Each file done: its counts too (a summary per file costs a few milliseconds).
        service.progress.connect(lambda _name, _progress: self.refresh())
        service.finished.connect(self._on_finished)
        service.failed.connect(self._on_failed)
        # Filled when first shown (refresh): opening the index waits until it is needed.

    # -- showing -------------------------------------------------------------------------

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return str(item.data(NAME_ROLE)) if item is not None else None

    def select(self, name: str) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(NAME_ROLE) == name:
                self.table.selectRow(row)
                return

    def refresh(self) -> None:
        """The collections and their counts, as the index has them now."""
        selected = self.selected_name()
        try:
            summaries = self.service.summaries()
        except HearthError as exc:  # the index cannot be opened or read
            self.show_error(str(exc))
            return
        self._summaries = {s.collection.name: s for s in summaries}
        self.table.setRowCount(len(summaries))
        for row, summary in enumerate(summaries):
            name = summary.collection.name
            values = [name, str(summary.files), str(summary.pages), str(summary.chunks), ""]
            for column, value in enumerate(values):
                self.table.setItem(row, column, _item(value, name))
            first = self.table.item(row, 0)
            if first is not None:
                first.setToolTip("\n".join(summary.sources))
        self.hint.setVisible(not summaries)
        unwatched = self.service.watch_problems()
        if unwatched:
            self.result_label.setText(" ".join(unwatched))
        if selected in self._summaries:
            self.select(selected)
        elif summaries:
            self.table.selectRow(0)
        self._show_jobs()
        self._on_selection()

    def _show_jobs(self) -> None:
        """The status column and the progress of the job that runs now."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 4)
            summary = self._summaries.get(str(item.data(NAME_ROLE))) if item else None
            if item is not None and summary is not None:
                job = self.service.job(summary.collection.name)
                item.setText(status_text(self.service, summary, job))
                if self.service.is_stale(summary):
                    item.setToolTip(
                        self.tr("Indexed with %s; re-index for %s.")
                        % (summary.collection.embedding_model,
                           self.service.current_embedding_model())
                    )  # fmt: skip
        jobs = [j for j in self.service.jobs() if j.started_at is not None]
        if not jobs:
            self.progress_box.hide()
            self.activity_changed.emit("")
            return
        job = jobs[0]
        self.activity_changed.emit(activity_text(job))
        waiting = len(self.service.jobs()) - 1
        self.progress_label.setText(job_text(job, waiting))
        progress = job.progress
        if progress is None or job.kind == "remove":
            self.progress_bar.setRange(0, 0)  # busy: the files are being listed
        else:
            self.progress_bar.setRange(0, max(1, progress.files_total))
            self.progress_bar.setValue(progress.files_done)
        self.pause_button.setText(self.tr("Resume") if job.paused else self.tr("Pause"))
        self.pause_button.setEnabled(job.kind != "remove")
        self.cancel_button.setEnabled(job.kind != "remove")
        self.progress_box.setProperty("collection", job.name)
        self.progress_box.show()

    def _on_selection(self) -> None:
        name = self.selected_name()
        for button in (
            self.add_files_button, self.add_folder_button, self.reindex_button,
            self.remove_button,
        ):  # fmt: skip
            button.setEnabled(name is not None)
        self.problems.clear()
        problems = self.service.problems(name) if name else []
        self.problems_label.setVisible(bool(problems))
        self.problems.setVisible(bool(problems))
        if problems:
            count = len(problems)
            files = self.tr("1 file") if count == 1 else self.tr("%d files") % count
            self.problems_label.setText(self.tr("%s in %s could not be indexed:") % (files, name))
        for record in problems:
            item = QListWidgetItem(
                self.service.shown_problem(record.error or "") or Path(record.path).name
            )
            item.setToolTip(record.path)
            self.problems.addItem(item)

    def _on_finished(self, name: str, report: IndexReport | None) -> None:
        if report is not None:
            self.result_label.setText(report_text(report))
            self.error_label.hide()

    def _on_failed(self, _name: str, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    # -- actions -------------------------------------------------------------------------

    def new_collection(self, paths: Sequence[Path], name: str | None = None) -> str | None:
        """Make a collection of ``paths`` (asking its name unless given) and index it."""
        if not paths:
            return None
        if name is None:
            suggested = suggest_name(paths, list(self._summaries))
            name, ok = QInputDialog.getText(
                self, self.tr("New collection"), self.tr("Name:"), text=suggested
            )
            if not ok or not name.strip():
                return None
        name = " ".join(name.split())
        if name in self._summaries:
            self.show_error(
                self.tr("A collection named %s already exists; add the files to it or "
                        "choose another name.") % name
            )  # fmt: skip
            return None
        self.service.add(name, list(paths))
        return name

    def add_to(self, name: str, paths: Sequence[Path]) -> None:
        if paths:
            self.service.add(name, list(paths))

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def _choose(self, *, new: bool, folder: bool) -> None:
        if folder:
            chosen = QFileDialog.getExistingDirectory(self, self.tr("Choose a folder"))
            paths = [Path(chosen)] if chosen else []
        else:
            files, _ = QFileDialog.getOpenFileNames(
                self, self.tr("Choose files"), "", self.tr("Documents (%s)") % FILE_KINDS
            )
            paths = [Path(f) for f in files]
        name = self.selected_name()
        if new or name is None:
            self.new_collection(paths)
        else:
            self.add_to(name, paths)

    def _reindex(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.service.reindex(name)

    def _remove(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        answer = QMessageBox.question(
            self,
            self.tr("Remove collection"),
            self.tr("Forget the collection %s and its index? Your files are not touched.") % name,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.service.remove(name)

    def _running(self) -> IndexJob | None:
        jobs = [j for j in self.service.jobs() if j.started_at is not None]
        return jobs[0] if jobs else None

    def _toggle_pause(self) -> None:
        job = self._running()
        if job is None:
            return
        if job.paused:
            self.service.resume(job.name)
        else:
            self.service.pause(job.name)

    def _cancel(self) -> None:
        job = self._running()
        if job is not None:
            self.service.cancel(job.name)

    def search(self) -> None:
        """Search the selected collection (every one when none is selected)."""
        query = self.search_box.text().strip()
        self.results.clear()
        if not query:
            return
        name = self.selected_name()
        self.results.addItem(self.tr("Searching…"))
        self.service.search(
            query, [name] if name else None, self._show_results, self._search_failed
        )

    def _show_results(self, passages: list[Passage]) -> None:
        from app.docs.grounding import source_label

        self.results.clear()
        if not passages:
            self.results.addItem(self.tr("No passage matches."))
        for number, passage in enumerate(passages, start=1):
            snippet = " ".join(passage.text.split())[:240]
            item = QListWidgetItem(f"[{number}] {source_label(passage)}\n{snippet}")
            item.setToolTip(f"{passage.path} (score {passage.score:.4f})")
            self.results.addItem(item)

    def _search_failed(self, exc: HearthError) -> None:
        self.results.clear()
        self.results.addItem(str(exc))

    # -- drag and drop -------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Dropped on a collection: added to it; elsewhere: a new collection."""
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        viewport = self.table.viewport()
        where = viewport.mapFromGlobal(self.mapToGlobal(event.position().toPoint()))
        row = self.table.rowAt(where.y()) if viewport.rect().contains(where) else -1
        item = self.table.item(row, 0) if row >= 0 else None
        if item is not None:
            self.add_to(str(item.data(NAME_ROLE)), paths)
        else:
            self.new_collection(paths)
        event.acceptProposedAction()
