"""The Documents page in the real window, offscreen: a collection made from real files
(PDF, DOCX, HTML, Markdown, a broken PDF) indexed in the background with the real
starter embedding model in its child process; progress (files, pages, file, time left),
Pause/Resume, the problems, the search box, drops, Remove, and a stale collection's
re-index. The window keeps answering while indexing runs."""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from app.docs.indexer import IndexProgress
from app.ui.documents_page import DocumentsPage, suggest_name
from app.ui.launch import Window
from tests.docs.documents import (
    write_corrupt_pdf,
    write_docx,
    write_html,
    write_lease_pdf,
    write_markdown,
    write_pdf,
)
from tests.gui.conftest import MakeWindow

pytestmark = pytest.mark.slow

# Screenshots to look at: $HEARTH_SHOTS, else a folder in the temporary directory.
SHOTS = Path(os.environ.get("HEARTH_SHOTS") or Path(tempfile.gettempdir()) / "hearth-shots")
WAIT_MS = 180_000


def household(folder: Path, reports: int = 24) -> Path:
    """A folder of real documents: the lease, a handbook, notes, a broken PDF, and
    ``reports`` three-page PDF reports (enough to watch the progress)."""
    folder.mkdir(parents=True)
    write_lease_pdf(folder / "lease.pdf")
    write_docx(folder / "handbook.docx")
    write_html(folder / "garden.html")
    write_markdown(folder / "travel.md")
    write_corrupt_pdf(folder / "broken.pdf")
    for n in range(reports):
        pages = [
            (f"Meter reading {n}.{p}", f"The electricity meter showed {n * 100 + p} kWh.")
            for p in range(3)
        ]
        write_pdf(folder / f"report-{n:02d}.pdf", pages)
    return folder


def open_page(qtbot: QtBot, win: Window) -> DocumentsPage:
    window = win.window
    assert window.sidebar.documents_button.isVisible()
    window.sidebar.documents_button.click()
    page = window.documents_page
    assert page is not None and window.pages.currentWidget() is page
    return page


def cell(page: DocumentsPage, row: int, column: int) -> str:
    item = page.table.item(row, column)
    return item.text() if item is not None else ""


def drop(page: DocumentsPage, paths: list[Path], at: QPoint) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(at),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    page.dropEvent(event)


def test_suggested_names_are_the_folders_or_files_and_unique(tmp_path: Path) -> None:
    (tmp_path / "Taxes").mkdir()
    assert suggest_name([tmp_path / "Taxes"], []) == "Taxes"
    assert suggest_name([tmp_path / "lease.pdf"], ["lease"]) == "lease 2"
    assert suggest_name([tmp_path / "a.md", tmp_path / "b.md"], ["Documents"]) == "Documents 2"


