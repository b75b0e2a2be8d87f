"""Documents: indexing speed (pages per second, peak memory) on generated text PDFs, and
hybrid search latency (p50/p95) on a synthetic collection of N passages.

    python -m tests.bench.bench_docs [--pages 100] [--passages 10000] [--queries 50]
    python -m tests.bench.bench_docs --embedding-process [--pages 100] [--rounds 4]

Text comes from the docstrings of Python's standard library (real English, offline). The
PDFs are written by tests/docs/documents.py (Helvetica text); the search collection holds
docstrings as passages with random unit vectors (the query, five words of the corpus, is
embedded for real), so the latency is the store's and the model's.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import re
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from app.docs.chunking import Chunk
from app.docs.embedding_models import default_embedder
from app.docs.indexer import Indexer
from app.docs.search import search
from app.docs.store import DocStore
from tests.docs.documents import write_pdf


def corpus() -> list[str]:
    """Real English prose available offline: the docstrings of Python's standard library."""
    import ast
    import sysconfig

    texts: list[str] = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 200:
                    texts.append(" ".join(doc.split()))
    return texts


TEXTS = corpus()
WORDS = sorted({w for t in TEXTS for w in re.findall(r"[a-z]{4,}", t.lower())})


def load() -> str:
    """The load average when a figure was measured: on a shared machine it explains it."""
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores"


def sentence(rng: random.Random) -> str:
    return rng.choice(TEXTS)


def write_pdfs(folder: Path, pages: int, files: int) -> None:
    """``files`` text PDFs of ``pages // files`` pages each."""
    rng = random.Random(1)
    for n in range(files):
        text = " ".join(sentence(rng) for _ in range(pages // files * 4))
        words = text.encode("latin-1", "replace").decode("latin-1").split()
        lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
        lines_per_page = max(1, len(lines) // (pages // files))
        pdf_pages = [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)]
        pdf_pages = pdf_pages[: pages // files]
        write_pdf(folder / f"doc{n}.pdf", pdf_pages)


def bench_indexing(folder: Path, pages: int, files: int) -> None:
    write_pdfs(folder, pages, files)
    with DocStore(folder / "bench.db") as store:
        started, cpu = time.perf_counter(), time.process_time()
        report = Indexer(store, default_embedder()).add("bench", [folder])
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"indexing: {report.pages} pages, {report.chunks} passages in {elapsed:.1f} s = "
        f"{report.pages / elapsed:.2f} pages/s, {report.chunks / elapsed:.1f} passages/s; "
        f"peak RSS {peak_mb:.0f} MB; {load()}; {cpu:.0f} CPU-seconds = "
        f"{report.pages / cpu:.2f} pages per CPU-second"
    )


def bench_embedding_process(folder: Path, pages: int, files: int, rounds: int) -> None:
    """Indexing passages/s with the embedding model in this process and in a child
    process (Documents.open(out_of_process=True), as the window indexes): the same PDFs,
    the same run, rounds alternating so that a change in the machine's load hits both."""
    from app.docs.embed_process import ProcessEmbedder

    pdfs = folder / "pdfs"
    pdfs.mkdir()
    write_pdfs(pdfs, pages, files)
    remote = ProcessEmbedder(functools.partial(default_embedder))
    embedders = {"in-process": default_embedder(), "out-of-process": remote}
    for embedder in embedders.values():  # both loaded before timing
        embedder.embed(["warm up"])
    rates: dict[str, list[float]] = {kind: [] for kind in embedders}
    for n in range(rounds):
        kinds = list(embedders) if n % 2 == 0 else list(reversed(embedders))
        for kind in kinds:
            with DocStore(folder / f"{kind}-{n}.db") as store:
                started = time.perf_counter()
                report = Indexer(store, embedders[kind]).add("bench", [pdfs])
                rates[kind].append(report.chunks / (time.perf_counter() - started))
    # A search embeds one short query: what the pipe adds to it.
    queries = [" ".join(random.Random(n).choices(WORDS, k=5)) for n in range(40)]
    latency: dict[str, list[float]] = {kind: [] for kind in embedders}
    for query in queries:
        for kind, embedder in embedders.items():
            started = time.perf_counter()
            embedder.embed([query], "query")
            latency[kind].append((time.perf_counter() - started) * 1000)
    remote.close()
    for kind, values in latency.items():
        print(f"one query embedded {kind}: p50 {statistics.median(values):.1f} ms")
    medians = {kind: statistics.median(r) for kind, r in rates.items()}
    for kind, values in rates.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"embedding {kind}: median {medians[kind]:.1f} passages/s ({shown})")
    ratio = medians["out-of-process"] / medians["in-process"]
    print(
        f"embedding out of process / in process: {ratio:.3f} ({report.chunks} passages); {load()}"
    )


def bench_search(folder: Path, passages: int, queries: int) -> None:
    rng = random.Random(2)
    embedder = default_embedder()
    with DocStore(folder / "search.db") as store:
        collection = store.create_collection("big", embedder.model_id, embedder.dimensions)
        per_file = 100
        for start in range(0, passages, per_file):
            chunks = [Chunk(sentence(rng)[:1200], 1, "", i, 150) for i in range(per_file)]
            vectors = np.random.default_rng(start).normal(size=(per_file, embedder.dimensions))
            vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
            store.save_file(
                collection.id, f"/f{start}.pdf", status="indexed", chunks=chunks, vectors=vectors
            )
        collection = store.collection("big")
        search(store, embedder, "warm up", [collection])  # model load, vector cache
        timings, cpu = [], []  # CPU time too: on a loaded machine wall time is mostly waiting
        for _ in range(queries):
            query = " ".join(rng.choices(WORDS, k=5))
            started, cpu_started = time.perf_counter(), time.process_time()
            search(store, embedder, query, [collection], top_k=5)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(
            f"search: {passages} passages, {queries} hybrid queries: "
            f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms; {load()}; "
            f"CPU per query p50 {statistics.median(cpu):.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument(
        "--embedding-process",
        action="store_true",
        help="only compare indexing with the model in this process and in a child process",
    )
    parser.add_argument("--rounds", type=int, default=4, help="rounds of --embedding-process")
    args = parser.parse_args()
    if args.embedding_process:
        with tempfile.TemporaryDirectory() as tmp:
            bench_embedding_process(Path(tmp), args.pages, args.files, args.rounds)
        return
    with tempfile.TemporaryDirectory() as tmp:
        bench_indexing(Path(tmp), args.pages, args.files)
    with tempfile.TemporaryDirectory() as tmp:
        bench_search(Path(tmp), args.passages, args.queries)


if __name__ == "__main__":
    main()
