"""Speech to text with faster-whisper: model loading from the library, guarded transcription.

Loading: a model folder, or a library entry whose ``model.bin`` ships split in parts
(the starter Whisper model: ``model.bin.part1`` and ``.part2`` in two packages). The
parts are joined in memory, streamed through one file-like object into CTranslate2's
``files=`` argument, so nothing is copied to disk and no second 150 MB buffer is built.

Two passes, for two uses:

- the FINAL pass (``transcribe(audio)``) makes the transcript Hearth stores, shows and
  answers. It decodes as faster-whisper does by default (beam of 5, temperature fallback,
  its no-speech and compression tests) over an encoder window of at least
  ``SttConfig.final_window_s`` seconds, the frames after the audio padded as the library
  pads them. Measured on speech it was not tuned on (espeak-ng voices and Piper with its
  variation, clean and at 20 dB SNR), it is as accurate as ``WhisperModel.transcribe``
  with the library's defaults; see ``tests/voice/test_stt_parity.py``.
- the DRAFT pass (``transcribe(audio, draft=True)``) is for speculation and the running
  transcript: greedy over a short window, the audio padded with real silence to
  ``SttConfig.draft_window_s`` (10 s; longer audio, its own frames and a second more).
  It is less accurate (and a short window can make the decoder loop), so a draft is
  never stored or answered without a final pass.

Cost (base, int8, two threads): the draft of a benchmark question about 0.16 s of wall
time with its 10 s window (0.10 s over the question's own frames); the final pass about
1.2 CPU-seconds for a 3 s question, 1.0 of it fixed (the encoder's full window), plus
about 0.06 per second. A shorter final window was measured and is not at parity: over
10 s, a third of the clips came out different and the word error rate two points worse.

Devices: the CPU, or CUDA when a GPU and cuBLAS 12 are there (``choose_device``); when
CUDA fails (to load, or at the first transcription), "auto" goes on on the CPU and says
why in ``SpeechToText.notice``.

Guards against text invented on silence, in both passes: faster-whisper's no-speech
test, a token budget proportional to the audio, repetition collapse, rejection of
unlikely text and of Whisper's stock silence phrases, and the caller's VAD (only
utterances with real speech get here).
"""

from __future__ import annotations

import difflib
import importlib
import io
import logging
import math
import os
import re
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.catalog.library import ModelEntry
from app.core.errors import VoiceModelError
from app.core.i18n import translate
from app.voice.audio_io import SAMPLE_RATE, Samples
from app.voice.chinese_script import HAN
from app.voice.cuda_libs import Cublas, ensure_cublas, install_hint

log = logging.getLogger(__name__)

_MODEL_FILES = ("config.json", "vocabulary.json", "tokenizer.json", "preprocessor_config.json")
_PART_RE = re.compile(r"^(?P<base>.+)\.part(?P<n>\d+)$")
FULL_WINDOW_S = 30.0  # Whisper's encoder window
FINAL_WINDOW_S = 30.0  # the final pass's default shortest window (see SttConfig)
DRAFT_WINDOW_S = 10.0  # the draft pass's default shortest window (see SttConfig)
# How ``Transcript.rejected`` begins for words Whisper found but judged too unlikely to
# be what was said (speech it could not make out, not silence; see app.voice.not_heard).
REJECTED_UNLIKELY = "unlikely text"
TAKE_STEP = 256  # 16 ms at 16 kHz: how much later each take of the final pass starts
GPU_FINAL_TAKES = 3  # takes of the final pass where Whisper runs on a GPU (SttConfig)
# Whisper's stock outputs for silence and noise; dropped when the no-speech test is unsure.
_SILENCE_PHRASES = {
    "you",
    "thank you",
    "thanks for watching",
    "thank you for watching",
    "bye",
    "subtitles by the amara.org community",
    "字幕",
    "谢谢观看",
    "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
}


UNSURE_LANGUAGE = 0.7
# Below this average log-probability a draft is too likely to be misheard to answer. On
# the voice benchmark's held-out set (five English voices, clean and at 20 dB), 115 of
# 230 drafts asked another question than the final pass then heard; 86 drafts were below
# -0.4, 78 of them wrong and 8 right (the natural Piper voice had none below). Checked on
# its test set, never tuned on: 48 of 193 below, 44 wrong and 4 right (of 88 and 105).
# Not answering those spares the listener a wrong start, and their answers come sooner:
# the final pass no longer waits behind the draft's reply.
UNSURE_DRAFT_LOGPROB = -0.4


