"""Folder watching on the real file system (watchdog, inotify here) with the real starter
embedding model: added, changed, deleted and renamed files reach the collection, bursts
are one update, reading files (the indexer does) and files Hearth does not read are no
change."""

from __future__ import annotations

import queue
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.docs.documents import Documents
from app.docs.embedder import Embedder
from app.docs.indexer import INDEXED, MOVED, REMOVED
from app.docs.store import DocStore
from app.docs.watch import FolderWatcher
from tests.docs.documents import write_lease_pdf

pytestmark = pytest.mark.slow

DEBOUNCE_S = 1.0  # long enough that a burst made by this test stays one burst on a busy machine
QUIET_S = 2.5  # how long "nothing happens" is watched for (beyond a debounce period)


@pytest.fixture
def docs(tmp_path: Path, embedder: Embedder) -> Iterator[Documents]:
    with Documents(DocStore(tmp_path / "db.sqlite3"), lambda: embedder) as opened:
        yield opened


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "papers"
    (root / "sub").mkdir(parents=True)
    (root / "ferry.md").write_text("# Ferry\n\nThe ferry leaves at noon.")
    (root / "sub" / "tram.md").write_text("# Tram\n\nThe tram runs every ten minutes.")
    write_lease_pdf(root / "lease.pdf")
    return root


class Changes:
    """on_change's calls, as a queue."""

    def __init__(self) -> None:
        self.names: queue.Queue[str] = queue.Queue()

    def __call__(self, name: str) -> None:
        self.names.put(name)

    def next(self, timeout: float = 15) -> str:
        return self.names.get(timeout=timeout)

    def none_within(self, seconds: float) -> bool:
        try:
            name = self.names.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected change in {name!r}")


@pytest.fixture
def changes() -> Changes:
    return Changes()


def watching(docs: Documents, changes: Changes) -> FolderWatcher:
    watcher = FolderWatcher(docs, changes, debounce_s=DEBOUNCE_S, max_wait_s=5)
    watcher.start()
    return watcher


def statuses(report: object) -> dict[str, str]:
    return {Path(o.path).name: o.status for o in report.outcomes}  # type: ignore[attr-defined]


def test_added_changed_deleted_and_renamed_files_update_the_collection(
    docs: Documents, folder: Path, changes: Changes
) -> None:
    docs.add("papers", [folder])
    watcher = watching(docs, changes)
    try:
        (folder / "sub" / "bus.md").write_text("# Bus\n\nThe night bus stops at the harbour.")
        assert changes.next() == "papers"
        assert statuses(docs.update("papers")) == {
            "bus.md": INDEXED,
            "ferry.md": "unchanged",
            "tram.md": "unchanged",
            "lease.pdf": "unchanged",
        }
        # The update read every file: reading is no change.
        assert changes.none_within(QUIET_S)

        # A burst: changed, deleted, renamed, all at once, is one update.
        (folder / "ferry.md").write_text("# Ferry\n\nThe ferry now leaves at one o'clock.")
        (folder / "sub" / "tram.md").unlink()
        shutil.move(folder / "lease.pdf", folder / "sub" / "lease-2024.pdf")
        assert changes.next() == "papers"
        report = docs.update("papers")
        assert statuses(report) == {
            "ferry.md": INDEXED,
            "tram.md": REMOVED,
            "lease-2024.pdf": MOVED,
            "bus.md": "unchanged",
        }
        assert changes.none_within(QUIET_S)
        best = docs.search("when does the ferry leave", ["papers"], top_k=1)[0]
        assert "one o'clock" in best.text
    finally:
        watcher.stop()


def test_hidden_and_unread_files_are_no_change(
    docs: Documents, folder: Path, changes: Changes
) -> None:
    docs.add("papers", [folder])
    watcher = watching(docs, changes)
    try:
        (folder / "photo.png").write_bytes(b"\x89PNG")
        (folder / ".draft.md").write_text("hidden")
        (folder / ".git").mkdir()
        (folder / ".git" / "notes.md").write_text("hidden folder")
        assert changes.none_within(QUIET_S)
        (folder / "photo.png").rename(folder / "photo.txt")  # now a file Hearth reads
        assert changes.next() == "papers"
    finally:
        watcher.stop()


def test_a_single_file_source_and_several_collections(
    docs: Documents, folder: Path, tmp_path: Path, changes: Changes
) -> None:
    docs.add("lease", [folder / "lease.pdf"])
    docs.add("papers", [folder])
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.md").write_text("# X\n\nNothing about ferries.")
    docs.add("other", [other])
    watcher = watching(docs, changes)
    try:
        (folder / "sub" / "tram.md").write_text("# Tram\n\nTrams stop at midnight.")
        assert changes.next() == "papers"  # the lease's collection holds only the PDF
        assert changes.none_within(QUIET_S)
        write_lease_pdf(folder / "lease.pdf")  # rewritten: both collections hold it
        assert {changes.next(), changes.next()} == {"lease", "papers"}
        (other / "y.md").write_text("# Y")
        assert changes.next() == "other"
    finally:
        watcher.stop()


def test_without_a_receiver_the_watcher_updates_the_collection_itself(
    docs: Documents, folder: Path
) -> None:
    docs.add("papers", [folder])
    watcher = FolderWatcher(docs, debounce_s=DEBOUNCE_S)
    watcher.start()
    try:
        (folder / "bus.md").write_text("# Bus\n\nThe night bus stops at the harbour.")
        collection = docs.collection("papers")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            names = {Path(r.path).name for r in docs.store.files(collection.id)}
            if "bus.md" in names:
                break
            time.sleep(0.05)
        assert "bus.md" in names
        assert docs.search("night bus", ["papers"], top_k=1)[0].path == str(folder / "bus.md")
    finally:
        watcher.stop()


def test_refresh_follows_new_collections_and_stop_ends_the_calls(
    docs: Documents, folder: Path, tmp_path: Path, changes: Changes
) -> None:
    docs.add("papers", [folder])
    watcher = watching(docs, changes)
    try:
        later = tmp_path / "later"
        later.mkdir()
        docs.add("later", [later])
        watcher.refresh()
        (later / "new.md").write_text("# New")
        assert changes.next() == "later"
        docs.remove("papers")
        watcher.refresh()
        (folder / "ferry.md").write_text("# Ferry\n\nChanged after the collection went.")
        assert changes.none_within(QUIET_S)
    finally:
        watcher.stop()
    (later / "newer.md").write_text("# Newer")
    assert changes.none_within(QUIET_S)


def test_a_folder_that_cannot_be_watched_is_named(
    docs: Documents, folder: Path, changes: Changes
) -> None:
    docs.add("papers", [folder])
    gone = folder.parent / "gone"
    gone.mkdir()
    docs.add("gone", [gone])
    gone.rmdir()
    watcher = watching(docs, changes)
    try:
        assert len(watcher.problems) == 1
        assert watcher.problems[0].startswith(f"Changes in {gone} are not followed (")
        (folder / "bus.md").write_text("# Bus")  # the others are watched all the same
        assert changes.next() == "papers"
    finally:
        watcher.stop()
