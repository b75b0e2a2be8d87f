"""Benchmark: prompt-lookup speculative decoding against the plain token loop.

One process run, one model loaded as the engine worker loads it, the same prompt
tokens, sampling and threads for both sides; rounds alternate which side goes first
(tests/bench/pairs.py). One prompt per kind of reply (tests/bench/lookup_prompts.py:
a code edit returning the whole function, a rename in a snippet, a rewrite, a summary,
a free question). Prints per kind tokens/s per side, the ratios, the drafts' acceptance,
how much of the reply the lookup foresaw (drafted or not), how long the two replies
agree token for token, and the load average; then the batch costs the lookup measured.

The lookup side is the worker's (adaptive: it drafts only where the measured batch cost
pays, engine.draft_policy); ``--always`` drafts wherever the n-gram matches instead.

Where the time goes: each side's decode time is split into llama_decode, the sampler
chain (llama_sampler_sample) and the rest (the Python loop), and a "decode-cost model"
ratio replays the lookup against the plain reply with the batch costs measured in this
run: the tokens/s the lookup would reach if only llama_decode cost time. A measured ratio
near the model's means the loop loses nothing; the model's "ceiling" is every reply token
drafted and taken at the best measured batch size.

    python tests/bench/bench_speculative.py [--model PATH | --gemma] [--rounds 4]
                                             [--max-tokens 128] [--threads 2] [--always]
                                             [--kinds "code edit,free question"]

Goals (issue 17): >= 1.5x tokens/s on the code edit, >= 0.95x on the free question.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.core.generation import GenerationParams
from app.engine import protocol as p
from app.engine.decode import TokenLoop
from app.engine.draft_policy import DecodeCosts
from app.engine.speculative import PromptLookup
from app.engine.worker import _Worker
from tests.bench.lookup_prompts import PROMPTS
from tests.bench.pairs import Run, alternate, pooled_tps
from tests.fixtures.models import assemble_gemma, smollm2_path


class _Clock:
    """Seconds spent in llama_decode and in llama_sampler_sample while :attr:`on`
    (wraps llama-cpp-python's ctypes functions for this process)."""

    def __init__(self) -> None:
        import llama_cpp
        import llama_cpp.llama_cpp as low

        self.on = False
        self.decode = 0.0
        self.sample = 0.0
        decode, sample = low.llama_decode, low.llama_sampler_sample

        def timed_decode(*a: Any) -> Any:
            started = time.perf_counter()
            try:
                return decode(*a)
            finally:
                if self.on:
                    self.decode += time.perf_counter() - started

        def timed_sample(*a: Any) -> Any:
            started = time.perf_counter()
            try:
                return sample(*a)
            finally:
                if self.on:
                    self.sample += time.perf_counter() - started

        for module in (llama_cpp, low):
            module.llama_decode = timed_decode  # type: ignore[attr-defined]
            module.llama_sampler_sample = timed_sample  # type: ignore[attr-defined]

    def start(self) -> None:
        self.on, self.decode, self.sample = True, 0.0, 0.0


def _replayed(prompt: list[int], reply: list[int], costs: DecodeCosts, always: bool) -> float:
    """Tokens/s of the lookup over plain decoding if only llama_decode cost time: a fresh
    drafter replayed against the plain reply, each batch priced by ``costs``."""
    drafter = PromptLookup(adaptive=False) if always else PromptLookup(costs=costs)
    drafter.extend(prompt)
    if not reply:
        return 1.0
    drafter.extend(reply[:1])
    spent, i = 0.0, 1
    while i < len(reply):
        draft = drafter.draft(len(reply) - i)
        taken = next(
            (k for k, t in enumerate(draft) if i + k >= len(reply) or t != reply[i + k]),
            len(draft),
        )
        spent += costs.ratio(len(draft) + 1) if draft else 1.0
        step = min(taken + 1, len(reply) - i)
        drafter.extend(reply[i : i + step])
        if draft:
            drafter.record(len(draft), taken)
        i += step
    return (len(reply) - 1) / spent if spent else 1.0


def _ceiling(costs: DecodeCosts) -> float:
    """Every reply token drafted and taken, at the best measured batch size."""
    return max((k / costs.ratio(k) for k in costs.ratios), default=1.0)


def _common(a: list[int], b: list[int]) -> int:
    """How many tokens two replies share from their start."""
    return next(
        (k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


class _Sink:
    def send(self, event: Any) -> None:
        pass


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--gemma", action="store_true", help="Gemma 3 270M base (test package)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument(
        "--always", action="store_true", help="draft wherever the n-gram matches (not adaptive)"
    )
    parser.add_argument("--kinds", default="", help="comma-separated kinds (default: all)")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    temp = tempfile.TemporaryDirectory()
    path = args.model or (assemble_gemma(Path(temp.name)) if args.gemma else smollm2_path())
    worker = _Worker(_Sink())  # type: ignore[arg-type]
    worker.load(p.LoadModel(0, str(path), n_ctx=args.ctx, n_threads=args.threads))
    llm = worker.llm
    assert llm is not None and worker.chat_format is not None
    stop = list(worker.chat_format.stop)
    params = GenerationParams(max_tokens=args.max_tokens, temperature=0.0)
    lookups: list[PromptLookup] = []
    clock = _Clock()
    shares: dict[str, list[tuple[float, float, float]]] = {"plain": [], "drafted": []}
    prompts: list[list[int]] = []
    costs = DecodeCosts()  # shared by the lookup side's replies, as in the worker
    replies: dict[str, list[list[int]]] = {"plain": [], "drafted": []}

    def side(drafted: bool) -> Any:
        def run(messages: list[dict[str, str]]) -> Run:
            tokens = worker.tokenize_messages(messages)
            llm.reset()
            drafter = (
                (PromptLookup(adaptive=False) if args.always else PromptLookup(costs=costs))
                if drafted
                else None
            )
            loop = TokenLoop(
                llm, tokens, params, max_tokens=args.max_tokens, stop=stop, drafter=drafter
            )
            started = time.perf_counter()
            first: float | None = None
            for _ in loop.texts():
                if first is None:
                    first = time.perf_counter()
                    clock.start()  # the prompt's evaluation is not counted
            ended = time.perf_counter()
            clock.on = False
            first = first or ended
            wall = max(ended - first, 1e-9)
            shares["drafted" if drafted else "plain"].append(
                (clock.decode / wall, clock.sample / wall, 1 - (clock.decode + clock.sample) / wall)
            )
            prompts.append(tokens)
            if drafter is not None:
                lookups.append(drafter)
            replies["drafted" if drafted else "plain"].append(list(loop.tokens))
            return {
                "ttft": first - started,
                "tps": (loop.sampled - 1) / max(ended - first, 1e-9),
                "tokens": float(loop.sampled),
                "prompt": float(len(tokens)),
            }

        return run

    print(
        f"model {path.name}, threads {args.threads or worker.threads}, greedy, "
        f"max_tokens {args.max_tokens}, {args.rounds} rounds per prompt"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    summary: list[str] = []
    for name, prompt, goal in PROMPTS:
        if kinds and name not in kinds:
            continue
        lookups.clear()
        replies["plain"].clear()
        replies["drafted"].clear()
        shares["plain"].clear()
        shares["drafted"].clear()
        prompts.clear()
        rows = alternate([prompt], args.rounds, side(False), side(True))
        agree = [
            _common(a, b) / max(len(a), 1)
            for a, b in zip(replies["plain"], replies["drafted"], strict=True)
        ]
        ratio = statistics.median(o["tps"] / b["tps"] for _, b, o in rows)
        pooled = pooled_tps([o for _, _, o in rows]) / pooled_tps([b for _, b, _ in rows])
        drafted = sum(d.drafted for d in lookups)
        accepted = sum(d.accepted for d in lookups)
        print(
            f"\n{name}: {int(rows[0][1]['prompt'])} prompt tokens, "
            f"{int(statistics.median(b['tokens'] for _, b, _ in rows))} reply tokens (plain)"
        )
        for i, (_, b, o) in enumerate(rows):
            print(
                f"  round {i + 1}: plain {b['tps']:6.1f} t/s   lookup {o['tps']:6.1f} t/s   "
                f"ratio {o['tps'] / b['tps']:.3f}"
            )
        print(
            f"  median t/s plain {statistics.median(b['tps'] for _, b, _ in rows):.1f}  "
            f"lookup {statistics.median(o['tps'] for _, _, o in rows):.1f}  "
            f"ratio (median of pairs) {ratio:.3f}  pooled {pooled:.3f}"
            + (f"  goal >= {goal}" if goal else "")
        )
        seen = sum(sum(d.odds.seen) for d in lookups)
        foreseen = sum(sum(d.odds.hits) for d in lookups)
        print(
            f"  drafted {drafted} tokens, accepted {accepted} "
            f"({accepted / drafted if drafted else 0:.1%}); the lookup foresaw "
            f"{foreseen} of {seen} reply tokens it guessed; replies identical for "
            f"{statistics.median(agree):.0%} of the plain reply (median)"
        )
        for side_name, label in (("plain", "plain "), ("drafted", "lookup")):
            d, sm, rest = (statistics.median(x[j] for x in shares[side_name]) for j in range(3))
            print(
                f"  where {label}'s time goes: llama_decode {d:.0%}, sampling {sm:.0%}, "
                f"the Python loop {rest:.0%}"
            )
        model = _replayed(prompts[0], replies["plain"][0], costs, args.always)
        print(
            f"  decode-cost model (the plain reply replayed, this run's batch costs): "
            f"{model:.2f}x; measured {ratio:.2f}x; ceiling {_ceiling(costs):.2f}x"
        )
        load = os.getloadavg()[0]
        print(f"  load average now: {load:.2f}")
        summary.append(
            f"  {name:14s} ratio {ratio:.2f}x (pooled {pooled:.2f}x)  plain "
            f"{statistics.median(b['tps'] for _, b, _ in rows):6.1f} t/s  acceptance "
            f"{accepted / drafted if drafted else 0:4.0%} of {drafted:4d} drafted  model "
            f"{model:.2f}x  load {load:.1f}" + (f"  goal >= {goal}" if goal else "")
        )
    print("\nsummary (median of pairs):")
    print("\n".join(summary))
    print(
        "batch cost over one token, measured: "
        + ", ".join(f"{k}: {costs.ratio(k):.2f}" for k in sorted(costs.ratios))
    )
    worker.unload()
    temp.cleanup()


if __name__ == "__main__":
    main()