@dataclass(frozen=True)
class SttConfig:
    """How to load and run Whisper."""

    language: str | None = None  # "en", "zh", ...; None detects it per utterance
    device: str = "auto"  # auto | cpu | cuda
    compute_type: str | None = None  # None: int8 on the CPU, float16 on CUDA
    cpu_threads: int = 0  # 0: all cores (at most 4)
    # The final pass: the library's beam; greedy decoding loses words on unclear speech.
    beam_size: int = 5
    # The final pass's shortest encoder window, in seconds (30: always Whisper's full window).
    final_window_s: float = FINAL_WINDOW_S
    # The final pass decodes the utterance this many times, each take starting 16 ms
    # later, and keeps the most probable text: Whisper's words move with where the cut
    # falls (half the benchmark's clips read otherwise 16-48 ms later). None: 3 where
    # Whisper runs on a GPU, 1 on the CPU, where each take costs a full pass.
    final_takes: int | None = None
    draft_beam_size: int = 1  # the draft pass: greedy, a beam of 5 costs 2-3x
    short_window: bool = True  # the draft pass encodes a short window, not Whisper's 30 s
    # The draft's shortest window, in seconds; a longer question gets its own frames and a
    # second of silence. Over 10 s rather than the question's own frames, the draft agreed
    # with the final pass on 120 of 200 unseen benchmark clips (105), and a third fewer
    # replies were begun on a misheard draft (29 against 44), for about 60 ms more of
    # Whisper on two CPU cores (tests/bench/bench_draft_window.py). 0: the own frames.
    draft_window_s: float = DRAFT_WINDOW_S
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    # Text this unlikely is a guess, whatever the no-speech test says.
    reject_logprob: float = -1.5
    tokens_per_second: float = 6.0  # draft budget; speech runs at 3-5 tokens a second
    # A detected language less sure than this is checked against the likely one (see
    # ``transcribe``): Whisper base often guesses wrong on a second of speech. Nor does
    # it change the conversation's language (voice.loop.next_likely_language).
    unsure_language: float = UNSURE_LANGUAGE
    # ... in the draft pass: its short window misleads detection more often (English
    # questions detected as Japanese at 0.70-0.78), and a draft in the wrong language makes
    # the reply start over once the final pass is in.
    draft_unsure_language: float = 0.9
    # A prompt per language, given to the decoder: Whisper writes Chinese in either script
    # (often Traditional, unpunctuated); a Simplified, punctuated prompt makes it write so.
    prompts: Mapping[str, str] = field(default_factory=lambda: {"zh": "以下是普通话的句子。"})


@dataclass(frozen=True)
class Transcript:
    """The text of one utterance, and how sure Whisper was."""

    text: str
    language: str
    language_probability: float
    audio_s: float
    elapsed_s: float
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    full_window: bool = False  # decoded over Whisper's 30 s window (the final pass's)
    rejected: str | None = None  # why the text was thrown away, if it was
    draft: bool = False  # made by the cheap draft pass: never store or answer it as is
    # Sampled by Whisper's temperature fallback, its beam having failed the library's
    # quality tests: random, so another pass over the same audio may say other words.
    sampled: bool = False

    @property
    def empty(self) -> bool:
        return not self.text


class _JoinedFile(io.RawIOBase):
    """Several files read back to back as one (a split ``model.bin``)."""

    def __init__(self, parts: Sequence[Path]) -> None:
        super().__init__()
        self._parts = list(parts)
        self._index = 0
        self._handle: io.BufferedReader | None = open(self._parts[0], "rb")  # noqa: SIM115

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._handle is not None:
            count = self._handle.readinto(view)
            if count:
                return count
            self._handle.close()
            self._index += 1
            self._handle = (
                open(self._parts[self._index], "rb")  # noqa: SIM115
                if self._index < len(self._parts)
                else None
            )
        return 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        super().close()


def model_files(entry_or_path: ModelEntry | str | Path) -> tuple[str, dict[str, Any] | None]:
    """Where to load from: (folder, None) for a plain folder, or (name, in-memory files).

    Raises :class:`VoiceModelError` when files are missing.
    """
    if isinstance(entry_or_path, ModelEntry):
        paths = [Path(f) for f in entry_or_path.files] or [Path(entry_or_path.path)]
        name = entry_or_path.name
    else:
        paths = [Path(entry_or_path)]
        name = Path(entry_or_path).name
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        if not (folder / "model.bin").exists():
            split = sorted(folder.glob("model.bin.part*"))
            if not split:
                raise VoiceModelError(
                    translate(
                        "Voice",
                        "The Whisper model folder {folder} has no model.bin. Download it again.",
                    ).format(folder=folder)
                )
            paths = [*split, *(folder / f for f in _MODEL_FILES if (folder / f).exists())]
        else:
            return str(folder), None
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise VoiceModelError(
            translate(
                "Voice",
                "The Whisper model {name} is incomplete: {value} is missing. Reinstall it (the "
                "starter set: pip install 'hearth[starter]').",
            ).format(name=name, value=", ".join(missing))
        )
    parts: dict[str, list[tuple[int, Path]]] = {}
    files: dict[str, Any] = {}
    for path in paths:
        match = _PART_RE.match(path.name)
        if match:
            parts.setdefault(match["base"], []).append((int(match["n"]), path))
        else:
            files[path.name] = path.read_bytes() if path.name != "model.bin" else path
    for base, numbered in parts.items():
        ordered = [p for _, p in sorted(numbered)]
        files[base] = io.BufferedReader(_JoinedFile(ordered), buffer_size=1 << 20)
    if "model.bin" not in files or "config.json" not in files:
        raise VoiceModelError(
            translate(
                "Voice",
                "The Whisper model {name} lacks model.bin or config.json; it cannot be loaded.",
            ).format(name=name)
        )
    if isinstance(files["model.bin"], Path):
        files["model.bin"] = open(files["model.bin"], "rb")  # noqa: SIM115
    return name, files


def _cuda_devices() -> int:
    """CUDA GPUs CTranslate2 sees (a GPU and its driver; says nothing of cuBLAS)."""
    try:
        ct2 = importlib.import_module("ctranslate2")
        return int(ct2.get_cuda_device_count())
    except Exception:
        return 0


