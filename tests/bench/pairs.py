"""What the A-against-B generation benchmarks share: options, alternating rounds, report.

Each side is a function ``messages -> {"ttft", "tps", "tokens", "prompt"}``; rounds
alternate which side goes first so neither always runs on a warmer cache, and every
ratio is taken per round (median of pairs) before the medians of each side.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path

Run = dict[str, float]
Side = Callable[[list[dict[str, str]]], Run]
Row = tuple[str, Run, Run]


def bench_arguments(description: str, *, gpu: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    if gpu:
        parser.add_argument(
            "--gpu-layers", type=int, default=0, help="layers on the GPU for both sides (-1: all)"
        )
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--ctx", type=int, default=2048)
    return parser.parse_args()


def alternate(questions: list[str], rounds: int, base: Side, other: Side) -> list[Row]:
    """``rounds`` rounds of both sides on the same question, first side alternating."""
    rows: list[Row] = []
    for i in range(rounds):
        messages = [{"role": "user", "content": questions[i % len(questions)]}]
        if i % 2 == 0:
            b = base(messages)
            o = other(messages)
        else:
            o = other(messages)
            b = base(messages)
        assert b["prompt"] == o["prompt"], "both sides must see the same prompt tokens"
        rows.append((messages[0]["content"][:32], b, o))
    return rows


def pooled_tps(runs: list[Run]) -> float:
    """Tokens/s over several runs: all decoded tokens over all decode time."""
    tokens = sum(r["tokens"] - 1 for r in runs)
    return tokens / sum((r["tokens"] - 1) / r["tps"] for r in runs)


def report(
    header: str,
    rows: list[Row],
    names: tuple[str, str],
    *,
    tps_goal: float,
    ttft_goal_ms: float | None = None,
) -> None:
    """Per-round table, medians, ratios (median of pairs and pooled), TTFT overhead."""
    base, other = names
    print(header)
    print(
        f"{'prompt':34}{'tok':>5}{base + ' t/s':>12}{other + ' t/s':>12}{'ratio':>8}"
        f"{base + ' ttft':>13}{other + ' ttft':>13}{'delta':>9}"
    )
    for label, b, o in rows:
        print(
            f"{label:34}{int(o['tokens']):5d}{b['tps']:12.1f}{o['tps']:12.1f}"
            f"{o['tps'] / b['tps']:8.3f}{b['ttft'] * 1000:11.1f}ms{o['ttft'] * 1000:11.1f}ms"
            f"{(o['ttft'] - b['ttft']) * 1000:7.1f}ms"
        )
    ratio = statistics.median(o["tps"] / b["tps"] for _, b, o in rows)
    pooled = pooled_tps([o for _, _, o in rows]) / pooled_tps([b for _, b, _ in rows])
    overhead = statistics.median(o["ttft"] - b["ttft"] for _, b, o in rows)
    # Whichever side runs first in a round pays more for its first token; over an even
    # number of rounds each side goes first equally often, so the mean cancels that out.
    mean_overhead = statistics.fmean(o["ttft"] - b["ttft"] for _, b, o in rows)
    print()
    print(
        f"median tokens/s   {base} {statistics.median(b['tps'] for _, b, _ in rows):.1f}  "
        f"{other} {statistics.median(o['tps'] for _, _, o in rows):.1f}  "
        f"ratio (median of pairs) {ratio:.3f}  goal >= {tps_goal}"
    )
    print(f"tokens/s over all rounds (total tokens / total decode time): ratio {pooled:.3f}")
    goal = f"  goal <= {ttft_goal_ms:.0f} ms" if ttft_goal_ms is not None else ""
    print(
        f"median TTFT       {base} {statistics.median(b['ttft'] for _, b, _ in rows) * 1000:.1f} ms"
        f"  {other} {statistics.median(o['ttft'] for _, _, o in rows) * 1000:.1f} ms  "
        f"overhead (median of pairs) {overhead * 1000:.1f} ms, "
        f"(mean of pairs) {mean_overhead * 1000:.1f} ms{goal}"
    )
