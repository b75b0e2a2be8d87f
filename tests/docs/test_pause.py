"""Pausing and resuming indexing (real files, the real starter embedding model): a paused
indexer does nothing until resumed, then finishes; time paused is not counted as time
spent; cancelling a paused indexer stops it at once, keeping what was indexed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.core.errors import CancelledError
from app.docs.documents import Documents
from app.docs.embedder import Embedder
from app.docs.indexer import INDEXED, IndexProgress, IndexReport
from app.docs.store import DocStore

pytestmark = pytest.mark.slow

PAUSED_S = 1.5


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    root.mkdir()
    for n in range(4):
        (root / f"note{n}.md").write_text(f"# Note {n}\n\nThe ferry number {n} leaves at noon.")
    return root


def test_a_paused_indexer_waits_and_resumes_where_it_was(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    pause = threading.Event()
    events: list[IndexProgress] = []
    paused_at = threading.Event()

    def on_progress(event: IndexProgress) -> None:
        events.append(event)
        if event.files_done == 2:
            pause.set()
            paused_at.set()

    result: list[IndexReport] = []
    with Documents(DocStore(tmp_path / "db.sqlite3"), lambda: embedder) as docs:
        worker = threading.Thread(
            target=lambda: result.append(
                docs.add("notes", [folder], on_progress=on_progress, pause=pause)
            )
        )
        started = time.monotonic()
        worker.start()
        assert paused_at.wait(60)
        # Paused: nothing more is indexed for as long as the pause lasts.
        deadline = time.monotonic() + PAUSED_S
        while time.monotonic() < deadline:
            assert len(events) == 2 and worker.is_alive()
            time.sleep(0.05)
        assert len(docs.store.files(docs.collection("notes").id)) == 2
        pause.clear()
        worker.join(60)
        wall = time.monotonic() - started
        assert not worker.is_alive()
    (report,) = result
    assert report.count(INDEXED) == 4 and [e.files_done for e in events] == [1, 2, 3, 4]
    # The time paused is not time spent (progress' time-left estimates stay right).
    assert report.elapsed_s < wall - PAUSED_S + 0.2
    assert events[2].elapsed_s - events[1].elapsed_s < PAUSED_S


def test_cancelling_a_paused_indexer_stops_it_at_once(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    pause, cancel = threading.Event(), threading.Event()

    def pause_after_first(event: IndexProgress) -> None:
        if event.files_done == 1:
            pause.set()
            threading.Timer(0.3, cancel.set).start()

    with Documents(DocStore(tmp_path / "db.sqlite3"), lambda: embedder) as docs:
        started = time.monotonic()
        with pytest.raises(CancelledError, match="the files indexed so far are kept"):
            docs.add("notes", [folder], on_progress=pause_after_first, pause=pause, cancel=cancel)
        assert time.monotonic() - started < 10
        assert len(docs.store.files(docs.collection("notes").id)) == 1
