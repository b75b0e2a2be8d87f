"""Spoken test sentences for the voice benchmarks: several voices, two engines, with and
without noise, made once and kept on disk so that two runs hear the same audio.

Voices: the starter Piper voice with its normal variation (every take differs a little,
as in use; Piper's noise cannot be seeded, hence the cache), espeak-ng in several English
accents at 140-190 words a minute, and espeak-ng's Mandarin (read from pinyin: its
``cmn`` voice spells Chinese characters out as tone numbers in English). The English
sentences are everyday requests to an assistant, none of them the sentences the other
voice tests and benchmarks use; a few are two sentences with a pause between.

Noise: pink noise (equal energy per octave, like a room's hum and traffic, harder for
Whisper than white noise), seeded per clip, mixed over the whole clip at a set
signal-to-noise ratio measured against the speech's active level.
"""

from __future__ import annotations

import json
import subprocess
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.voice.audio_io import SAMPLE_RATE, resample

Audio = npt.NDArray[np.float32]

LEAD_S = 0.6  # quiet (or noise) before the speech
TAIL_S = 1.4  # ... and after it: more than the 600 ms hang-over
LEVEL_DBFS = -22.0  # active speech level every clip is scaled to

ENGLISH = [
    "What time is it in Tokyo right now?",
    "Set a timer for ten minutes.",
    "Will it rain tomorrow morning?",
    "How do I boil an egg?",
    "Remind me to call my sister at six.",
    "What is the weather like this weekend?",
    "How far away is the moon?",
    "Play some relaxing music.",
    "What should I cook for dinner tonight?",
    "How many ounces are in a cup?",
    "Who wrote the book Pride and Prejudice?",
    "Turn off the lights in the kitchen.",
    "What is twelve times fifteen?",
    "Translate good morning into Spanish.",
    "How long should I let bread dough rise?",
    "What year did people first land on the moon?",
    "I have a headache. What can I take for it?",
    "Can you suggest a good book for a long flight?",
    "How do I get a stain out of a white shirt?",
    "Why is the sky blue?",
    "What is the difference between a frog and a toad?",
    "Add milk, eggs and bread to my shopping list.",
    "How many calories are in a banana?",
    "Wake me up at half past seven tomorrow.",
    "What is a good name for a small brown dog?",
    "I am bored. Give me something fun to do indoors.",
    "How do you say thank you in Japanese?",
    "What is the best way to learn to swim as an adult?",
    "Explain how a rainbow forms in simple words.",
    "Is it safe to eat raw cookie dough?",
    "My plants keep dying. What am I doing wrong?",
    "Tell me an interesting fact about octopuses.",
    "How much water should I drink every day?",
    "What is the quickest way to cool down a hot room?",
]

# Held out: sentences new to this benchmark when they were first measured (the VAD's
# pre-roll was then chosen on them; keep a set of your own for the next choice). "Tell me
# a joke about cats." and "Which planet is closest to the sun?" are also questions of
# bench_voice.py, the latency benchmark (which scores no words).
ENGLISH_HELD_OUT = [
    "Call my mother on her mobile phone.",
    "What is the capital city of Australia?",
    "How do I reset my wifi router?",
    "Turn the volume down a little.",
    "Where is the nearest pharmacy?",
    "How long do I bake a potato in the oven?",
    "Send a message to John saying I will be late.",
    "Open the garage door please.",
    "How do I make a cup of green tea?",
    "Which planet is closest to the sun?",
    "Start a stopwatch now.",
    "What movies are playing tonight?",
    "How do I fix a flat bicycle tire?",
    "Tell me a joke about cats.",
    "What is the population of Canada?",
    "Lock the front door and turn on the alarm.",
    "How many days are left until Christmas?",
    "Read me the news headlines.",
    "What should I wear for a job interview?",
    "Schedule a meeting with Sarah on Friday afternoon.",
    "How do I get rid of hiccups?",
    "What does a barometer measure?",
    "Is it going to be windy at the beach?",
    "Find me a recipe for vegetable soup.",
]

