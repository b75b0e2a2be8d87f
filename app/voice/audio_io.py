"""Microphone and speaker: device choice, 16 kHz capture, pre-roll, level meter, playback.

Capture always hands out 16 kHz mono float32 frames of :data:`FRAME_SAMPLES` samples (what
Silero VAD and Whisper want). A device that refuses 16 kHz is opened at its own rate and
resampled here. Playback runs at the voice's rate when the device takes it, else at the
device's rate with resampling, and can be stopped at once (barge-in).

sounddevice (PortAudio) is imported on first use, never at module import.
"""

from __future__ import annotations

import collections
import importlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from app.core.errors import AudioDeviceError
from app.core.i18n import translate
from app.voice.sound_server import opened_on, server_devices

log = logging.getLogger(__name__)

Samples = npt.NDArray[np.float32]
Kind = Literal["input", "output"]

SAMPLE_RATE = 16_000  # what Whisper and Silero VAD expect
FRAME_SAMPLES = 512  # 32 ms: the frame size Silero VAD v5/v6 is trained on at 16 kHz
FALLBACK_RATES = (48_000, 44_100, 32_000, 22_050)


def sounddevice() -> Any:
    """The sounddevice module, imported on first use (importing it loads PortAudio)."""
    try:
        return importlib.import_module("sounddevice")
    except OSError as exc:  # the PortAudio shared library itself is missing
        raise AudioDeviceError(
            translate(
                "Errors",
                "The PortAudio library is missing, so Hearth cannot use audio devices. "
                "Install it (Debian/Ubuntu: apt install libportaudio2).",
            )
        ) from exc


# -- devices ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device as the settings page and ``hearth voice --list-devices`` show it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False
    # A sound server's own source or sink (see app.voice.sound_server), opened through
    # PortAudio's device ``portaudio_index`` ("pulse"); None for PortAudio's own devices.
    server_name: str | None = None
    via_index: int = -1

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels

    @property
    def portaudio_index(self) -> int:
        """The PortAudio device a stream on this device is opened on."""
        return self.via_index if self.server_name is not None else self.index


def refresh_devices() -> None:
    """Re-scan devices (PortAudio only sees devices present when it started).

    Only call this while no stream is open: restarting PortAudio closes every stream.
    """
    sd = sounddevice()
    sd._terminate()
    sd._initialize()


def list_devices() -> list[AudioDevice]:
    """Every audio device PortAudio knows, with the defaults marked."""
    sd = sounddevice()
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise AudioDeviceError(
            translate("Errors", "The audio devices cannot be listed ({error}).").format(error=exc)
        ) from exc
    devices = []
    for index, info in enumerate(raw):
        devices.append(
            AudioDevice(
                index=index,
                name=str(info["name"]),
                hostapi=str(hostapis[info["hostapi"]]["name"]),
                max_input_channels=int(info["max_input_channels"]),
                max_output_channels=int(info["max_output_channels"]),
                default_samplerate=float(info["default_samplerate"]),
                is_default_input=index == default_in,
                is_default_output=index == default_out,
            )
        )
    return devices + _server_devices(devices)


def _server_devices(devices: list[AudioDevice]) -> list[AudioDevice]:
    """The sound server's sources and sinks, reached through PortAudio's "pulse" device,
    numbered after PortAudio's own."""
    via = next((d for d in devices if d.name == "pulse"), None)
    if via is None:
        return []
    found = []
    servers = server_devices()
    # Shown by the server's description; its own (long, technical) name is added only
    # to tell apart two with the same description.
    seen = collections.Counter(server.description for server in servers)
    for n, server in enumerate(servers, start=len(devices)):
        can_in = server.kind == "input"
        unique = seen[server.description] == 1 and server.description != server.name
        found.append(
            AudioDevice(
                index=n,
                name=server.description if unique else f"{server.description} ({server.name})",
                hostapi="sound server",
                max_input_channels=via.max_input_channels if can_in else 0,
                max_output_channels=0 if can_in else via.max_output_channels,
                default_samplerate=via.default_samplerate,
                server_name=server.name,
                via_index=via.index,
            )
        )
    return found


