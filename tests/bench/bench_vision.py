"""Benchmark: time from send to first token with one 512x512 image, Hearth's engine
(worker process + protocol + app.engine.vision) against llama-cpp-python's own
``MTMDChatHandler`` on a ``Llama`` in this process, in one run.

Both sides: the same model and projector, threads, n_ctx, greedy sampling, messages and
image bytes (a PNG, as ``prepare_image`` gives it when the user attaches it). Every round
sends a different image after a different system line, so neither side reuses an encoded
image or more than a few tokens of a cached prompt (the handler clears its KV cache on
every call anyway); rounds alternate which side goes first (tests/bench/pairs.py).
Prints each round, the median of the per-round ratios and the pooled ratio (total over
total), the image's token count, the projector's encode time (``mtmd_encode_chunk``
alone, timed directly) and the load average.

A second pass (new images) sets Hearth against the floor: the least any caller of
llama.cpp does in-process (mtmd decodes and tokenizes the image, the chunks are
evaluated, the first token sampled; the prompt text rendered beforehand, untimed). The
handler re-compiles its chat template and decodes base64 on every call, so this pass
shows what Hearth's worker process and protocol cost, which the first pass hides.

    python tests/bench/bench_vision.py [--rounds 12] [--threads N] [--ctx 2048]
                                       [--model PATH]   # its projector: the one beside it

Without --model it writes the tiny vision pair (tests/fixtures/vision_gguf.py: random
weights, 64 image tokens) into a temporary folder.

Goal: Hearth's time to first token <= 1.05 x direct.
"""

from __future__ import annotations

import ctypes
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np

from app.core.generation import GenerationParams, Message
from app.engine import protocol as p
from app.engine.client import EngineClient
from tests.bench.pairs import Row, Run, alternate, bench_arguments

GOAL = 1.05
SIDE = 512
QUESTION = "What is in this picture?"


def photo(seed: int) -> bytes:
    """A 512x512 picture of noise (a different one per seed), prepared as when attached."""
    from PIL import Image

    from app.vision.images import prepare_image

    pixels = np.random.default_rng(seed).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return prepare_image(out.getvalue()).data


def direct_handler(mmproj: Path) -> Any:
    """llama-cpp-python's generic handler, given the text as a string with mtmd's marker
    where the image goes (the templates read string content; the handler's own list-to-text
    step is the one part replaced) and remembering the prompt's length."""
    from llama_cpp.llama_chat_format import MTMDChatHandler

    class Handler(MTMDChatHandler):
        prompt_tokens = 0

        @classmethod
        def _convert_message_for_template(cls, message: Any, media_marker: str) -> Any:
            out = dict(message)
            parts = out.get("content")
            if isinstance(parts, list):
                out["content"] = "".join(
                    media_marker if part["type"] == "image_url" else part["text"] for part in parts
                )
            return out

        def __call__(self, **kwargs: Any) -> Any:
            # The prompt is evaluated before the (lazy) stream is returned.
            stream = super().__call__(**kwargs)
            self.prompt_tokens = kwargs["llama"].n_tokens
            return stream

    return Handler(str(mmproj), verbose=False)


def run_direct(
    llm: Any, handler: Any, image: bytes, system: str, question: str, max_tokens: int
) -> Run:
    import base64

    url = "data:image/png;base64," + base64.b64encode(image).decode("ascii")
    # As Hearth places an image with no mark in the text: before it, then a new line.
    messages = [
        {"role": "system", "content": system},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": "\n" + question},
            ],
        },
    ]
    started = time.perf_counter()
    first: float | None = None
    text = ""
    chunks = 0
    for chunk in llm.create_chat_completion(
        messages, stream=True, max_tokens=max_tokens, temperature=0.0, seed=1
    ):
        piece = chunk["choices"][0]["delta"].get("content")
        if piece:
            if first is None:
                first = time.perf_counter()
            text += piece
            chunks += 1
    assert first is not None, "the direct side gave no text"
    return {"ttft": first - started, "tps": 0.0, "tokens": chunks, "prompt": handler.prompt_tokens}


def run_hearth(
    client: EngineClient, image: bytes, system: str, question: str, params: GenerationParams
) -> tuple[Run, int]:
    messages: list[Message] = [
        {"role": "system", "content": system},
        {"role": "user", "content": question, "images": [image]},
    ]
    handle = client.generate(messages, params)
    first: float | None = None
    prompt_tokens = image_tokens = 0
    for event in handle.events(timeout=600):
        if isinstance(event, p.Delta) and event.text and first is None:
            first = time.perf_counter()
        elif isinstance(event, p.PromptPrepared):
            prompt_tokens, image_tokens = event.prompt_tokens, event.image_tokens
        elif isinstance(event, p.GenerationDone):
            assert first is not None, "Hearth gave no text"
            run = {
                "ttft": first - handle.sent_at,
                "tps": 0.0,
                "tokens": event.stats.completion_tokens,
                "prompt": prompt_tokens,
            }
            return run, image_tokens
        elif isinstance(event, p.ErrorEvent):
            raise SystemExit(f"engine error: {event.message}")
    raise SystemExit("engine ended without a result")


