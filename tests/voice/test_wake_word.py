"""The wake word's parts that need no model: the phrase matcher, the cut, the chime,
awake and asleep, the setting and the command-line flag. (Real speech through the
virtual microphone: test_wake_word_speech.py.)"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from app.cli.parser import build_parser
from app.voice.session import VoiceSettings
from app.voice.stt import Transcript
from app.voice.wake_word import (
    ForcedScore,
    PhraseScorer,
    WakeConfig,
    WakeWord,
    cue_sound,
    match_wake,
    name_score,
)

# What Whisper wrote for the phrase, on Piper and espeak-ng voices, or could.
HEARD_AS_WAKE = [
    ("Hey Hearth, what time is it?", "what time is it?"),
    ("Hey, hearth. What time is it?", "What time is it?"),
    ("Hi, Harf. What is the capital of France?", "What is the capital of France?"),
    ("Hey heart.", ""),
    ("Hey, Earth!", ""),
    ("A hearth, tell me a joke.", "tell me a joke."),
    ("Okay Hearth", ""),
    ("Hey Harth", ""),
    ("Hey, Har, how long should I let bread rise?", "how long should I let bread rise?"),
    ("Hey hoth, add milk.", "add milk."),  # espeak-ng's "Hearth" to Whisper's ear
    ("Hey half, will it rain?", "will it rain?"),
    ("A-HAR, play some relaxing music.", "play some relaxing music."),  # at 20 dB SNR
    ("Hey, hard.", ""),
    ("Hey horror", ""),
    ("Pay heart.", ""),  # heard through the virtual microphone
    ("A-heart. What time is it?", "What time is it?"),
    ("Hearth, what time is it?", "what time is it?"),
    # From the held-out benchmark set (bench_wake_word.py --held-out): "Hi" written "High".
    ("High-half, how long does it take?", "how long does it take?"),
    ("High-HAR, convert 30 degrees Celsius.", "convert 30 degrees Celsius."),
]

NOT_WAKE = [
    "What time is it?",
    "Hey there, how are you?",
    "Hi there.",
    "Heart disease is common.",  # the name alone, not called: no punctuation after it
    "Earth is round.",
    "A heat wave is coming.",
    "A hard day at work.",
    "Health comes first.",
    "I heard that.",
    "The heart of the matter.",
    "A heart needs rest after a long run.",  # "a" vouches only for a call
    "A heart-made work makes the evening.",
    "Heart-shaped box.",
    "8 heart 8 heart 8 heart",  # the draft looping: the final pass decides
    "A hot day.",  # the loose shapes need a clear greeting
    "Hey, how are you?",
    "The hearth is warm, hey Hearth.",  # only at the start of an utterance
    # Held-out near misses: a loose name shape counts only as a call (punctuation after it).
    "Okay, hard to say what happened.",
    "Hi, her bag is on the table.",
    "Hey, hot chocolate anyone?",
    "High heart rate is a worry.",  # "High" vouches only for a call
    "",
]


@pytest.mark.parametrize(("text", "rest"), HEARD_AS_WAKE)
def test_the_phrase_as_whisper_writes_it_wakes(text: str, rest: str) -> None:
    found = match_wake(text)
    assert found is not None
    assert found.rest == rest
    assert found.bare is (rest == "")
    assert found.score >= WakeConfig().threshold


@pytest.mark.parametrize("text", NOT_WAKE)
def test_other_sentences_do_not(text: str) -> None:
    assert match_wake(text) is None


def test_the_name_must_keep_its_consonants() -> None:
    assert name_score("heart") > 0.8
    assert name_score("heat") == 0.0  # letters alike (0.8), but no "r-t"
    assert name_score("hard") == 0.0
    assert name_score("Hearth") == 1.0


def test_the_loose_shapes_can_be_turned_off() -> None:
    assert match_wake("Hey Har") is not None
    assert match_wake("Hey Har", WakeConfig(near_name="")) is None


def test_the_threshold_is_tunable() -> None:
    strict = WakeConfig(threshold=0.95)
    assert match_wake("Hey Hearth, hello", strict) is not None
    assert match_wake("Hey Earth, hello", strict) is None  # 0.89 with the default 0.7


def _transcript(text: str) -> Transcript:
    return Transcript(text, "en", 0.99, 2.0, 0.1)


def test_strip_cuts_the_phrase_from_the_question() -> None:
    wake = WakeWord(stt=None, config=WakeConfig())  # type: ignore[arg-type]
    assert wake.strip(_transcript("Hey, hearth, what time is it?")).text == "What time is it?"
    bare = wake.strip(_transcript("Hey Hearth."))
    assert bare.empty and bare.rejected == "only the wake phrase"
    other = _transcript("What time is it?")
    assert wake.strip(other) is other


def test_awake_for_listen_s_after_a_bare_phrase_then_asleep() -> None:
    wake = WakeWord(stt=None, config=WakeConfig(listen_s=8.0))  # type: ignore[arg-type]
    assert wake.asleep(100.0)
    wake.wake(100.0)
    assert not wake.asleep(107.9)
    assert wake.asleep(108.0)
    wake.wake(200.0)
    wake.sleep()
    assert wake.asleep(200.1)


def test_the_cue_is_two_short_rising_notes() -> None:
    rate = 22_050
    cue = cue_sound(rate)
    assert cue.dtype == np.float32
    assert 0.15 < cue.size / rate < 0.4  # short: it must not delay the question
    assert 0.1 < float(np.max(np.abs(cue))) <= 0.25
    half = cue.size // 2
    first, second = (np.abs(np.fft.rfft(part)) for part in (cue[:half], cue[half:]))
    freqs = [np.fft.rfftfreq(half, 1 / rate), np.fft.rfftfreq(cue.size - half, 1 / rate)]
    low, high = freqs[0][np.argmax(first)], freqs[1][np.argmax(second)]
    assert low < high  # rising
    assert abs(low - 659) < 30 and abs(high - 880) < 30


def test_the_setting_is_off_by_default_and_kept() -> None:
    assert VoiceSettings().wake_word is False
    assert VoiceSettings.from_dict({}).wake_word is False
    saved = VoiceSettings.from_dict({"wake_word": True})
    assert saved.wake_word is True
    assert VoiceSettings.from_dict(saved.to_dict()).wake_word is True


def test_hearth_voice_takes_wake_word() -> None:
    parser = build_parser()
    assert parser.parse_args(["voice", "--wake-word"]).wake_word is True
    assert parser.parse_args(["voice"]).wake_word is False


class ScriptedStt:
    """Whisper's two passes as scripted texts (a fake: the real ones are in
    test_wake_word_speech.py and bench_wake_word.py)."""

    def __init__(self, draft: str, final: str) -> None:
        self.texts = {True: draft, False: final}
        self.calls: list[tuple[int, str | None, bool]] = []

    def transcribe(
        self, audio: np.ndarray, language: str | None = None, *, draft: bool = False
    ) -> Transcript:
        self.calls.append((audio.size, language, draft))
        return _transcript(self.texts[draft])


def _wake(draft: str, final: str) -> tuple[WakeWord, ScriptedStt]:
    stt = ScriptedStt(draft, final)
    return WakeWord(stt, WakeConfig(head_s=2.5)), stt  # type: ignore[arg-type]


def test_check_reads_only_the_head_with_the_draft_pass_in_english() -> None:
    wake, stt = _wake("Hey Hearth, what time is it?", "unused")
    found, text = wake.check(np.zeros(16_000 * 6, np.float32))
    assert found is not None and text == "Hey Hearth, what time is it?"
    assert stt.calls == [(40_000, "en", True)]  # 2.5 s, one cheap pass
    assert (wake.checks, wake.found, wake.second_looks) == (1, 1, 0)


def test_a_draft_that_starts_like_a_call_gets_a_second_look() -> None:
    wake, stt = _wake("Hey, what time is it?", "Hey, hearth, what time is it?")
    found, _text = wake.check(np.zeros(16_000 * 3, np.float32))
    assert found is not None and found.rest == "what time is it?"
    assert [draft for _, _, draft in stt.calls] == [True, False]
    assert wake.second_looks == 1


def test_a_draft_with_no_text_gets_a_second_look() -> None:
    wake, _stt = _wake("", "Hey Hearth.")
    found, _text = wake.check(np.zeros(16_000 * 2, np.float32))
    assert found is not None and found.bare
    assert wake.second_looks == 1


def test_other_speech_costs_one_draft() -> None:
    wake, stt = _wake("The weather is nice today.", "unused")
    assert wake.check(np.zeros(16_000 * 3, np.float32))[0] is None
    assert len(stt.calls) == 1 and wake.found == 0 and wake.checks == 1


def _forced(draft: str, score: ForcedScore | None, **config: object) -> WakeWord:
    """A WakeWord on scripted texts whose forced reading is ``score``."""
    wake = WakeWord(ScriptedStt(draft, draft), WakeConfig(**config))  # type: ignore[arg-type]
    if wake.scorer is not None:
        wake.scorer.score = lambda head: score  # type: ignore[method-assign]
    return wake


def test_the_forced_reading_wakes_when_the_text_does_not_match() -> None:
    wake = _forced(
        "The low pass, what is the capital of Canada?", ForcedScore(0.9, 0.8, "Hello Hearth")
    )
    found, _text = wake.check(np.zeros(16_000 * 3, np.float32))
    assert found is not None and found.phrase == "Hello Hearth"
    assert found.rest == "what is the capital of Canada?" and not found.bare
    assert (wake.found, wake.forced) == (1, 1)


def test_a_short_forced_call_is_bare() -> None:
    wake = _forced("The low pass.", ForcedScore(0.9, 0.8, "Hello Hearth"))
    found, _text = wake.check(np.zeros(16_000 * 2, np.float32))
    assert found is not None and found.bare


@pytest.mark.parametrize(
    "score",
    [ForcedScore(0.9, 0.02, "Hey Hearth"), ForcedScore(0.01, 0.9, "Hey Hearth"), None],
)
def test_a_mention_a_near_miss_or_no_model_stays_asleep(score: ForcedScore | None) -> None:
    # 0.9/0.02: "Hearth opens no network connection" (the name, then no call mark).
    wake = _forced("Hard to say what happened.", score)
    assert wake.check(np.zeros(16_000 * 3, np.float32))[0] is None
    assert wake.forced == 0


def test_the_forced_reading_can_be_turned_off() -> None:
    wake = _forced("The low pass.", ForcedScore(0.9, 0.9, "Hello Hearth"), forced=False)
    assert wake.scorer is None
    assert wake.check(np.zeros(16_000 * 2, np.float32))[0] is None


def test_a_speech_to_text_without_whisper_cannot_be_scored() -> None:
    scorer = PhraseScorer(ScriptedStt("", ""), WakeConfig())  # type: ignore[arg-type]
    assert scorer.score(np.zeros(16_000, np.float32)) is None


class TokenStt:
    """A speech-to-text whose forced reading is scripted: each reading's last token (the
    name's) is ``name`` probable, and each token asked for after it as in ``after``."""

    MARKS: ClassVar[dict[str, int]] = {",": 11, ".": 13, "!": 0, "?": 30}
    END = 50257

    def __init__(self, name: float, after: dict[int, float]) -> None:
        self.name, self.after = name, after
        self.then: list[int] = []
        self.readings: list[list[int]] = []

    def text_tokens(self, text: str, language: str = "en") -> list[int]:
        tokens: list[int] = []
        for word in text.split():
            bare = word.rstrip(",.!?")
            tokens += [634, 18352] if bare == "Hearth" else [1000 + len(bare)]
            if bare != word:
                tokens.append(self.MARKS[word[-1]])
        return tokens

    def end_of_text(self, language: str = "en") -> int:
        return self.END

    def forced_token_probs(
        self,
        audio: np.ndarray,
        readings: list[list[int]],
        language: str = "en",
        then: tuple[int, ...] | list[int] = (),
    ) -> list[list[float]]:
        self.readings, self.then = [list(r) for r in readings], list(then)
        return [
            [0.5] * (len(r) - 1) + [self.name] + [self.after.get(t, 0.0) for t in then]
            for r in readings
        ]


