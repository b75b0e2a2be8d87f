"""Benchmark: the KV cache across turns, reopened conversations and cache types.

Through the real engine (EngineClient, a worker process), greedy replies:

(a) time to first token of the 10th turn of a conversation against the 1st, in one
    worker (llama-cpp-python's prefix reuse: the 10th turn evaluates only its own
    tokens). Goal: 1.3 or less.
(b) a 30-turn conversation reopened in a fresh worker: the 31st turn's time to first
    token with the state a first worker saved (app.engine.kv_state) against a fresh
    worker evaluating it from scratch, and the prompt tokens each evaluated.
(d) switching conversations in one worker, as the window, the API server and voice do:
    conversation A (10 turns), then an API request B (another conversation, no key), then
    A's next turn, three times: A's time to first token and prompt tokens evaluated with
    the worker's RAM slots (app.engine.kv_state) against without.
(c) memory at 8k context with an f16 against a q8_0 cache: the planner's KV bytes against
    llama.cpp's "KV buffer size" log, and the worker's RSS after the load (the KV pages
    are written at load) as measured difference against the planned one.

    nice -n 10 python tests/bench/bench_kv.py [--model PATH] [--turns 30] [--ctx 8192]
        [--only a|b|c|d]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.core.generation import GenerationParams, Message  # noqa: E402
from app.engine import protocol as p  # noqa: E402
from app.engine.client import EngineClient  # noqa: E402

MIB = 1024 * 1024
_CALLBACKS: list[Any] = []
PARAMS = GenerationParams(temperature=0.0, max_tokens=24, seed=1)
KEY = "conversation:1"  # a stored conversation's replies: their state may be saved
SYSTEM = (
    "You are a patient tutor. Answer each question in one or two short sentences, "
    "then stop. Keep earlier answers in mind."
)
QUESTIONS = [
    "What is a prime number?",
    "Is 21 prime?",
    "What is the next prime after 13?",
    "Why is 1 not prime?",
    "What is a composite number?",
    "Name an even prime.",
    "What is the sum of the first three primes?",
    "Is 97 prime?",
    "What is a twin prime?",
    "Give an example of twin primes.",
]


def _question(i: int) -> str:
    return f"Question {i + 1}: {QUESTIONS[i % len(QUESTIONS)]}"


THREADS: list[int | None] = [None]  # --threads (None: the worker's own choice)


def _client(model: Path, **load: Any) -> EngineClient:
    client = EngineClient()
    client.start()
    loaded = client.load(str(model), n_threads=THREADS[0], **load).wait(600)
    assert isinstance(loaded, p.ModelLoaded), loaded
    return client


def _ask(client: EngineClient, history: list[Message], key: str | None = KEY) -> tuple[str, float]:
    done = client.generate(history, replace(PARAMS, kv_key=key)).wait(600)
    assert isinstance(done, p.GenerationDone), done
    return done.text, done.stats.ttft_s


def _stats(client: EngineClient) -> dict[str, Any]:
    report = client.stats().wait(60)
    assert isinstance(report, p.StatsReport), report
    return report.stats


def _conversation(
    client: EngineClient, turns: int, evaluated: list[int] | None = None
) -> tuple[list[Message], list[float]]:
    """``turns`` questions in one conversation; its history and each turn's TTFT (and,
    into ``evaluated``, each turn's prompt tokens evaluated)."""
    history: list[Message] = [{"role": "system", "content": SYSTEM}]
    ttfts = []
    for i in range(turns):
        history.append({"role": "user", "content": _question(i)})
        reply, ttft = _ask(client, history)
        ttfts.append(ttft)
        if evaluated is not None:
            evaluated.append(int(_stats(client)["prompt_tokens_evaluated"]))
        history.append({"role": "assistant", "content": reply})
    return history, ttfts