def _what(kind: Kind) -> str:
    return "microphone" if kind == "input" else "speaker"


def _noun(what: str) -> str:
    """``what`` ("microphone", "speaker" or "device") as a sentence says it to the user."""
    if what == "microphone":
        return translate("Errors", "microphone")
    if what == "speaker":
        return translate("Errors", "speaker")
    return translate("Errors", "device")


def resolve_device(spec: str | int | None, kind: Kind) -> AudioDevice:
    """The device ``spec`` names (index, or part of its name), or the system default."""
    devices = [d for d in list_devices() if d.channels(kind) > 0]
    what = _what(kind)
    if not devices:
        raise AudioDeviceError(
            translate(
                "Errors",
                "No {what} was found. Connect one, or check that the sound server "
                "(PulseAudio or PipeWire) is running.",
            ).format(what=_noun(what))
        )
    if spec is None or spec == "":
        for device in devices:
            if device.is_default_input if kind == "input" else device.is_default_output:
                return device
        return devices[0]  # no default set: the first usable one is the best guess
    if isinstance(spec, int) or spec.isdigit():
        wanted = int(spec)
        for device in devices:
            if device.index == wanted:
                return device
        raise AudioDeviceError(
            translate(
                "Errors",
                "There is no {what} number {number}. "
                "Run 'hearth voice --list-devices' to see them.",
            ).format(what=_noun(what), number=wanted)
        )
    exact = [d for d in devices if d.name.lower() == spec.lower()]
    partial = [d for d in devices if spec.lower() in d.name.lower()]
    if exact or partial:
        return (exact or partial)[0]
    raise AudioDeviceError(
        translate(
            "Errors", "No {what} is called {name!r}. Run 'hearth voice --list-devices' to see them."
        ).format(what=_noun(what), name=spec)
    )


def _negotiate(
    device: AudioDevice, kind: Kind, rates: Sequence[int], *, strict: bool
) -> tuple[int, int]:
    """The first (rate, channels) the device accepts, mono preferred."""
    sd = sounddevice()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    channel_options = [1] if device.channels(kind) >= 1 else []
    if device.channels(kind) >= 2:
        channel_options.append(2)  # some hardware opens only in stereo; we downmix/duplicate
    tried: list[int] = []
    for rate in dict.fromkeys(rates):
        tried.append(rate)
        for channels in channel_options:
            try:
                with opened_on(kind, device.server_name):
                    check(
                        device=device.portaudio_index,
                        samplerate=rate,
                        channels=channels,
                        dtype="float32",
                    )
            except (sd.PortAudioError, ValueError):
                continue
            return rate, channels
        if strict:
            break
    listed = " or ".join(f"{r} Hz" for r in tried)
    raise AudioDeviceError(
        translate(
            "Errors",
            "The {what} {name!r} does not accept {rates}. Choose another device or sample rate.",
        ).format(what=_noun(_what(kind)), name=device.name, rates=listed)
    )