def render(llm: Any, system: str, question: str) -> str:
    """The prompt text, with mtmd's marker where the image goes (as the handler makes it)."""
    from llama_cpp import mtmd_cpp as mtmd
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def piece(token: int) -> str:
        return bytes(llm.detokenize([token], special=True)).decode("utf-8", "ignore")

    formatter = Jinja2ChatFormatter(
        llm.metadata["tokenizer.chat_template"],
        eos_token=piece(llm.token_eos()),
        bos_token=piece(llm.token_bos()),
    )
    marker = mtmd.mtmd_default_marker().decode("utf-8")
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": marker + "\n" + question},
    ]
    prompt: str = formatter(messages=messages).prompt
    return prompt


def run_floor(llm: Any, ctx: Any, image: bytes, text: str) -> Run:
    """The bare path: image bytes and prompt text to the first sampled token."""
    import llama_cpp
    from llama_cpp import mtmd_cpp as mtmd

    started = time.perf_counter()
    data = (ctypes.c_uint8 * len(image)).from_buffer_copy(image)
    bitmap = mtmd.mtmd_helper_bitmap_init_from_buf(ctx, data, len(image), False)
    chunks = mtmd.mtmd_input_chunks_init()
    try:
        encoded = text.encode("utf-8")
        given = mtmd.mtmd_input_text()
        given.text, given.text_len = encoded, len(encoded)
        given.add_special, given.parse_special = True, True
        bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
        assert mtmd.mtmd_tokenize(ctx, chunks, ctypes.byref(given), bitmaps, 1) == 0
        llm.reset()
        llm._ctx.kv_cache_clear()
        for i in range(mtmd.mtmd_input_chunks_size(chunks)):
            chunk = mtmd.mtmd_input_chunks_get(chunks, i)
            if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
                count = ctypes.c_size_t()
                ids = mtmd.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(count))
                llm.eval([ids[j] for j in range(count.value)])
                continue
            n_past = llama_cpp.llama_pos(0)
            assert (
                mtmd.mtmd_helper_eval_chunk_single(
                    ctx,
                    llm._ctx.ctx,
                    chunk,
                    llama_cpp.llama_pos(llm.n_tokens),
                    llama_cpp.llama_seq_id(0),
                    llm.n_batch,
                    False,
                    ctypes.byref(n_past),
                )
                == 0
            )
            llm.n_tokens = n_past.value
        llm.sample(temp=0.0)
        first = time.perf_counter()
    finally:
        mtmd.mtmd_input_chunks_free(chunks)
        mtmd.mtmd_bitmap_free(bitmap)
    return {"ttft": first - started, "tps": 0.0, "tokens": 1, "prompt": llm.n_tokens}


def encode_ms(handler: Any, image: bytes, repeats: int = 5) -> tuple[int, float]:
    """The image's token count and the median time the projector takes to encode it
    (``mtmd_encode_chunk``: the vision transformer and projection, no KV cache)."""
    from llama_cpp import mtmd_cpp as mtmd

    ctx = handler.mtmd_ctx
    data = (ctypes.c_uint8 * len(image)).from_buffer_copy(image)
    bitmap = mtmd.mtmd_helper_bitmap_init_from_buf(ctx, data, len(image), False)
    chunks = mtmd.mtmd_input_chunks_init()
    try:
        marker = mtmd.mtmd_default_marker()
        text = mtmd.mtmd_input_text()
        text.text, text.text_len = marker, len(marker)
        text.add_special, text.parse_special = False, True
        bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
        assert mtmd.mtmd_tokenize(ctx, chunks, ctypes.byref(text), bitmaps, 1) == 0
        found = [
            mtmd.mtmd_input_chunks_get(chunks, i)
            for i in range(mtmd.mtmd_input_chunks_size(chunks))
        ]
        images = [
            c for c in found if mtmd.mtmd_input_chunk_get_type(c) != mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT
        ]
        tokens = sum(mtmd.mtmd_input_chunk_get_n_tokens(c) for c in images)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            for c in images:
                assert mtmd.mtmd_encode_chunk(ctx, c) == 0
            times.append(time.perf_counter() - started)
        return tokens, statistics.median(times) * 1000
    finally:
        mtmd.mtmd_input_chunks_free(chunks)
        mtmd.mtmd_bitmap_free(bitmap)


def table(title: str, name: str, rows: list[Row]) -> tuple[float, float]:
    """Each round, then the medians and the ratios; returns (median of ratios, pooled)."""
    print(f"Hearth against {title}")
    print(f"{'round':>5}{'prompt':>8}{name + ' ttft':>14}{'hearth ttft':>14}{'ratio':>8}")
    for i, (_label, d, h) in enumerate(rows):
        print(
            f"{i + 1:5d}{int(h['prompt']):8d}{d['ttft'] * 1000:12.1f}ms"
            f"{h['ttft'] * 1000:12.1f}ms{h['ttft'] / d['ttft']:8.3f}"
        )
    ratio = statistics.median(h["ttft"] / d["ttft"] for _, d, h in rows)
    pooled = sum(h["ttft"] for _, _, h in rows) / sum(d["ttft"] for _, d, _ in rows)
    median_d = statistics.median(d["ttft"] for _, d, _ in rows) * 1000
    median_h = statistics.median(h["ttft"] for _, _, h in rows) * 1000
    overhead = statistics.median(h["ttft"] - d["ttft"] for _, d, h in rows) * 1000
    print(
        f"median ttft: {name} {median_d:.1f} ms  hearth {median_h:.1f} ms  "
        f"ratio hearth/{name}: median of rounds {ratio:.3f}, pooled {pooled:.3f}  "
        f"difference (median of rounds) {overhead:+.1f} ms"
    )
    return ratio, pooled


