"""DocumentService: collections indexed on the worker thread with the real starter
embedding model and real files; progress, pause/resume, cancel, per-file problems,
removal while indexing, the catch-up at start and the re-index offered after the
embedding model changed."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.errors import HearthError
from app.docs import indexer
from app.docs.documents import Documents
from app.docs.embedder import Embedder
from app.docs.indexer import INDEXED, MOVED, REMOVED, IndexProgress, IndexReport
from app.docs.store import DocStore
from app.services import document_service
from app.services.document_service import DocumentService
from app.services.index_jobs import time_left
from tests.docs.documents import (
    write_corrupt_pdf,
    write_docx,
    write_html,
    write_lease_pdf,
    write_markdown,
    write_scanned_pdf,
)

pytestmark = pytest.mark.slow
WAIT_MS = 120_000


class Recorder:
    """Every signal of a service, in order, as (signal, name, value)."""

    def __init__(self, service: DocumentService) -> None:
        self.events: list[tuple[str, str, Any]] = []
        service.progress.connect(lambda n, p: self.events.append(("progress", n, p)))
        service.finished.connect(lambda n, r: self.events.append(("finished", n, r)))
        service.failed.connect(lambda n, m: self.events.append(("failed", n, m)))
        service.state_changed.connect(lambda n, s: self.events.append(("state", n, s)))
        service.collections_changed.connect(lambda: self.events.append(("changed", "", None)))

    def of(self, kind: str, name: str | None = None) -> list[Any]:
        return [v for k, n, v in self.events if k == kind and (name is None or n == name)]

    def progress(self, name: str) -> list[IndexProgress]:
        return self.of("progress", name)


@pytest.fixture
def make_service(tmp_path: Path, embedder: Embedder) -> Iterator[Callable[..., DocumentService]]:
    made: list[DocumentService] = []

    def make(**options: Any) -> DocumentService:
        documents = Documents(DocStore(tmp_path / "history.db"), lambda: embedder)
        service = DocumentService(documents, **options)
        made.append(service)
        return service

    yield make
    for service in made:
        service.shutdown()
        service.deleteLater()


def fail(exc: HearthError) -> None:
    pytest.fail(str(exc))


def notes_folder(folder: Path, count: int) -> Path:
    """``count`` small Markdown notes, each about something else."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / f"note-{n:03d}.md").write_text(
            f"# Note {n}\n\nShelf {n} in the cellar holds jars of plum jam number {n}.\n"
            f"The key to cupboard {n} hangs beside the door.\n",
            encoding="utf-8",
        )
    return folder


def test_draft_suffix_is_the_indexers() -> None:
    assert document_service.DRAFT_SUFFIX == indexer.DRAFT_SUFFIX


def test_time_left_follows_the_pace_of_the_files_done() -> None:
    assert time_left(None) is None
    assert time_left(IndexProgress(0, 10, "", 0, 0.0)) is None
    assert time_left(IndexProgress(2, 10, "/a", 4, 3.0)) == pytest.approx(12.0)
    assert time_left(IndexProgress(10, 10, "/a", 4, 3.0)) == 0.0


def test_add_indexes_in_the_background_with_progress_and_problems(
    qtbot: QtBot, tmp_path: Path, make_service: Callable[..., DocumentService]
) -> None:
    folder = tmp_path / "home"
    folder.mkdir()
    write_lease_pdf(folder / "lease.pdf")
    write_docx(folder / "handbook.docx")
    write_html(folder / "garden.html")
    write_markdown(folder / "travel.md")
    write_corrupt_pdf(folder / "broken.pdf")
    write_scanned_pdf(folder / "scan.pdf")
    service = make_service()
    events = Recorder(service)

    job = service.add("Home", [folder])
    assert job.kind == "add" and service.busy()
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS) as finished:
        pass
    name, report = finished.args
    assert name == "Home" and isinstance(report, IndexReport)
    assert report.count(INDEXED) == 4 and len(report.problems) == 2

    progress = events.progress("Home")
    assert [p.files_done for p in progress] == list(range(1, 7))
    assert {p.files_total for p in progress} == {6}
    assert progress[-1].pages_done == report.pages >= 3  # the lease has three pages
    assert {Path(p.path).name for p in progress} == {
        "lease.pdf", "handbook.docx", "garden.html", "travel.md", "broken.pdf", "scan.pdf"
    }  # fmt: skip
    states = events.of("state", "Home")
    assert states[0] == "queued" and "indexing" in states and states[-1] == ""
    qtbot.waitUntil(lambda: not service.busy(), timeout=5000)
    assert service.job("Home") is None

    [summary] = service.summaries()
    assert (summary.files, summary.indexed, summary.errors, summary.no_text) == (6, 4, 1, 1)
    problems = {Path(f.path).name: f.error or "" for f in service.problems("Home")}
    assert set(problems) == {"broken.pdf", "scan.pdf"}
    assert "no text layer" in problems["scan.pdf"]
    assert problems["broken.pdf"].endswith(".")  # one sentence, as every message

    with qtbot.waitCallback(timeout=WAIT_MS) as found:
        service.search("may I keep a cat?", ["Home"], found, fail, top_k=1)
    [best] = found.args[0]
    assert (Path(best.path).name, best.page) == ("lease.pdf", 2)