def test_a_collection_indexes_in_the_background_with_progress(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    folder = household(tmp_path / "Household")
    win = make_window()
    win.window.resize(1100, 760)
    page = open_page(qtbot, win)
    service = page.service
    assert page.hint.isVisible() and page.table.rowCount() == 0

    # The event loop's pulse while indexing runs: the longest gap between 20 ms ticks.
    ticks: list[float] = []
    pulse = QTimer()
    pulse.timeout.connect(lambda: ticks.append(time.perf_counter()))
    pulse.start(20)
    seen: list[IndexProgress] = []
    shot: list[str] = []

    def on_progress(_name: str, progress: IndexProgress) -> None:
        seen.append(progress)
        if progress.files_done >= 10 and not shot:
            SHOTS.mkdir(parents=True, exist_ok=True)
            path = SHOTS / "docs-indexing.png"
            win.window.grab().save(str(path))
            shot.append(page.progress_label.text())

    service.progress.connect(on_progress)
    assert page.new_collection([folder], name="Household") == "Household"
    qtbot.waitUntil(page.progress_box.isVisible, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(seen) >= 10, timeout=WAIT_MS)
    total = len(list(folder.iterdir()))
    text = page.progress_label.text()
    assert f"of {total} files" in text and "pages" in text and "left" in text, text
    assert shot and "Indexing Household" in shot[0]
    assert page.progress_bar.maximum() == total and page.pause_button.text() == "Pause"
    button = win.window.sidebar.documents_button
    assert button.text().startswith("Documents · ") and button.text().endswith(f"/{total}")

    page.pause_button.click()
    qtbot.waitUntil(lambda: page.pause_button.text() == "Resume", timeout=5000)
    assert page.progress_label.text().startswith("Paused — ")
    assert "Paused" in cell(page, 0, 4) and button.text() == "Documents · paused"
    qtbot.wait(1500)
    held = len(seen)
    qtbot.wait(1000)
    assert len(seen) == held < total  # nothing moves while paused

    with qtbot.waitSignal(service.finished, timeout=WAIT_MS):
        page.pause_button.click()
    pulse.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert gaps and max(gaps) < 0.5, f"the window froze for {max(gaps):.2f} s"

    qtbot.waitUntil(lambda: not page.progress_box.isVisible(), timeout=5000)
    assert button.text() == "Documents"
    assert page.table.rowCount() == 1
    row = [cell(page, 0, c) for c in range(5)]
    assert row[0:2] == ["Household", str(total)]
    assert int(row[2]) == 3 + 3 * 24  # pages: the lease and the reports
    assert row[4] == "Ready · 1 not readable"
    assert "indexed" in page.result_label.text() and "1 failed" in page.result_label.text()
    assert page.problems.isVisible() and page.problems.count() == 1
    assert "broken.pdf" in page.problems.item(0).toolTip()

    page.search_box.setText("may I keep a cat?")
    page.search()
    qtbot.waitUntil(
        lambda: page.results.count() > 0 and page.results.item(0).text() != "Searching…",
        timeout=WAIT_MS,
    )
    assert page.results.item(0).text().startswith("[1] lease.pdf, page 2")

    page.back_button.click()
    assert win.window.pages.currentIndex() == 0

    # Closing the window stops the embedding model's process.
    pid = service.documents.embedder.pid  # type: ignore[attr-defined]
    assert pid is not None and Path(f"/proc/{pid}").exists()
    win.close()
    qtbot.waitUntil(lambda: not Path(f"/proc/{pid}").exists(), timeout=10_000)


def test_drops_make_or_grow_collections_and_remove_forgets_one(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "docs").mkdir()
    lease = write_lease_pdf(tmp_path / "docs" / "lease.pdf")
    garden = write_html(tmp_path / "garden.html")
    win = make_window()
    page = open_page(qtbot, win)
    service = page.service
    asked: list[str] = []

    def name_it(*args: object, text: str = "", **kwargs: object) -> tuple[str, bool]:
        asked.append(text)
        return "Lease", True

    monkeypatch.setattr(QInputDialog, "getText", name_it)
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS):
        drop(page, [lease], QPoint(5, 5))  # not on a collection: a new one
    assert asked == ["lease"]  # the name offered: the file's
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=5000)

    first = page.table.item(0, 0)
    assert first is not None
    row = page.table.visualItemRect(first).center()
    on_row = page.mapFromGlobal(page.table.viewport().mapToGlobal(row))
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS):
        drop(page, [garden], on_row)  # on the collection: added to it
    assert asked == ["lease"] and cell(page, 0, 1) == "2"

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.select("Lease")
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS) as removed:
        page.remove_button.click()
    assert removed.args == ["Lease", None]
    qtbot.waitUntil(lambda: page.table.rowCount() == 0, timeout=5000)
    assert page.hint.isVisible() and lease.exists()


def test_a_stale_collection_is_offered_a_reindex(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    write_lease_pdf(tmp_path / "docs" / "lease.pdf")
    win = make_window()
    store = win.documents.documents.store
    old = store.create_collection("Lease", "an-older-model", 384)
    store.add_source(old.id, tmp_path / "docs", is_folder=True)
    page = open_page(qtbot, win)
    assert cell(page, 0, 4) == "Re-index needed (new embedding model)"
    status = page.table.item(0, 4)
    assert status is not None
    assert (
        status.toolTip() == "Indexed with an-older-model; re-index for all-MiniLM-L6-v2-onnx-int8."
    )

    page.select("Lease")
    with qtbot.waitSignal(win.documents.finished, timeout=WAIT_MS):
        page.reindex_button.click()
    qtbot.waitUntil(lambda: cell(page, 0, 4) == "Ready", timeout=5000)
    assert cell(page, 0, 3) != "0"  # its passages, in the new model's space
