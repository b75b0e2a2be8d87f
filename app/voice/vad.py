"""Voice activity: Silero VAD frame by frame, and the end-of-speech detector built on it.

Silero VAD (the ONNX model faster-whisper ships in ``faster_whisper/assets``) gives a
speech probability for each 32 ms frame at 16 kHz; its recurrent state is carried from
frame to frame, so streaming costs about a millisecond a frame. :class:`EndpointDetector`
turns probabilities into utterances: an onset needs a run of speech frames (a click or a
cough is not enough), the end needs a run of silence as long as the hang-over, and an
utterance with too little speech in it is dropped, so noise alone never makes a turn.
"""

from __future__ import annotations

import enum
import importlib
import importlib.util
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import VoiceModelError
from app.core.i18n import translate
from app.voice.audio_io import FRAME_SAMPLES, SAMPLE_RATE, RingBuffer, Samples

log = logging.getLogger(__name__)

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
_CONTEXT = 64  # samples of the previous frame Silero v5/v6 prepends at 16 kHz


def silero_model_path() -> Path:
    """The Silero VAD model inside the installed faster-whisper (not imported)."""
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise VoiceModelError(
            translate(
                "Voice",
                "faster-whisper is not installed, so Hearth has no voice-activity model. Install "
                "it with 'pip install faster-whisper'.",
            )
        )
    assets = Path(next(iter(spec.submodule_search_locations))) / "assets"
    found = sorted(assets.glob("silero_vad*.onnx"))
    if not found:
        raise VoiceModelError(
            translate("Voice", "No Silero VAD model was found in {assets}.").format(assets=assets)
        )
    return found[-1]


class SileroVad:
    """Speech probability of successive 512-sample frames (16 kHz), state kept between calls."""

    def __init__(self, model_path: Path | None = None) -> None:
        path = model_path or silero_model_path()
        try:
            ort = importlib.import_module("onnxruntime")
            options = ort.SessionOptions()
            # One thread: a frame is ~1 ms of work; more threads only add contention
            # with Whisper, Piper and llama.cpp on small machines.
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 4
            self._session: Any = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except ImportError as exc:
            raise VoiceModelError(
                translate("Voice", "onnxruntime is not installed: pip install onnxruntime")
            ) from exc
        except Exception as exc:  # onnxruntime raises its own exception types
            raise VoiceModelError(
                translate(
                    "Voice", "The voice-activity model {path} cannot be loaded ({exc})."
                ).format(path=path, exc=exc)
            ) from exc
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def __call__(self, frame: Samples) -> float:
        if frame.size != FRAME_SAMPLES:
            raise ValueError(f"Silero VAD takes {FRAME_SAMPLES}-sample frames, got {frame.size}")
        x = np.concatenate([self._context, frame]).astype(np.float32)[None, :]
        prob, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = frame[-_CONTEXT:].astype(np.float32)
        return float(np.asarray(prob).reshape(-1)[0])

    def probabilities(self, audio: Samples) -> Samples:
        """Per-frame probabilities of a whole clip (a trailing partial frame is dropped)."""
        self.reset()
        count = audio.size // FRAME_SAMPLES
        out = np.array(
            [self(audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]) for i in range(count)],
            dtype=np.float32,
        )
        self.reset()
        return out