# -- signal helpers ---------------------------------------------------------------------
def rms_dbfs(samples: npt.NDArray[np.floating[Any]]) -> float:
    """Loudness of a block in dB relative to full scale (-120 for digital silence)."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(-120.0, 20.0 * math.log10(rms)) if rms > 0 else -120.0


class LevelMeter:
    """A level for a meter widget: fast attack, slow release, in dBFS."""

    def __init__(self, release_db_per_s: float = 24.0) -> None:
        self.release_db_per_s = release_db_per_s
        self.level = -120.0
        self._last: float | None = None

    def update(self, samples: Samples, now: float) -> float:
        block = rms_dbfs(samples)
        if self._last is not None and block < self.level:
            block = max(block, self.level - self.release_db_per_s * (now - self._last))
        self._last = now
        self.level = block
        return block


class RingBuffer:
    """The last ``capacity`` samples, so an utterance can start before its onset was seen."""

    def __init__(self, capacity: int) -> None:
        self._data = np.zeros(max(1, capacity), dtype=np.float32)
        self._filled = 0
        self._end = 0

    @property
    def capacity(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        return self._filled

    def extend(self, samples: Samples) -> None:
        cap = self._data.size
        if samples.size >= cap:
            self._data[:] = samples[-cap:]
            self._end, self._filled = 0, cap
            return
        first = min(samples.size, cap - self._end)
        self._data[self._end : self._end + first] = samples[:first]
        rest = samples.size - first
        if rest:
            self._data[:rest] = samples[first:]
        self._end = (self._end + samples.size) % cap
        self._filled = min(cap, self._filled + samples.size)

    def get(self) -> Samples:
        """The buffered samples, oldest first (a copy)."""
        if self._filled < self._data.size:
            start = (self._end - self._filled) % self._data.size
            if start + self._filled <= self._data.size:
                return self._data[start : start + self._filled].copy()
        return np.concatenate([self._data[self._end :], self._data[: self._end]])[-self._filled :]

    def clear(self) -> None:
        self._filled = 0
        self._end = 0


def _lowpass_taps(cutoff: float, taps: int) -> npt.NDArray[np.float64]:
    """A windowed-sinc low-pass FIR; ``cutoff`` as a fraction of the sample rate."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(taps)
    return np.asarray(h / h.sum(), dtype=np.float64)


class Resampler:
    """Streaming sample-rate conversion for speech: anti-alias FIR, then interpolation.

    Keeps its state between blocks, so a stream cut in arbitrary pieces resamples the same
    as in one piece. Quality is ample for speech (the FIR passes 0.45 of the lower rate).
    """

    def __init__(self, src_rate: int, dst_rate: int, taps: int = 63) -> None:
        self.src_rate, self.dst_rate = src_rate, dst_rate
        self._step = src_rate / dst_rate  # input samples per output sample
        self._fir = _lowpass_taps(0.45 * dst_rate / src_rate, taps) if dst_rate < src_rate else None
        self._history = np.zeros(taps - 1, dtype=np.float64)
        self._prev = 0.0  # last input sample of the previous block, for interpolation
        self._pos = 1.0  # next output position, in input samples, relative to ``_prev``

    def process(self, samples: Samples) -> Samples:
        if self.src_rate == self.dst_rate:
            return samples.astype(np.float32, copy=False)
        x = samples.astype(np.float64)
        if self._fir is not None:
            padded = np.concatenate([self._history, x])
            self._history = padded[-(self._fir.size - 1) :]
            x = np.convolve(padded, self._fir, mode="valid")
        buf = np.concatenate([[self._prev], x])
        last = buf.size - 1
        if self._pos > last:
            self._pos -= x.size
            self._prev = float(buf[-1])
            return np.zeros(0, dtype=np.float32)
        count = math.floor((last - self._pos) / self._step) + 1
        positions = self._pos + self._step * np.arange(count)
        out: npt.NDArray[np.float64] = np.interp(positions, np.arange(buf.size), buf)
        self._pos = positions[-1] + self._step - x.size
        self._prev = float(buf[-1])
        return out.astype(np.float32)


def resample(samples: Samples, src_rate: int, dst_rate: int) -> Samples:
    """Resample a whole clip (see :class:`Resampler`)."""
    if src_rate == dst_rate:
        return samples.astype(np.float32, copy=False)
    return Resampler(src_rate, dst_rate).process(samples)


