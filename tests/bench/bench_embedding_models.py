"""Embedding cost on the CPU: the starter ONNX model against GGUF embedding models on
llama.cpp, as the indexer calls them (batches of 64 passages of ~200 word pieces).

    python -m tests.bench.bench_embedding_models [--passages 256] [--threads 2]

No GGUF embedding model installs from the package registries and no machine here
reaches the Hub, so the GGUF models are RANDOM-WEIGHT BERTs OF THE REAL SHAPES
(tests/fixtures/embedding_gguf.py): bge-small-en-v1.5 (12 layers, 384 wide, 12 heads,
Q8_0 as the catalog's file) and a base-size BERT (12 layers, 768 wide, 12 heads, Q8_0: the shape of
bge-base and, give or take its rotary positions and gated FFN, nomic-embed-text). The
compute is the real models', the quality is not measured.

Measured 2026-11-29 on the shared 2-core AMD EPYC (AVX-512) with other jobs running
(load average 5.6-6.1), 32 passages of 246 word pieces:

    threads  starter ONNX int8  bge-small shape Q8_0  base shape Q8_0
    1        6.8 passages/s     1.5 passages/s        1.0 passages/s
    2        5.7 passages/s     0.6 passages/s        0.6 passages/s

On an oversubscribed machine llama.cpp's spinning threads cost more than they bring
(two threads ran 2.5x slower than one); on an idle one, two should be faster.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.docs.embedder import Embedder
from app.docs.embedding_models import default_embedder
from app.docs.indexer import EMBED_BATCH
from app.docs.llama_embedder import GgufEmbeddingSpec, LlamaEmbedder
from tests.bench.bench_docs import corpus
from tests.fixtures.embedding_gguf import write_tiny_bert

SHAPES = {
    "bge-small-shape (Q8_0)": {"n_layers": 12, "n_embd": 384, "n_head": 12},
    "base-shape (Q8_0)": {"n_layers": 12, "n_embd": 768, "n_head": 12},
}


def passages(count: int, target_tokens: int = 200) -> list[str]:
    """``count`` passages of about ``target_tokens`` word pieces of real English."""
    words = " ".join(corpus()).split()
    out: list[str] = []
    start = 0
    while len(out) < count:
        text = " ".join(words[start : start + target_tokens // 2])
        start += target_tokens
        out.append(text)
    return out


def measure(name: str, make: Callable[[], Embedder], texts: list[str]) -> None:
    embedder = make()
    embedder.embed(texts[:4])  # load the model, warm up
    tokens = sum(embedder.count_tokens(texts))
    started = time.perf_counter()
    for begin in range(0, len(texts), EMBED_BATCH):
        embedder.embed(texts[begin : begin + EMBED_BATCH])
    elapsed = time.perf_counter() - started
    print(
        f"{name:28s} {len(texts) / elapsed:7.1f} passages/s  {tokens / elapsed:8.0f} tokens/s  "
        f"({len(texts)} passages, {tokens / len(texts):.0f} tokens each, {elapsed:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    starter = default_embedder(threads=args.threads)
    texts = passages(args.passages)
    measure("starter ONNX int8 (MiniLM)", lambda: starter, texts)
    with tempfile.TemporaryDirectory() as folder:
        for name, shape in SHAPES.items():
            path = write_tiny_bert(Path(folder) / "model.gguf", n_ctx_train=512, q8_0=True, **shape)
            spec = GgufEmbeddingSpec(name, path)
            measure(name, lambda spec=spec: LlamaEmbedder(spec, threads=args.threads), texts)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
