"""Time to first token over a conversation longer than the context window.

A hands-free voice conversation, or a long chat, outgrows the model's window; the oldest
turns are then left out. If the kept prompt's start moved every turn, llama.cpp would
evaluate the whole kept history again for each reply; and if finding the cut rendered
the whole conversation a dozen times, each reply would wait for that. This plays
``--turns`` short question-and-answer turns through Hearth's engine on the starter model,
and prints the time to first token before and after the window filled, and how many
turns left messages out.

In the same run, llama-cpp-python alone (``Llama.create_chat_completion``, which keeps
its own prompt cache, primed with each reply as Hearth's holds it) is given the messages
Hearth kept for each reply, one token asked:
its time is the library's floor for that prompt (the template, the tokenizer and
llama.cpp evaluating what is not cached), and the ratio says what Hearth adds.

    python tests/bench/bench_long_conversation.py [--turns 80] [--ctx 1024] [--threads 2]
    python tests/bench/bench_long_conversation.py --turns 200 --ctx 4096   # hearth voice's window

To compare with an older commit, run it there too (``git archive <commit> | tar -x -C
DIR``, then ``python tests/bench/bench_long_conversation.py`` with DIR as the working
directory and this file copied in).
"""

from __future__ import annotations

import argparse
import dataclasses
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
    parser.add_argument(
        "--voice",
        action="store_true",
        help="as hearth voice: before each question, the conversation so far is read into "
        "the cache (its warm-up), and the question is timed after it",
    )
    parser.add_argument(
        "--first-sentence",
        action="store_true",
        help="stop each reply at its first sentence (the room planned for it stays "
        "--max-tokens): a long --max-tokens without the wait",
    )
    args = parser.parse_args()

    raw = RawLibrary(args.ctx, args.threads)
    engine = EngineClient()
    try:
        loaded = engine.load(
            str(smollm2_path()), n_ctx=args.ctx, n_gpu_layers=0, n_threads=args.threads
        ).wait(600)
        assert isinstance(loaded, p.ModelLoaded)
        messages: list[dict[str, str]] = [
            {"role": "system", "content": "You are a helpful voice assistant. Answer briefly."}
        ]
        params = GenerationParams(
            max_tokens=args.max_tokens,
            temperature=0.0,
            stop=(". ", "\n") if args.first_sentence else (),
        )
        rows: list[tuple[float, int, int]] = []  # ttft (s), prompt tokens, dropped
        raw_s: list[float] = []  # llama-cpp-python's time to one token, same messages
        for turn in range(args.turns):
            if args.voice:
                warm_up(engine, [*messages, {"role": "user", "content": ""}], params)
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
            dropped = done.stats.dropped_messages
            rows.append((first or done.stats.total_s, done.stats.prompt_tokens, dropped))
            # The library, given the messages Hearth kept (its own cache holds the last).
            raw_s.append(raw.first_token_s([messages[0], *messages[1 + dropped :]]))
            messages.append({"role": "assistant", "content": done.text})
            # As Hearth's cache holds the reply it made, the library's is given it too.
            raw.first_token_s([messages[0], *messages[1 + dropped :]])
    finally:
        engine.shutdown()
        raw.close()

    full_at = next((i for i, (_, _, dropped) in enumerate(rows) if dropped), None)
    print(
        f"{Path.cwd()}: {args.turns} turns, n_ctx {args.ctx}, {args.threads} threads, "
        f"replies of up to {args.max_tokens} tokens"
        + (", a voice warm-up before each question" if args.voice else "")
    )
    if full_at is None:
        print("the window never filled: use more --turns or a smaller --ctx")
        return 1
    before = [r[0] * 1e3 for r in rows[:full_at]]
    moves = sum(1 for a, b in itertools.pairwise(rows[full_at:]) if a[2] != b[2])
    slow = sum(1 for r in rows[full_at:] if r[0] * 1e3 > 4 * statistics.median(before))
    print(
        f"window full from turn {full_at + 1}; the cut moved {moves} times in "
        f"{len(rows) - full_at} turns after it; {slow} of them over 4x the p50 before"
    )
    print(
        "| turns | prompt tokens p50 | Hearth ttft p50 (ms) | p90 | max "
        "| llama-cpp-python p50 (ms) | p90 | ratio of p50s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    bands = [("before full", 0, full_at)]
    third = max(1, (len(rows) - full_at) // 3)
    for n, start in enumerate(range(full_at, len(rows), third)):
        end = len(rows) if n == 2 else min(len(rows), start + third)
        bands.append((f"{start + 1}-{end}", start, end))
        if end == len(rows):
            break
    for name, start, end in bands:
        hearth = sorted(r[0] * 1e3 for r in rows[start:end])
        library = sorted(t * 1e3 for t in raw_s[start:end])
        tokens = statistics.median(r[1] for r in rows[start:end])
        print(
            f"| {name} ({end - start}) | {tokens:.0f} | {statistics.median(hearth):.0f} | "
            f"{_p90(hearth):.0f} | {hearth[-1]:.0f} | {statistics.median(library):.0f} | "
            f"{_p90(library):.0f} | {statistics.median(hearth) / statistics.median(library):.2f} |"
        )
    return 0


def warm_up(engine: EngineClient, messages: list[dict[str, str]], reply: GenerationParams) -> None:
    """What hearth voice does after each turn: the conversation read into the cache. A
    prefill planned for the reply where the engine has it; else one token, as before."""
    fields = {f.name for f in dataclasses.fields(GenerationParams)}
    if "prefill" in fields:
        params = dataclasses.replace(reply, prefill=True, temperature=0.0)
    else:
        params = GenerationParams(max_tokens=1, temperature=0.0)
    for event in engine.generate(messages, params).events(timeout=600):
        if isinstance(event, p.ErrorEvent):
            raise SystemExit(f"warm-up: {event.message}")


def _p90(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


class RawLibrary:
    """llama-cpp-python alone on the starter model, with its own prompt cache."""

    def __init__(self, n_ctx: int, threads: int) -> None:
        import llama_cpp

        from app.engine.amx import avoid_amx_kernels

        avoid_amx_kernels()  # as Hearth loads models (see app.engine.amx)

        self.llm = llama_cpp.Llama(
            str(smollm2_path()), n_ctx=n_ctx, n_threads=threads, n_gpu_layers=0, verbose=False
        )

    def first_token_s(self, messages: list[dict[str, str]]) -> float:
        """Seconds to the first token of a reply to ``messages`` (one token asked)."""
        started = time.perf_counter()
        self.llm.create_chat_completion(messages, max_tokens=1, temperature=0.0)  # type: ignore[arg-type]
        return time.perf_counter() - started

    def close(self) -> None:
        self.llm.close()


if __name__ == "__main__":
    sys.exit(main())