# Test set: written after the pre-roll was chosen and measured only end to end, to check
# that choice on speech nobody has looked at. Do not tune on it; write a new one instead.
ENGLISH_TEST = [
    "Pause the music for a moment.",
    "How do I change a car tyre?",
    "What is the boiling point of water in Fahrenheit?",
    "Remind me to water the garden on Sunday.",
    "Which ocean is the deepest?",
    "How many teaspoons are in a tablespoon?",
    "Can you spell the word necessary?",
    "What time does the sun set today?",
    "Who painted the Mona Lisa?",
    "How do I keep bananas fresh for longer?",
    "Dim the bedroom lights to half.",
    "What is a healthy breakfast for a busy morning?",
    "How long does it take to walk five kilometres?",
    "Tell me a short story about a brave mouse.",
    "Why do cats purr?",
    "What is the square root of one hundred and forty four?",
    "Cancel my alarm for tomorrow.",
    "Where can I recycle old batteries?",
    "How do I write a polite complaint letter?",
    "What games can children play on a rainy day?",
]

# Paused: a speaker who stops mid-question and goes on, the pause (between the halves at
# "|") lasting PAUSES_S[index % 3]: shorter than the 600 ms hang-over, so that only the
# quick end can end the turn there; long enough to end it, the reply not yet heard when
# the speaker goes on; and long enough for the reply to be heard and talked over. What
# Hearth answers must be the whole question, once (the halves joined without a repeat),
# or the first half answered and stopped, then the rest. New to every other set.
ENGLISH_PAUSED = [
    "What is the tallest mountain | in South America?",
    "Set an alarm | for half past six.",
    "How do I make | pancakes without eggs?",
    "Tell me a fun fact | about dolphins.",
    "What is the difference | between weather and climate?",
    "Add a dentist appointment | to my calendar for Tuesday.",
    "Can you recommend | a film for tonight?",
    "How many minutes | should I boil rice?",
    "Turn on the lights | in the living room.",
    "Who invented | the telephone?",
    "Give me a word | that rhymes with orange.",
    "How long does it take | to fly to London?",
]
PAUSES_S = (0.45, 0.9, 1.6)

SETS = {
    "tuning": ENGLISH,
    "held-out": ENGLISH_HELD_OUT,
    "test": ENGLISH_TEST,
    "paused": ENGLISH_PAUSED,
}

# (reference in Simplified characters, what espeak-ng reads: pinyin with tone numbers)
MANDARIN = [
    ("今天天气怎么样？", "jin1 tian1 tian1 qi4 zen3 me5 yang4"),
    ("明天会下雨吗？", "ming2 tian1 hui4 xia4 yu3 ma5"),
    ("现在几点了？", "xian4 zai4 ji3 dian3 le5"),
    ("请帮我设一个闹钟。", "qing3 bang1 wo3 she4 yi2 ge4 nao4 zhong1"),
    ("给我讲一个笑话。", "gei3 wo3 jiang3 yi2 ge4 xiao4 hua4"),
    ("北京离上海有多远？", "bei3 jing1 li2 shang4 hai3 you3 duo1 yuan3"),
    ("我想听一点音乐。", "wo3 xiang3 ting1 yi4 dian3 yin1 yue4"),
    ("晚饭吃什么好呢？", "wan3 fan4 chi1 shen2 me5 hao3 ne5"),
    ("怎么学好中文？", "zen3 me5 xue2 hao3 zhong1 wen2"),
    ("请把客厅的灯关掉。", "qing3 ba3 ke4 ting1 de5 deng1 guan1 diao4"),
    ("一杯咖啡多少钱？", "yi4 bei1 ka1 fei1 duo1 shao3 qian2"),
    ("你能推荐一本好书吗？", "ni3 neng2 tui1 jian4 yi4 ben3 hao3 shu1 ma5"),
]