# -- streams ----------------------------------------------------------------------------
class _RunningStream:
    """A PortAudio stream kept running: opened, checked, reopened when it stalls.

    PortAudio 19.6's ALSA backend (what Debian and Ubuntu ship) is unreliable with ALSA
    plugin devices (PulseAudio's, PipeWire's): a new stream sometimes stalls after its
    first buffer, or starts only after a two-second poll timeout, with no error. So a
    stream counts as started only once it has moved real audio, and is reopened when its
    callbacks stop. A device that is really gone fails to reopen, which is reported as an
    :class:`AudioDeviceError` within about a second; one that opens but never moves audio
    is given about ten seconds over five attempts.
    """

    what = "device"
    VERIFY_S = 0.3  # audio that must flow before a new stream is trusted
    VERIFY_TIMEOUT_S = 0.6  # the first attempt's wait; each retry waits twice as long
    VERIFY_TIMEOUT_MAX_S = 3.0  # past PortAudio's two-second poll timeout
    RESTART_AFTER_S = 1.0  # no callback for this long: reopen
    ATTEMPTS = 5
    MAX_RESTARTS_PER_MINUTE = 6

    def __init__(self, device: AudioDevice, rate: int) -> None:
        self.device = device
        self.rate = rate
        self._stream: Any = None
        self._stream_lock = threading.Lock()
        self._frames_seen = 0
        self._verify_target = 0
        self._verified = threading.Event()
        self._last_callback = 0.0
        self._restarts: list[float] = []

    @property
    def restarts(self) -> int:
        """Reopenings in the last minute."""
        now = time.perf_counter()
        return sum(1 for t in self._restarts if now - t < 60.0)

    STREAM = "Stream"  # the sounddevice class: InputStream or OutputStream
    KIND: Kind  # which way audio flows: "input" or "output"
    BUFFER_S = 0.05
    _channels: int
    _callback: Callable[..., None]  # PortAudio's callback, the subclass's own

    def _blocksize(self) -> int:
        raise NotImplementedError

    def _new_stream(self) -> Any:
        sd = sounddevice()
        try:
            with opened_on(self.KIND, self.device.server_name):
                return getattr(sd, self.STREAM)(
                    device=self.device.portaudio_index,
                    samplerate=self.rate,
                    channels=self._channels,
                    dtype="float32",
                    blocksize=self._blocksize(),
                    latency=self.BUFFER_S,
                    callback=self._callback,
                )
        except (sd.PortAudioError, ValueError) as exc:
            raise _open_error(self.what, self.device, exc) from exc

    def _tick(self, frames: int) -> None:
        """Called first in every callback (PortAudio's thread)."""
        self._last_callback = time.perf_counter()
        self._frames_seen += frames
        if self._frames_seen >= self._verify_target:
            self._verified.set()

    def _open_running(self) -> None:
        """Open, start and verify a stream (callers hold ``_stream_lock``)."""
        for attempt in range(1, self.ATTEMPTS + 1):
            stream = self._new_stream()
            self._verified.clear()
            self._verify_target = self._frames_seen + int(self.rate * self.VERIFY_S * 0.6)
            try:
                stream.start()
            except Exception as exc:
                _close_quietly(stream)
                raise _open_error(self.what, self.device, exc) from exc
            # A loaded machine or a slow sound server can take longer than usual to start
            # a stream: give each retry more time rather than giving up on a good device.
            wait = min(self.VERIFY_TIMEOUT_S * 2 ** (attempt - 1), self.VERIFY_TIMEOUT_MAX_S)
            if self._verified.wait(wait):
                self._stream = stream
                self._last_callback = time.perf_counter()
                return
            log.info("%s stream moved no audio; reopening it (attempt %d)", self.what, attempt)
            _close_quietly(stream)
        raise AudioDeviceError(
            translate(
                "Errors",
                "The {what} {name!r} opens but moves no audio. "
                "Check the device and the sound server, or choose another device.",
            ).format(what=_noun(self.what), name=self.device.name)
        )

    def _ensure_running(self) -> None:
        """Reopen a stalled stream; raise :class:`AudioDeviceError` when that fails."""
        if time.perf_counter() - self._last_callback <= self.RESTART_AFTER_S:
            return
        with self._stream_lock:
            if self._stream is None:
                raise AudioDeviceError(
                    translate("Errors", "The {what} is not open.").format(what=_noun(self.what))
                )
            if time.perf_counter() - self._last_callback <= self.RESTART_AFTER_S:
                return  # another thread reopened it meanwhile
            if self.restarts >= self.MAX_RESTARTS_PER_MINUTE:
                reason = translate("Errors", "it keeps stopping")
            else:
                log.warning("%s stream stalled; reopening it", self.what)
                _close_quietly(self._stream)
                self._stream = None
                try:
                    self._open_running()
                except AudioDeviceError as exc:
                    reason = translate("Errors", "reopening it failed: {error}").format(error=exc)
                else:
                    self._restarts.append(time.perf_counter())
                    return
        raise AudioDeviceError(
            translate(
                "Errors",
                "The {what} {name!r} stopped working ({reason}); it may have been unplugged or "
                "the sound server stopped. Check the device and start again.",
            ).format(what=_noun(self.what), name=self.device.name, reason=reason)
        )

    def close(self) -> None:
        with self._stream_lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            _close_quietly(stream)
            if self.glitches:  # audio lost: the callback thread did not get the CPU in time
                log.info("%s closed after %d %s", self.what, self.glitches, self.GLITCH)

    GLITCH = "glitches"  # what a lost block is called: an overflow or an underflow
    glitches = 0  # blocks lost since the stream was opened


