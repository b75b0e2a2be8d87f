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

import shutil
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
from tests.bench.pairs import alternate, bench_arguments, report


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


def main() -> int:
    args = bench_arguments((__doc__ or "").split("\n\n")[0])
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

    rows = alternate(
        QUESTIONS,
        args.rounds,
        lambda messages: run_hearth(engine, messages, params),
        lambda messages: run_api(api, name, messages, params),
    )
    server.close()
    engine.shutdown()
    shutil.rmtree(folder, ignore_errors=True)
    report(
        f"model: {model.name}  threads: {threads}  n_ctx: {args.ctx}  "
        f"max_tokens: {args.max_tokens}",
        rows,
        ("engine", "api"),
        tps_goal=0.95,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