@dataclass(frozen=True)
class Voice:
    """One speaker: ``engine`` "piper" (the starter voice) or "espeak" (``name`` is its
    ``-v`` voice, ``wpm`` its ``-s`` rate)."""

    key: str
    engine: str
    language: str  # "en" or "zh": which sentences it reads, WER or CER
    name: str = ""
    wpm: int = 0

    @property
    def label(self) -> str:
        if self.engine == "piper":
            return f"piper {self.name}"
        return f"espeak {self.name} {self.wpm} wpm"


VOICES = [
    Voice("piper", "piper", "en", "en_US-joe (variation on)"),
    Voice("en-us", "espeak", "en", "en-us", 165),
    Voice("en-gb", "espeak", "en", "en-gb", 185),
    Voice("en-f3", "espeak", "en", "en+f3", 145),
    Voice("en-sc", "espeak", "en", "en-gb-scotland", 175),
    Voice("cmn", "espeak", "zh", "cmn-latn-pinyin", 140),
]


@dataclass(frozen=True)
class Clip:
    """A sentence spoken by one voice, at one noise level, on disk at 16 kHz."""

    voice: str
    noise: str  # "clean" or "snr20" (pink noise at 20 dB)
    index: int
    text: str  # the reference
    language: str
    path: Path
    speech_start_s: float  # where the speech begins and ends in the clip
    speech_end_s: float
    pause_s: float = 0.0  # the silence the speaker left mid-sentence (the paused set)

    def audio(self) -> Audio:
        return read_wav(self.path)


def sentences(voice: Voice, which: str = "tuning") -> list[tuple[str, str]]:
    """(reference, text to speak) for each sentence the voice reads: the English voices
    read the set named ``which`` (see :data:`SETS`), the Mandarin one always its own."""
    if voice.language == "zh":
        return list(MANDARIN)
    return [(without_pause(s), s) for s in SETS[which]]


def without_pause(spoken: str) -> str:
    """The sentence as written: ``spoken`` without its pause mark ("|")."""
    return " ".join(spoken.replace("|", " ").split())


def pause_of(spoken: str, index: int) -> float:
    """The pause the speaker leaves at ``spoken``'s "|" (0: it has none)."""
    return PAUSES_S[index % len(PAUSES_S)] if "|" in spoken else 0.0


def pink_noise(samples: int, seed: int) -> Audio:
    """Unit-RMS pink noise: white noise shaped to 1/f power in the frequency domain."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.fft.rfftfreq(samples, 1 / SAMPLE_RATE)
    spectrum /= np.sqrt(np.maximum(freqs, 20.0))  # flat below 20 Hz: no DC rumble
    noise = np.fft.irfft(spectrum, samples)
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def active_level(audio: Audio) -> float:
    """Mean power of the 20 ms blocks within 40 dB of the loudest: the speech's level,
    not diluted by the pauses in it."""
    block = SAMPLE_RATE // 50
    count = audio.size // block
    power = np.mean(audio[: count * block].reshape(count, block).astype(np.float64) ** 2, axis=1)
    loud = power[power > power.max() * 1e-4]
    return float(np.mean(loud))


def mix_noise(speech: Audio, snr_db: float, seed: int) -> Audio:
    """``speech`` (silence around it included) with pink noise ``snr_db`` below its level."""
    noise = pink_noise(speech.size, seed)
    scale = np.sqrt(active_level(speech) / 10 ** (snr_db / 10))
    return (speech + noise * np.float32(scale)).astype(np.float32)


def speech_bounds(audio: Audio, threshold: float = 0.003) -> tuple[int, int]:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return (int(loud[0]), int(loud[-1]) + 1) if loud.size else (0, audio.size)


def read_wav(path: Path) -> Audio:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    audio = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return resample(audio, rate, SAMPLE_RATE) if rate != SAMPLE_RATE else audio


def write_wav(path: Path, audio: Audio) -> Path:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return path


def _espeak(voice: Voice, text: str, path: Path) -> Audio:
    subprocess.run(
        ["espeak-ng", "-v", voice.name, "-s", str(voice.wpm), "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return read_wav(path)


class _Piper:
    """The starter voice, loaded on first use, with Piper's own variation."""

    def __init__(self) -> None:
        from app.catalog.starter import starter_entries
        from app.voice.tts import TextToSpeech

        entries = [e for e in starter_entries() if e.kind == "tts"]
        if not entries:
            raise SystemExit("Install the starter set: pip install -e '.[starter]'")
        self.tts = TextToSpeech.load(entries[0])
        self.tts.variation = 1.0

    def speak(self, text: str) -> Audio:
        audio = self.tts.synthesize(text, pause_s=0.0)
        return resample(audio, self.tts.sample_rate, SAMPLE_RATE)