def test_pause_holds_indexing_and_resume_finishes_it(
    qtbot: QtBot, tmp_path: Path, make_service: Callable[..., DocumentService]
) -> None:
    folder = notes_folder(tmp_path / "notes", 60)
    service = make_service()
    events = Recorder(service)

    def pause(name: str, progress: IndexProgress) -> None:
        if progress.files_done == 1:
            service.pause(name)

    service.progress.connect(pause)

    service.add("Notes", [folder])
    qtbot.waitUntil(lambda: "paused" in events.of("state", "Notes"), timeout=WAIT_MS)
    job = service.job("Notes")
    assert job is not None and job.paused and job.state == "paused"
    # The indexer finishes the file or batch it is in, then waits: nothing moves after.
    qtbot.waitUntil(lambda: len(events.progress("Notes")) >= 1, timeout=WAIT_MS)
    qtbot.wait(1500)
    held = len(events.progress("Notes"))
    qtbot.wait(1000)
    assert len(events.progress("Notes")) == held < 60
    assert not events.of("finished")

    service.resume("Notes")
    assert not job.paused
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS) as finished:
        pass
    assert finished.args[1].count(INDEXED) == 60
    assert events.progress("Notes")[-1].files_done == 60


def test_a_job_paused_before_it_starts_waits_for_resume(
    qtbot: QtBot, tmp_path: Path, make_service: Callable[..., DocumentService]
) -> None:
    folder = notes_folder(tmp_path / "notes", 3)
    big = notes_folder(tmp_path / "big", 40)
    service = make_service()
    events = Recorder(service)
    # One worker runs the jobs in order: "Notes" surely waits behind "Big".
    service.add("Big", [big])
    service.add("Notes", [folder])
    service.pause("Notes")
    assert events.of("state", "Notes") == ["queued", "queued"]  # paused while waiting
    service.cancel("Big")  # the worker is free: "Notes" starts, and holds
    qtbot.waitUntil(lambda: "paused" in events.of("state", "Notes"), timeout=WAIT_MS)
    qtbot.wait(1000)
    assert events.progress("Notes") == [] and events.of("finished", "Notes") == []
    service.resume("Notes")
    qtbot.waitUntil(lambda: bool(events.of("finished", "Notes")), timeout=WAIT_MS)
    notes = next(s for s in service.summaries() if s.collection.name == "Notes")
    assert notes.indexed == 3


def test_cancel_keeps_what_was_indexed_and_update_goes_on(
    qtbot: QtBot, tmp_path: Path, make_service: Callable[..., DocumentService]
) -> None:
    folder = notes_folder(tmp_path / "notes", 40)
    service = make_service()
    events = Recorder(service)
    stop_at = [2]  # the files done when Cancel is pressed (none: not again)

    def cancel(name: str, progress: IndexProgress) -> None:
        if stop_at and progress.files_done == stop_at[0]:
            stop_at.clear()
            service.cancel(name)

    service.progress.connect(cancel)

    service.add("Notes", [folder])
    with qtbot.waitSignal(service.failed, timeout=WAIT_MS) as failed:
        pass
    assert failed.args == [
        "Notes",
        "Indexing 'Notes' was stopped; the files indexed so far are kept.",
    ]
    qtbot.waitUntil(lambda: not service.busy(), timeout=5000)
    [summary] = service.summaries()
    assert 2 <= summary.indexed < 40
    assert not events.of("finished")

    service.update("Notes")
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS) as finished:
        pass
    report = finished.args[1]
    assert report.count(INDEXED) == 40 - summary.indexed
    assert service.summaries()[0].indexed == 40


def test_remove_while_indexing_stops_and_forgets_the_collection(
    qtbot: QtBot, tmp_path: Path, make_service: Callable[..., DocumentService]
) -> None:
    folder = notes_folder(tmp_path / "notes", 40)
    service = make_service()
    events = Recorder(service)
    service.add("Notes", [folder])
    service.pause("Notes")
    qtbot.waitUntil(lambda: "paused" in events.of("state", "Notes"), timeout=WAIT_MS)

    service.remove("Notes")
    qtbot.waitUntil(lambda: events.of("finished", "Notes") == [None], timeout=WAIT_MS)
    assert events.of("failed", "Notes") == [
        "Indexing 'Notes' was stopped; the files indexed so far are kept."
    ]
    assert service.summaries() == [] and folder.exists() and not service.busy()


