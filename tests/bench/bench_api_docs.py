"""Benchmark: what documents cost API clients, on the starter models.

    nice -n 10 python tests/bench/bench_api_docs.py [--rounds 5] [--texts 64]

1. ``/v1/embeddings`` on the documents' embedding model: a batch of ``--texts``
   sentences (about 25 words each) through the API (HTTP, JSON floats, this process's
   server) against the embedder called directly; median seconds per batch and texts/s.
2. Retrieval per chat request: ``Documents.ground`` (the question embedded, BM25 and
   vectors searched, the passages put in the prompt) on the test papers; median ms.
3. A grounded chat request against the same question without documents, through the
   API (streamed, ``max_tokens`` 1): prompt tokens and median time to the first token.

Rounds alternate so that load on the machine hits all alike; the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from app.docs.documents import Documents
from app.docs.embedding_models import default_embedder
from app.docs.store import DocStore
from tests.docs.documents import write_docx, write_html, write_lease_pdf, write_markdown
from tests.server.conftest import API_KEY, CHAT_MODEL, serving_in_process

QUESTION = "Can I keep a dog in my flat?"
SENTENCE = (
    "Sentence {n}: the tenant keeps the garden tidy, waters the plants twice a week in "
    "summer and tells the landlord about any damage to the fence or the shed."
)


def median_s(samples: list[float]) -> float:
    return statistics.median(samples)


def post(url: str, body: dict[str, Any]) -> httpx.Response:
    reply = httpx.post(url, json=body, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=300)
    reply.raise_for_status()
    return reply


def first_token_s(url: str, body: dict[str, Any]) -> tuple[float, int]:
    """Seconds to the first content chunk of a stream, and the prompt tokens."""
    started = time.perf_counter()
    first = None
    tokens = 0
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.stream("POST", url, json=body, headers=headers, timeout=300) as reply:
        for line in reply.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            delta = chunk["choices"][0]["delta"] if chunk.get("choices") else {}
            if first is None and delta.get("content"):
                first = time.perf_counter() - started
            if chunk.get("usage"):
                tokens = chunk["usage"]["prompt_tokens"]
    return (first if first is not None else time.perf_counter() - started), tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--texts", type=int, default=64)
    args = parser.parse_args()
    texts = [SENTENCE.format(n=n) for n in range(args.texts)]
    embedder = default_embedder(threads=2)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        papers = base / "papers"
        papers.mkdir()
        write_lease_pdf(papers / "lease.pdf")
        write_docx(papers / "handbook.docx")
        write_html(papers / "garden.html")
        write_markdown(papers / "notes.md")
        database = base / "conversations.sqlite3"
        with Documents(DocStore(database), lambda: embedder) as docs:
            docs.add("home", [papers])
            docs.ground(QUESTION, ["home"])  # warm: model loaded, caches filled

            def open_docs() -> Documents:
                return Documents(DocStore(database), lambda: embedder)

            with serving_in_process(base / "server", documents=open_docs) as server:
                url = server.url
                post(f"{url}/embeddings", {"input": texts[:2]})  # the server's docs open
                api_s, direct_s, ground_s = [], [], []
                plain_ttft, grounded_ttft = [], []
                plain_tokens = grounded_tokens = 0
                question = [{"role": "user", "content": QUESTION}]
                body = {"messages": question, "max_tokens": 1, "stream": True,
                        "stream_options": {"include_usage": True}, "model": CHAT_MODEL,
                        "temperature": 0}  # fmt: skip
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    post(f"{url}/embeddings", {"input": texts, "encoding_format": "float"})
                    api_s.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    embedder.embed(texts)
                    direct_s.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    docs.ground(QUESTION, ["home"])
                    ground_s.append(time.perf_counter() - started)
                    seconds, plain_tokens = first_token_s(f"{url}/chat/completions", body)
                    plain_ttft.append(seconds)
                    grounded = {**body, "hearth": {"documents": ["home"]}}
                    seconds, grounded_tokens = first_token_s(f"{url}/chat/completions", grounded)
                    grounded_ttft.append(seconds)
    load = os.getloadavg()[0]
    n = args.texts
    print(f"load average {load:.1f} on {os.cpu_count()} cores; {args.rounds} rounds")
    print(
        f"/v1/embeddings, {n} texts: API {median_s(api_s):.3f} s ({n / median_s(api_s):.0f} "
        f"texts/s), direct {median_s(direct_s):.3f} s ({n / median_s(direct_s):.0f} texts/s), "
        f"overhead {median_s(api_s) - median_s(direct_s):+.3f} s"
    )
    grounding_ms = median_s(ground_s) * 1000
    print(f"Documents.ground (embed the question, search, prompt): {grounding_ms:.0f} ms")
    print(
        f"chat, first token: plain {median_s(plain_ttft):.3f} s ({plain_tokens} prompt tokens), "
        f"with hearth.documents {median_s(grounded_ttft):.3f} s ({grounded_tokens} prompt tokens)"
    )


if __name__ == "__main__":
    main()
