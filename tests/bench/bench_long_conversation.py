"""Time to first token over a conversation longer than the context window.

A hands-free voice conversation, or a long chat, outgrows the model's window; the oldest
turns are then left out. If the kept prompt's start moved every turn, llama.cpp would
evaluate the whole kept history again for each reply. This plays ``--turns`` short
question-and-answer turns through Hearth's engine on the starter model with a small
window, and prints the time to first token before and after the window filled, and how
many turns left messages out.

    python tests/bench/bench_long_conversation.py [--turns 80] [--ctx 1024] [--threads 2]

To compare with an older commit, run it there too (``git archive <commit> | tar -x -C
DIR``, then ``python tests/bench/bench_long_conversation.py`` with DIR as the working
directory and this file copied in).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))  # the tree being measured (see above)

from app.core.generation import GenerationParams
from app.engine import protocol as p
from app.engine.client import EngineClient
from tests.bench.bench_voice import QUESTIONS  # the latency benchmark's questions
from tests.fixtures.models import smollm2_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=80)
    parser.add_argument("--ctx", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=24)
    args = parser.parse_args()

    engine = EngineClient()
    try:
        loaded = engine.load(
            str(smollm2_path()), n_ctx=args.ctx, n_gpu_layers=0, n_threads=args.threads
        ).wait(600)
        assert isinstance(loaded, p.ModelLoaded)
        messages: list[dict[str, str]] = [
            {"role": "system", "content": "You are a helpful voice assistant. Answer briefly."}
        ]
        params = GenerationParams(max_tokens=args.max_tokens, temperature=0.0)
        rows: list[tuple[float, int, int]] = []  # ttft (s), prompt tokens, dropped
        for turn in range(args.turns):
            messages.append({"role": "user", "content": QUESTIONS[turn % len(QUESTIONS)]})
            sent = time.perf_counter()
            first: float | None = None
            done: p.GenerationDone | None = None
            for event in engine.generate(messages, params).events(timeout=600):
                if isinstance(event, p.Delta) and event.text and first is None:
                    first = time.perf_counter() - sent
                if isinstance(event, p.GenerationDone):
                    done = event
                elif isinstance(event, p.ErrorEvent):
                    raise SystemExit(f"turn {turn}: {event.message}")
            assert done is not None
            rows.append(
                (first or done.stats.total_s, done.stats.prompt_tokens, done.stats.dropped_messages)
            )
            messages.append({"role": "assistant", "content": done.text})
    finally:
        engine.shutdown()

    full_at = next((i for i, (_, _, dropped) in enumerate(rows) if dropped), None)
    print(f"{Path.cwd()}: {args.turns} turns, n_ctx {args.ctx}, {args.threads} threads")
    if full_at is None:
        print("the window never filled: use more --turns or a smaller --ctx")
        return 1
    before = [r[0] * 1e3 for r in rows[:full_at]]
    after = [r[0] * 1e3 for r in rows[full_at:]]
    moves = sum(1 for a, b in itertools.pairwise(rows[full_at:]) if a[2] != b[2])
    slow = sum(1 for t in after if t > 4 * statistics.median(before))
    print(
        f"window full from turn {full_at + 1}; the cut moved {moves} times in "
        f"{len(after)} turns after it"
    )
    print("| turns | ttft p50 (ms) | p90 | max | turns over 4x the p50 before |")
    print("|---|---|---|---|---|")
    for name, values, over in (("before full", before, 0), ("after full", after, slow)):
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        print(
            f"| {name} ({len(values)}) | {statistics.median(values):.0f} | {p90:.0f} | "
            f"{max(values):.0f} | {over} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
