"""Benchmark: prompt-lookup speculative decoding against the plain token loop.

One process run, one model loaded as the engine worker loads it, the same prompt
tokens, sampling and threads for both sides; rounds alternate which side goes first
(tests/bench/pairs.py). Two prompts: a code edit whose reply mostly repeats the prompt,
and a free question. Prints tokens/s per side, the ratios, the drafts' acceptance
rate, how long the two replies agree token for token, and the load average.

    python tests/bench/bench_speculative.py [--model PATH | --gemma] [--rounds 6]
                                             [--max-tokens 256] [--threads N]

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
from app.engine.speculative import PromptLookup
from app.engine.worker import _Worker
from tests.bench.pairs import Run, alternate, pooled_tps
from tests.fixtures.models import assemble_gemma, smollm2_path

CODE = "\n".join(
    f"    print('total so far', x, {i})" if i % 4 == 0 else f"    x = x + values[{i}] * {i}"
    for i in range(40)
)
CODE_EDIT = (
    "Rename the variable x to count in this function. Reply with the whole function "
    "and nothing else.\n\n```python\ndef add_all(values):\n    x = 0\n"
    + CODE
    + "\n    return x\n```"
)
FREE = "Explain how a bicycle works, step by step."


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
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--ctx", type=int, default=2048)
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
    replies: dict[str, list[list[int]]] = {"plain": [], "drafted": []}

    def side(drafted: bool) -> Any:
        def run(messages: list[dict[str, str]]) -> Run:
            tokens = worker.tokenize_messages(messages)
            llm.reset()
            drafter = PromptLookup() if drafted else None
            loop = TokenLoop(
                llm, tokens, params, max_tokens=args.max_tokens, stop=stop, drafter=drafter
            )
            started = time.perf_counter()
            first: float | None = None
            for _ in loop.texts():
                if first is None:
                    first = time.perf_counter()
            ended = time.perf_counter()
            first = first or ended
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
    for name, prompt, goal in (("code edit", CODE_EDIT, 1.5), ("free question", FREE, 0.95)):
        lookups.clear()
        replies["plain"].clear()
        replies["drafted"].clear()
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
            f"ratio (median of pairs) {ratio:.3f}  pooled {pooled:.3f}  goal >= {goal}"
        )
        print(
            f"  drafted {drafted} tokens, accepted {accepted} "
            f"({accepted / drafted if drafted else 0:.1%}); replies identical for "
            f"{statistics.median(agree):.0%} of the plain reply (median)"
        )
        print(f"  load average now: {os.getloadavg()[0]:.2f}")
    worker.unload()
    temp.cleanup()


if __name__ == "__main__":
    main()