@dataclass(frozen=True)
class VadConfig:
    """End-of-speech settings (times in milliseconds)."""

    threshold: float = 0.5  # speech probability that counts as speech
    release: float = 0.15  # silence is below threshold - release (hysteresis)
    onset_ms: int = 96  # this much continuous speech starts an utterance
    silence_ms: int = 600  # the hang-over: this much silence ends it
    pause_ms: int = 96  # silence after which a speculative transcription may start
    # A frame this sure of silence (Silero's probability below it) starts the pause at
    # once; others need ``pause_ms``. At the quiet line (threshold - release) every quiet
    # frame does: in 20 dB noise Silero's probability decays through 0.2-0.35 after
    # speech, and 0.2 here left the pause 119 ms after the speech (p50, 150 espeak and
    # Piper clips) against 78 ms. The cost: more drafts started in pauses between words
    # (73 against 50 in the 150 clean clips), made while the user is still talking.
    clear_silence: float = 0.35
    min_speech_ms: int = 250  # utterances with less speech than this are dropped
    # Audio kept from before the onset. Whisper hears the speculative turn's cut (this,
    # then the speech up to the pause) more like the whole recording with more of it:
    # on 24 sentences new to the word error benchmark (its --held-out set: 5 English
    # voices, clean and 20 dB; 240 clips), word error 18.1 / 26.2 % with 700 ms against
    # 19.5 / 29.6 % with 400, and no voice over plain faster-whisper on the whole clip
    # (one was 1.8 points over with 400). The draft reads 0.3 s more audio: +4 ms.
    pre_roll_ms: int = 700
    max_utterance_s: float = 30.0  # Whisper's window; longer speech is cut here

    def frames(self, ms: float) -> int:
        return max(1, round(ms / 1000 / FRAME_S))


class VadEventKind(enum.Enum):
    MAYBE_SPEECH = "maybe_speech"  # a first speech-like frame: an onset may follow
    NOT_SPEECH = "not_speech"  # ... and it did not
    SPEECH_START = "speech_start"
    PAUSE = "pause"  # silence began (``pause_ms``): the utterance may be over
    RESUME = "resume"  # speech came back after a pause
    SPEECH_END = "speech_end"  # the hang-over passed: the utterance is over
    DISCARDED = "discarded"  # the utterance ended with too little speech in it


@dataclass(frozen=True)
class VadEvent:
    kind: VadEventKind
    time: float  # perf_counter time of the frame that caused the event
    speech_start: float  # perf_counter time of the first speech frame
    speech_end: float  # perf_counter time of the last speech frame so far
    audio: Samples | None = None  # the utterance so far (PAUSE, SPEECH_END)
    speech_s: float = 0.0  # seconds of frames judged speech in it
    # Where ``audio`` starts in the stream the detector was fed (samples since it was
    # made): audio that ends where the next begins is one recording, joined as it is.
    first_sample: int = 0


@dataclass
class _Utterance:
    chunks: list[Samples] = field(default_factory=list)
    start: float = 0.0
    last_speech: float = 0.0
    speech_frames: int = 0
    silence_frames: int = 0
    paused: bool = False
    frames: int = 0
    first_sample: int = 0

    def audio(self) -> Samples:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.float32)