def choose_device(
    requested: str,
    cuda_devices: Callable[[], int] = _cuda_devices,
    cublas: Callable[[], Cublas] = ensure_cublas,
) -> tuple[str, str | None]:
    """The device Whisper runs on for ``requested`` (auto | cpu | cuda), and a sentence
    for the user when "auto" had a GPU but cannot use it.

    CUDA needs a GPU and cuBLAS 12 (CTranslate2 opens it only at its first matrix
    product, inside a transcription: see :mod:`app.voice.cuda_libs`), so it is loaded
    here first. Raises :class:`VoiceModelError` when "cuda" was asked for and cannot be.
    """
    if requested not in ("auto", "cpu", "cuda"):
        raise VoiceModelError(
            translate("Voice", "Unknown Whisper device {requested}; use auto, cpu or cuda.").format(
                requested=repr(requested)
            )
        )
    if requested == "cpu":
        return "cpu", None
    if cuda_devices() <= 0:
        if requested == "cuda":
            raise VoiceModelError(
                translate(
                    "Voice",
                    "Whisper cannot run on CUDA: no CUDA GPU was found (or its driver is "
                    "missing); use the CPU (--stt-device auto or cpu).",
                )
            )
        return "cpu", None
    libs = cublas()
    if libs.loaded:
        return "cuda", None
    if requested == "cuda":
        raise VoiceModelError(
            translate(
                "Voice",
                "Whisper cannot run on CUDA: a CUDA GPU was found but {reason}; {install_hint}, "
                "or use the CPU (--stt-device auto).",
            ).format(reason=libs.reason, install_hint=install_hint())
        )
    return "cpu", translate(
        "Voice", "Whisper runs on the CPU: a CUDA GPU was found but {reason} ({install_hint})."
    ).format(reason=libs.reason, install_hint=install_hint())