def test_catch_up_at_start_indexes_what_changed_while_closed(
    qtbot: QtBot, tmp_path: Path, make_service: Callable[..., DocumentService]
) -> None:
    folder = tmp_path / "home"
    folder.mkdir()
    write_lease_pdf(folder / "lease.pdf")
    write_html(folder / "garden.html")
    write_markdown(folder / "travel.md")
    first = make_service()
    first.add("Home", [folder])
    with qtbot.waitSignal(first.finished, timeout=WAIT_MS):
        pass
    first.shutdown()

    # While Hearth is closed: one file changes, one is renamed, one is deleted, one is new.
    (folder / "travel.md").write_text("# Travel\n\nThe ferry to Hydra leaves at dawn.\n")
    (folder / "garden.html").rename(folder / "garden-notes.html")
    (folder / "lease.pdf").unlink()
    write_docx(folder / "handbook.docx")

    service = make_service()
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS) as finished:
        assert service.catch_up() == ["Home"]
    report = finished.args[1]
    by_status = {Path(o.path).name: o.status for o in report.outcomes}
    assert by_status == {
        "travel.md": INDEXED,
        "handbook.docx": INDEXED,
        "garden-notes.html": MOVED,
        "lease.pdf": REMOVED,
    }
    with qtbot.waitCallback(timeout=WAIT_MS) as found:
        service.search("ferry", ["Home"], found, fail, top_k=1)
    assert Path(found.args[0][0].path).name == "travel.md"


def test_a_collection_of_another_embedding_model_is_offered_a_reindex(
    qtbot: QtBot, tmp_path: Path, make_service: Callable[..., DocumentService], embedder: Embedder
) -> None:
    folder = tmp_path / "home"
    folder.mkdir()
    write_lease_pdf(folder / "lease.pdf")
    service = make_service()
    store = service.documents.store
    old = store.create_collection("Lease", "an-older-model", embedder.dimensions)
    store.add_source(old.id, folder, is_folder=True)

    [summary] = service.summaries()
    assert service.is_stale(summary)
    assert service.catch_up() == []  # not updated with vectors of another space
    assert not service.busy()

    service.reindex("Lease")
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS) as finished:
        pass
    assert finished.args[1].count(INDEXED) == 1
    [summary] = service.summaries()
    assert summary.collection.embedding_model == embedder.model_id
    assert not service.is_stale(summary) and summary.indexed == 1


def test_folders_are_followed_after_start(
    qtbot: QtBot, tmp_path: Path, make_service: Callable[..., DocumentService]
) -> None:
    folder = notes_folder(tmp_path / "notes", 2)
    service = make_service()
    service.add("Notes", [folder])
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS):
        pass
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS) as caught_up:
        service.start()  # the catch-up update, then watching
    assert caught_up.args[1].count(INDEXED) == 0

    (folder / "pets.md").write_text("# Pets\n\nThe parrot is called Captain Flint.\n")
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS) as changed:
        pass
    outcomes = {Path(o.path).name: o.status for o in changed.args[1].outcomes}
    assert outcomes["pets.md"] == INDEXED and service.summaries()[0].indexed == 3
    assert service.watch_problems() == []


def test_a_conversations_own_collection_is_not_on_the_page(
    qtbot: QtBot, tmp_path: Path, make_service: Callable[..., DocumentService]
) -> None:
    from app.storage import ConversationStore

    folder = notes_folder(tmp_path / "notes", 1)
    service = make_service()
    for name in ("Shared", "Dropped"):
        service.add(name, [folder])
        with qtbot.waitSignal(service.finished, timeout=WAIT_MS):
            pass
    with ConversationStore(tmp_path / "history.db") as conversations:
        conversation = conversations.create_conversation("Chat")
        dropped = service.documents.store.collection("Dropped")
        conversations.own_collection(conversation.id, dropped.id)
    assert service.names() == ["Shared"]
    assert sorted(service.catch_up()) == ["Dropped", "Shared"]  # its file may change too


def test_an_index_that_cannot_open_is_one_message_at_start(qtbot: QtBot) -> None:
    from app.core.errors import StorageError

    def broken() -> Documents:
        raise StorageError("Could not open the document index in /x (disk I/O error).")

    service = DocumentService(broken)
    try:
        with qtbot.waitSignal(service.failed, timeout=5000) as failed:
            service.start()
        assert failed.args == ["", "Could not open the document index in /x (disk I/O error)."]
    finally:
        service.shutdown()
        service.deleteLater()


def test_a_reindex_stopped_half_way_goes_on_at_the_next_start(
    qtbot: QtBot, tmp_path: Path, make_service: Callable[..., DocumentService]
) -> None:
    folder = notes_folder(tmp_path / "notes", 30)
    service = make_service()
    service.add("Notes", [folder])
    with qtbot.waitSignal(service.finished, timeout=WAIT_MS):
        pass

    def cancel(name: str, progress: IndexProgress) -> None:
        if progress.files_done == 2:
            service.cancel(name)

    service.progress.connect(cancel)
    service.reindex("Notes")
    with qtbot.waitSignal(service.failed, timeout=WAIT_MS):
        pass
    service.progress.disconnect(cancel)
    assert service.unfinished_reindex("Notes") and service.names() == ["Notes"]
    assert service.summaries()[0].indexed == 30  # the old index still answers

    with qtbot.waitSignal(service.finished, timeout=WAIT_MS) as finished:
        assert service.catch_up() == ["Notes"]
    assert finished.args[1].count(INDEXED) <= 28  # the files the draft had are kept
    assert not service.unfinished_reindex("Notes")
    assert service.summaries()[0].indexed == 30