def _close_quietly(stream: Any) -> None:
    try:
        stream.abort()
        stream.close()
    except Exception:  # a vanished device may fail to close; nothing is left to do
        log.debug("closing a stream failed", exc_info=True)


def _open_error(what: str, device: AudioDevice, exc: BaseException) -> AudioDeviceError:
    return AudioDeviceError(
        translate(
            "Errors",
            "The {what} {name!r} cannot be opened ({error}). Check that it is connected and not "
            "used exclusively by another program.",
        ).format(what=_noun(what), name=device.name, error=exc)
    )


# -- capture ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    """One 32 ms frame at 16 kHz, and when (``time.perf_counter``) its last sample arrived."""

    samples: Samples
    time: float


class AudioCapture(_RunningStream):
    """The microphone as a stream of 16 kHz mono frames.

    ``read()`` returns frames in order and raises :class:`AudioDeviceError` when the
    device is gone, so nobody waits forever on a dead microphone.
    """

    what = "microphone"
    GLITCH = "overflows"
    STREAM = "InputStream"
    KIND: Kind = "input"
    BUFFER_S = 0.02  # a larger buffer delivers blocks in bursts (0.1: every ~125 ms)

    def __init__(
        self,
        device: str | int | None = None,
        *,
        device_rate: int | None = None,
        on_level: Callable[[float], None] | None = None,
    ) -> None:
        found = resolve_device(device, "input")
        if device_rate is not None:
            rate, self._channels = _negotiate(found, "input", [device_rate], strict=True)
        else:
            rates = [SAMPLE_RATE, int(found.default_samplerate), *FALLBACK_RATES]
            rate, self._channels = _negotiate(found, "input", rates, strict=False)
        super().__init__(found, rate)
        self.on_level = on_level
        self._resampler = Resampler(rate, SAMPLE_RATE)
        self._blocks: queue.Queue[tuple[Samples, float]] = queue.Queue()
        self._pending = np.zeros(0, dtype=np.float32)
        self._ready: collections.deque[Frame] = collections.deque()
        self._meter = LevelMeter()
        self._origin = float("inf")  # perf_counter time of the first sample (see _add_block)
        self._in_samples = 0  # at the device rate
        self._out_samples = 0  # at 16 kHz, handed out in frames
        self.glitches = 0

    @property
    def device_rate(self) -> int:
        return self.rate

    @property
    def resampling(self) -> bool:
        return self.rate != SAMPLE_RATE

    def _callback(self, indata: Any, frames: int, _time: Any, status: Any) -> None:
        now = time.perf_counter()
        self._tick(frames)
        if status.input_overflow:
            self.glitches += 1
        mono = indata[:, 0] if indata.shape[1] == 1 else indata.mean(axis=1)
        self._blocks.put((np.array(mono, dtype=np.float32), now))

    def _blocksize(self) -> int:
        # A quarter of a VAD frame per block: PortAudio's buffer follows the block size,
        # and a frame is read as soon as its last sample is in (on PulseAudio: 24 ms of
        # buffer against 64 ms with a whole frame per block). Frames are put together in
        # _add_block, timed by sample count.
        return round(FRAME_SAMPLES * self.rate / SAMPLE_RATE) // 4

    def start(self) -> None:
        with self._stream_lock:
            self._open_running()
        log.info(
            "capture from %r at %d Hz (%d ch)%s",
            self.device.name,
            self.rate,
            self._channels,
            ", resampled to 16 kHz" if self.resampling else "",
        )

    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame; ``None`` if ``timeout`` passes first (the device is still alive)."""
        deadline = None if timeout is None else time.perf_counter() + timeout
        while not self._ready:
            if self._stream is None:
                raise AudioDeviceError(translate("Errors", "The microphone is not open."))
            wait = 0.1
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.perf_counter()))
            try:
                block, arrived = self._blocks.get(timeout=wait)
            except queue.Empty:
                self._ensure_running()
                if deadline is not None and time.perf_counter() >= deadline:
                    return None
                continue
            self._add_block(block, arrived)
        frame = self._ready.popleft()
        if self.on_level is not None:
            self.on_level(self._meter.update(frame.samples, frame.time))
        return frame

    def _add_block(self, block: Samples, arrived: float) -> None:
        # Blocks can arrive in bursts, so a frame's time comes from the sample count:
        # the earliest (arrival - samples so far) is when sample 0 was captured. A jump
        # well past that means audio was lost (a reopened stream): count from there.
        self._in_samples += block.size
        anchor = arrived - self._in_samples / self.rate
        self._origin = anchor if anchor > self._origin + 0.5 else min(self._origin, anchor)
        samples = self._resampler.process(block)
        pending = np.concatenate([self._pending, samples]) if self._pending.size else samples
        count = pending.size // FRAME_SAMPLES
        for i in range(count):
            self._out_samples += FRAME_SAMPLES
            self._ready.append(
                Frame(
                    np.ascontiguousarray(pending[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]),
                    self._origin + self._out_samples / SAMPLE_RATE,
                )
            )
        self._pending = pending[count * FRAME_SAMPLES :].copy()

    def __enter__(self) -> AudioCapture:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# -- playback ---------------------------------------------------------------------------
@dataclass
class _Clip:
    tag: Hashable
    samples: Samples  # at the stream's rate
    source_samples: int  # length at the source rate (for progress in source samples)
    pos: int = 0


class AudioPlayer(_RunningStream):
    """The speaker: a queue of clips played back to back by one open output stream.

    The stream stays open (silence when idle): a reply starts without the cost of opening
    a device, and a stream once running keeps running (see :class:`_RunningStream`).
    :meth:`stop_now` drops everything queued; what the device holds (``BUFFER_S``) plays
    out, which is faster and safer than restarting the stream.
    """

    what = "speaker"
    GLITCH = "underflows"
    STREAM = "OutputStream"
    KIND: Kind = "output"
    # Adds to every reply's latency and to how long a stop takes (PulseAudio reports
    # 40 ms). Half of it, with 10 ms blocks, reported 20 ms, but the start of a clip was
    # lost now and then (tests/voice/test_audio_io.py heard "Brown fox jumps...").
    BUFFER_S = 0.03

    def __init__(
        self,
        device: str | int | None = None,
        *,
        source_rate: int,
        device_rate: int | None = None,
        on_first_audio: Callable[[Hashable, float], None] | None = None,
    ) -> None:
        found = resolve_device(device, "output")
        if device_rate is not None:
            rate, self._channels = _negotiate(found, "output", [device_rate], strict=True)
        else:
            rates = [source_rate, int(found.default_samplerate), *FALLBACK_RATES]
            rate, self._channels = _negotiate(found, "output", rates, strict=False)
        super().__init__(found, rate)
        self.source_rate = source_rate
        self.on_first_audio = on_first_audio
        self._lock = threading.Lock()
        self._clips: collections.deque[_Clip] = collections.deque()
        self._progress: dict[Hashable, tuple[int, int]] = {}  # tag -> (played, total), source
        self._started: set[Hashable] = set()
        self._idle = threading.Event()
        self._idle.set()
        self._paused = False
        self.glitches = 0

    @property
    def latency(self) -> float:
        """The output latency PortAudio reports, in seconds."""
        stream = self._stream
        return float(stream.latency) if stream is not None else 0.0

    def _callback(self, outdata: Any, frames: int, _time: Any, status: Any) -> None:
        now = time.perf_counter()
        self._tick(frames)
        if status.output_underflow:
            self.glitches += 1
        out = outdata[:, 0]
        filled = 0
        started: list[Hashable] = []
        with self._lock:
            while filled < frames and self._clips and not self._paused:
                clip = self._clips[0]
                take = min(frames - filled, clip.samples.size - clip.pos)
                out[filled : filled + take] = clip.samples[clip.pos : clip.pos + take]
                if clip.pos == 0 and clip.tag not in self._started:
                    self._started.add(clip.tag)
                    started.append(clip.tag)
                clip.pos += take
                filled += take
                played = min(clip.source_samples, round(clip.pos * self.source_rate / self.rate))
                self._progress[clip.tag] = (played, clip.source_samples)
                if clip.pos >= clip.samples.size:
                    self._clips.popleft()
            if not self._clips:
                self._idle.set()
        out[filled:] = 0.0
        if outdata.shape[1] > 1:
            outdata[:, 1:] = outdata[:, :1]
        if self.on_first_audio is not None:
            for tag in started:
                self.on_first_audio(tag, now)

    def _blocksize(self) -> int:
        return int(self.rate * 0.02)  # 20 ms: a stop takes effect this soon

    def start(self) -> None:
        with self._stream_lock:
            self._open_running()
        log.info(
            "playback on %r at %d Hz (%d ch), latency %.0f ms",
            self.device.name,
            self.rate,
            self._channels,
            self.latency * 1000,
        )

    def play(self, samples: Samples, tag: Hashable) -> None:
        """Queue a clip (at ``source_rate``); it plays after those already queued."""
        self.check()
        converted = resample(samples, self.source_rate, self.rate)
        with self._lock:
            self._progress[tag] = (0, samples.size)
            self._clips.append(_Clip(tag, converted, samples.size))
            self._idle.clear()

    def progress(self, tag: Hashable) -> tuple[int, int]:
        """(samples handed to the device, total samples) of a clip, at the source rate."""
        with self._lock:
            return self._progress.get(tag, (0, 0))

    def started(self, tag: Hashable) -> bool:
        with self._lock:
            return tag in self._started

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def stop_now(self) -> None:
        """Drop every queued clip; the next callback (within 20 ms) writes silence."""
        with self._lock:
            self._clips.clear()
            self._paused = False
            self._idle.set()

    def pause(self) -> None:
        """Hold playback where it is (silence from the next callback) until :meth:`resume`."""
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued clip was handed to the device; False on timeout."""
        deadline = time.perf_counter() + timeout
        while not self._idle.wait(min(0.1, max(0.0, deadline - time.perf_counter()))):
            self.check()
            if time.perf_counter() >= deadline:
                return False
        return True

    def check(self) -> None:
        """Raise :class:`AudioDeviceError` if the speaker is gone (reopens a stalled one)."""
        if self._stream is None:
            raise AudioDeviceError(translate("Errors", "The speaker is not open."))
        self._ensure_running()

    def __enter__(self) -> AudioPlayer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
