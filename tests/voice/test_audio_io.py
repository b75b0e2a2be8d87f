"""Resampling, pre-roll, level meter; and capture/playback through real (virtual) devices."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import AudioDeviceError
from app.server.audio import decode_audio
from app.voice.audio_io import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    AudioCapture,
    AudioPlayer,
    LevelMeter,
    Resampler,
    RingBuffer,
    list_devices,
    resample,
    resolve_device,
    rms_dbfs,
)
from app.voice.stt import SpeechToText
from app.voice.tts import TextToSpeech
from tests.voice.audio_env import RECORD_RATE, PulseServer, active_spans
from tests.voice.conftest import wait_for, word_overlap


def tone(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spectrum) * rate / x.size)


@pytest.mark.parametrize(("src", "dst"), [(48_000, 16_000), (44_100, 16_000), (22_050, 48_000)])
def test_resampler_keeps_pitch_and_length(src: int, dst: int) -> None:
    out = resample(tone(440.0, src, 2.0), src, dst)
    assert abs(out.size - 2 * dst) <= 2
    assert abs(peak_hz(out[dst // 10 :], dst) - 440.0) < 2.0


def test_resampler_streaming_equals_one_shot() -> None:
    rng = np.random.default_rng(3)
    signal = rng.standard_normal(44_100).astype(np.float32) * 0.1
    whole = Resampler(44_100, 16_000).process(signal)
    streaming = Resampler(44_100, 16_000)
    cuts = np.sort(rng.choice(np.arange(1, signal.size), size=40, replace=False))
    pieces = [streaming.process(chunk) for chunk in np.split(signal, cuts)]
    joined = np.concatenate(pieces)
    assert joined.size == whole.size
    np.testing.assert_allclose(joined, whole, atol=1e-5)


def test_downsampling_removes_what_would_alias() -> None:
    # 12 kHz cannot exist at 16 kHz; without the filter it would fold down to 4 kHz.
    out = resample(tone(12_000.0, 48_000), 48_000, 16_000)
    assert rms_dbfs(out[1000:]) < rms_dbfs(tone(12_000.0, 48_000)) - 40


def test_ring_buffer_keeps_the_newest_samples_in_order() -> None:
    ring = RingBuffer(10)
    assert ring.get().size == 0
    ring.extend(np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(ring.get(), [0, 1, 2, 3])
    ring.extend(np.arange(4, 13, dtype=np.float32))
    np.testing.assert_array_equal(ring.get(), np.arange(3, 13))
    ring.extend(np.arange(100, 125, dtype=np.float32))
    np.testing.assert_array_equal(ring.get(), np.arange(115, 125))
    ring.clear()
    assert len(ring) == 0


def test_level_meter_attacks_at_once_and_releases_slowly() -> None:
    meter = LevelMeter(release_db_per_s=20.0)
    loud = tone(440, SAMPLE_RATE, 0.032, amp=1.0)
    assert meter.update(loud, 0.0) == pytest.approx(-3.01, abs=0.05)  # RMS of a full sine
    quiet = np.zeros(FRAME_SAMPLES, np.float32)
    assert meter.update(quiet, 0.5) == pytest.approx(-3.01 - 10.0, abs=0.05)
    assert meter.update(quiet, 10.0) == -120.0


# -- real devices on the virtual PulseAudio server ---------------------------------------
def test_devices_are_listed_and_defaults_resolve(pulse: PulseServer) -> None:
    names = {d.name for d in list_devices()}
    assert {"pulse", "default"} <= names
    assert resolve_device(None, "input").is_default_input
    assert resolve_device("pul", "output").name == "pulse"
    with pytest.raises(AudioDeviceError, match="No microphone is called 'no such mic'"):
        resolve_device("no such mic", "input")
    with pytest.raises(AudioDeviceError, match="no microphone number 99"):
        resolve_device(99, "input")


def test_unsupported_rate_is_a_clear_error(pulse: PulseServer) -> None:
    with pytest.raises(AudioDeviceError, match=r"does not accept 1000000 Hz"):
        AudioCapture(device_rate=1_000_000)


def record_through_mic(
    pulse: PulseServer, wav: Path, capture: AudioCapture
) -> tuple[np.ndarray, list[float]]:
    """Play ``wav`` into the virtual mic while ``capture`` records; return 16 kHz audio."""
    frames: list[np.ndarray] = []
    times: list[float] = []
    with capture:
        player = pulse.play(wav)
        player_done_at: float | None = None
        while player_done_at is None or time.perf_counter() - player_done_at < 0.5:
            frame = capture.read(timeout=5)
            assert frame is not None, "the microphone delivered nothing"
            frames.append(frame.samples)
            times.append(frame.time)
            if player_done_at is None and player.poll() is not None:
                player_done_at = time.perf_counter()
        assert player.returncode == 0
    return np.concatenate(frames), times


def lost_audio_s(audio: np.ndarray, times: list[float]) -> float:
    """Wall time the recording spans beyond the audio it holds (a stalled stream's hole)."""
    return (times[-1] - times[0]) - (audio.size - FRAME_SAMPLES) / SAMPLE_RATE


def speech_length_s(samples: np.ndarray) -> float:
    """From the first to the last loud 10 ms of ``samples`` (16 kHz)."""
    spans = active_spans(samples)
    assert spans, "no speech in the recording"
    return (spans[-1][1] - spans[0][0]) / SAMPLE_RATE


@pytest.mark.parametrize("device_rate", [None, 44_100, 48_000])
def test_capture_through_the_virtual_mic_is_transcribed(
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
    stt: SpeechToText,
    device_rate: int | None,
) -> None:
    text = "What is the capital of France?"
    wav = speech_wav(text)
    direct_audio = decode_audio(wav.read_bytes())
    # A PortAudio stream on an ALSA plugin device can stall for a second or two on a
    # loaded machine (see _RunningStream); the capture then dates the frames after the
    # hole by the clock, so the hole shows between frame times and sample count. A take
    # with such a hole is recorded again; every take must show 16 kHz out.
    takes = 0
    while True:
        takes += 1
        capture = AudioCapture(device_rate=device_rate)
        assert capture.resampling == (device_rate is not None)
        audio, times = record_through_mic(pulse, wav, capture)
        assert audio.dtype == np.float32
        assert np.all(np.diff(times) > 0), "frame times go forward"
        if lost_audio_s(audio, times) < 0.25 or takes == 3:
            break
    # 16 kHz out whatever the device rate: 512 samples every 32 ms of wall time ...
    assert abs(lost_audio_s(audio, times)) < 0.25, f"{takes} takes lost audio"
    # ... and the speech is as long as in the WAV (a wrong rate would stretch it).
    assert abs(speech_length_s(audio) - speech_length_s(direct_audio)) < 0.05
    # The microphone path loses nothing: Whisper hears the recording as it hears the WAV
    # itself, or hears the text (the steady take of the starter voice says "France" a
    # little like "friends", and a slightly different signal may tip Whisper either way).
    direct = stt.transcribe(direct_audio, "en").text
    assert word_overlap(text, direct) >= 0.8, direct
    via_mic = stt.transcribe(audio, "en").text
    assert max(word_overlap(text, via_mic), word_overlap(direct, via_mic)) == 1.0, via_mic


def test_the_sound_servers_own_devices_are_listed_and_opened(
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
    stt: SpeechToText,
    tts: TextToSpeech,
) -> None:
    devices = list_devices()
    served = {d.server_name: d for d in devices if d.server_name is not None}
    assert {"vmic.monitor", "speaker.monitor", "vmic", "speaker"} <= set(served)
    assert served["speaker.monitor"].max_output_channels == 0
    assert served["speaker"].max_input_channels == 0
    assert len({d.index for d in devices}) == len(devices), "numbers are unique"
    pulse_index = next(d.index for d in devices if d.name == "pulse")
    assert {d.portaudio_index for d in served.values()} == {pulse_index}
    assert resolve_device(served["speaker.monitor"].index, "input").server_name == (
        "speaker.monitor"
    )

    # Capture from a source that is not the default (vmic.monitor is): what is played into
    # the "speaker" sink is heard, so the stream really was opened on its monitor.
    text = "What is the capital of France?"
    frames: list[np.ndarray] = []
    with AudioCapture("(speaker.monitor)") as capture:
        assert capture.device.server_name == "speaker.monitor"
        player = pulse.play(speech_wav(text), device="speaker")
        while player.poll() is None or len(frames) < 16:
            frame = capture.read(timeout=5)
            assert frame is not None
            frames.append(frame.samples)
    assert word_overlap(text, stt.transcribe(np.concatenate(frames), "en").text) == 1.0

    # Play on a sink that is not the default (speaker is): it reaches vmic, not speaker.
    on_vmic, on_speaker = pulse.recorder("vmic.monitor"), pulse.recorder("speaker.monitor")
    with AudioPlayer("(vmic)", source_rate=tts.sample_rate) as out:
        assert out.device.server_name == "vmic"
        hello = tts.synthesize("Hello there.", pause_s=0.0)
        out.play(hello, "hello")
        assert out.wait_idle(timeout=10)
        # Until all of it has arrived (the device holds the last ``latency`` seconds).
        long_enough = 0.8 * hello.size / tts.sample_rate * RECORD_RATE

        def arrived() -> bool:
            spans = active_spans(on_vmic.samples())
            return bool(spans) and spans[-1][1] - spans[0][0] >= long_enough

        assert wait_for(arrived, timeout=5), "nothing reached the chosen sink"
    on_vmic.stop()
    assert not active_spans(on_speaker.stop()), "the default sink played it"


def test_player_plays_at_the_device_and_stops_at_once(
    pulse: PulseServer, tts: TextToSpeech, stt: SpeechToText
) -> None:
    text = "The quick brown fox jumps over the lazy dog. It was a sunny day in the park."
    audio = tts.synthesize(text)
    first: list[tuple[object, float]] = []
    player = AudioPlayer(
        source_rate=tts.sample_rate, on_first_audio=lambda t, at: first.append((t, at))
    )
    recorder = pulse.recorder("speaker.monitor")
    with player:
        player.play(audio, "fox")
        assert player.wait_idle(timeout=audio.size / tts.sample_rate + 5)
        assert player.progress("fox") == (audio.size, audio.size)
        player.play(np.zeros(tts.sample_rate * 2, np.float32), "two seconds of silence")
        # Once more, stopped 1 s in: the speaker must go quiet within 100 ms.
        started = threading.Event()
        player.on_first_audio = lambda _tag, _at: started.set()
        player.play(audio, "fox-2")
        assert started.wait(5)
        second = tts.sample_rate
        assert wait_for(lambda: player.progress("fox-2")[0] >= second, timeout=5)
        player.stop_now()
        stopped_at = time.perf_counter()
        played, total = player.progress("fox-2")
        assert 0 < played < total
        # Let the recorder hear the silence after the stop (and the stream keep running).
        assert not wait_for(lambda: player.progress("fox-2")[0] > played, timeout=0.6)
        player.check()
    recording = recorder.stop()
    assert first and first[0][0] == "fox"
    spans = active_spans(recording, gap_s=1.0)
    assert len(spans) == 2, spans
    # The whole first clip reached the speaker and sounds like the text.
    heard = stt.transcribe(
        resample(recording[spans[0][0] : spans[0][1]], RECORD_RATE, 16_000), "en"
    )
    assert word_overlap(text, heard.text) >= 0.9, heard.text
    end_of_second = recorder.time_of(spans[1][1])
    assert end_of_second - stopped_at < 0.1, f"audio went on {end_of_second - stopped_at:.3f} s"