def turn_ten(model: Path, n_ctx: int) -> None:
    client = _client(model, n_ctx=n_ctx)
    try:
        # A first reply warms the worker (allocations, mmapped weights), so turn 1 is
        # not slowed by a cold start; its prompt shares nothing with the conversation.
        _ask(client, [{"role": "user", "content": "Hello."}])
        evaluated: list[int] = []
        _, ttfts = _conversation(client, 10, evaluated)
    finally:
        client.shutdown()
    ratio = ttfts[9] / ttfts[0]
    print(
        f"(a) TTFT turn 1: {ttfts[0] * 1000:.0f} ms, turn 10: {ttfts[9] * 1000:.0f} ms, "
        f"ratio {ratio:.2f} (goal <= 1.3); every turn (ms): "
        + " ".join(f"{t * 1000:.0f}" for t in ttfts)
        + "; prompt tokens evaluated: "
        + " ".join(str(n) for n in evaluated)
    )


def reopened(model: Path, n_ctx: int, turns: int, state_mb: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        saving = _client(model, n_ctx=n_ctx, kv_state_dir=folder, kv_state_mb=state_mb)
        try:
            started = time.perf_counter()
            history, _ = _conversation(saving, turns)
            wall = time.perf_counter() - started
        finally:
            saving.shutdown()  # waits for the last state to be written
        files = list(Path(folder).glob("*.kvs"))
        size = sum(f.stat().st_size for f in files)
        print(
            f"(b) {turns} turns saving after each reply: {wall:.1f} s; {len(files)} file, "
            f"{size / MIB:.1f} MiB"
        )
        history.append({"role": "user", "content": _question(turns)})
        results = {}
        for label, extra in (
            ("from scratch", {}),
            ("saved state", {"kv_state_dir": folder, "kv_state_mb": state_mb}),
        ):
            client = _client(model, n_ctx=n_ctx, **extra)
            try:
                _, ttft = _ask(client, history)
                stats = _stats(client)
            finally:
                client.shutdown()
            results[label] = (ttft, stats)
            print(
                f"(b) reopened {turns}-turn conversation, {label}: TTFT {ttft * 1000:.0f} ms, "
                f"prompt tokens evaluated {stats['prompt_tokens_evaluated']}, "
                f"restored {stats['kv_state_restored']}"
            )
    scratch, saved = results["from scratch"][0], results["saved state"][0]
    held = int(results["saved state"][1]["kv_state_restored"])
    print(
        f"(b) saved state / from scratch: {saved / scratch:.2f} "
        f"({scratch / saved:.1f}x faster; state on disk {size / MIB:.1f} MiB, "
        f"{size / max(held, 1) / 1024:.1f} KiB a token)"
    )


def switching(model: Path, n_ctx: int, turns: int = 10, rounds: int = 3) -> None:
    other_system = (
        "You answer questions about a small public library. It opens at nine, lends "
        "books for three weeks, and closes at six. Answer in one short sentence."
    )
    results: dict[str, list[tuple[float, int, str]]] = {}
    for label, ram_mb in (("without RAM slots", 0), ("with RAM slots", 256)):
        client = _client(model, n_ctx=n_ctx, kv_ram_mb=ram_mb)
        rows = results[label] = []
        try:
            _ask(client, [{"role": "user", "content": "Hello."}], None)  # warm-up
            history, _ = _conversation(client, turns)
            for r in range(rounds):
                api = [
                    {"role": "system", "content": other_system},
                    {"role": "user", "content": f"Request {r + 1}: when do you close?"},
                ]
                _ask(client, api, None)  # an API request: no key
                history.append({"role": "user", "content": _question(turns + r)})
                reply, ttft = _ask(client, history)
                history.append({"role": "assistant", "content": reply})
                stats = _stats(client)
                rows.append(
                    (ttft, stats["prompt_tokens_evaluated"], stats["kv_state_restored_from"])
                )
        finally:
            client.shutdown()
        print(
            f"(d) A, B, A {label}: A's TTFT (ms) "
            + " ".join(f"{t * 1000:.0f}" for t, _, _ in rows)
            + "; prompt tokens evaluated "
            + " ".join(str(n) for _, n, _ in rows)
            + "; restored from "
            + " ".join(src or "-" for _, _, src in rows)
        )
    without = sorted(t for t, _, _ in results["without RAM slots"])[rounds // 2]
    with_slots = sorted(t for t, _, _ in results["with RAM slots"])[rounds // 2]
    print(
        f"(d) median TTFT of A after B: {with_slots * 1000:.0f} ms with slots, "
        f"{without * 1000:.0f} ms without ({without / with_slots:.1f}x faster)"
    )


def _logged_kv(model: Path, n_ctx: int, kv_type: str) -> float:
    """llama.cpp's "KV buffer size" lines (MiB, summed) for a load in this process."""
    import llama_cpp

    from app.engine.amx import avoid_amx_kernels

    avoid_amx_kernels()  # as Hearth loads models (see app.engine.amx)

    from app.engine.kv_cache import kv_setup

    lines: list[str] = []

    def on_log(_level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        lines.append(text.decode("utf-8", errors="replace"))

    callback = llama_cpp.llama_log_callback(on_log)
    _CALLBACKS.append(callback)  # llama.cpp keeps calling it: it must never be freed
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    setup = kv_setup(kv_type, None)
    llm = llama_cpp.Llama(
        str(model),
        n_ctx=n_ctx,
        n_gpu_layers=0,
        flash_attn=setup.flash_attn,
        type_k=setup.type_k,
        type_v=setup.type_v,
        verbose=False,
    )
    llm.close()
    pattern = re.compile(r"KV buffer size =\s*([\d.]+) MiB")
    sizes = [
        float(m.group(1)) for line in "".join(lines).splitlines() if (m := pattern.search(line))
    ]
    return sum(sizes)


def memory(model: Path, n_ctx: int) -> None:
    from app.core.gguf_meta import read_gguf
    from app.engine.hardware import probe_hardware
    from app.engine.kv_cache import kv_setup
    from app.engine.planner import plan_offload

    rows = {}
    for kv_type in ("f16", "q8_0"):
        plan = plan_offload(
            read_gguf(model),
            probe_hardware(),
            n_ctx=n_ctx,
            gpu_offload_supported=False,
            flash_attn=kv_setup(kv_type, None).flash_attn,
            cache_type_k=kv_type,
            cache_type_v=kv_type,
        )
        client = _client(model, n_ctx=n_ctx, kv_type=kv_type)
        try:
            rss = _stats(client)["rss_bytes"]
        finally:
            client.shutdown()
        logged = _logged_kv(model, n_ctx, kv_type)
        rows[kv_type] = (plan, rss)
        error = (plan.kv_bytes / MIB - logged) / logged
        print(
            f"(c) {kv_type} at {n_ctx}: KV planned {plan.kv_bytes / MIB:.1f} MiB, llama.cpp "
            f"{logged:.1f} MiB ({error:+.1%}); plan total {plan.cpu_bytes / MIB:.0f} MiB; "
            f"worker RSS after load {rss / MIB:.0f} MiB"
        )
    (f16_plan, f16_rss), (q8_plan, q8_rss) = rows["f16"], rows["q8_0"]
    planned = (f16_plan.kv_bytes - q8_plan.kv_bytes) / MIB
    measured = (f16_rss - q8_rss) / MIB
    print(
        f"(c) q8_0 / f16 KV: {q8_plan.kv_bytes / f16_plan.kv_bytes:.3f}; saved: planned "
        f"{planned:.1f} MiB, RSS measured {measured:.1f} MiB"
    )


def main() -> None:
    from tests.fixtures.models import smollm2_path

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--state-mb", type=int, default=512)
    parser.add_argument("--only", choices=["a", "b", "c", "d"], default=None)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    args = parser.parse_args()
    THREADS[0] = args.threads
    model = args.model or smollm2_path()
    print(f"model {model.name}, {os.cpu_count()} CPUs, load average {os.getloadavg()}")
    started = time.perf_counter()
    if args.only in (None, "a"):
        turn_ten(model, 4096)
    if args.only in (None, "b"):
        reopened(model, 4096, args.turns, args.state_mb)
    if args.only in (None, "d"):
        switching(model, 4096)
    if args.only in (None, "c"):
        memory(model, args.ctx)
    print(f"done in {time.perf_counter() - started:.0f} s, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
