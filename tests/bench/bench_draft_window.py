"""Benchmark: how often the draft agrees with the final pass, by the draft's encoder window
(``SttConfig.draft_window_s``), and what each window costs.

Each clip of the benchmark corpus (:mod:`tests.bench.speech_corpus`, as
``bench_voice_wer.py`` makes it) is cut where the voice loop cuts a speculative turn (its
VAD, at the pause), and Hearth's final pass transcribes the cut once. The draft pass then
transcribes the same cut with each window asked for (``--windows``, seconds; 0: the
question's own frames). Printed per noise level and voice, for each window: the drafts
that ask what the final pass asks (``question_key``); the replies the loop would begin
on a draft Whisper was sure of and then make again (wrong starts), those it would hold
for the final pass (unsure drafts, ``UNSURE_DRAFT_LOGPROB``), the drafts' word error rate
and their wall time p50 / p90 (noisy on a shared machine: compare the windows of one run).

    python tests/bench/bench_draft_window.py [--set held-out|test|...] [--windows 0,10]
        [--voices ...] [--out rows.json] [--rescore rows.json]

On 2 CPU cores a set of 200 clips takes about 4 minutes with two windows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_voice_wer import CORPUS_SUFFIXES, NOISES, HearthInProcess, git_head
from tests.bench.speech_corpus import SETS, VOICES, build
from tests.bench.wer import error_rate, pooled


def drafts_of(hearth: HearthInProcess, audio: Any, language: str, windows: list[float]) -> Any:
    """The final pass and a draft per window on each speculative cut of ``audio``."""
    from app.voice.question_key import question_key

    stt = hearth.stt
    config = stt.config
    out = []
    for pause_cut, _ in hearth.cuts(audio):
        if pause_cut is None:
            continue  # no pause before the end: no draft is answered early
        final = stt.transcribe(pause_cut, hearth.settings.language, likely=language)
        row: dict[str, Any] = {"final": final.text, "drafts": {}}
        try:
            for window in windows:
                stt.config = dataclasses.replace(config, draft_window_s=window)
                started = time.perf_counter()
                draft = stt.transcribe(
                    pause_cut, hearth.settings.language, likely=language, draft=True
                )
                row["drafts"][str(window)] = {
                    "text": draft.text,
                    "s": time.perf_counter() - started,
                    "avg_logprob": draft.avg_logprob,
                    "same": question_key(draft.text) == question_key(final.text),
                }
        finally:
            stt.config = config
        out.append(row)
    return out


def outcome(draft: dict[str, Any], unsure: float) -> str:
    """What the voice loop does with the draft: "held" (too unsure, the final pass is
    waited for), "stood" (its reply is the answer), "wrong" (its reply is begun, then
    stopped and made again from the final pass)."""
    if not draft["text"] or draft["avg_logprob"] < unsure:
        return "held"
    return "stood" if draft["same"] else "wrong"


def table(rows: list[dict[str, Any]], unsure: float) -> str:
    windows = list(rows[0]["drafts"]) if rows else []
    lines = [
        "| group | window (s) | turns | draft asks what the final asks | stood | wrong starts "
        "| held | draft WER | final WER | draft s p50 / p90 |",
        "|" + "---|" * 10,
    ]
    groups = [(n, [r for r in rows if r["noise"] == n]) for n in NOISES]
    voices = dict.fromkeys(r["voice"] for r in rows)
    groups += [(v, [r for r in rows if r["voice"] == v]) for v in voices] + [("all", rows)]
    for name, group in groups:
        if not group:
            continue
        for window in windows:
            drafts = [r["drafts"][window] for r in group]
            outcomes = [outcome(d, unsure) for d in drafts]
            seconds = sorted(d["s"] for d in drafts)
            p90 = seconds[min(len(seconds) - 1, int(0.9 * len(seconds)))]
            lines.append(
                f"| {name} | {window} | {len(group)} | {sum(d['same'] for d in drafts)} | "
                f"{outcomes.count('stood')} | {outcomes.count('wrong')} | "
                f"{outcomes.count('held')} | "
                f"{rate(group, lambda r, w=window: r['drafts'][w]['text']):.1f} % | "
                f"{rate(group, lambda r: r['final']):.1f} % | "
                f"{statistics.median(seconds):.3f} / {p90:.3f} |"
            )
    return "\n".join(lines)


def rate(rows: list[dict[str, Any]], pick: Any) -> float:
    """The pooled error rate, in percent, of the text ``pick`` chooses from each row."""
    return 100 * pooled([error_rate(r["reference"], pick(r), r["language"]) for r in rows])


def main() -> int:
    from app.voice.stt import UNSURE_DRAFT_LOGPROB

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", default=",".join(v.key for v in VOICES if v.language == "en"))
    parser.add_argument("--set", choices=list(SETS), default="test")
    parser.add_argument("--sentences", type=int, help="the first N sentences of each voice")
    parser.add_argument("--windows", default="0,10", help="draft windows in seconds (0: own)")
    parser.add_argument("--corpus", type=Path, help="default: ~/.cache/hearth-bench-wer-<set>")
    parser.add_argument("--out", type=Path, help="write every turn's drafts here (JSON)")
    parser.add_argument("--rescore", type=Path, help="print the table of a saved run (--out)")
    args = parser.parse_args()
    if args.rescore:
        print(table(json.loads(args.rescore.read_text()), UNSURE_DRAFT_LOGPROB))
        return 0

    corpus = args.corpus or Path.home() / ".cache" / f"hearth-bench-wer{CORPUS_SUFFIXES[args.set]}"
    wanted = args.voices.split(",")
    clips = build(corpus, [v for v in VOICES if v.key in wanted], NOISES, args.sentences, args.set)
    windows = [float(w) for w in args.windows.split(",")]
    hearth = HearthInProcess()
    print(f"{len(clips)} clips in {corpus}; Hearth at {git_head()}", flush=True)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        for clip in clips:
            for turn in drafts_of(hearth, clip.audio(), clip.language, windows):
                rows.append(
                    {
                        "voice": clip.voice,
                        "noise": clip.noise,
                        "index": clip.index,
                        "language": clip.language,
                        "reference": clip.text,
                        **turn,
                    }
                )
    except KeyboardInterrupt:
        print(f"stopped after {len(rows)} turns")
    minutes = (time.perf_counter() - started) / 60
    print(f"\n{len(rows)} speculative turns in {minutes:.1f} min; Whisper on {hearth.stt.device}")
    print(f"(held: a draft below {UNSURE_DRAFT_LOGPROB} average log-probability)\n")
    print(table(rows, UNSURE_DRAFT_LOGPROB))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1, ensure_ascii=False))
        print(f"\nrows: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