def test_the_end_of_the_transcript_after_the_name_counts_as_a_call() -> None:
    # Said alone, "Hey Hearth" most often ends the transcript with no mark at all.
    stt = TokenStt(0.5, {TokenStt.END: 0.4, 13: 0.1})
    scorer = PhraseScorer(stt, WakeConfig())  # type: ignore[arg-type]
    found = scorer.score(np.zeros(16_000, np.float32))
    assert found is not None and found.wakes(scorer.config)
    assert found.name == 0.5 and found.call == pytest.approx(0.5)
    # Every mark and the end are asked for after the name, once per greeting.
    assert stt.then == [11, 13, 0, 30, TokenStt.END]
    assert len(stt.readings) == 5 and [634, 18352] in stt.readings


@pytest.mark.parametrize(
    ("name", "after", "wakes"),
    [
        (0.5, {11: 0.3}, False),  # a pause too unlikely after the name: a mention
        (0.5, {11: 0.2, 30: 0.3}, True),  # "," and "?" together
        (0.1, {TokenStt.END: 0.9}, False),  # the name itself too unlikely
        (0.15, {TokenStt.END: 0.9}, True),
    ],
)
def test_the_call_marks_add_up_and_the_name_must_be_likely(
    name: float, after: dict[int, float], wakes: bool
) -> None:
    scorer = PhraseScorer(TokenStt(name, after), WakeConfig())  # type: ignore[arg-type]
    found = scorer.score(np.zeros(16_000, np.float32))
    assert found is not None and found.wakes(scorer.config) is wakes
