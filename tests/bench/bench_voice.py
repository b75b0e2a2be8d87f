"""Benchmark: end of the user's speech to Hearth's first reply audio, measured outside.

A private PulseAudio server carries the audio (see docs/VIRTUAL-AUDIO.md). The script
plays spoken questions (made with the starter Piper voice) into the virtual microphone
while ``hearth voice --json`` runs hands-free, and records both the microphone and the
speaker. For each question the latency is the time from the end of the played speech
(where the microphone's signal ends) to the first reply audio on the speaker, both
taken from the recordings; the app's own JSON line gives each stage's share.

    python tests/bench/bench_voice.py [--rounds 2] [--questions 8] [--threads N] [--no-speculative]
                                      [--no-quick-end] [--language en]
                                      [--gpu-layers N|auto|-1] [--stt-device cuda]

Goal on a 2-core CPU with Whisper base and the starter model: median <= 1.5 s, and
everything except transcription <= 0.5 s. On a GPU (``--gpu-layers -1 --stt-device
cuda``): median <= 0.3 s. The summary says where Whisper and the chat model ran, as the
app reported it.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.catalog.starter import starter_entries
from app.cli.args import gpu_layers_arg
from app.voice.tts import TextToSpeech
from tests.voice.audio_env import PulseServer, active_spans, write_wav

QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "Tell me a joke about cats.",
    "What is the tallest mountain in the world?",
    "Can you name a famous painter?",
    "What do bees make?",
    "Which planet is closest to the sun?",
    "What is the opposite of hot?",
]
STAGES = [
    "endpointing",
    "transcription",
    "llm_first_token",
    "llm_first_sentence",
    "tts_first_sentence",
    "waiting_for_end_of_speech",
    "audio_output",
    "total",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="times through the questions")
    parser.add_argument(
        "--questions",
        type=int,
        choices=range(1, len(QUESTIONS) + 1),
        default=len(QUESTIONS),
        metavar="N",
        help=f"ask only the first N of the {len(QUESTIONS)} questions (a short run)",
    )
    parser.add_argument("--threads", type=int, help="llama.cpp threads (default: engine's)")
    parser.add_argument("--no-speculative", action="store_true")
    parser.add_argument(
        "--no-quick-end", action="store_true", help="wait for the hang-over after every sentence"
    )
    parser.add_argument("--language", help="fix Whisper's language (default: detect it)")
    parser.add_argument("--silence-ms", type=int, default=600)
    parser.add_argument(
        "--gpu-layers",
        metavar="N|auto",
        help="passed to hearth voice: layers on the GPU, -1 all, auto (default: settings)",
    )
    parser.add_argument(
        "--stt-device",
        choices=["auto", "cpu", "cuda"],
        help="passed to hearth voice: where Whisper runs (default: hearth's, auto)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    if args.gpu_layers is not None:
        try:
            gpu_layers_arg(args.gpu_layers)  # hearth's own check, so a typo fails here
        except argparse.ArgumentTypeError as exc:
            parser.error(f"--gpu-layers: {exc}")
    if not PulseServer.available():
        sys.exit("PulseAudio is needed: apt install pulseaudio pulseaudio-utils")

    root = Path(tempfile.mkdtemp(prefix="hearth-bench-voice-"))
    voice = [e for e in starter_entries() if e.kind == "tts"]
    if not voice:
        sys.exit("Install the starter set: pip install -e '.[starter]'")
    tts = TextToSpeech.load(voice[0])
    tts.variation = 0.0  # the same questions, sample for sample, on every run
    questions = QUESTIONS[: args.questions]
    wavs = [
        write_wav(root / f"q{i}.wav", tts.synthesize(q), tts.sample_rate)
        for i, q in enumerate(questions)
    ]

    server = PulseServer(root / "pulse")
    server.start()
    app: subprocess.Popen[str] | None = None
    try:
        env = server.env
        env.update(HEARTH_HOME=str(root / "home"), HF_HUB_OFFLINE="1")
        # The repository first; the rest of PYTHONPATH stays (packages installed with
        # ``pip install --target``, e.g. on a machine lent for a GPU run).
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parents[2])]
            + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
        command = [
            sys.executable,
            "-m",
            "app",
            "--verbose",
            "voice",
            "--json",
            "--temperature",
            "0",
            "--seed",
            "1",
            "--max-tokens",
            "60",
            "--silence-ms",
            str(args.silence_ms),
        ]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if args.no_speculative:
            command.append("--no-speculative")
        if args.no_quick_end:
            command.append("--no-quick-end")
        if args.language:
            command += ["--language", args.language]
        if args.gpu_layers is not None:
            command += ["--gpu-layers", args.gpu_layers]
        if args.stt_device:
            command += ["--stt-device", args.stt_device]
        app = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        turns: queue.Queue[dict[str, Any]] = queue.Queue()
        listening = threading.Event()
        errors: list[str] = []

        def read_out() -> None:
            assert app is not None and app.stdout is not None
            for line in app.stdout:
                if line.startswith("{"):
                    turns.put(json.loads(line))

        def read_err() -> None:
            assert app is not None and app.stderr is not None
            for line in app.stderr:
                errors.append(line)
                if line.startswith("Listening on"):
                    listening.set()

        threading.Thread(target=read_out, daemon=True).start()
        threading.Thread(target=read_err, daemon=True).start()
        if not listening.wait(300):
            sys.exit("hearth voice did not start:\n" + "".join(errors))

        mic = server.recorder("vmic.monitor")
        speaker = server.recorder("speaker.monitor")
        rows: list[dict[str, Any]] = []
        for round_no in range(args.rounds):
            for question, wav in zip(questions, wavs, strict=True):
                played_from = time.perf_counter()
                if server.play(wav).wait(30) != 0:
                    sys.exit("paplay failed")
                try:
                    turn = turns.get(timeout=120)
                except queue.Empty:
                    sys.exit("no answer came:\n" + "".join(errors[-20:]))
                mic_audio = mic.samples()
                speaker_audio = speaker.samples()
                spans = [
                    (a, b)
                    for a, b in active_spans(mic_audio)
                    if mic.time_of(a) >= played_from - 0.05
                ]
                speech_end = mic.time_of(spans[-1][1])
                reply = [
                    speaker.time_of(a)
                    for a, _ in active_spans(speaker_audio)
                    if speaker.time_of(a) > speech_end
                ]
                latency = reply[0] - speech_end if reply else float("nan")
                rows.append(
                    {
                        "timings": turn["timings"],
                        "round": round_no,
                        "question": question,
                        "transcript": turn["transcript"],
                        "reply": turn["spoken"],
                        "latency_s": latency,
                        "stages": turn["stages"],
                        "stt": turn.get("stt"),
                        "llm": turn.get("llm"),
                    }
                )
                print(
                    f"{latency:6.3f} s  app {turn['stages'].get('total', float('nan')):6.3f} s"
                    f"  stt {turn['stages'].get('transcription', float('nan')):5.3f}"
                    f"  | {turn['transcript']!r} -> {turn['spoken'][:60]!r}",
                    flush=True,
                )
        mic.stop()
        speaker.stop()
    finally:
        if app is not None:
            app.terminate()
            try:
                app.wait(20)
            except subprocess.TimeoutExpired:
                app.kill()
        server.stop()

    latencies = [r["latency_s"] for r in rows]
    summary: dict[str, Any] = {
        "utterances": len(rows),
        "cpu_cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "median_latency_s": statistics.median(latencies),
        "min_latency_s": min(latencies),
        "max_latency_s": max(latencies),
        "stages_median_s": {
            s: statistics.median(r["stages"][s] for r in rows if s in r["stages"])
            for s in STAGES
            if any(s in r["stages"] for r in rows)
        },
    }
    stt_median = summary["stages_median_s"].get("transcription", 0.0)
    summary["median_latency_except_transcription_s"] = statistics.median(
        r["latency_s"] - r["stages"].get("transcription", 0.0) for r in rows
    )
    # What the device path adds beyond the app's own first-audio mark.
    summary["outside_minus_inside_median_s"] = statistics.median(
        r["latency_s"] - r["stages"].get("total", float("nan")) for r in rows
    )
    # Where the app says Whisper and the chat model ran (the same for every turn).
    summary["stt"] = rows[0]["stt"] if rows else None
    summary["llm"] = rows[0]["llm"] if rows else None
    summary["asked"] = {"gpu_layers": args.gpu_layers, "stt_device": args.stt_device}
    (root / "rows.json").write_text(json.dumps(rows, indent=1))
    print(f"rows and the app's log: {root}")
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    median = summary["median_latency_s"]
    print(f"\nran on: {_devices(summary)}")
    print(
        f"{len(rows)} utterances on {os.cpu_count()} cores "
        f"(load {summary['load_average'][0]:.1f}): end of speech -> first reply audio, "
        f"median {median:.3f} s (min {summary['min_latency_s']:.3f}, "
        f"max {summary['max_latency_s']:.3f})"
    )
    print(
        f"except transcription (median {stt_median:.3f} s): "
        f"{summary['median_latency_except_transcription_s']:.3f} s"
    )
    print("stage medians as the app measured them (share of its own total):")
    total = summary["stages_median_s"].get("total") or 1.0
    for stage, value in summary["stages_median_s"].items():
        print(f"  {stage:28s} {value:6.3f} s  {100 * value / total:5.1f} %")
    print(
        "  (endpointing overlaps the rest: speculation starts at the first pause; "
        "device path outside the app: "
        f"{summary['outside_minus_inside_median_s']:.3f} s)"
    )
    return 0


def _devices(summary: dict[str, Any]) -> str:
    """Where Whisper and the chat model ran, in one line, from the app's JSON lines."""
    stt, llm = summary.get("stt"), summary.get("llm")
    whisper = f"Whisper {stt['model']} on {stt['device']}" if stt else "Whisper: not reported"
    chat = (
        f"chat model on {llm['backend']} ({llm['n_gpu_layers']} layers on the GPU; {llm['plan']})"
        if llm
        else "chat model: not reported"
    )
    return f"{whisper}; {chat}"


if __name__ == "__main__":
    sys.exit(main())