def _open_model(
    entry_or_path: ModelEntry | str | Path, config: SttConfig, device: str
) -> tuple[Any, str]:
    """A ``WhisperModel`` (windowed, see the module doc) on ``device``, and its name.

    Raises :class:`VoiceModelError`; one caused by CTranslate2 itself (the device, the
    model's format) carries that error as its ``__cause__``.
    """
    source, files = model_files(entry_or_path)
    compute_type = config.compute_type or ("float16" if device == "cuda" else "int8")
    threads = config.cpu_threads or min(4, os.cpu_count() or 1)
    try:
        fw = importlib.import_module("faster_whisper")
    except ImportError as exc:
        raise VoiceModelError(
            translate("Voice", "faster-whisper is not installed: pip install faster-whisper")
        ) from exc

    class _WindowedWhisper(fw.WhisperModel):  # type: ignore[misc, name-defined]
        """WhisperModel whose encoder may see fewer than 3000 frames (see module doc),
        which encodes a window once when asked for it twice in a row, and which gives up
        before its next encoder or decoder run once ``stop`` is set."""

        encode_frames = 0
        stop: threading.Event | None = None
        # (features, encoder output) of the last window, while ``transcribe`` works on
        # it: detecting the language, decoding, and decoding again in the likely
        # language then share one encoder pass.
        last_encoded: tuple[Any, Any] | None = None

        def encode(self, features: Any) -> Any:
            _check_stop(self.stop)
            if self.encode_frames:
                features = features[..., : self.encode_frames]
            last = self.last_encoded
            if (
                last is not None
                and last[0].shape == features.shape
                and np.array_equal(last[0], features)
            ):
                return last[1]
            encoded = super().encode(features)
            self.last_encoded = (np.array(features, copy=True), encoded)
            return encoded

    started = time.perf_counter()
    try:
        model: Any = _WindowedWhisper(
            source,
            device=device,
            compute_type=compute_type,
            cpu_threads=threads,
            local_files_only=True,
            files=files,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise VoiceModelError(
            translate(
                "Voice", "The Whisper model {name} cannot be loaded on {device} ({exc})."
            ).format(name=Path(source).name, device=device, exc=exc)
        ) from exc
    finally:
        for value in (files or {}).values():
            if hasattr(value, "close"):
                value.close()
    # Every decoding attempt (one per temperature of faster-whisper's fallback, each up to
    # a second of work here) first looks at ``stop``.
    model.model = _Stoppable(model.model, model)
    log.info(
        "whisper %s loaded on %s/%s in %.1f s",
        source,
        device,
        compute_type,
        time.perf_counter() - started,
    )
    return model, Path(source).name


class TranscriptionStopped(Exception):
    """The transcription was given up: its ``stop`` event was set (internal)."""


def _check_stop(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise TranscriptionStopped


class _Stoppable:
    """CTranslate2's Whisper, each ``generate`` first checking its owner's ``stop``."""

    def __init__(self, inner: Any, owner: Any) -> None:
        self._inner = inner
        self._owner = owner

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        _check_stop(self._owner.stop)
        return self._inner.generate(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class SpeechToText:
    """A loaded Whisper model. ``transcribe`` is serialised: one utterance at a time."""

    def __init__(
        self,
        model: Any,
        config: SttConfig,
        name: str,
        device: str,
        *,
        notice: str | None = None,
        source: ModelEntry | str | Path | None = None,
    ) -> None:
        self._model = model
        self.config = config
        self.name = name
        self.device = device
        # Why Whisper is on the CPU although a CUDA GPU was found (one sentence), or None.
        self.notice = notice
        self._source = source  # to load again on the CPU when CUDA fails
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, entry_or_path: ModelEntry | str | Path, config: SttConfig | None = None
    ) -> SpeechToText:
        """Load a Whisper model (CTranslate2 format) from a library entry or a folder.

        ``config.device`` "auto" takes CUDA when a GPU and cuBLAS 12 are there (see
        :func:`choose_device`), and the CPU, with a :attr:`notice`, when CUDA fails.
        """
        config = config or SttConfig()
        device, notice = choose_device(config.device)
        try:
            model, name = _open_model(entry_or_path, config, device)
        except VoiceModelError as exc:
            if not (config.device == "auto" and device == "cuda" and exc.__cause__):
                raise
            notice = translate(
                "Voice", "Whisper runs on the CPU: it could not be loaded on the CUDA GPU ({exc})."
            ).format(exc=exc.__cause__)
            device = "cpu"
            model, name = _open_model(entry_or_path, replace(config, compute_type=None), device)
        if notice:
            log.warning("%s", notice)
        return cls(model, config, name, device, notice=notice, source=entry_or_path)

    def _fall_back(self, error: BaseException) -> bool:
        """After CTranslate2 failed on CUDA with ``error``: load the model on the CPU and
        say so (True), when "auto" chose CUDA. False when not on CUDA (not a CUDA
        failure); :class:`VoiceModelError` when CUDA was asked for explicitly."""
        if self.device != "cuda":
            return False
        if self.config.device == "cuda":
            raise VoiceModelError(
                translate(
                    "Voice",
                    "Whisper failed on the CUDA GPU ({error}); use the CPU (--stt-device auto or "
                    "cpu).",
                ).format(error=error)
            ) from error
        if self._source is None:
            return False
        with self._lock:
            if self.device == "cuda":  # another thread may have fallen back meanwhile
                cpu = replace(self.config, device="cpu", compute_type=None)
                self._model, _ = _open_model(self._source, cpu, "cpu")
                self.device = "cpu"
                self.notice = translate(
                    "Voice", "Whisper runs on the CPU: it failed on the CUDA GPU ({error})."
                ).format(error=error)
                log.warning("%s", self.notice)
        return True

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def warm_up(self) -> None:
        """One tiny transcription per pass, so the first real one does not pay for
        allocations (the final pass's window is larger than the draft's).

        On CUDA, this is where a missing library or a kernel the GPU cannot run shows up
        first: "auto" then falls back to the CPU (see :attr:`notice`).
        """
        rng = np.random.default_rng(0)
        noise = (rng.standard_normal(SAMPLE_RATE) * 0.01).astype(np.float32)
        try:
            self._warm_up(noise)
        except (RuntimeError, OSError) as exc:
            if not self._fall_back(exc):
                raise
            self._warm_up(noise)

    def _warm_up(self, noise: Samples) -> None:
        try:
            self._run(noise, "en", frames=self._draft_frames(noise), draft=True, budget=4)
            self._run(noise, "en", frames=self._final_frames(noise), draft=False, budget=4)
        finally:
            self._model.last_encoded = None

    def transcribe(
        self,
        audio: Samples,
        language: str | None = None,
        *,
        likely: str | None = None,
        draft: bool = False,
        stop: threading.Event | None = None,
    ) -> Transcript:
        """Text of a 16 kHz mono utterance; empty (with ``rejected`` set) when it is not speech.

        ``draft``: the cheap pass (see the module docstring), for a speculative or running
        transcript; the default is the final pass, the one to store and answer.
        ``likely``: when the language is detected, the one the conversation is in. An unsure
        detection of another language is transcribed again in ``likely``, and the more
        probable text of the two is kept (a short English question can come out as Arabic).
        ``stop``: once set, the transcription is given up before Whisper's next encoder or
        decoder run (its text is no longer wanted), and comes back empty, rejected
        "stopped".
        """
        started = time.perf_counter()
        lang = language if language is not None else self.config.language
        audio_s = audio.size / SAMPLE_RATE
        if audio.size < SAMPLE_RATE // 10 or float(np.max(np.abs(audio), initial=0.0)) < 1e-4:
            return Transcript("", lang or "", 0.0, audio_s, 0.0, rejected="silence", draft=draft)
        try:
            try:
                result = self._decode(audio, lang, likely, draft, stop)
            except (RuntimeError, OSError) as exc:
                # CTranslate2 failed on CUDA (a library, memory, a kernel): on the CPU, again.
                if not self._fall_back(exc):
                    raise
                result = self._decode(audio, lang, likely, draft, stop)
        except TranscriptionStopped:
            log.info("transcription of %.1f s given up: no longer wanted", audio_s)
            took = time.perf_counter() - started
            return Transcript("", lang or "", 0.0, audio_s, took, rejected="stopped", draft=draft)
        text = _collapse_han_runs(_collapse_runs(_collapse_repeats(result["text"])))
        if draft:
            text = _drop_unfinished_repeat(_drop_restarts(_collapse_short_loops(text)))
        rejected = None
        unsure = result["no_speech_prob"] > 0.3
        if text and _is_silence_phrase(text) and unsure:
            rejected = f"silence phrase {text!r}"
        elif text and (
            result["avg_logprob"] < self.config.reject_logprob
            or (unsure and result["avg_logprob"] < self.config.log_prob_threshold)
        ):
            rejected = f"{REJECTED_UNLIKELY} {text!r} (log-prob {result['avg_logprob']:.2f})"
        elif text and not re.search(r"[^\W_]", text):
            # Marks and symbols only (" ̄ ̄ ̄ ..."): a decoder loop on noise, not words.
            rejected = f"no words in {text!r}"
        elif not text:
            rejected = "no speech"
        if rejected:
            text = ""
        return Transcript(
            text=text,
            language=result["language"],
            language_probability=result["language_probability"],
            audio_s=audio_s,
            elapsed_s=time.perf_counter() - started,
            no_speech_prob=result["no_speech_prob"],
            avg_logprob=result["avg_logprob"],
            full_window=bool(result.get("full_window", False)),
            rejected=rejected,
            draft=draft,
            sampled=_was_sampled(result),
        )

    def _decode(
        self,
        audio: Samples,
        lang: str | None,
        likely: str | None,
        draft: bool,
        stop: threading.Event | None = None,
    ) -> dict[str, Any]:
        """One pass (see :meth:`transcribe`), again in ``likely`` when the language
        detected is unsure and not it; the more probable result."""
        one_pass = self._draft_pass if draft else self._final_pass
        with self._lock:
            self._model.stop = stop
            try:
                result = one_pass(audio, lang)
                unsure = self.config.draft_unsure_language if draft else self.config.unsure_language
                if (
                    lang is None
                    and likely
                    and result["language"] != likely
                    and result["language_probability"] < unsure
                ):
                    # The same window again: the encoder's output is reused (see _open_model).
                    again = one_pass(audio, likely)
                    log.info(
                        "detected %s (%.2f) is unsure; transcribed again in %s",
                        result["language"],
                        result["language_probability"],
                        likely,
                    )
                    log.debug(
                        "unsure transcript %r; in %s: %r", result["text"], likely, again["text"]
                    )
                    if _likelihood(again) >= _likelihood(result):
                        result = again
            finally:
                self._model.stop = None
                self._model.last_encoded = None  # an encoder output is ~3 MB: not kept
        return result

    def _tokenizer(self, language: str) -> Any:
        tokenizer = importlib.import_module("faster_whisper.tokenizer").Tokenizer
        return tokenizer(self._model.hf_tokenizer, True, task="transcribe", language=language)

    def text_tokens(self, text: str, language: str = "en") -> list[int]:
        """The decoder's tokens for ``text`` said in ``language`` (after a space, as in a
        transcript)."""
        return list(self._tokenizer(language).encode(f" {text}"))

    def end_of_text(self, language: str = "en") -> int:
        """The decoder's end-of-transcript token (for :meth:`forced_token_probs`' ``then``)."""
        return int(self._tokenizer(language).eot)

    def forced_token_probs(
        self,
        audio: Samples,
        readings: Sequence[Sequence[int]],
        language: str = "en",
        then: Sequence[int] = (),
    ) -> list[list[float]]:
        """Each reading (tokens, see :meth:`text_tokens`) forced through Whisper's decoder
        as the transcript of ``audio``: each token's probability, then the probability of
        each token of ``then`` coming right after the reading (e.g. "," or
        :meth:`end_of_text`), for spotting a phrase the greedy text may miss. One decoder
        pass per reading (CTranslate2's ``generate`` with the reading as its prefix and
        the vocabulary's logits returned); the encoder sees the audio's frames and a
        second of silence, as the draft pass does."""
        model = self._model
        start = [*self._tokenizer(language).sot_sequence, self._tokenizer(language).no_timestamps]
        ctranslate2 = importlib.import_module("ctranslate2")
        padded = np.concatenate([audio.astype(np.float32), np.zeros(SAMPLE_RATE, np.float32)])
        out = []
        with self._lock:
            features = model.feature_extractor(padded)
            frames = features.shape[-1] - 1
            frames -= frames % 2
            features = np.ascontiguousarray(features[None, :, :frames])
            encoded = model.model.encode(ctranslate2.StorageView.from_array(features))
            for tokens in readings:
                found = model.model.generate(
                    encoded,
                    [[*start, *tokens]],
                    beam_size=1,
                    max_length=len(start) + 2 * len(tokens) + 2,
                    return_logits_vocab=True,
                    suppress_blank=False,
                    suppress_tokens=[],
                )[0]
                # One row of logits per forced token and one for the token after them.
                logits = np.asarray(found.logits[0], dtype=np.float64)[: len(tokens) + 1]
                logp = logits - logits.max(axis=1, keepdims=True)
                logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
                probs = [float(np.exp(logp[i, t])) for i, t in enumerate(tokens)]
                out.append(probs + [float(np.exp(logp[-1, t])) for t in then])
        return out

    def _draft_pass(self, audio: Samples, language: str | None) -> dict[str, Any]:
        """Greedy over a short window (``_draft_frames``); over the full window when that
        loops."""
        budget = int(self.config.tokens_per_second * audio.size / SAMPLE_RATE) + 10
        short = self.config.short_window and audio.size < 28 * SAMPLE_RATE
        frames = self._draft_frames(audio) if short else 0
        result = self._run(audio, language, frames=frames, draft=True, budget=budget)
        if short and _suspicious(result, budget):
            log.info(
                "short-window transcript looks degenerate (%d tokens, ratio %.2f); "
                "using the full window",
                result["tokens"],
                result["compression_ratio"],
            )
            log.debug("degenerate short-window transcript: %r", result["text"])
            result = self._run(audio, language, frames=0, draft=True, budget=budget)
            result["full_window"] = True
        return result

    def _final_pass(self, audio: Samples, language: str | None) -> dict[str, Any]:
        """The library's decoding over a window of at least ``final_window_s``."""
        # Generous: only a decoder loop reaches three times the draft's budget.
        budget = int(3 * self.config.tokens_per_second * audio.size / SAMPLE_RATE) + 20
        frames = self._final_frames(audio)
        result = self._run(audio, language, frames=frames, draft=False, budget=budget)
        if frames and _suspicious(result, budget):
            log.info("final transcript looks degenerate; using the full window")
            result = self._run(audio, language, frames=0, draft=False, budget=budget)
        result["full_window"] = not frames or bool(result.get("full_window"))
        for take in range(1, self.final_takes):
            later = audio[take * TAKE_STEP :]
            other = self._run(later, language, frames=frames, draft=False, budget=budget)
            other["full_window"] = result["full_window"]
            log.debug("final take %d: %r (%.2f)", take + 1, other["text"], other["avg_logprob"])
            if _likelihood(other) > _likelihood(result):
                result = other
        return result

    @property
    def final_takes(self) -> int:
        """How many takes the final pass decodes (see ``SttConfig.final_takes``)."""
        takes = self.config.final_takes
        if takes is None:
            return GPU_FINAL_TAKES if self.device == "cuda" else 1
        return max(1, takes)

    def _draft_frames(self, audio: Samples) -> int:
        """The draft's encoder window in frames: the audio and the second of silence
        ``_run`` adds, ``draft_window_s`` at least; 0 for Whisper's full window."""
        own = math.ceil((audio.size + SAMPLE_RATE) / 160) + 1
        frames = max(own, math.ceil(self.config.draft_window_s * 100))
        return 0 if frames >= FULL_WINDOW_S * 100 else frames

    def _final_frames(self, audio: Samples) -> int:
        """The final pass's encoder window in frames; 0 for Whisper's full window."""
        window_s = max(self.config.final_window_s, audio.size / SAMPLE_RATE + 1.0)
        return 0 if window_s >= FULL_WINDOW_S else math.ceil(window_s * 100)

    def _run(
        self,
        audio: Samples,
        language: str | None,
        *,
        frames: int,
        draft: bool,
        budget: int,
        prompted: bool = True,
    ) -> dict[str, Any]:
        """One transcription, the encoder limited to ``frames`` (0: the full window).

        The language's prompt is given (``prompted``) unless Whisper reads it back as the
        transcript, as it can on unclear speech: then again without it, as plain
        faster-whisper decodes.
        """
        model = self._model
        heard = audio
        audio = audio.astype(np.float32)
        if draft and frames:
            # Real silence after the speech (not the zero features faster-whisper pads
            # with) tells the decoder where a short window's speech ends; without it, it
            # loops.
            audio = np.concatenate([audio, np.zeros(SAMPLE_RATE, dtype=np.float32)])
        model.encode_frames = frames
        if draft:
            decoding: dict[str, Any] = {
                "beam_size": self.config.draft_beam_size,
                "temperature": 0.0,  # fallback temperatures multiply the cost of bad audio
                "condition_on_previous_text": False,
                "without_timestamps": True,
            }
        else:
            # faster-whisper's defaults for everything else (temperature fallback,
            # compression-ratio test, timestamps): these are what parity was measured with.
            decoding = {"beam_size": self.config.beam_size}
        try:
            detected: tuple[str, float] | None = None
            if language is None and model.model.is_multilingual:
                # Detected here rather than by faster-whisper, so that the language's
                # prompt (below) can be chosen before decoding.
                detected = self._detect_language(audio)
                language = detected[0]
            prompt = self.config.prompts.get(language or "")
            segments, info = model.transcribe(
                audio,
                language=language,
                initial_prompt=prompt if prompted else None,
                no_speech_threshold=self.config.no_speech_threshold,
                log_prob_threshold=self.config.log_prob_threshold,
                max_new_tokens=budget,
                vad_filter=False,  # our VAD already cut the utterance
                **decoding,
            )
            # A segment Whisper takes for no speech but keeps for a text sampled by its
            # temperature fallback (whose log-probability reads higher than a beam's, see
            # _likelihood) is a hallucination: a 50 Hz hum came out as "You're going to be
            # able to make a new," so. The beam's texts get faster-whisper's own test.
            kept = [s for s in segments if not _sampled_silence(s, self.config.no_speech_threshold)]
        finally:
            model.encode_frames = 0
        tokens = sum(len(s.tokens) for s in kept)
        text = " ".join(s.text.strip() for s in kept).strip()
        if prompted and prompt and _echoes(prompt, text):
            log.info("the transcript read back the %s prompt; decoding again without it", language)
            log.debug("prompt read back: %r", text)
            again = self._run(
                heard, language, frames=frames, draft=draft, budget=budget, prompted=False
            )
            if detected:  # the language detected before, not the one it was forced to
                again["language_probability"] = detected[1]
            return again
        return {
            "text": text,
            "language": str(info.language),
            "language_probability": (detected[1] if detected else float(info.language_probability)),
            "no_speech_prob": max((float(s.no_speech_prob) for s in kept), default=1.0),
            "avg_logprob": min((float(s.avg_logprob) for s in kept), default=0.0),
            "compression_ratio": max((float(s.compression_ratio) for s in kept), default=0.0),
            # Above 0: the beam's text failed faster-whisper's quality tests and this one
            # was sampled (temperature fallback).
            "temperature": max((float(s.temperature or 0.0) for s in kept), default=0.0),
            "tokens": tokens,
        }

    def _detect_language(self, audio: Samples) -> tuple[str, float]:
        """The most likely language and its probability, from the very window the decoder
        encodes next (so the encoder runs once for both)."""
        model = self._model
        features = model.feature_extractor(audio)
        # As faster-whisper's decoder cuts its first window: the last frame is dropped.
        window = importlib.import_module("faster_whisper.audio").pad_or_trim(
            features[:, : features.shape[-1] - 1]
        )
        token, probability = model.model.detect_language(model.encode(window))[0][0]
        return str(token)[2:-2], float(probability)


def _echoes(prompt: str, text: str) -> bool:
    """Whether ``text`` has the prompt in it (either Chinese script, any punctuation):
    Whisper reading its prompt back, not the speaker saying it."""
    from app.voice.chinese_script import convert

    wanted = _key(convert(prompt, "simplified"))
    return bool(wanted) and wanted in _key(convert(text, "simplified"))


def _likelihood(result: dict[str, Any]) -> tuple[bool, float]:
    """How probable a run's text is, for ranking two runs (no text: not at all).

    A text sampled by temperature fallback ranks below one the beam found: its beam text
    failed the quality tests, and its log-probability is scored on the sharpened
    distribution it was sampled from (at 0.2, five times the logits), so it reads higher
    than a beam's and differs from run to run.
    """
    if not result["text"]:
        return (False, -math.inf)
    return (not _was_sampled(result), float(result["avg_logprob"]))


def _was_sampled(result: dict[str, Any]) -> bool:
    """Whether a run's text came from the temperature fallback, not the beam."""
    return float(result.get("temperature", 0.0)) > 0.0


def _sampled_silence(segment: Any, no_speech_threshold: float) -> bool:
    """Whether a faster-whisper segment is likely no speech (above the threshold) and its
    text was sampled, the beam's having failed the quality tests."""
    return bool(segment.temperature) and float(segment.no_speech_prob) > no_speech_threshold


def _suspicious(result: dict[str, Any], budget: int) -> bool:
    """Signs of a decoder loop that collapsing repeats did not explain away."""
    text = str(result["text"])
    collapsed = _collapse_repeats(text)
    hit_budget = int(result["tokens"]) >= budget - 1
    return (hit_budget and collapsed == text) or _compression_ratio(collapsed) > 2.4


def _compression_ratio(text: str) -> float:
    """Whisper's own repetitiveness measure: raw bytes over zlib-compressed bytes."""
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


_SENTENCE_RE = re.compile(r"[^.!?。！？]+[.!?。！？]*")
# Where a comma or hyphen joins two words without a space ("1,5,2", "3-2").
_GLUED_RE = re.compile(r"(?<=\w[,-])(?=\w)")


def _key(sentence: str) -> str:
    return re.sub(r"[^\w\s]", "", sentence).strip().lower()


def _word_keys(words: list[str]) -> list[str]:
    """Each word without case or punctuation, to compare words as said."""
    return [re.sub(r"[^\w]", "", word).lower() for word in words]


def _collapse_repeats(text: str) -> str:
    """Undo a decoder loop: a sentence said again and again, a word said 3+ times.

    A short encoder window sometimes makes Whisper start the utterance over until its
    token budget runs out ("What do bees make? What do bees make? What do"): the
    repeats and the cut-off tail are dropped.
    """
    sentences = [s.strip() for s in _SENTENCE_RE.findall(text) if s.strip()]
    kept: list[str] = []
    for sentence in sentences:
        if kept and _key(sentence) == _key(kept[-1]):
            continue
        kept.append(sentence)
    last = kept[-1] if kept else ""
    if (
        len(kept) >= 2
        and last[-1:] not in ".!?。！？"
        and any(_key(earlier).startswith(_key(last)) for earlier in kept[:-1])
    ):
        kept.pop()  # the loop's last, unfinished round
    joined = " ".join(kept) if kept else text.strip()
    return re.sub(r"\b(\w+)(?:[\s,-]+\1\b){2,}", r"\1", joined, flags=re.IGNORECASE)


def _drop_restarts(text: str) -> str:
    """Drop a sentence that starts the one before it over with a word or two changed
    ("Set a timer for 10 minutes. Set timer for 10 minutes"): the draft pass's short
    window makes Whisper do that, and :func:`_collapse_repeats` only drops exact repeats.
    Only for drafts: a person may say a sentence twice, and the final pass hears it so.
    """
    sentences = [s.strip() for s in _SENTENCE_RE.findall(text) if s.strip()]
    kept: list[str] = []
    for sentence in sentences:
        words = _key(sentence).split()
        if kept and len(words) >= 3:
            before = _key(kept[-1]).split()
            alike = difflib.SequenceMatcher(None, before, words).ratio()
            # Near the same words, no more of them: "Turn on the lights. Turn off the
            # lights." (0.75 alike) is two requests.
            if words[0] == before[0] and len(words) <= len(before) and alike >= 0.85:
                continue
        kept.append(sentence)
    return " ".join(kept) if len(kept) < len(sentences) else text


def _drop_unfinished_repeat(text: str) -> str:
    """Drop the start of the sentence said over again, cut short, at the end of a draft
    ("Turn off the lights in the kitchen Turn off the lights in the"; "... sinmication
    Turn off the light sinm", the last word cut too; "Add milk and add bread to my
    shopping list. Add milk and bread to", a word left out): the short window's greedy
    pass starts over once and its token budget ends it. :func:`_collapse_runs` needs the
    words twice whole.

    Only for drafts, and only when the text stops unfinished, without a full stop (one
    after an initial does not count): a person may say "Open the garage. Please open the
    garage." The repeat must be three words at least, start like the words before it,
    follow them with at most one word in three left out, and not go further than they do.
    """
    # A full stop after a lone capital is an initial's ("Council Mayor M."): not an end.
    if re.search(r"[.?!。？！]\W*$", text) and not re.search(r"(?:^|\s)[A-Z]\.\W*$", text):
        return text
    words = text.split()
    keys = _word_keys(words)
    # The longest repeat first: the text is "<X><Y>", Y the start of X, cut short.
    for start in range(1, len(words) - 2):
        tail = keys[start:]
        if not all(tail):
            continue
        for begin in range(start):
            if _starts_over(keys[begin:start], tail):
                return " ".join(words[:start])
    return text


def _starts_over(said: list[str], again: list[str]) -> bool:
    """Whether ``again`` is the start of ``said`` said over: its words in the same order
    from the first on, at most one in three of ``said``'s left out, the last one
    possibly cut short."""
    if not said or said[0] != again[0]:
        return False
    skipped, at = 0, 0
    for n, word in enumerate(again):
        last = n == len(again) - 1
        while at < len(said) and not (said[at].startswith(word) if last else said[at] == word):
            at, skipped = at + 1, skipped + 1
        if at == len(said) or skipped > len(again) // 3:
            return False
        at += 1
    return True


def _collapse_runs(text: str) -> str:
    """Undo a loop that :func:`_collapse_repeats` misses, having no full stop to go by: a
    run of three or more words said again right after itself ("Play some relaxing music
    Play some relaxing music Play", the draft pass at the end of its speech), and a last
    round of it cut short.

    Three words at least: one or two said twice can be meant ("knock knock", "New York,
    New York"); a run of three said twice in a row is Whisper starting over. Words joined
    by a comma or hyphen count one by one ("1,5,2,1,5,2" from a draft on a clipped question).
    """
    words, glued = _split_glued(text)
    keys = _word_keys(words)
    kept: list[int] = []  # indices of the words kept
    i = 0
    while i < len(words):
        tail = [keys[k] for k in kept]
        for n in range(min(len(tail), len(words) - i), 2, -1):
            if keys[i : i + n] == tail[-n:] and all(tail[-n:]):
                i += n
                rest = keys[i:]
                if rest and len(rest) < n and rest == tail[-n:][: len(rest)]:
                    i = len(words)  # the loop's last, unfinished round
                break
        else:
            kept.append(i)
            i += 1
    return text if len(kept) == len(words) else _join_kept(words, glued, kept)


def _collapse_short_loops(text: str) -> str:
    """Undo a draft's loop of one or two words said on past a second round ("is it 5. 3.
    5. 3. 5.", "5. 5. 5."): :func:`_collapse_runs` leaves runs that short alone, since
    "knock knock" and "New York, New York" are said, and so is each kept here; a pair
    said two and a half times or a word three times is the short window's greedy pass
    going round. Only for drafts: a person may read out "5 3 5 3 5".
    """
    words, glued = _split_glued(text)
    keys = _word_keys(words)
    kept: list[int] = []
    i = 0
    while i < len(words):
        for n in (1, 2):
            period = [keys[k] for k in kept[-n:]]
            if len(period) < n or not all(period):
                continue
            span = 0
            while i + span < len(words) and keys[i + span] == period[span % n]:
                span += 1
            if span > n:  # past one more whole round
                i += span
                break
        else:
            kept.append(i)
            i += 1
    return text if len(kept) == len(words) else _join_kept(words, glued, kept)


def _split_glued(text: str) -> tuple[list[str], list[bool]]:
    """The words of ``text``, those joined by a comma or hyphen apart ("1,5,2"), and for
    each whether it was joined to the next without a space."""
    words: list[str] = []
    glued: list[bool] = []
    for word in text.split():
        parts = _GLUED_RE.split(word)
        words += parts
        glued += [True] * (len(parts) - 1) + [False]
    return words, glued


def _join_kept(words: list[str], glued: list[bool], kept: list[int]) -> str:
    """The words at ``kept`` put back together as :func:`_split_glued` found them, a
    comma or hyphen dropped where the word it joined is gone."""
    kept_set = set(kept)
    out = ""
    for k in kept:
        piece = words[k]
        if glued[k] and k + 1 not in kept_set:
            piece = piece.rstrip(",-")  # the word it was joined to is gone
        joined = k - 1 in kept_set and glued[k - 1]
        out += piece if joined or not out else " " + piece
    return out


# A character four times or more ("沃沃沃沃沃"); "对对对", "哈哈哈" are said.
_HAN_CHAR_LOOP = re.compile(f"([{HAN}])\\1{{3,}}")
# Two or three characters three times or more ("下雨下雨下雨"); "研究研究" is said.
_HAN_PAIR_LOOP = re.compile(f"([{HAN}]{{2,3}})\\1{{2,}}")
# Four or more characters twice in a row: Whisper starting the sentence over.
_HAN_RUN_LOOP = re.compile(f"([{HAN}]{{4,}})\\1+")


def _collapse_han_runs(text: str) -> str:
    """Undo a decoder loop in Chinese, which the word-based collapses miss (no spaces):
    a character said four times or more in a row, two or three said three times, four
    or more said twice, each kept once; and the broken character (U+FFFD) a loop cut by
    the token budget leaves in the middle of a character's bytes."""
    text = text.replace("\ufffd", "")
    for pattern in (_HAN_CHAR_LOOP, _HAN_PAIR_LOOP, _HAN_RUN_LOOP):
        text = pattern.sub(r"\1", text)
    return text.strip()


def _is_silence_phrase(text: str) -> bool:
    return re.sub(r"[^\w\s.]", "", text).strip(" .").lower() in _SILENCE_PHRASES
