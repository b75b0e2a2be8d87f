"""Every kind of bad input of issue 16, end to end with real files, as the window indexes
(Documents.open(out_of_process=True): the embedding model in its own process): each bad
file gets its one sentence, the rest of the collection is indexed, nothing is lost.

- a 2 GB file (sparse: no disk used), refused by its size before a byte is read;
- a binary file with a text extension; an encrypted PDF; a damaged PDF;
- a scanned PDF without text (reported as such) and one with some scanned pages;
- a folder the user cannot read (root drops its file capabilities with setpriv);
- a file deleted while the collection is being indexed;
- a full disk: a real one, the database on a small tmpfs (needs root to mount).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import StorageError
from app.docs.documents import Documents
from app.docs.indexer import ERROR, INDEXED, NO_TEXT, REMOVED, UNCHANGED
from tests.docs.documents import (
    LEASE_PAGES,
    write_binary_text,
    write_corrupt_pdf,
    write_docx,
    write_html,
    write_lease_pdf,
    write_pdf,
    write_scanned_pdf,
)

pytestmark = pytest.mark.slow

TIMEOUT = 240
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    root.mkdir()
    (root / "a-first.md").write_text("# Ferry\n\nThe ferry leaves at noon.")
    (root / "doomed.md").write_text("# Doomed\n\nThis file is deleted while indexing.")
    write_lease_pdf(root / "lease.pdf")
    write_docx(root / "handbook.docx")
    write_html(root / "garden.html")
    with (root / "big.txt").open("wb") as file:  # 2 GB on paper, no disk used
        file.truncate(2_000_000_000)
    write_binary_text(root / "photo.txt")
    write_pdf(root / "locked.pdf", [["secret"]], encrypted=True)
    write_corrupt_pdf(root / "broken.pdf")
    write_scanned_pdf(root / "scan.pdf")
    write_pdf(root / "partly.pdf", [LEASE_PAGES[0], ()])
    private = root / "private"
    private.mkdir()
    (private / "hidden.md").write_text("You cannot read this.")
    return root


def run_as_user(folder: Path, database: Path) -> dict[str, Any]:
    """tests/docs/bad_input_run.py in its own process, obeying file permissions."""
    command = [
        sys.executable, "-m", "tests.docs.bad_input_run", str(folder), str(database),
        str(folder / "a-first.md"), str(folder / "doomed.md"),
    ]  # fmt: skip
    if os.geteuid() == 0:
        # Root reads any folder; without these two capabilities it obeys permissions.
        setpriv = shutil.which("setpriv")
        assert setpriv, "util-linux's setpriv is needed to drop root's file capabilities"
        drop = "-dac_override,-dac_read_search"
        command = [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}", "--", *command]
    (folder / "private").chmod(0)
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, check=False
        )
    finally:
        (folder / "private").chmod(0o755)
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def by_name(outcomes: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {o["name"]: (o["status"], o["message"]) for o in outcomes}


def test_each_bad_file_says_why_and_the_rest_is_indexed(tmp_path: Path, folder: Path) -> None:
    found = run_as_user(folder, tmp_path / "db.sqlite3")
    first = by_name(found["first"])
    problems = {
        "big.txt": (
            ERROR,
            "big.txt is 2.00 GB, more than the 30.0 MB Hearth reads for a text file; split "
            "it into smaller files.",
        ),
        "photo.txt": (
            ERROR,
            "photo.txt is named like a text file but holds binary data; rename it or leave "
            "it out of the collection.",
        ),
        "locked.pdf": (
            ERROR,
            "locked.pdf is an encrypted PDF that needs a password; save an unprotected copy "
            "to index it.",
        ),
        "broken.pdf": (
            ERROR,
            "broken.pdf is not a readable PDF (damaged or incomplete); open it in a PDF "
            "viewer to check it, or export it again.",
        ),
        "scan.pdf": (
            NO_TEXT,
            "scan.pdf has no text layer on any of its 2 pages (a scan?); Hearth cannot read "
            "scanned pages yet.",
        ),
        "private": (
            ERROR,
            f"The folder {folder / 'private'} cannot be read (Permission denied).",
        ),
    }
    assert first == {
        **problems,
        "doomed.md": (ERROR, "doomed.md was moved or deleted before it could be read."),
        "a-first.md": (INDEXED, ""),
        "lease.pdf": (INDEXED, ""),
        "handbook.docx": (INDEXED, ""),
        "garden.html": (INDEXED, ""),
        "partly.pdf": (INDEXED, "1 of 2 pages have no text (scans?)"),
    }
    # The 2 GB file was refused by its size: never read, not even hashed.
    assert found["hashes"]["big.txt"] is None and found["hashes"]["lease.pdf"]
    # The rest answers questions.
    assert found["best"] == [str(folder / "lease.pdf"), 2]

    # The next update tries the bad files again (same sentences), skips the good ones and
    # the scan (read already: its record keeps the sentence), forgets the file that is gone.
    second = by_name(found["second"])
    retried = {n: p for n, p in problems.items() if n != "scan.pdf"}
    assert {n: second[n] for n in retried} == retried
    assert second["doomed.md"] == (REMOVED, "doomed.md is gone.")
    for name in ("a-first.md", "lease.pdf", "handbook.docx", "garden.html", "partly.pdf"):
        assert second[name][0] == UNCHANGED
    assert second["scan.pdf"][0] == UNCHANGED
    assert found["errors"]["scan.pdf"] == problems["scan.pdf"][1]


# -- a full disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MB file system (tmpfs), unmounted afterwards."""
    mount = shutil.which("mount")
    place = tmp_path / "disk"
    place.mkdir()
    if os.geteuid() != 0 or mount is None:
        pytest.skip("mounting a small tmpfs needs root (test_indexer covers SQLITE_FULL)")
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(place)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
    try:
        yield place
    finally:
        subprocess.run(["umount", "-l", str(place)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """A file taking all the room on ``disk`` but ``leave`` bytes."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    filler = disk / "filler"
    with filler.open("wb") as file:
        file.write(b"\0" * max(0, free - leave))
    return filler


def test_a_full_disk_stops_with_one_sentence_and_loses_nothing(
    tmp_path: Path, small_disk: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# Ferry\n\nThe ferry leaves at noon.")
    database = small_disk / "conversations.sqlite3"
    with Documents.open(database, out_of_process=True) as docs:
        docs.add("notes", [folder])
        filler = fill(small_disk, 64 * 1024)
        # Hundreds of passages with their vectors: far more than the room left.
        (folder / "b.md").write_text(
            "\n\n".join(f"Paragraph {n}: train {n} leaves platform {n % 9}." * 8
                        for n in range(60))
        )  # fmt: skip
        with pytest.raises(StorageError) as caught:
            docs.update("notes")
        assert str(caught.value) == (
            "Could not save to the document index: the disk is full; free some space and add "
            "the files again (nothing indexed before was lost)."
        )
        (record,) = docs.store.files(docs.collection("notes").id)
        assert record.path.endswith("a.md") and record.status == INDEXED
        assert docs.search("ferry", ["notes"], top_k=1, mode="keyword")

        filler.unlink()  # room again: the same update finishes what was left
        report = docs.update("notes")
        assert report.count(UNCHANGED) == 1 and report.count(INDEXED) == 1
        assert docs.search("platform 7", ["notes"], top_k=1)[0].path == str(folder / "b.md")
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
