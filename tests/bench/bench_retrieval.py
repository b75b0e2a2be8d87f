"""Retrieval quality of keyword (BM25), vector and hybrid search: recall@5 and MRR.

    python -m tests.bench.bench_retrieval [--docs 600] [--queries 150]

An English question-answer set built offline from Python's standard library: for each
function or class whose docstring has a summary line and a body, the summary is the
question and the body (summary left out) is the passage that answers it; every body is
in the collection, so the others are distractors. The bodies are embedded with the
starter model, as ``hearth docs add`` would.
"""

from __future__ import annotations

import argparse
import ast
import random
import sysconfig
import tempfile
import time
from pathlib import Path

from app.docs.chunking import Chunk, embedding_text
from app.docs.embedding_models import default_embedder
from app.docs.search import RRF_K, Mode, search
from app.docs.store import DocStore


def question_answer_pairs() -> list[tuple[str, str]]:
    """``(summary, body)`` of stdlib docstrings with a one-line summary and a real body."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.ClassDef):
                continue
            doc = ast.get_docstring(node) or ""
            summary, _, body = doc.partition("\n\n")
            summary = " ".join(summary.split())
            body = " ".join(body.split())
            if 30 <= len(summary) <= 160 and 150 <= len(body) <= 1200 and summary not in seen:
                seen.add(summary)
                pairs.append((summary, body))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--rrf-k", type=int, default=RRF_K, help="hybrid: the fusion's k")
    parser.add_argument("--vector-weight", type=float, default=1.0, help="hybrid: vectors' weight")
    args = parser.parse_args()
    rng = random.Random(7)
    pairs = question_answer_pairs()
    rng.shuffle(pairs)
    pairs = pairs[: args.docs]
    embedder = default_embedder()
    with tempfile.TemporaryDirectory() as tmp, DocStore(Path(tmp) / "bench.db") as store:
        collection = store.create_collection("stdlib", embedder.model_id, embedder.dimensions)
        started = time.perf_counter()
        answer_of: dict[str, str] = {}  # question -> the path of its passage
        for n, (summary, body) in enumerate(pairs):
            chunk = Chunk(body, None, "", 0, embedder.count_tokens([body])[0])
            vectors = embedder.embed([embedding_text(chunk)])
            store.save_file(
                collection.id, f"/doc{n}", status="indexed", chunks=[chunk], vectors=vectors
            )
            answer_of[summary] = f"/doc{n}"
        print(f"{len(pairs)} passages embedded in {time.perf_counter() - started:.1f} s")
        collection = store.collection("stdlib")
        questions = rng.sample(list(answer_of), min(args.queries, len(answer_of)))
        modes: tuple[Mode, ...] = ("keyword", "vector", "hybrid")
        for mode in modes:
            hits, reciprocal = 0, 0.0
            for question in questions:
                found = search(
                    store, embedder, question, [collection], top_k=5, mode=mode,
                    rrf_k=args.rrf_k, vector_weight=args.vector_weight,
                )  # fmt: skip
                wanted = answer_of[question]
                ranks = [i for i, p in enumerate(found, start=1) if p.path == wanted]
                if ranks:
                    hits += 1
                    reciprocal += 1 / ranks[0]
            print(
                f"{mode:8s} recall@5 {hits / len(questions):.3f}  "
                f"MRR@5 {reciprocal / len(questions):.3f}  ({len(questions)} questions)"
            )


if __name__ == "__main__":
    main()
