"""The embedding model in a child process: the same vectors as in the process, the model
never loaded in the caller, a crash in the child one clear error (and the next request
works), the child ends with its parent. Real starter model, real processes."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from app.core.errors import EngineCrashedError, ModelNotFoundError
from app.docs.documents import Documents
from app.docs.embed_process import ProcessEmbedder
from app.docs.embedder import Embedder
from app.docs.embedding_models import default_embedder
from app.docs.indexer import INDEXED, UNCHANGED, IndexProgress
from tests.docs.documents import write_lease_pdf
from tests.fixtures.processes import is_gone, wait_gone

pytestmark = pytest.mark.slow

TEXTS = [
    "The tenant may keep one cat or one small dog in the flat.",
    "Bicycles must be stored in the basement bicycle room.",
    "短文本也可以嵌入。",
    "",
]


def no_model() -> Embedder:
    """A factory for the child: no embedding model installed."""
    raise ModelNotFoundError("No embedding model is installed for documents; install one.")


@pytest.fixture
def remote() -> Iterator[ProcessEmbedder]:
    embedder = ProcessEmbedder(functools.partial(default_embedder, threads=2))
    yield embedder
    embedder.close()


def test_vectors_and_token_counts_equal_the_in_process_model(
    remote: ProcessEmbedder, embedder: Embedder
) -> None:
    # An ONNX model's tokens are counted here, by its tokenizer alone: no child for that.
    assert remote.count_tokens(TEXTS) == embedder.count_tokens(TEXTS)
    assert remote.pid is None
    assert (remote.model_id, remote.dimensions, remote.max_tokens) == (
        embedder.model_id,
        embedder.dimensions,
        embedder.max_tokens,
    )
    here = embedder.embed(TEXTS, "document")
    there = remote.embed(TEXTS, "document")
    assert there.dtype == np.float32 and there.shape == (len(TEXTS), embedder.dimensions)
    np.testing.assert_allclose(there, here, atol=1e-5)
    assert remote.count_tokens(TEXTS) == embedder.count_tokens(TEXTS)
    assert remote.embed([], "query").shape == (0, embedder.dimensions)
    pid = remote.pid
    assert pid is not None and pid != os.getpid()
    child = psutil.Process(pid)
    assert child.ppid() == os.getpid()
    remote.close()
    assert remote.pid is None and wait_gone([child], 5) == []


def test_the_callers_process_never_loads_the_model(tmp_path: Path) -> None:
    """Indexing and search through Documents.open(out_of_process=True) in a fresh
    interpreter: onnxruntime is never imported there, and search finds the lease."""
    write_lease_pdf(tmp_path / "lease.pdf")
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from app.docs.documents import Documents

        if __name__ == "__main__":
            database = Path({str(tmp_path / "db.sqlite3")!r})
            lease = Path({str(tmp_path / "lease.pdf")!r})
            with Documents.open(database, out_of_process=True) as docs:
                report = docs.add("home", [lease])
                best = docs.search("may I keep a dog?", ["home"], top_k=1, mode="vector")[0]
                print(report.count("indexed"), best.page, "onnxruntime" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "2", "False"]


def test_a_crash_mid_request_is_one_clear_error_and_the_next_request_works(
    remote: ProcessEmbedder, embedder: Embedder
) -> None:
    remote.embed(["warm up"])
    pid = remote.pid
    assert pid is not None
    errors: list[BaseException] = []
    many = [f"Passage number {n} about ferries, trains and timetables." for n in range(3000)]

    def embed_many() -> None:
        try:
            remote.embed(many)
        except BaseException as exc:
            errors.append(exc)

    child = psutil.Process(pid)
    before = sum(child.cpu_times()[:2])
    worker = threading.Thread(target=embed_many)
    worker.start()
    # Kill the child once it is busy with the request (3000 passages take seconds).
    deadline = time.monotonic() + 30
    while sum(child.cpu_times()[:2]) < before + 0.3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.is_alive(), "the request ended before the child could be killed"
    os.kill(pid, signal.SIGKILL)
    worker.join(60)
    assert not worker.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], EngineCrashedError)
    assert str(errors[0]) == (
        "The embedding model's process was killed by signal 9 unexpectedly; the files "
        "indexed so far are kept: try again (a new process starts)."
    )
    # The next request starts a new child and answers.
    np.testing.assert_allclose(remote.embed(TEXTS[:1]), embedder.embed(TEXTS[:1]), atol=1e-5)
    assert remote.pid not in (None, pid) and remote.starts == 2


def kill_when_busy(pid: int, deadline_s: float = 30) -> None:
    """SIGKILL the child once it has spent 0.3 s of CPU on the request in flight."""
    child = psutil.Process(pid)
    before = sum(child.cpu_times()[:2])
    deadline = time.monotonic() + deadline_s
    while sum(child.cpu_times()[:2]) < before + 0.3 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)


def test_a_crash_while_indexing_stops_with_one_error_and_keeps_the_files_done(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# Ferry\n\nThe ferry leaves at noon.")
    # Long enough (hundreds of passages) to be killed while it is being embedded.
    (folder / "b.md").write_text(
        "\n\n".join(
            f"Paragraph {n}: the timetable of train {n} changes in May." * 12 for n in range(300)
        )
    )
    (folder / "c.md").write_text("# Trams\n\nThe tram runs every ten minutes.")
    killers: list[threading.Thread] = []

    with Documents.open(tmp_path / "db.sqlite3", out_of_process=True) as docs:
        remote = docs.embedder
        assert isinstance(remote, ProcessEmbedder)

        def kill_during_second(event: IndexProgress) -> None:
            if event.files_done == 1:
                assert remote.pid is not None
                killer = threading.Thread(target=kill_when_busy, args=(remote.pid,))
                killer.start()
                killers.append(killer)

        with pytest.raises(EngineCrashedError, match="files indexed so far are kept"):
            docs.add("notes", [folder], on_progress=kill_during_second)
        killers[0].join()
        (kept,) = docs.store.files(docs.collection("notes").id)
        assert kept.path.endswith("a.md") and kept.status == INDEXED
        first = remote.starts
        report = docs.update("notes")  # a new child
        assert report.count(UNCHANGED) == 1 and report.count(INDEXED) == 2
        assert remote.starts == first + 1 and remote.pid is not None
        child = psutil.Process(remote.pid)
    assert wait_gone([child], 10) == []  # closing Documents ends the child


def test_an_error_in_the_child_keeps_its_kind_and_sentence() -> None:
    broken = ProcessEmbedder(no_model)
    with pytest.raises(ModelNotFoundError, match="No embedding model is installed"):
        broken.embed(["text"])
    with pytest.raises(ModelNotFoundError, match="No embedding model is installed"):
        broken.count_tokens(["text"])
    assert broken.pid is None
    broken.close()


def test_the_child_ends_with_its_parent(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import functools, os, signal, sys
        from app.docs.embed_process import ProcessEmbedder
        from app.docs.embedding_models import default_embedder

        if __name__ == "__main__":
            remote = ProcessEmbedder(functools.partial(default_embedder, threads=1))
            remote.embed(["hello"])
            print(remote.pid, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    parent = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert parent.returncode == -signal.SIGKILL, parent.stderr
    child_pid = int(parent.stdout.split()[0])
    try:
        child = psutil.Process(child_pid)
    except psutil.NoSuchProcess:
        return  # already gone
    assert is_gone(child) or wait_gone([child], 10) == []


def test_a_search_query_does_not_wait_for_a_long_batch(
    remote: ProcessEmbedder, embedder: Embedder
) -> None:
    """Indexing sends its batches in parts; a query waiting is sent before the next part
    (the window searches while a collection is indexed)."""
    remote.embed(["warm up"])
    many = [f"Passage number {n} about ferries, trains and timetables." for n in range(1500)]
    done = threading.Event()
    results: list[np.ndarray] = []

    def embed_many() -> None:
        results.append(remote.embed(many))
        done.set()

    worker = threading.Thread(target=embed_many)
    worker.start()
    child = psutil.Process(remote.pid)  # type: ignore[arg-type]
    before = sum(child.cpu_times()[:2])
    deadline = time.monotonic() + 30
    while sum(child.cpu_times()[:2]) < before + 0.3 and time.monotonic() < deadline:
        time.sleep(0.01)
    query = remote.embed(["when does the last ferry leave?"], "query")
    assert not done.is_set(), "the query waited for the whole batch"
    worker.join(120)
    np.testing.assert_allclose(
        query, embedder.embed(["when does the last ferry leave?"], "query"), atol=1e-5
    )
    # The batch, sent in parts, is the same as in one piece.
    np.testing.assert_allclose(results[0][:40], embedder.embed(many[:40]), atol=1e-5)
    assert results[0].shape == (1500, embedder.dimensions)
