"""Benchmark: how right Hearth hears, next to how fast, against plain faster-whisper.

Speech the pipeline was not tuned on (:mod:`tests.bench.speech_corpus`: the starter Piper
voice with its normal variation, espeak-ng in four English accents at 145-185 words a
minute, espeak-ng Mandarin; 34 English and 12 Chinese sentences; clean and with pink noise
at 20 dB SNR) is transcribed two ways, and each is scored against the text
(:mod:`tests.bench.wer`: word error rate, character error rate for Chinese):

- **faster-whisper alone**: ``WhisperModel(...).transcribe(clip)`` with the library's
  default arguments, on the same model (same device, compute type and threads as Hearth)
  and the whole clip;
- **Hearth**, at one of two depths:

  - in-process (default, fast): the clip is cut by Hearth's own end-of-speech detector
    (Silero VAD, :class:`~app.voice.vad.EndpointDetector` with the app's settings), frame
    by frame as the voice loop feeds it, and :class:`~app.voice.stt.SpeechToText`, loaded
    with the config the app builds, transcribes what the loop hands it: the speculative
    turn's audio (up to the pause it starts at), with ``transcribe(audio)`` as the loop
    calls it for the transcript it answers ("Hearth"), and with ``draft=True`` where the
    loop drafts first ("draft"); ``--full-cut`` adds the whole utterance at the end of
    the hang-over. Latency here is the answered pass's time per utterance.
  - ``--e2e``: ``hearth voice --json`` runs hands-free on a private PulseAudio server
    (tests/voice/audio_env.py); each clip is played into the virtual microphone; the
    transcript is the app's JSON line (all turns one clip made, joined); latency is
    end of speech → first reply audio, taken from recordings of the microphone and
    the speaker, as tests/bench/bench_voice.py measures it. With ``--once``, each clip
    gets its own ``hearth voice --once --json``, started (models loaded, "Listening on"
    printed) before the clip is played; it answers that one utterance and exits.

    python tests/bench/bench_voice_wer.py [--voices piper,en-us,...] [--noise clean,snr20]
        [--sentences N] [--corpus DIR] [--out rows.json] [--e2e [--once] [--max-tokens 16]]
        [--set tuning|held-out|test|paused]

``--set`` picks what the English voices read (see speech_corpus.SETS): the sentences
Hearth was tuned on (the default), the held-out ones a choice was checked on, the
test set, kept for checking such a choice once on speech nobody looked at, or questions
said with a pause mid-sentence (three lengths), to see how the halves are joined: with
``--e2e`` a second table says, per pause, how often they were one turn, the first half
carried on into the second, or two exchanges, and the words repeated.

The clips are made once under ``--corpus`` (default: ~/.cache/hearth-bench-wer) and
reused, so a second run hears exactly the same audio (Piper's variation cannot be
seeded); faster-whisper's transcripts are cached there too (they depend only on the clip,
the model and the library's version).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.speech_corpus import SETS, VOICES, Audio, Clip, build
from tests.bench.wer import Score, error_rate, pooled

NOISES: dict[str, float | None] = {"clean": None, "snr20": 20.0}
# Each set's clips under ~/.cache/hearth-bench-wer<suffix> (see --corpus).
CORPUS_SUFFIXES = {"tuning": "", "held-out": "-heldout", "test": "-test", "paused": "-paused"}
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Row:
    """One clip, heard by Hearth and by plain faster-whisper."""

    clip: Clip
    hearth: str  # what Hearth answered (in-process: see HearthInProcess.hear)
    plain: str
    full: str = ""  # in-process: the full cut's transcript
    pause: str = ""  # in-process: the speculative turn's draft
    hearth_s: list[float] = field(default_factory=list)  # latency (see the module doc)
    plain_s: float = 0.0
    utterances: int = 1  # turns (e2e) or VAD utterances (in-process) the clip made
    app_total_s: float = float("nan")  # e2e: the app's own end of speech → first audio
    stages: dict[str, float] = field(default_factory=dict)  # e2e: the app's own stage times
    # e2e: the app's own marks (seconds since its end of speech), and the turns whose reply
    # was made again because the final transcript said other words than the draft.
    timings: dict[str, float] = field(default_factory=dict)
    redone: int | None = None  # None: a saved run from before this was recorded
    drafts: list[str] = field(default_factory=list)  # e2e: the drafts of redone turns
    # e2e: turns whose draft Whisper was too unsure of to answer (the final pass was).
    held: int | None = None
    # Answered transcripts sampled by Whisper's temperature fallback (random: another
    # run may say other words), and whether plain faster-whisper's was. None: not recorded.
    sampled: int | None = None
    plain_sampled: bool | None = None
    # e2e: turns whose question was carried on into the next (nothing of their reply was
    # heard; the next turn's transcript has their words). None: not recorded.
    carried: int | None = None
    # e2e: turns Hearth could not make out, answered "Sorry, I didn't catch that" (no
    # transcript). None: not recorded.
    not_heard: int | None = None

    def score(self, which: str) -> Score:
        text = {"hearth": self.hearth, "plain": self.plain, "full": self.full}.get(
            which, self.pause
        )
        return error_rate(self.clip.text, text, self.clip.language)

    def as_dict(self) -> dict[str, Any]:
        return {
            "voice": self.clip.voice,
            "noise": self.clip.noise,
            "index": self.clip.index,
            "reference": self.clip.text,
            "hearth": self.hearth,
            "full": self.full,
            "pause": self.pause,
            "plain": self.plain,
            "hearth_s": self.hearth_s,
            "plain_s": self.plain_s,
            "utterances": self.utterances,
            "app_total_s": self.app_total_s,
            "stages": self.stages,
            "timings": self.timings,
            "redone": self.redone,
            "drafts": self.drafts,
            "held": self.held,
            "sampled": self.sampled,
            "plain_sampled": self.plain_sampled,
            "carried": self.carried,
            "not_heard": self.not_heard,
            "pause_s": self.clip.pause_s,
            "hearth_errors": self.score("hearth").errors,
            "plain_errors": self.score("plain").errors,
        }


# -- plain faster-whisper ------------------------------------------------------------------
class PlainWhisper:
    """The starter Whisper model in an unmodified ``WhisperModel``, default arguments."""

    def __init__(self, corpus: Path, device: str, compute_type: str, threads: int) -> None:
        import faster_whisper

        from app.catalog.starter import starter_entries

        self._entry = next(e for e in starter_entries() if e.kind == "stt")
        self._options = {"device": device, "compute_type": compute_type, "cpu_threads": threads}
        self._model: Any = None
        tag = f"{self._entry.name}-{faster_whisper.__version__}-{device}-{compute_type}"
        self._cache_path = corpus / f"plain-{tag}.json"
        self._cache: dict[str, dict[str, Any]] = (
            json.loads(self._cache_path.read_text()) if self._cache_path.exists() else {}
        )

    def _load(self) -> Any:
        import faster_whisper

        from app.voice.stt import model_files

        # The starter model's model.bin comes in two parts: joined in memory, as Hearth does.
        source, files = model_files(self._entry)
        return faster_whisper.WhisperModel(source, files=files, **self._options)

    def transcribe(self, clip: Clip) -> tuple[str, float, bool]:
        """(text, seconds, whether the text was sampled by the temperature fallback)."""
        # The file's checksum too: a clip made again (another voice setting) is new audio.
        key = f"{clip.path.name}-{zlib.crc32(clip.path.read_bytes()):08x}"
        hit = self._cache.get(key)
        if hit is None or "sampled" not in hit:
            if self._model is None:
                self._model = self._load()
            started = time.perf_counter()
            segments, _info = self._model.transcribe(clip.audio())
            segments = list(segments)
            elapsed = time.perf_counter() - started
            # The beam's failing the quality tests is decided without sampling: a run
            # made only to learn it keeps the text already cached (one draw).
            sampled = any(s.temperature for s in segments)
            text = " ".join(s.text.strip() for s in segments).strip()
            hit = hit or {"text": text, "elapsed_s": elapsed}
            hit["sampled"] = sampled
            self._cache[key] = hit
            self._cache_path.write_text(json.dumps(self._cache, indent=1, ensure_ascii=False))
        return str(hit["text"]), float(hit["elapsed_s"]), bool(hit["sampled"])


# -- Hearth in process ---------------------------------------------------------------------
class HearthInProcess:
    """Hearth's VAD cut and Whisper call, as the voice loop makes them (see module doc)."""

    def __init__(self, full_cut: bool = False) -> None:
        from app.catalog.starter import starter_entries
        from app.voice.session import VoiceSettings
        from app.voice.stt import SpeechToText, SttConfig
        from app.voice.vad import SileroVad, VadConfig

        # What open_voice_parts and assemble_voice_loop build from default settings.
        self.settings = VoiceSettings()
        entry = next(e for e in starter_entries() if e.kind == "stt")
        self.stt = SpeechToText.load(
            entry, SttConfig(language=self.settings.language, device="auto")
        )
        self.stt.warm_up()
        self.vad = SileroVad()
        self.vad_config = VadConfig(silence_ms=self.settings.silence_ms)
        # Where SpeechToText has a draft pass, the loop drafts the speculative turn first.
        self.drafts = "draft" in inspect.signature(self.stt.transcribe).parameters
        self.full_cut = full_cut
        self.sampled = 0  # answered transcripts of the last clip sampled by the fallback

    def cuts(self, audio: Audio) -> list[tuple[Audio | None, Audio]]:
        """(pause cut or None, full cut) of each utterance the detector finds, with the
        loop's rules: a PAUSE starts a speculative turn, RESUME/SPEECH_START/DISCARDED
        drop it, SPEECH_END commits the one pending (else starts one from its own audio)."""
        from app.voice.audio_io import FRAME_SAMPLES, SAMPLE_RATE
        from app.voice.vad import EndpointDetector, VadEventKind

        detector = EndpointDetector(self.vad, self.vad_config)
        padded = np.concatenate([audio, np.zeros(SAMPLE_RATE, np.float32)])
        pending: Audio | None = None
        out: list[tuple[Audio | None, Audio]] = []
        for i in range(padded.size // FRAME_SAMPLES):
            frame = padded[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
            for event in detector.push(frame, (i + 1) * FRAME_SAMPLES / SAMPLE_RATE):
                if event.kind is VadEventKind.PAUSE:
                    pending = event.audio
                elif event.kind in (
                    VadEventKind.RESUME,
                    VadEventKind.SPEECH_START,
                    VadEventKind.DISCARDED,
                ):
                    pending = None
                elif event.kind is VadEventKind.SPEECH_END:
                    assert event.audio is not None
                    out.append((pending, event.audio))
                    pending = None
        return out

    def transcribe(self, audio: Audio, likely: str, *, draft: bool = False) -> tuple[str, float]:
        extra = {"draft": True} if draft else {}
        started = time.perf_counter()
        result = self.stt.transcribe(audio, self.settings.language, likely=likely, **extra)
        if not draft:
            self.sampled += bool(getattr(result, "sampled", False))
        return result.text, time.perf_counter() - started

    def hear(self, clip: Clip) -> tuple[str, str, str, list[float], int]:
        """(answered, draft, full-cut texts, seconds per answered transcription, utterances).

        A speculative turn's audio is the pause cut; the loop answers ``transcribe`` of it
        (the final pass, where there is a draft pass, which comes first). Without a pause
        pending at the end of speech, the turn's audio is the whole utterance.
        """
        likely = clip.language  # the loop's likely language: the last heard, here the voice's
        answered: list[str] = []
        drafts: list[str] = []
        full: list[str] = []
        seconds: list[float] = []
        self.sampled = 0
        cuts = self.cuts(clip.audio())
        for pause_cut, full_cut in cuts:
            audio = pause_cut if pause_cut is not None else full_cut
            text, elapsed = self.transcribe(audio, likely)
            answered.append(text)
            seconds.append(elapsed)
            if self.drafts and pause_cut is not None:
                text, _ = self.transcribe(audio, likely, draft=True)
            drafts.append(text)
            if self.full_cut:
                counted = self.sampled
                full.append(self.transcribe(full_cut, likely)[0])
                self.sampled = counted  # the full cut is not answered
        return _join(answered), _join(drafts), _join(full), seconds, len(cuts)


def _join(texts: Iterable[str]) -> str:
    return " ".join(t for t in texts if t).strip()


# -- Hearth end to end ---------------------------------------------------------------------
class HearthEndToEnd:
    """``hearth voice --json`` on a private PulseAudio server: hands-free (one process for
    every clip), or ``--once`` (a process per clip, started before the clip is played)."""

    def __init__(
        self, root: Path, max_tokens: int, more: list[str] | None = None, once: bool = False
    ) -> None:
        from tests.voice.audio_env import PulseServer

        if not PulseServer.available():
            sys.exit("PulseAudio is needed: apt install pulseaudio pulseaudio-utils")
        self.last_stages: dict[str, float] = {}
        self.last_timings: dict[str, float] = {}
        self.last_drafts: list[str] = []
        self.last_held = 0
        self.last_sampled = 0
        self.last_carried = 0
        self.last_not_heard = 0
        self.once = once
        self.server = PulseServer(root / "pulse")
        self.server.start()
        self.env = self.server.env
        self.env.update(HEARTH_HOME=str(root / "home"), HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
        self.command = [sys.executable, "-m", "app", "--verbose", "voice", "--json"]
        self.command += ["--temperature", "0", "--seed", "1", "--max-tokens", str(max_tokens)]
        self.command += (["--once", "--timeout", "60"] if once else []) + (more or [])
        self.log = (root / "hearth-voice.log").open("w")
        self.app: subprocess.Popen[str] | None = None
        self.turns: queue.Queue[dict[str, Any]] = queue.Queue()
        if not once:
            self._start()
        self.mic = self.server.recorder("vmic.monitor")
        self.speaker = self.server.recorder("speaker.monitor")

    def _start(self) -> None:
        """Start ``hearth voice`` and wait until it listens."""
        app = subprocess.Popen(
            self.command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.app = app
        listening = threading.Event()
        tail: list[str] = []

        def read_out() -> None:
            assert app.stdout is not None
            for line in app.stdout:
                if line.startswith("{"):
                    self.turns.put(json.loads(line))

        def read_err() -> None:
            assert app.stderr is not None
            for line in app.stderr:
                self.log.write(line)
                tail[:] = [*tail[-30:], line]
                if line.startswith("Listening on"):
                    listening.set()

        threading.Thread(target=read_out, daemon=True).start()
        threading.Thread(target=read_err, daemon=True).start()
        if not listening.wait(300):
            self.close()
            sys.exit("hearth voice did not start:\n" + "".join(tail))

    def hear(self, clip: Clip) -> tuple[str, list[float], int, float]:
        """(transcript of every turn the clip made, [latency], turns, the app's own
        measure of the last turn's latency)."""
        from tests.voice.audio_env import active_spans

        if self.once:
            self._start()
        played_from = time.perf_counter()
        if self.server.play(clip.path).wait(60) != 0:
            sys.exit("paplay failed")
        turns: list[dict[str, Any]] = []
        try:
            turns.append(self.turns.get(timeout=60))
            # A turn talked over (its question carried on, or its reply stopped) has one
            # after it, however long that one's reply plays.
            while turns[-1].get("carried") or turns[-1].get("interrupted"):
                turns.append(self.turns.get(timeout=60))
            while not self.once:  # a clip cut in two makes two turns (--once answers one)
                turns.append(self.turns.get(timeout=2.5))
        except queue.Empty:
            pass
        if self.once and self.app is not None:
            try:
                self.app.wait(60)
            except subprocess.TimeoutExpired:
                self.app.kill()
        mic = self.mic.samples()
        speaker = self.speaker.samples()
        onsets = [a for a, _ in active_spans(mic) if self.mic.time_of(a) >= played_from - 0.05]
        clip_onsets = active_spans(clip.audio())
        latency = float("nan")
        if onsets and clip_onsets:
            # The clip's first loud sample (noise or speech) found in the recording.
            clip_zero = self.mic.time_of(onsets[0]) - clip_onsets[0][0] / 16_000
            speech_end = clip_zero + clip.speech_end_s
            replies = [
                self.speaker.time_of(a)
                for a, _ in active_spans(speaker)
                if self.speaker.time_of(a) > speech_end
            ]
            if replies and turns:
                latency = replies[0] - speech_end
        # A carried question's words are in the next turn's transcript: counted there.
        asked = [t for t in turns if not t.get("carried")]
        text = _join(str(t.get("question") or t.get("transcript") or "") for t in asked)
        self.last_carried = len(turns) - len(asked)
        self.last_stages = (
            {str(k): float(v) for k, v in turns[-1].get("stages", {}).items()} if turns else {}
        )
        self.last_timings = (
            {str(k): float(v) for k, v in turns[-1].get("timings", {}).items()} if turns else {}
        )
        self.last_drafts = [str(t["draft"]) for t in turns if t.get("draft") is not None]
        self.last_held = sum(t.get("unsure_draft") is not None for t in turns)
        self.last_sampled = sum(bool(t.get("sampled")) for t in turns)
        self.last_not_heard = sum(bool(t.get("not_heard")) for t in turns)
        own = self.last_stages.get("total", latency)
        return text, [latency], len(turns), own

    def close(self) -> None:
        for recorder in (getattr(self, "mic", None), getattr(self, "speaker", None)):
            if recorder is not None:
                recorder.stop()
        if self.app is not None:
            self.app.terminate()
            try:
                self.app.wait(20)
            except subprocess.TimeoutExpired:
                self.app.kill()
        self.server.stop()
        self.log.close()


# -- report --------------------------------------------------------------------------------
def stage_table(rows: list[Row]) -> str:
    """The app's own stage times (its turn's ``stages``), p50 and p90 over the clips."""
    names: list[str] = []
    for row in rows:
        names += [n for n in row.stages if n not in names]
    lines = ["| stage (app's own clock) | clips | p50 (s) | p90 (s) |", "|---|---|---|---|"]
    for name in names:
        values = [row.stages[name] for row in rows if name in row.stages]
        lines.append(
            f"| {name} | {len(values)} | {percentile(values, 50):.3f} | "
            f"{percentile(values, 90):.3f} |"
        )
    return "\n".join(lines)


def pause_table(rows: list[Row]) -> str:
    """The paused set, by the pause left mid-sentence: how the halves were answered (as
    one question, the first carried on into the second, or as two exchanges), words
    repeated where they were joined, and the error rates."""
    head = [
        "pause (s)", "clips", "one turn", "first half carried on", "two exchanges",
        "dup. words (repeats) Hearth / fw", "Hearth WER", "faster-whisper",
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for pause in sorted({r.clip.pause_s for r in rows if r.clip.pause_s}):
        group = [r for r in rows if r.clip.pause_s == pause]
        carried = [r for r in group if r.carried]
        cells = [
            f"{pause:.2f}",
            str(len(group)),
            str(sum(r.utterances == 1 for r in group)),
            "n/a" if any(r.carried is None for r in group) else str(len(carried)),
            str(sum(r.utterances - (r.carried or 0) > 1 for r in group)),
            f"{_dups(group, 'hearth')} / {_dups(group, 'plain')}",
            f"{100 * pooled([r.score('hearth') for r in group]):.1f} %",
            f"{100 * pooled([r.score('plain') for r in group]):.1f} %",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def percentile(values: list[float], q: float) -> float:
    clean = [v for v in values if not np.isnan(v)]
    if not clean:
        return float("nan")
    return float(np.percentile(clean, q))


def table(rows: list[Row], e2e: bool) -> str:
    """The markdown table: one line per voice and noise level, then totals."""
    rate = "WER / CER"
    lat = "end of speech → first reply audio" if e2e else "Whisper time per utterance"
    head = ["voice", "noise", "clips", f"Hearth {rate}"]
    extra = [] if e2e else ["draft", "full cut"] if any(r.full for r in rows) else ["draft"]
    head += extra
    head += ["faster-whisper", "Δ Hearth − fw (90 % interval)", "dup. words (repeats) Hearth / fw"]
    head += [f"Hearth {lat} p50 / p90 (s)"]
    if e2e:
        head += ["app's own measure p50 / p90 (s)", "replies redone / held / not made out"]
    head += ["sampled Hearth / fw", "fw s p50"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    groups: dict[tuple[str, str], list[Row]] = {}
    order = [v.key for v in VOICES]
    for row in sorted(rows, key=lambda r: (order.index(r.clip.voice), r.clip.noise)):
        groups.setdefault((row.clip.voice, row.clip.noise), []).append(row)
    labels = {v.key: v.label for v in VOICES}

    def line(name: str, noise: str, group: list[Row]) -> str:
        hearth = pooled([r.score("hearth") for r in group])
        plain = pooled([r.score("plain") for r in group])
        cells = [name, noise, str(len(group)), f"{100 * hearth:.1f} %"]
        for cut in extra:
            which = "pause" if cut == "draft" else "full"
            repeats = sum(r.score(which).repeated for r in group)
            cells.append(f"{100 * pooled([r.score(which) for r in group]):.1f} % ({repeats} rep.)")
        latencies = [s for r in group for s in r.hearth_s]
        cells += [
            f"{100 * plain:.1f} %",
            f"{100 * (hearth - plain):+.1f} ({_interval(group)})",
            f"{_dups(group, 'hearth')} / {_dups(group, 'plain')}",
            f"{percentile(latencies, 50):.2f} / {percentile(latencies, 90):.2f}",
        ]
        if e2e:
            own = [r.app_total_s for r in group]
            cells.append(f"{percentile(own, 50):.2f} / {percentile(own, 90):.2f}")
            counts = [_total(group, n) for n in ("redone", "held", "not_heard")]
            cells.append(" / ".join(counts))
        cells.append(_sampled(group))
        cells.append(f"{statistics.median(r.plain_s for r in group):.2f}")
        return "| " + " | ".join(cells) + " |"

    for (voice, noise), group in groups.items():
        lines.append(line(labels.get(voice, voice), noise, group))
    for language, name in (("en", "**all English (WER)**"), ("zh", "**Mandarin (CER)**")):
        for noise in NOISES:
            group = [r for r in rows if r.clip.language == language and r.clip.noise == noise]
            if group and len({r.clip.voice for r in group}) > 1:
                lines.append(line(name, noise, group))
    return "\n".join(lines)


def delta_interval(rows: list[Row], draws: int = 2000, seed: int = 1) -> tuple[float, float]:
    """A 90 % bootstrap interval of Hearth's error rate minus faster-whisper's, resampling
    the clips: how much of a difference a group this size shows by chance (on 34
    sentences one word is about half a point, and Whisper's choice of words moves with a
    few milliseconds more or less of audio)."""
    pairs = [(r.score("hearth"), r.score("plain")) for r in rows]
    rng = random.Random(seed)
    deltas = []
    for _ in range(draws):
        sample = rng.choices(pairs, k=len(pairs))
        deltas.append(pooled([h for h, _ in sample]) - pooled([f for _, f in sample]))
    deltas.sort()
    return deltas[int(0.05 * draws)], deltas[int(0.95 * draws) - 1]


def _interval(rows: list[Row]) -> str:
    low, high = delta_interval(rows)
    return f"{100 * low:+.1f} to {100 * high:+.1f}"


def _dups(rows: list[Row], which: str) -> str:
    """Duplicated words, and of them the repeated ones (see tests/bench/wer.py)."""
    scores = [r.score(which) for r in rows]
    return f"{sum(s.duplicated for s in scores)} ({sum(s.repeated for s in scores)})"


def _sampled(rows: list[Row]) -> str:
    """Answered transcripts that Whisper's temperature fallback sampled, Hearth / fw."""
    return f"{_total(rows, 'sampled')} / {_total(rows, 'plain_sampled')}"


def _total(rows: list[Row], counted: str) -> str:
    """The sum of a count over ``rows``; "n/a" when a saved run did not record it."""
    values = [getattr(r, counted) for r in rows]
    return "n/a" if None in values else str(sum(values))


def load_rows(path: Path) -> tuple[dict[str, Any], list[Row]]:
    """A run's ``--out`` file, as rows to score again (with this checkout's scorer)."""
    saved = json.loads(path.read_text())
    languages = {v.key: v.language for v in VOICES}
    rows = []
    for r in saved["rows"]:
        clip = Clip(
            r["voice"],
            r["noise"],
            r["index"],
            r["reference"],
            languages[r["voice"]],
            Path(),
            0,
            0,
            r.get("pause_s", 0.0),
        )
        rows.append(
            Row(
                clip,
                r["hearth"],
                r["plain"],
                r.get("full", ""),
                r.get("pause", ""),
                r["hearth_s"],
                r["plain_s"],
                r.get("utterances", 1),
                r.get("app_total_s", float("nan")),
                r.get("stages", {}),
                r.get("timings", {}),
                r.get("redone"),
                r.get("drafts", []),
                r.get("held"),
                r.get("sampled"),
                r.get("plain_sampled"),
                r.get("carried"),
                r.get("not_heard"),
            )
        )
    return saved, rows


def compare(before: list[Row], after: list[Row]) -> str:
    """Before and after, per voice and noise level, on the clips both runs heard."""
    key = lambda r: (r.clip.voice, r.clip.noise, r.clip.index)  # noqa: E731
    done = {key(r) for r in after}
    before = [r for r in before if key(r) in done]
    common = {key(r) for r in before}
    after = [r for r in after if key(r) in common]
    head = ["voice", "noise", "clips", "Hearth before", "Hearth after", "faster-whisper"]
    head += ["Δ after − fw", "dup. words (repeats) before / after / fw"]
    head += ["Hearth s p50 / p90 before", "after"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    labels = {v.key: v.label for v in VOICES}
    groups: list[tuple[str, str, Callable[[Row], bool]]] = [
        (labels[v.key], n, lambda r, v=v.key, n=n: r.clip.voice == v and r.clip.noise == n)
        for v in VOICES
        for n in NOISES
    ]
    groups += [
        (name, n, lambda r, lang=lang, n=n: r.clip.language == lang and r.clip.noise == n)
        for lang, name in (("en", "**all English (WER)**"), ("zh", "**Mandarin (CER)**"))
        for n in NOISES
    ]
    for name, noise, member in groups:
        b = [r for r in before if member(r)]
        a = [r for r in after if member(r)]
        if not a:
            continue
        rate_b = pooled([r.score("hearth") for r in b])
        rate_a = pooled([r.score("hearth") for r in a])
        rate_fw = pooled([r.score("plain") for r in a])
        dups = [_dups(b, "hearth"), _dups(a, "hearth"), _dups(a, "plain")]
        seconds = [[s for r in g for s in r.hearth_s] for g in (b, a)]
        cells = [name, noise, str(len(a)), f"{100 * rate_b:.1f} %", f"{100 * rate_a:.1f} %"]
        cells += [f"{100 * rate_fw:.1f} %", f"{100 * (rate_a - rate_fw):+.1f}"]
        cells.append(" / ".join(str(d) for d in dups))
        cells += [f"{percentile(x, 50):.2f} / {percentile(x, 90):.2f}" for x in seconds]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def git_head() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "app/voice"],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:  # a copy of the tree (an older commit's snapshot, say)
        return os.environ.get("HEARTH_BENCH_HEAD", f"{REPO} (not a git checkout)")
    return found.stdout.strip() + (" (app/voice modified)" if dirty.stdout.strip() else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", default=",".join(v.key for v in VOICES))
    parser.add_argument("--noise", default=",".join(NOISES))
    parser.add_argument("--sentences", type=int, help="the first N sentences of each voice")
    parser.add_argument(
        "--skip", type=int, default=0, help="leave out each voice's first N sentences first"
    )
    parser.add_argument(
        "--set",
        choices=list(SETS),
        default="tuning",
        help="the sentences the English voices read: tuning (speech_corpus.ENGLISH), "
        "held-out (ENGLISH_HELD_OUT, default corpus ~/.cache/hearth-bench-wer-heldout), "
        "test (ENGLISH_TEST, ~/.cache/hearth-bench-wer-test) or paused (ENGLISH_PAUSED, "
        "~/.cache/hearth-bench-wer-paused)",
    )
    parser.add_argument("--held-out", action="store_true", help="the same as --set held-out")
    parser.add_argument("--corpus", type=Path, help="default: ~/.cache/hearth-bench-wer")
    parser.add_argument("--out", type=Path, help="write every clip's row here (JSON)")
    parser.add_argument("--e2e", action="store_true", help="through hearth voice (slow)")
    parser.add_argument(
        "--once",
        action="store_true",
        help="--e2e: a hearth voice --once per clip, started before the clip is played",
    )
    parser.add_argument("--max-tokens", type=int, default=16, help="--e2e: reply length")
    parser.add_argument(
        "--hearth-arg",
        action="append",
        default=[],
        help="--e2e: an option for hearth voice, e.g. --hearth-arg=--wait-for-final",
    )
    parser.add_argument("--verbose", action="store_true", help="print every clip")
    parser.add_argument(
        "--full-cut",
        action="store_true",
        help="in-process: also transcribe the whole utterance at the end of the hang-over",
    )
    parser.add_argument(
        "--rescore",
        type=Path,
        nargs="+",
        metavar="ROWS",
        help="print the table of a saved run (--out), or of two (before, after) side by side",
    )
    args = parser.parse_args()
    if args.rescore:
        runs = [load_rows(path) for path in args.rescore]
        for meta, rows in runs:
            print(f"{meta['head']}: {len(rows)} clips, {'e2e' if meta['e2e'] else 'in-process'}")
        if len(runs) == 1:
            print("\n" + table(runs[0][1], bool(runs[0][0]["e2e"])))
            if any(r.clip.pause_s for r in runs[0][1]):
                print(pause_table(runs[0][1]))
        else:
            print("\n" + compare(runs[0][1], runs[1][1]))
        return 0

    wanted = args.voices.split(",")
    voices = [v for v in VOICES if v.key in wanted]
    noises = {n: NOISES[n] for n in args.noise.split(",")}
    count = None if args.sentences is None else args.skip + args.sentences
    which = "held-out" if args.held_out else args.set
    if args.corpus is None:
        args.corpus = Path.home() / ".cache" / f"hearth-bench-wer{CORPUS_SUFFIXES[which]}"
    made = build(args.corpus, voices, noises, count, which)
    clips = [c for c in made if c.index >= args.skip]
    # Sentence by sentence across the voices: a run stopped early (Ctrl+C) still covers
    # every voice, and prints the table of what it did.
    order = {v.key: i for i, v in enumerate(VOICES)}
    clips.sort(key=lambda c: (c.index, order[c.voice], list(noises).index(c.noise)))
    print(f"{len(clips)} clips in {args.corpus}; Hearth at {git_head()}", flush=True)

    hearth_ip: HearthInProcess | None = None
    hearth_e2e: HearthEndToEnd | None = None
    if args.e2e:
        hearth_e2e = HearthEndToEnd(
            Path(tempfile.mkdtemp(prefix="hearth-wer-")),
            args.max_tokens,
            args.hearth_arg,
            once=args.once,
        )
    else:
        hearth_ip = HearthInProcess(args.full_cut)
    from app.voice.stt import SttConfig

    config = hearth_ip.stt.config if hearth_ip else SttConfig()
    device = hearth_ip.stt.device if hearth_ip else "cpu"
    compute = config.compute_type or ("float16" if device == "cuda" else "int8")
    threads = config.cpu_threads or min(4, os.cpu_count() or 1)
    plain = PlainWhisper(args.corpus, device, compute, threads)

    rows: list[Row] = []
    started = time.perf_counter()
    try:
        for clip in clips:
            pause = full = ""
            own = float("nan")
            if hearth_ip is not None:
                hearth, pause, full, seconds, count = hearth_ip.hear(clip)
            else:
                assert hearth_e2e is not None
                hearth, seconds, count, own = hearth_e2e.hear(clip)
            text, plain_s, plain_sampled = plain.transcribe(clip)
            row = Row(clip, hearth, text, full, pause, seconds, plain_s, count, own)
            row.plain_sampled = plain_sampled
            row.sampled = hearth_ip.sampled if hearth_ip is not None else None
            if hearth_e2e is not None:
                row.sampled = hearth_e2e.last_sampled
                row.stages = hearth_e2e.last_stages
                row.timings = hearth_e2e.last_timings
                row.redone = len(hearth_e2e.last_drafts)
                row.drafts = hearth_e2e.last_drafts
                row.held = hearth_e2e.last_held
                row.carried = hearth_e2e.last_carried
                row.not_heard = hearth_e2e.last_not_heard
            rows.append(row)
            if args.verbose or row.score("hearth").errors > row.score("plain").errors:
                print(
                    f"{clip.voice}/{clip.noise}/{clip.index:02d} "
                    f"H {row.score('hearth').errors} fw {row.score('plain').errors} "
                    f"| {clip.text!r} | H {hearth!r} | fw {text!r}",
                    flush=True,
                )
    except KeyboardInterrupt:
        print(f"stopped after {len(rows)} of {len(clips)} clips", flush=True)
    finally:
        if hearth_e2e is not None:
            hearth_e2e.close()
    elapsed = time.perf_counter() - started
    load = os.getloadavg()
    mode = "in-process"
    if args.e2e:
        mode = (
            "e2e (hearth voice --once --json per clip)"
            if args.once
            else "e2e (hearth voice --json)"
        )
    print(
        f"\n{len(rows)} clips in {elapsed / 60:.1f} min on {os.cpu_count()} cores "
        f"(load average {load[0]:.1f}; latency figures are noisy on a shared machine); "
        f"Hearth at {git_head()}, mode {mode}"
    )
    if hearth_ip is not None:
        print(
            "Hearth = transcribe() of the speculative turn's audio (up to the pause it starts "
            "at), what the loop answers; draft = "
            + ("transcribe(draft=True) of it" if hearth_ip.drafts else "the same (no drafts)")
            + "; full cut = the whole utterance at the end of the hang-over (--full-cut)."
        )
    print()
    print(table(rows, args.e2e))
    if any(r.clip.pause_s for r in rows):
        print(pause_table(rows))
    if args.e2e:
        print(stage_table(rows))
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "head": git_head(),
                    "e2e": args.e2e,
                    "once": args.once,
                    "load_average": load,
                    "rows": [r.as_dict() for r in rows],
                },
                indent=1,
                ensure_ascii=False,
            )
        )
        print(f"\nrows: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
