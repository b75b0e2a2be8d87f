"""Benchmark: generation through ``hearth serve``'s API (streaming, official ``openai``
client) against the same engine called directly (EngineClient).

One process run, one engine worker shared by both sides (the server's bridge drives it
between the direct calls), the same model, prompts, threads, seed and sampling; rounds
alternate A/B so drift on a shared machine hits both sides alike. Prints tokens/s and
time to first token per round, their medians, and the ratios.

    python tests/bench/bench_server.py [--model PATH] [--rounds 6] [--max-tokens 128]

Goal: API >= 0.95 of direct tokens/s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.catalog.library import Library, describe_gguf
from app.core.generation import GenerationParams
from app.engine.client import EngineClient
from app.server.engine_bridge import EngineBridge
from app.server.httpd import HearthServer, ServerConfig
from tests.bench.bench_engine import QUESTIONS, default_model, run_hearth


def run_api(
    api: object, model: str, messages: list[dict[str, str]], params: GenerationParams
) -> dict[str, float]:
    """One streamed chat completion; the same figures as ``bench_engine.run_hearth``."""
    sent = time.perf_counter()
    stream = api.chat.completions.create(  # type: ignore[attr-defined]
        model=model,
        messages=messages,
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        seed=params.seed,
        stream=True,
        stream_options={"include_usage": True},
    )
    first: float | None = None
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter()
        if chunk.choices and chunk.choices[0].finish_reason:
            ended = time.perf_counter()
    assert first is not None and usage is not None
    n = usage.completion_tokens
    return {
        "ttft": first - sent,
        "tps": (n - 1) / (ended - first),
        "tokens": n,
        "prompt": usage.prompt_tokens,
    }


def pooled_tps(runs: list[dict[str, float]]) -> float:
    """Tokens/s over several runs: all decoded tokens over all decode time."""
    tokens = sum(r["tokens"] - 1 for r in runs)
    return tokens / sum((r["tokens"] - 1) / r["tps"] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--ctx", type=int, default=2048)
    args = parser.parse_args()
    model = args.model or default_model()

    import openai
    import psutil

    threads = args.threads or psutil.cpu_count(logical=False) or 1
    params = GenerationParams(max_tokens=args.max_tokens, temperature=0.8, seed=1234)

    folder = Path(tempfile.mkdtemp(prefix="hearth-bench-server-"))
    library = Library(folder / "library.json", [folder])
    entry = describe_gguf(model, source="path")
    library.register([entry])
    engine = EngineClient()
    bridge = EngineBridge(library, engine=engine, n_ctx=args.ctx, n_gpu_layers=0, n_threads=threads)
    server = HearthServer(library, ServerConfig(port=0), bridge=bridge)
    name = server.preload(entry.name)
    server.start()
    api = openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=600)

    # Warm-up both paths (first-call allocations, the HTTP connection).
    warm = [{"role": "user", "content": "Hello."}]
    run_hearth(engine, warm, params)
    run_api(api, name, warm, params)

    rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
    for i in range(args.rounds):
        messages = [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}]
        if i % 2 == 0:
            d = run_hearth(engine, messages, params)
            a = run_api(api, name, messages, params)
        else:
            a = run_api(api, name, messages, params)
            d = run_hearth(engine, messages, params)
        assert d["prompt"] == a["prompt"], "both sides must see the same prompt tokens"
        rows.append((messages[0]["content"][:32], d, a))
    server.close()
    engine.shutdown()
    shutil.rmtree(folder, ignore_errors=True)

    print(
        f"model: {model.name}  threads: {threads}  n_ctx: {args.ctx}  max_tokens: {args.max_tokens}"
    )
    print(
        f"{'prompt':34}{'tok':>5}{'engine t/s':>12}{'api t/s':>10}{'ratio':>8}"
        f"{'engine ttft':>13}{'api ttft':>11}{'delta':>9}"
    )
    for label, d, a in rows:
        print(
            f"{label:34}{int(a['tokens']):5d}{d['tps']:12.1f}{a['tps']:10.1f}"
            f"{a['tps'] / d['tps']:8.3f}{d['ttft'] * 1000:11.1f}ms{a['ttft'] * 1000:9.1f}ms"
            f"{(a['ttft'] - d['ttft']) * 1000:7.1f}ms"
        )
    d_tps = statistics.median(d["tps"] for _, d, _ in rows)
    a_tps = statistics.median(a["tps"] for _, _, a in rows)
    ratios = [a["tps"] / d["tps"] for _, d, a in rows]
    d_ttft = statistics.median(d["ttft"] for _, d, _ in rows)
    a_ttft = statistics.median(a["ttft"] for _, _, a in rows)
    overhead = statistics.median(a["ttft"] - d["ttft"] for _, d, a in rows)
    # Whichever side runs first in a round pays more for its first token; over an even
    # number of rounds each side goes first equally often, so the mean cancels that out.
    mean_overhead = statistics.fmean(a["ttft"] - d["ttft"] for _, d, a in rows)
    total_ratio = pooled_tps([a for _, _, a in rows]) / pooled_tps([d for _, d, _ in rows])
    print()
    print(
        f"median tokens/s   engine {d_tps:.1f}  api {a_tps:.1f}  "
        f"ratio (median of pairs) {statistics.median(ratios):.3f}  goal >= 0.95"
    )
    print(f"tokens/s over all rounds (total tokens / total decode time): ratio {total_ratio:.3f}")
    print(
        f"median TTFT       engine {d_ttft * 1000:.1f} ms  api {a_ttft * 1000:.1f} ms  "
        f"overhead (median of pairs) {overhead * 1000:.1f} ms, "
        f"(mean of pairs) {mean_overhead * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