def main() -> int:
    args = bench_arguments((__doc__ or "").split("\n\n")[0])
    import llama_cpp

    from app.engine.amx import avoid_amx_kernels

    avoid_amx_kernels()  # as Hearth loads models (see app.engine.amx)
    import psutil

    from app.vision.projector import find_projector

    folder = tempfile.TemporaryDirectory(prefix="bench-vision-")
    if args.model is None:
        from tests.fixtures.vision_gguf import write_tiny_vision_pair

        pair = write_tiny_vision_pair(Path(folder.name))
        model, mmproj = pair.model, pair.mmproj
    else:
        model = args.model
        found = find_projector(model)
        if found is None:
            sys.exit(f"No projector that fits {model.name} is beside it.")
        mmproj = found
    threads = args.threads or psutil.cpu_count(logical=False) or 1
    max_tokens = min(args.max_tokens, 8)  # the first token is what is timed
    load_before = os.getloadavg()

    client = EngineClient()
    loaded = client.load(
        str(model), n_ctx=args.ctx, n_gpu_layers=0, n_threads=threads, mmproj=str(mmproj)
    ).wait(600)
    assert isinstance(loaded, p.ModelLoaded), loaded
    assert loaded.vision, loaded.notice
    # mtmd and clip log every encode to stderr; route them through llama-cpp-python's own
    # log callback (quiet unless verbose), as its llama.cpp logs go, on this side too.
    from llama_cpp import mtmd_cpp
    from llama_cpp._logger import llama_log_callback

    mtmd_cpp.mtmd_helper_log_set(llama_log_callback, ctypes.c_void_p(0))
    handler = direct_handler(mmproj)
    llm = llama_cpp.Llama(
        str(model),
        n_ctx=args.ctx,
        n_gpu_layers=0,
        n_threads=threads,
        n_threads_batch=max(threads, psutil.cpu_count() or threads),
        chat_handler=handler,
        verbose=False,
    )
    params = GenerationParams(max_tokens=max_tokens, temperature=0.0, seed=1)
    # One image and system line per round of each pass, and one for the warm-up: each
    # side sees each once. pairs.alternate hands both sides the round's label; the rest
    # is looked up.
    rounds = args.rounds
    images = {f"Round {i}. You describe pictures.": photo(i) for i in range(2 * rounds + 1)}
    labels = list(images)
    image_tokens: list[int] = []

    def hearth(messages: list[dict[str, str]]) -> Run:
        system = messages[0]["content"]
        run, tokens = run_hearth(client, images[system], system, QUESTION, params)
        image_tokens.append(tokens)
        return run

    def direct(messages: list[dict[str, str]]) -> Run:
        system = messages[0]["content"]
        return run_direct(llm, handler, images[system], system, QUESTION, max_tokens)

    def floor(messages: list[dict[str, str]]) -> Run:
        system = messages[0]["content"]
        text = render(llm, system, QUESTION)
        return run_floor(llm, handler.mtmd_ctx, images[system], text)

    # Warm-up both sides (first-call allocations, the projector's graph, page faults).
    warm = [{"role": "user", "content": labels[-1]}]
    direct(warm)
    floor(warm)
    hearth(warm)
    rows = alternate(labels[:rounds], rounds, direct, hearth)
    floor_rows = alternate(labels[rounds : 2 * rounds], rounds, floor, hearth)
    tokens, encode = encode_ms(handler, images[labels[0]])
    client.shutdown()
    llm.close()
    load_after = os.getloadavg()

    print(
        f"model: {model.name}  projector: {mmproj.name}  image: {SIDE}x{SIDE} PNG  "
        f"threads: {threads}  n_ctx: {args.ctx}  rounds: {rounds} per pass"
    )
    ratio, pooled = table("MTMDChatHandler (create_chat_completion, stream)", "handler", rows)
    print()
    table("the floor (mtmd tokenize + eval + first sample, in-process)", "floor", floor_rows)
    print()
    print(f"image tokens: {tokens} (Hearth reported {sorted(set(image_tokens))})")
    print(f"projector encode (mtmd_encode_chunk, direct): {encode:.1f} ms")
    print(
        f"goal: hearth/handler <= {GOAL}: median of rounds {ratio:.3f}, pooled {pooled:.3f}, "
        f"{'met' if max(ratio, pooled) <= GOAL else 'NOT met'}"
    )
    print(
        f"load average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)}  "
        f"after {', '.join(f'{x:.2f}' for x in load_after)}  on {os.cpu_count()} CPUs"
    )
    folder.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