class EndpointDetector:
    """Frames in, utterance events out. Not thread-safe: feed it from one thread."""

    def __init__(self, vad: SileroVad, config: VadConfig | None = None) -> None:
        self.vad = vad
        self.config = config or VadConfig()
        cfg = self.config
        onset = cfg.frames(cfg.onset_ms)
        self._pre_roll = RingBuffer((cfg.frames(cfg.pre_roll_ms) + onset) * FRAME_SAMPLES)
        self._onset_frames = onset
        self._run = 0  # speech frames in the candidate onset
        self._run_frames = 0  # all frames of the candidate onset (0: none open)
        self._run_start = 0.0
        self._utterance: _Utterance | None = None
        self._fed = 0  # samples pushed so far: the stream position of the next frame
        self.last_probability = 0.0
        vad.reset()  # a new stream: the model's state from any earlier one does not apply

    @property
    def in_speech(self) -> bool:
        return self._utterance is not None

    @property
    def speech_s(self) -> float:
        """Seconds of frames judged speech in the open utterance (0 when none is open)."""
        utt = self._utterance
        return utt.speech_frames * FRAME_S if utt is not None else 0.0

    def utterance_audio(self) -> Samples | None:
        """The open utterance's audio so far (pre-roll included); None when none is open."""
        utt = self._utterance
        return utt.audio() if utt is not None else None

    def reset(self) -> None:
        """Forget any utterance in progress and the VAD's state."""
        self.vad.reset()
        self._pre_roll.clear()
        self._run = self._run_frames = 0
        self._utterance = None
        self._fed += 1  # a break in the stream: what comes next does not continue it

    def begin(self, now: float) -> None:
        """Start an utterance now, without waiting for speech (push-to-talk)."""
        self._utterance = self._open(now, now)

    def finish(self, now: float) -> VadEvent | None:
        """End the utterance now (push-to-talk release); ``None`` if none was open."""
        utt, self._utterance = self._utterance, None
        if utt is None:
            return None
        return VadEvent(
            VadEventKind.SPEECH_END,
            now,
            utt.start,
            utt.last_speech,
            utt.audio(),
            utt.speech_frames * FRAME_S,
            utt.first_sample,
        )

    def _open(self, start: float, last_speech: float, speech_frames: int = 0) -> _Utterance:
        """A new utterance, from the pre-roll on."""
        pre_roll = self._pre_roll.get()
        self._pre_roll.clear()
        return _Utterance(
            chunks=[pre_roll],
            start=start,
            last_speech=last_speech,
            speech_frames=speech_frames,
            first_sample=self._fed - pre_roll.size,
        )

    def push(self, frame: Samples, now: float, *, detect: bool = True) -> list[VadEvent]:
        """Feed one frame captured at ``now``; returns the events it caused.

        With ``detect=False`` (push-to-talk) onsets and ends are not looked for, but an
        open utterance still collects audio and counts its speech.
        """
        cfg = self.config
        self._fed += frame.size
        prob = self.vad(frame)
        self.last_probability = prob
        speech = prob >= cfg.threshold
        quiet = prob < cfg.threshold - cfg.release
        utt = self._utterance
        if utt is None:
            self._pre_roll.extend(frame)
            if not detect:
                return []
            events: list[VadEvent] = []
            if quiet:
                if self._run_frames:  # the candidate onset is withdrawn
                    self._run = self._run_frames = 0
                    events.append(VadEvent(VadEventKind.NOT_SPEECH, now, now, now))
                return events
            if self._run_frames == 0:
                self._run_start = now - FRAME_S
                events.append(VadEvent(VadEventKind.MAYBE_SPEECH, now, now - FRAME_S, now))
            self._run_frames += 1
            if speech:
                self._run += 1
            if self._run < self._onset_frames:
                # Probabilities hovering between the thresholds do not make an onset.
                if self._run_frames > self._onset_frames + 3:
                    self._run = self._run_frames = 0
                    events.append(VadEvent(VadEventKind.NOT_SPEECH, now, now, now))
                return events
            self._utterance = self._open(self._run_start, now, self._run)
            self._run = self._run_frames = 0
            return [*events, VadEvent(VadEventKind.SPEECH_START, now, self._run_start, now)]

        utt.chunks.append(frame)
        utt.frames += 1
        out: list[VadEvent] = []
        if speech:
            utt.speech_frames += 1
        if not quiet:
            utt.last_speech = now
            utt.silence_frames = 0
            if utt.paused:
                utt.paused = False
                out.append(VadEvent(VadEventKind.RESUME, now, utt.start, now))
        else:
            utt.silence_frames += 1
        if not detect:
            return out
        too_long = (now - utt.start) >= cfg.max_utterance_s
        if utt.silence_frames >= cfg.frames(cfg.silence_ms) or too_long:
            self._utterance = None
            self._pre_roll.clear()
            speech_s = utt.speech_frames * FRAME_S
            kind = (
                VadEventKind.SPEECH_END
                if speech_s * 1000 >= cfg.min_speech_ms
                else VadEventKind.DISCARDED
            )
            audio = utt.audio() if kind is VadEventKind.SPEECH_END else None
            end = now if too_long else utt.last_speech
            out.append(VadEvent(kind, now, utt.start, end, audio, speech_s, utt.first_sample))
        elif (
            not utt.paused
            and (
                utt.silence_frames >= cfg.frames(cfg.pause_ms)
                or (quiet and prob < cfg.clear_silence)
            )
            and utt.speech_frames * FRAME_S * 1000 >= cfg.min_speech_ms
        ):
            utt.paused = True
            out.append(
                VadEvent(
                    VadEventKind.PAUSE,
                    now,
                    utt.start,
                    utt.last_speech,
                    utt.audio(),
                    utt.speech_frames * FRAME_S,
                    utt.first_sample,
                )
            )
        return out
