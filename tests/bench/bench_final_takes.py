"""Benchmark: how much Whisper's words move with where the cut falls, and what keeping
the surest of three takes (``SttConfig.final_takes``) does about it.

Each clip of the benchmark corpus (:mod:`tests.bench.speech_corpus`, as
``bench_voice_wer.py`` makes it) is cut as the voice loop cuts an utterance, from 0.6 s
before the speech to 0.1 s after, and Hearth's final pass transcribes it three times: as
cut, and starting 16 and 32 ms later (``TAKE_STEP``). Printed per noise level and voice:
the word error rate of each single take, their mean (a live cut falls anywhere within a
32 ms microphone frame, so the mean is what one take scores), the surest of the three
(the beam's text over a sampled one, then the higher average log-probability: what
``final_takes=3`` keeps, tests/voice/test_stt_tts.py checks that it is), and plain
faster-whisper on the whole clip. It also counts the clips whose text changes between
takes.

    python tests/bench/bench_final_takes.py [--set held-out|test|...] [--voices ...]
        [--out rows.json]

On 2 CPU cores a set of 200 clips takes about 20 minutes (600 final passes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_voice_wer import CORPUS_SUFFIXES, NOISES, PlainWhisper, git_head
from tests.bench.speech_corpus import SETS, VOICES, Clip, build
from tests.bench.wer import error_rate, pooled

LEAD_S = 0.6  # the loop's cut begins with its pre-roll (0.7 s, less the onset's own frames)
TRAIL_S = 0.1  # ... and ends where the pause is heard, about a frame after the speech
TAKES = 3


def takes_of(stt: Any, clip: Clip) -> list[dict[str, Any]]:
    """The final pass on the clip's cut and on the same cut ``k * TAKE_STEP`` later."""
    from app.voice.audio_io import SAMPLE_RATE
    from app.voice.stt import TAKE_STEP

    audio = clip.audio()
    start = max(0, int((clip.speech_start_s - LEAD_S) * SAMPLE_RATE))
    cut = audio[start : int((clip.speech_end_s + TRAIL_S) * SAMPLE_RATE)]
    out = []
    for k in range(TAKES):
        t = stt.transcribe(cut[k * TAKE_STEP :], clip.language, likely=clip.language)
        out.append({"text": t.text, "avg_logprob": t.avg_logprob, "sampled": t.sampled})
    return out


def surest(takes: list[dict[str, Any]]) -> str:
    """The take ``SpeechToText`` keeps: the first its own ranking puts highest."""
    from app.voice.stt import _likelihood

    def ranked(take: dict[str, Any]) -> tuple[bool, float]:
        # _likelihood reads a sampled text from its fallback temperature.
        return _likelihood({**take, "temperature": 1.0 if take["sampled"] else 0.0})

    return str(max(takes, key=ranked)["text"])


def rate(rows: list[dict[str, Any]], pick: Any) -> float:
    """The pooled error rate, in percent, of the text ``pick`` chooses from each row."""
    return 100 * pooled([error_rate(r["reference"], pick(r), r["language"]) for r in rows])


def table(rows: list[dict[str, Any]]) -> str:
    head = "| group | clips | " + " | ".join(f"take {k + 1}" for k in range(TAKES))
    head += " | mean of one take | surest of three | Δ | faster-whisper | texts that move |"
    lines = [head, "|" + "---|" * (TAKES + 7)]
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for noise in NOISES:
        groups.append((noise, [r for r in rows if r["noise"] == noise]))
    for voice in dict.fromkeys(r["voice"] for r in rows):
        groups.append((voice, [r for r in rows if r["voice"] == voice]))
    groups.append(("all", rows))
    for name, group in groups:
        if not group:
            continue
        singles = [rate(group, lambda r, k=k: r["takes"][k]["text"]) for k in range(TAKES)]
        mean = statistics.fmean(singles)
        best = rate(group, lambda r: surest(r["takes"]))
        moved = sum(len({t["text"] for t in r["takes"]}) > 1 for r in group)
        cells = " | ".join(f"{s:.1f} %" for s in singles)
        lines.append(
            f"| {name} | {len(group)} | {cells} | {mean:.1f} % | {best:.1f} % | "
            f"{best - mean:+.1f} | {rate(group, lambda r: r['plain']):.1f} % | {moved} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", default=",".join(v.key for v in VOICES if v.language == "en"))
    parser.add_argument("--set", choices=list(SETS), default="test")
    parser.add_argument("--sentences", type=int, help="the first N sentences of each voice")
    parser.add_argument("--corpus", type=Path, help="default: ~/.cache/hearth-bench-wer-<set>")
    parser.add_argument("--out", type=Path, help="write every clip's takes here (JSON)")
    parser.add_argument("--rescore", type=Path, help="print the table of a saved run (--out)")
    args = parser.parse_args()
    if args.rescore:
        print(table(json.loads(args.rescore.read_text())))
        return 0

    from app.catalog.starter import starter_entries
    from app.voice.stt import SpeechToText, SttConfig

    corpus = args.corpus or Path.home() / ".cache" / f"hearth-bench-wer{CORPUS_SUFFIXES[args.set]}"
    wanted = args.voices.split(",")
    clips = build(corpus, [v for v in VOICES if v.key in wanted], NOISES, args.sentences, args.set)
    entry = next(e for e in starter_entries() if e.kind == "stt")
    stt = SpeechToText.load(entry, SttConfig(final_takes=1))
    stt.warm_up()
    threads = stt.config.cpu_threads or min(4, os.cpu_count() or 1)
    compute = stt.config.compute_type or ("float16" if stt.device == "cuda" else "int8")
    plain = PlainWhisper(corpus, stt.device, compute, threads)
    print(f"{len(clips)} clips in {corpus}; Hearth at {git_head()}", flush=True)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        for clip in clips:
            rows.append(
                {
                    "voice": clip.voice,
                    "noise": clip.noise,
                    "index": clip.index,
                    "language": clip.language,
                    "reference": clip.text,
                    "plain": plain.transcribe(clip)[0],
                    "takes": takes_of(stt, clip),
                }
            )
    except KeyboardInterrupt:
        print(f"stopped after {len(rows)} clips")
    minutes = (time.perf_counter() - started) / 60
    print(f"\n{len(rows)} clips in {minutes:.1f} min; Whisper on {stt.device}\n")
    print(table(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1, ensure_ascii=False))
        print(f"\nrows: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