def build(
    root: Path,
    voices: list[Voice],
    noises: dict[str, float | None],
    count: int | None = None,
    which: str = "tuning",
) -> list[Clip]:
    """The clips of every voice at every noise level (``noises``: name → SNR in dB, None
    for clean), the English voices reading the set ``which``, made once under ``root``
    and read back from its ``clips.json`` after."""
    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / "clips.json"
    manifest: dict[str, dict[str, object]] = (
        json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    )
    piper: _Piper | None = None
    clips: list[Clip] = []
    for voice in voices:
        for index, (reference, spoken) in enumerate(sentences(voice, which)[:count]):
            clean_key = f"{voice.key}-{index:02d}-clean"
            clean_path = root / f"{clean_key}.wav"
            made = manifest.get(clean_key, {})
            pause_s = pause_of(spoken, index)
            if (made.get("voice"), made.get("text"), made.get("pause_s", 0.0)) != (
                voice.label,
                reference,
                pause_s,
            ):
                for stale in root.glob(f"{voice.key}-{index:02d}-*.wav"):
                    stale.unlink()  # the voice, the sentence or its pause changed: made again
            if not clean_path.exists():
                parts: list[Audio] = []
                for part in spoken.split("|"):
                    if voice.engine == "piper":
                        piper = piper or _Piper()
                        said = piper.speak(part.strip())
                    else:
                        said = _espeak(voice, part.strip(), root / "espeak.wav")
                    start, end = speech_bounds(said)
                    if parts:
                        parts.append(np.zeros(int(pause_s * SAMPLE_RATE), np.float32))
                    parts.append(said[start:end])
                speech = np.concatenate(parts)
                speech *= np.float32(np.sqrt(10 ** (LEVEL_DBFS / 10) / active_level(speech)))
                lead = np.zeros(int(LEAD_S * SAMPLE_RATE), np.float32)
                tail = np.zeros(int(TAIL_S * SAMPLE_RATE), np.float32)
                write_wav(clean_path, np.concatenate([lead, speech, tail]))
                manifest[clean_key] = {
                    "voice": voice.label,
                    "text": reference,
                    "speech_start_s": LEAD_S,
                    "speech_end_s": LEAD_S + speech.size / SAMPLE_RATE,
                    "pause_s": pause_s,
                }
                manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
            info = manifest[clean_key]
            for noise, snr in noises.items():
                key = f"{voice.key}-{index:02d}-{noise}"
                path = root / f"{key}.wav"
                if snr is not None and not path.exists():
                    write_wav(path, mix_noise(read_wav(clean_path), snr, zlib.crc32(key.encode())))
                clips.append(
                    Clip(
                        voice.key,
                        noise,
                        index,
                        reference,
                        voice.language,
                        path if snr is not None else clean_path,
                        float(str(info["speech_start_s"])),
                        float(str(info["speech_end_s"])),
                        float(str(info.get("pause_s", 0.0))),
                    )
                )
    return clips
