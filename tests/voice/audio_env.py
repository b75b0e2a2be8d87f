"""A private PulseAudio server with a virtual microphone and speaker (docs/VIRTUAL-AUDIO.md).

``vmic`` is a null sink: what is played into it (``paplay -d vmic``) is what the app
records from its monitor, the default source. ``speaker`` is the default sink: what the
app plays can be recorded from ``speaker.monitor``. The server runs with HOME and
XDG_RUNTIME_DIR in a scratch folder, is stopped by the pid it started, and never touches
a user's own sound server.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

RECORD_RATE = 16_000
# Runs Hearth as ``python -m app`` would, on a machine where sounddevice cannot find the
# PortAudio library (it looks it up with ctypes.util.find_library on Linux).
WITHOUT_PORTAUDIO = (
    "import ctypes.util, runpy, sys; "
    "found = ctypes.util.find_library; "
    "ctypes.util.find_library = lambda name: None if 'portaudio' in name else found(name); "
    "sys.argv[0] = 'hearth'; "
    "runpy.run_module('app', run_name='__main__', alter_sys=True)"
)


@functools.cache
def portaudio_found() -> bool:
    """Whether sounddevice loads the PortAudio library here (asked in a child process, so
    this one does not start PortAudio)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import sounddevice"], capture_output=True, check=False
    )
    return probe.returncode == 0


def sound_stack_missing() -> str | None:
    """What this machine lacks for the tests that play and record sound, as a skip
    reason naming the packages (None: nothing is missing)."""
    missing = []
    if not PulseServer.available():
        missing.append("PulseAudio (apt install pulseaudio pulseaudio-utils)")
    if not portaudio_found():
        missing.append("the PortAudio library (apt install libportaudio2)")
    return "needs " + " and ".join(missing) if missing else None


def sound_cards() -> list[str]:
    """The sound cards the Linux kernel has (none in a container or a CI machine)."""
    try:
        lines = Path("/proc/asound/cards").read_text().splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line[:3].strip().isdigit()]


class PulseServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.runtime = root / "run"
        self.log_file = root / "pulse.log"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return all(shutil.which(tool) for tool in ("pulseaudio", "pactl", "paplay", "parecord"))

    @property
    def env(self) -> dict[str, str]:
        env = os.environ.copy()
        env.update(HOME=str(self.home), XDG_RUNTIME_DIR=str(self.runtime))
        env.pop("PULSE_SERVER", None)
        return env

    def start(self, timeout: float = 20.0) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.runtime.mkdir(parents=True, exist_ok=True)
        self.runtime.chmod(0o700)
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    "pulseaudio",
                    "--daemonize=no",
                    "--exit-idle-time=-1",
                    "-n",
                    "--use-pid-file=no",
                    "--load=module-native-protocol-unix",
                    "--load=module-null-sink sink_name=speaker",
                    "--load=module-null-sink sink_name=vmic",
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.pactl("info", check=False).returncode == 0:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"PulseAudio did not start: {self.log_file.read_text()}")
            try:  # waits a little, and notices at once if the server died
                code = self.process.wait(timeout=0.1)
                raise RuntimeError(f"PulseAudio exited ({code}): {self.log_file.read_text()}")
            except subprocess.TimeoutExpired:
                pass
        self.pactl("set-default-sink", "speaker")
        self.pactl("set-default-source", "vmic.monitor")

    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10, check=check
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def apply_env(self) -> dict[str, str | None]:
        """Point this process's audio at the server; returns what to restore."""
        saved = {k: os.environ.get(k) for k in ("HOME", "XDG_RUNTIME_DIR", "PULSE_SERVER")}
        os.environ["HOME"] = str(self.home)
        os.environ["XDG_RUNTIME_DIR"] = str(self.runtime)
        os.environ.pop("PULSE_SERVER", None)
        return saved

    def play(self, wav: Path, device: str = "vmic") -> subprocess.Popen[bytes]:
        """Start playing a WAV into ``device`` in real time (like a person talking)."""
        return subprocess.Popen(
            ["paplay", "--latency-msec=20", "-d", device, str(wav)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def recorder(self, source: str = "speaker.monitor") -> Recorder:
        return Recorder(self, source)


class Recorder:
    """Records a source with parecord, stamping when each chunk arrived.

    ``time_of(i)`` maps a sample index to ``time.perf_counter``: each chunk arrives after
    its samples were captured, so the earliest (arrival - position) over all chunks is
    the best estimate of when sample 0 was captured (error: about one 10 ms chunk).
    """

    CHUNK = 160  # samples (10 ms)

    def __init__(self, server: PulseServer, source: str) -> None:
        self._process = subprocess.Popen(
            [
                "parecord",
                "--raw",
                "--format=float32le",
                f"--rate={RECORD_RATE}",
                "--channels=1",
                "--latency-msec=10",
                "-d",
                source,
            ],
            env=server.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._chunks: list[bytes] = []
        self._origin = float("inf")
        self._count = 0
        self._lock = threading.Lock()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            self.stop()
            raise RuntimeError(f"parecord on {source} produced no audio")

    def _read(self) -> None:
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        while True:
            data = os.read(fd, self.CHUNK * 4)
            if not data:
                return
            now = time.perf_counter()
            with self._lock:
                self._chunks.append(data)
                self._count += len(data) // 4
                self._origin = min(self._origin, now - self._count / RECORD_RATE)
            self._started.set()

    def samples(self) -> npt.NDArray[np.float32]:
        with self._lock:
            raw = b"".join(self._chunks)
        usable = len(raw) // 4 * 4
        return np.frombuffer(raw[:usable], dtype=np.float32).copy()

    def time_of(self, index: int) -> float:
        return self._origin + index / RECORD_RATE

    def index_at(self, t: float) -> int:
        return max(0, round((t - self._origin) * RECORD_RATE))

    def stop(self) -> npt.NDArray[np.float32]:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._thread.join(timeout=5)
        return self.samples()


def mandarin_wav(path: Path, pinyin: str) -> Path:
    """Mandarin speech from espeak-ng, given as pinyin with tone numbers ("ni3 hao3").

    No Piper voice for Chinese installs from PyPI; espeak-ng's Mandarin is robotic, but
    Whisper recognises it as Chinese and hears most of its syllables. (Its ``cmn`` voice
    reads Chinese characters' tone numbers out in English: pinyin it is.)
    """
    subprocess.run(
        ["espeak-ng", "-v", "cmn-latn-pinyin", "-s", "140", "-w", str(path), pinyin],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path


def write_wav(path: Path, samples: npt.NDArray[np.float32], rate: int) -> Path:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def active_spans(
    samples: npt.NDArray[np.float32], *, threshold_db: float = -45.0, gap_s: float = 0.3
) -> list[tuple[int, int]]:
    """(start, end) sample ranges where the signal is above ``threshold_db`` (10 ms blocks)."""
    block = RECORD_RATE // 100
    count = samples.size // block
    if count == 0:
        return []
    blocks = samples[: count * block].reshape(count, block)
    rms = np.sqrt(np.mean(np.square(blocks, dtype=np.float64), axis=1))
    loud = 20 * np.log10(np.maximum(rms, 1e-9)) > threshold_db
    spans: list[tuple[int, int]] = []
    gap = int(gap_s * 100)
    start = None
    last = -gap - 1
    for i, on in enumerate(loud):
        if not on:
            continue
        if start is None:
            start = i
        elif i - last > gap:
            spans.append((start * block, (last + 1) * block))
            start = i
        last = i
    if start is not None:
        spans.append((start * block, (last + 1) * block))
    return spans


class HeardFor:
    """A condition to poll: ``recorder`` has heard sound for ``seconds`` in all (a voice,
    not the silence between its words); checked at most every quarter second, since the
    whole recording is read each time."""

    def __init__(self, recorder: Recorder, seconds: float) -> None:
        self.recorder = recorder
        self.seconds = seconds
        self._checked = 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._checked < 0.25:
            return False
        self._checked = now
        spans = active_spans(self.recorder.samples())
        return sum(end - begin for begin, end in spans) / RECORD_RATE >= self.seconds
