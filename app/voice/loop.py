"""The voice conversation loop: listening → transcribing → thinking → speaking → listening.

Threads (callbacks run on them; a Qt service re-emits them as queued signals):

- the caller's thread runs :meth:`VoiceLoop.run`: it reads microphone frames, runs the
  end-of-speech detector, starts, commits, cancels and interrupts turns;
- each turn has a worker thread (Whisper's passes, then the reply's fate); each reply it
  starts has a stream thread (the engine's tokens cut into sentences) and a speech thread
  (Piper, one sentence while the next is generated);
- a running transcript, when asked for, is made on a thread of its own;
- PortAudio's own threads fill the capture queue and drain the playback queue.

Speculation: when the speaker pauses (``VadConfig.pause_ms`` of silence) the turn starts
at once: a cheap draft transcription, the reply to the draft generated and its first
piece synthesised, while Whisper's final pass reads the whole utterance and the hang-over
(``silence_ms``) decides whether the utterance is really over. Nothing is played until
the end of speech is confirmed, and if speech resumes the turn is thrown away. When the
final transcript says other words than the draft (case, punctuation and spacing aside),
the draft's reply is cancelled and made again from the final one: before a word of it
is played when the final pass is done first, else it is stopped where it is and the
answer starts over (``TurnResult.draft`` says so). When they agree (nearly always) the
head start is kept whole, and the final pass costs the answer nothing. Only the final
transcript, and the reply made from it, reach the conversation and ``transcript_ready``.
And when the draft already reads as a finished sentence (:mod:`app.voice.turn_end`),
``finished_silence_ms`` of silence ends the turn instead of the whole hang-over; if the
user goes on after all, that is a barge-in, and an answer nobody heard leaves the
question open for the next turn to continue.

Continuing a question: the audio of a question nobody heard an answer to is put in front
of the next utterance, and Whisper transcribes the two as one. Texts are never glued, so
no piece is joined twice, and the words of a turn cut off before its transcript was
ready are not lost. But a question whose draft's reply was already heard when the user
talked over it was answered: it is not continued. Its final pass goes on, and the turn
is stored once that is in (the final transcript, the reply as far as it was heard,
``TurnResult.draft`` when the final says other words); the next utterance is a question
of its own, answered after it.

Correction: with ``VoiceConfig.correction_grace_s`` the reply waits that long after the
final transcript is shown; :meth:`VoiceLoop.correct` meanwhile replaces the question and
the reply is made for the typed text instead.

Barge-in: speech while Hearth thinks or speaks cancels the generation, drops queued and
buffered audio, and keeps in the history only the part of the reply that was heard.

History: the loop keeps none. Its :class:`~app.voice.conversation.VoiceConversation` (the
window's chat service, or a conversation in memory) is asked for it before each turn and
is handed each turn: the question once final, the reply as it streams, what was said.

The first words: the reply's first piece is short (see :mod:`app.voice.sentences`), the
generation is held while Piper synthesises it (on a small CPU the two would share the
cores), and while the user is still talking llama.cpp reads the conversation up to
where the next question goes, so the question costs only its own tokens.
"""

from __future__ import annotations

import enum
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from app.core.errors import HearthError, error_from_kind
from app.core.generation import GenerationParams, Message, sampling_defaults
from app.core.reasoning import ReasoningSplitter
from app.engine import protocol as p
from app.engine.client import RequestHandle
from app.voice.audio_io import SAMPLE_RATE, AudioCapture, AudioPlayer, Frame, Samples, resample
from app.voice.consent import heard_consent, permission_question
from app.voice.conversation import MemoryConversation, VoiceConversation
from app.voice.not_heard import could_not_make_out, not_heard_phrase
from app.voice.question_key import question_key
from app.voice.sentences import PieceEnd, Sentence, SentenceSplitter
from app.voice.stt import UNSURE_DRAFT_LOGPROB, UNSURE_LANGUAGE, SpeechToText, Transcript
from app.voice.tts import TextToSpeech
from app.voice.turn_end import FINISHED_SILENCE_MS, sounds_finished
from app.voice.vad import EndpointDetector, SileroVad, VadConfig, VadEvent, VadEventKind
from app.voice.wake_word import WakeConfig, WakeWord, cue_sound

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are Hearth, a friendly voice assistant. Your answers are spoken aloud, so reply "
    "in one to three short sentences of plain text, without lists, Markdown or emoji, "
    "in the language the user speaks."
)
# Silence put between a carried-over question's audio and the next utterance's.
CARRY_GAP_S = 0.3
# A reply talked over within this much of its audio (two or three words) was not taken
# as an answer (VoiceConfig.continue_within_s). Someone who pauses mid-question for a
# second hears the reply begin and goes on: "What is the tallest mountain" (a second)
# "in South America?" is then one question, not a stopped answer followed by "in South
# America?". The voice tests that talk over a reply to stop it let 1.5 s of it play.
CONTINUE_WITHIN_S = 1.0
# A running transcript is made after each this many seconds of new speech.
PARTIAL_EVERY_S = 1.0
# The longest a turn waits for a correction the user started typing.
CORRECTION_HOLD_S = 60.0


def speak_in_language(
    text: str,
    language: str,
    default: TextToSpeech,
    voices: dict[str, TextToSpeech],
    pause_s: float | None = None,
) -> Samples:
    """``text`` spoken by the voice for ``language`` (else ``default``), at ``default``'s rate
    (the player is opened for the default voice), then ``pause_s`` of silence."""
    voice = voices.get(language, default)
    audio = voice.synthesize(text, pause_s)
    if voice.sample_rate != default.sample_rate:
        audio = resample(audio, voice.sample_rate, default.sample_rate)
    return audio


def each_event(handle: RequestHandle, timeout_s: float) -> Iterator[p.Event]:
    """``handle``'s events until its final one, each within ``timeout_s`` of the one
    before. (``handle.events(timeout)`` bounds the whole reply: a long story on a slow
    machine streams for minutes, and must not end as "the engine did not answer".)"""
    while True:
        event = handle.next_event(timeout_s)
        yield event
        if isinstance(event, p.FINAL_EVENTS):
            return


def next_likely_language(likely: str | None, heard: Transcript, sure: float) -> str | None:
    """The conversation's language after a turn ``heard``: it follows a detection at least
    ``sure`` of itself (or a first one), never an unsure guess. An unsure guess kept as
    the turn's text (a noisy English question heard as Thai at 0.47) would otherwise make
    the next unsure detection be checked against Thai, and the conversation drift into it
    turn after turn (seen in a 60-turn hands-free run)."""
    if likely is None or heard.language == likely or heard.language_probability >= sure:
        return heard.language or likely
    return likely


class ChatEngine(Protocol):
    """What the loop needs of an engine: this machine's worker or a remote endpoint."""

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> RequestHandle: ...

    def cancel(self, target: RequestHandle | int) -> None: ...

    def hold(self, target: RequestHandle | int, seconds: float) -> None: ...

    def release(self, target: RequestHandle | int) -> None: ...


class VoiceState(enum.Enum):
    IDLE = "idle"
    LISTENING = "listening"
    TRANSCRIBING = "transcribing"
    THINKING = "thinking"
    SPEAKING = "speaking"


@dataclass(frozen=True)
class VoiceConfig:
    """Behaviour of the loop (the settings page's voice section)."""

    push_to_talk: bool = False  # False: hands-free, the VAD decides when a turn ends
    barge_in: bool = True  # speech while Hearth speaks stops it
    speculative: bool = True  # start work at the first pause (see module docstring)
    language: str | None = None  # Whisper language; None detects it
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    params: GenerationParams = field(default_factory=lambda: sampling_defaults("voice"))
    vad: VadConfig = field(default_factory=VadConfig)
    first_clause_words: int = 4  # the first spoken piece may end at a comma after this many
    first_phrase_words: int = 2  # ... or before a new phrase after this many (0: never)
    # When what was said reads as a finished sentence (see app.voice.turn_end), this much
    # silence ends the turn instead of the whole hang-over (0: always wait for it).
    finished_silence_ms: int = FINISHED_SILENCE_MS
    engine_timeout_s: float = 60.0  # the longest wait for the engine's next event
    # How long the reply waits after the final transcript, for a typed correction
    # (VoiceLoop.correct); 0: no wait (hands-free).
    correction_grace_s: float = 0.0
    # True: no reply is played before Whisper's final pass has confirmed the question
    # (slower by that pass, but a misheard draft is never heard). False: the draft's reply
    # plays at once and is stopped and made again if the final transcript differs.
    wait_for_final: bool = False
    # A draft Whisper was less sure of than this (its average token log-probability) is
    # not answered: the final pass starts at once, and its transcript is answered. None:
    # every draft is (see UNSURE_DRAFT_LOGPROB).
    unsure_draft_logprob: float | None = UNSURE_DRAFT_LOGPROB
    # A reply talked over within this many seconds of its audio was not taken as an
    # answer: the user was still asking (a pause mid-question ended the turn). It is
    # dropped, and the question goes on, joined by its audio, into what they say next,
    # as when nothing of the reply was heard. 0: any word heard closes the question.
    continue_within_s: float = CONTINUE_WITHIN_S
    # "Hey Hearth": only utterances that start with the wake phrase (or follow a bare one)
    # are answered; None: every utterance is (see app.voice.wake_word).
    wake: WakeConfig | None = None
    # Speech Whisper could not make out gets "Sorry, I didn't catch that" (see
    # app.voice.not_heard); False: such a turn ends in silence.
    say_not_heard: bool = True


@dataclass
class VoiceCallbacks:
    """Plain callbacks, any of which may be None. They run on the loop's threads."""

    state_changed: Callable[[VoiceState], None] | None = None
    level_changed: Callable[[float], None] | None = None  # dBFS of each 32 ms frame
    # What was heard so far while the user speaks (a draft; about once a second of speech),
    # never after the turn's transcript_ready.
    transcript_partial: Callable[[str], None] | None = None
    # The final transcript, once the end of speech is confirmed, before any reply audio.
    transcript_ready: Callable[[Transcript], None] | None = None
    reply_delta: Callable[[str], None] | None = None
    sentence_queued: Callable[[Sentence], None] | None = None  # handed to the speaker
    turn_finished: Callable[[TurnResult], None] | None = None
    # A tool needs the user's permission: the question Hearth says aloud (show it with
    # Allow and Deny, answered through VoiceLoop.answer_permission); then the answer
    # (True, False, or None when none came in time).
    permission_asked: Callable[[str], None] | None = None
    permission_answered: Callable[[bool | None], None] | None = None
    # The wake phrase was heard (what Whisper made of it): show that Hearth listens now.
    wake_heard: Callable[[str], None] | None = None
    # Speech Whisper could not make out: what Hearth says about it, as it starts saying it.
    not_heard: Callable[[str], None] | None = None


@dataclass(frozen=True)
class TurnResult:
    """One exchange: what the user said, what Hearth answered and said, and when."""

    transcript: str  # Whisper's final transcript (a continued question's included)
    language: str
    reply: str  # everything the model generated
    spoken: str  # what was actually said aloud; this is what the history keeps
    sentences: tuple[str, ...]  # the pieces handed to the speaker, as spoken
    finish_reason: str
    interrupted: bool
    speculative: bool  # the transcription started before the end of speech was confirmed
    ended_early: bool  # a finished sentence ended the turn before the hang-over
    timings: dict[str, float]  # seconds since the end of speech (see ``Turn.MARKS``)
    stages: dict[str, float]  # how long each stage took, in seconds
    notice: str | None = None  # the engine's word on the prompt (a replaced chat template)
    question: str = ""  # what was answered and stored: the transcript, or its correction
    # The draft transcript, when the final one differed and the reply was made again.
    draft: str | None = None
    # The draft, when Whisper was too unsure of it to answer it (the final pass was waited
    # for; VoiceConfig.unsure_draft_logprob).
    unsure_draft: str | None = None
    corrected: bool = False  # the question was replaced by a typed correction
    # Nothing of the reply was taken as heard (the user went on before it, or within its
    # first second, VoiceConfig.continue_within_s): the question was not answered; it goes
    # on within the next utterance, whose transcript has it (a script joining the turns'
    # questions skips this one).
    carried: bool = False
    # The final transcript was sampled by Whisper's temperature fallback (Transcript.sampled).
    sampled: bool = False
    prompt_tokens: int = 0  # the prompt the answer was made from, image tokens included
    image_tokens: int = 0  # of which the images' (see VoiceConversation.images)
    # Speech Whisper could not make out: ``spoken`` says so, nothing was asked or stored,
    # and ``transcript`` is empty (app.voice.not_heard).
    not_heard: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "transcript": self.transcript,
            "question": self.question,
            "language": self.language,
            "reply": self.reply,
            "spoken": self.spoken,
            "sentences": list(self.sentences),
            "finish_reason": self.finish_reason,
            "interrupted": self.interrupted,
            "speculative": self.speculative,
            "ended_early": self.ended_early,
            "draft": self.draft,
            "unsure_draft": self.unsure_draft,
            "corrected": self.corrected,
            "carried": self.carried,
            "sampled": self.sampled,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "stages": {k: round(v, 4) for k, v in self.stages.items()},
            "notice": self.notice,
            "prompt_tokens": self.prompt_tokens,
            "image_tokens": self.image_tokens,
            "not_heard": self.not_heard,
        }


def _not_heard_tag(turn: _Turn) -> Hashable | None:
    """The player's tag of what ``turn`` said when it could not make out the speech."""
    return ("not heard", turn.id) if turn.not_heard is not None else None


class _Reply:
    """One attempt at answering a turn: a generation, its sentences and their speech.

    Its pieces are synthesised at once and played after ``go`` (the end of speech is
    confirmed and any correction grace is over); its text is handed to the conversation
    only after ``confirmed`` (its question is the final one, and was handed on first).
    """

    def __init__(self, number: int, question: str, language: str) -> None:
        self.number = number
        self.question = question
        self.key = question_key(question)
        self.language = language
        self.handle: RequestHandle | None = None
        self.text = ""
        self.finish_reason = ""
        self.notice: str | None = None
        self.prompt_tokens = 0  # what the model read, image tokens included
        self.image_tokens = 0
        self.go = threading.Event()
        self.first_audio = threading.Event()  # its first piece is synthesised
        self.confirmed = threading.Event()
        self.dropped = threading.Event()
        self.threads: list[threading.Thread] = []

    @property
    def finished(self) -> bool:
        return not any(t.is_alive() for t in self.threads)


class _Turn:
    """A turn in flight. Marks are ``time.perf_counter`` values, set once each."""

    MARKS = (
        "speech_start",
        "speech_end",
        "transcription_start",
        "draft_ready",
        "transcript_ready",  # the transcript the answered reply was started from
        "llm_request",
        "final_transcription_start",
        "final_transcript_ready",
        "end_of_speech_detected",
        "first_token",
        "first_sentence_ready",
        "first_audio_ready",
        "first_audio_written",
        "reply_done",
        "playback_done",
        "barge_in_speech",
        "interrupted",
    )
    # Marks of a reply that was made again: the one answered sets them anew.
    REPLY_MARKS = (
        "transcript_ready",
        "llm_request",
        "first_token",
        "first_sentence_ready",
        "first_audio_ready",
        "reply_done",
    )

    def __init__(
        self,
        turn_id: int,
        event: VadEvent,
        audio: Samples,
        speculative: bool,
        seq: int,
        *,
        max_samples: int,
    ) -> None:
        self.id = turn_id
        assert event.audio is not None
        self.audio = audio  # the utterance, after any carried-over question's audio
        self.own_samples = event.audio.size  # the utterance's own share of it
        # What the microphone gave after a speculative turn's cut, until it is committed
        # (under ``lock``): a question carried over ends with it. See heard_audio.
        self.tail: list[Samples] = []
        self.tail_room = max(0, int(max_samples) - audio.size)
        self.first_sample = event.first_sample
        self.stream_end: int | None = event.first_sample + event.audio.size
        self.seq = seq  # the utterance's number (running transcripts)
        self.speculative = speculative
        self.speech_end = event.speech_end
        self.ended_early = False
        self.marks: dict[str, float] = {}
        self.lock = threading.Lock()
        self.committed = threading.Event()
        self.cancelled = threading.Event()
        # Its words went on into the next turn (TurnResult.carried): its own transcription
        # is no longer wanted, and gives up, so that the next turn's does not wait behind
        # it (several seconds when Whisper falls back to sampling).
        self.carried = threading.Event()
        self.done = threading.Event()
        self.handle: RequestHandle | None = None  # the current reply's generation
        self.draft: Transcript | None = None
        self.transcript: Transcript | None = None  # the final one
        self.question: str | None = None  # what is answered: the transcript, or its correction
        self.reply: _Reply | None = None  # the current attempt
        self.attempts: list[_Reply] = []  # every reply started, dropped ones included
        self.redone_from: str | None = None  # the draft, when the final differed
        self.unsure_draft: str | None = None  # the draft, when too unsure to be answered
        self.not_heard: str | None = None  # said when the speech could not be made out
        self.corrected = False
        # Correction grace, under ``lock``.
        self.grace_open = False
        self.grace_until = 0.0
        self.held_until = 0.0
        self.correction: str | None = None
        self.poke = threading.Event()
        self.played: list[tuple[Sentence, Hashable, int]] = []  # sentence, tag, samples
        self.finalized = False
        self.announced = False
        self.interrupted = False
        self.spoken = ""
        # Interrupted while its draft's reply was heard, before the final transcript:
        # recorded once that is in (VoiceLoop._record_late).
        self.late = False
        self.settled = threading.Event()  # recorded, or its worker is over
        self.after: _Turn | None = None  # a late turn to be recorded before this one
        self.mark("speech_start", event.speech_start)
        self.mark("speech_end", event.speech_end)

    def mark(self, name: str, at: float | None = None) -> None:
        self.marks.setdefault(name, time.perf_counter() if at is None else at)

    def grow(self, samples: Samples) -> None:
        """Keep audio heard after the cut (within Whisper's window)."""
        with self.lock:
            kept = samples[: self.tail_room]
            if kept.size < samples.size:
                self.stream_end = None  # no longer the stream's last samples
            if kept.size:
                self.tail.append(kept)
                self.tail_room -= kept.size
                if self.stream_end is not None:
                    self.stream_end += kept.size

    def heard_audio(self) -> Samples:
        """The turn's audio with what came after its cut so far: all the microphone
        recorded of it up to where ``stream_end`` says, for a question carried over to
        the next utterance (VoiceLoop._after_carried)."""
        with self.lock:
            tail = list(self.tail)
        if not tail:
            return self.audio
        return np.concatenate([self.audio, *tail]).astype(np.float32, copy=False)

    def heard_so_far(self) -> Transcript | None:
        """The best transcript there is yet: the final one, else the draft."""
        return self.transcript if self.transcript is not None else self.draft

    def timings(self) -> dict[str, float]:
        zero = self.marks["speech_end"]
        return {k: self.marks[k] - zero for k in self.MARKS if k in self.marks}

    def stages(self) -> dict[str, float]:
        m = self.marks

        def span(a: str, b: str) -> float | None:
            return m[b] - m[a] if a in m and b in m else None

        gate = None
        if "first_audio_ready" in m and "end_of_speech_detected" in m:
            gate = max(0.0, m["end_of_speech_detected"] - m["first_audio_ready"])
        out_from = None
        if "first_audio_ready" in m and "end_of_speech_detected" in m:
            out_from = max(m["first_audio_ready"], m["end_of_speech_detected"])
        stages = {
            "endpointing": span("speech_end", "end_of_speech_detected"),
            "transcription": span("transcription_start", "transcript_ready"),
            "draft_transcription": span("transcription_start", "draft_ready"),
            "final_transcription": span("final_transcription_start", "final_transcript_ready"),
            "llm_first_token": span("llm_request", "first_token"),
            "llm_first_sentence": span("llm_request", "first_sentence_ready"),
            "tts_first_sentence": span("first_sentence_ready", "first_audio_ready"),
            "waiting_for_end_of_speech": gate,
            "audio_output": m["first_audio_written"] - out_from
            if out_from is not None and "first_audio_written" in m
            else None,
            "total": span("speech_end", "first_audio_written"),
        }
        return {k: v for k, v in stages.items() if v is not None}


class VoiceLoop:
    """Hands-free or push-to-talk conversation over an already loaded engine."""

    FIRST_PIECE_HOLD_S = 1.0  # the longest the generation waits for the first piece
    FIRST_PIECE_WAIT_S = 3.0  # the longest the final pass waits for the draft's first piece
    PERMISSION_WAIT_S = 12.0  # after asking for a tool, the longest wait for yes or no

    def __init__(
        self,
        *,
        engine: ChatEngine,
        stt: SpeechToText,
        tts: TextToSpeech,
        capture: AudioCapture,
        player: AudioPlayer,
        vad: SileroVad,
        config: VoiceConfig | None = None,
        callbacks: VoiceCallbacks | None = None,
        conversation: VoiceConversation | None = None,
        voices: dict[str, TextToSpeech] | None = None,
    ) -> None:
        self.engine = engine
        self.stt = stt
        self.tts = tts  # the default voice; its rate is the player's source rate
        self.voices = voices or {}  # language -> voice, for replies in other languages
        self.capture = capture
        self.player = player
        self.config = config or VoiceConfig()
        self.callbacks = callbacks or VoiceCallbacks()
        self.detector = EndpointDetector(vad, self.config.vad)
        # With a wake word, utterances heard while asleep are only read for the phrase.
        self.wake = WakeWord(stt, self.config.wake) if self.config.wake is not None else None
        self._gated = False  # the utterance in progress began while asleep
        self._wakes = 0
        # The history's owner: asked for it before each turn, handed each turn.
        self.conversation: VoiceConversation = conversation or MemoryConversation()
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._state = VoiceState.IDLE
        self._pending: _Turn | None = None  # speculative, not yet committed
        self._active: _Turn | None = None  # committed, not yet finished
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._ptt: queue.Queue[str] = queue.Queue()
        # A question interrupted before any answer was heard: its audio goes in front of
        # the next utterance's; its text only warms the prompt cache.
        self._carry_audio: Samples | None = None
        self._carry_end: int | None = None  # its stream position (see VadEvent.first_sample)
        self._carry_text = ""
        # A turn talked over while its draft's reply was heard, waiting for its final
        # transcript to be recorded; the next turn's reply waits for it.
        self._late: _Turn | None = None
        # The language the conversation is in, for Whisper's unsure detections: the last
        # one heard, at first the voice's own.
        self._likely_language: str | None = tts.language
        # Running transcripts: the utterance's number, the last one shown, the last
        # utterance whose final transcript was shown (none after it), the one in progress.
        self._utterance = 0
        self._partial_lock = threading.Lock()
        self._partial_shown: tuple[int, int] = (0, 0)  # (utterance, samples covered)
        self._final_shown = 0
        self._partial_from_s = 0.0  # speech seconds at the last running transcript
        self._partial_job: threading.Thread | None = None
        # A permission question being asked: the user's next utterance (or an answer on
        # screen) goes here instead of starting a turn. One question at a time; the answer
        # holds for the turn (a reply made again asks no twice).
        self._asking: queue.Queue[Samples | bool] | None = None
        self._ask_lock = threading.Lock()
        self._asked: dict[tuple[int, str], bool] = {}
        self.results: list[TurnResult] = []
        self.player.on_first_audio = self._on_first_audio
        self._first_audio: dict[Hashable, float] = {}
        if self.callbacks.level_changed is not None:
            self.capture.on_level = self.callbacks.level_changed

    # -- public --------------------------------------------------------------------------
    @property
    def state(self) -> VoiceState:
        return self._state

    def stop(self) -> None:
        """Ask :meth:`run` to return (thread-safe)."""
        self._stop.set()

    def press(self) -> None:
        """Push-to-talk pressed: start recording (and interrupt Hearth if it speaks)."""
        self._ptt.put("press")

    def release(self) -> None:
        """Push-to-talk released: the utterance is over."""
        self._ptt.put("release")

    def interrupt(self) -> None:
        """Stop the current reply now, as a barge-in would (a Stop button)."""
        turn = self._active
        if turn is not None:
            self._interrupt(turn, time.perf_counter())

    def ask_tool(self, tool: Any, call: Any) -> bool:
        """A tool loop's permission prompt (``app.tools.agent`` AskFn) put to the user by
        voice: :meth:`ask_permission` for the tool's label."""
        return self.ask_permission(str(tool.label), str(tool.name))

    def ask_permission(self, subject: str, key: str | None = None) -> bool:
        """Ask aloud (and on screen, through ``permission_asked``) whether Hearth may use
        ``subject`` for the turn being answered. True only for a clear yes (spoken, or
        :meth:`answer_permission`) within ``PERMISSION_WAIT_S``; a turn dropped first (the
        user went on speaking) asks nothing and gets False."""
        turn = self._pending if self._pending is not None else self._active
        # Speculative work asks only once the end of speech is confirmed.
        if turn is None or not self._wait_commit(turn):
            return False
        with self._ask_lock:
            cached = self._asked.get((turn.id, key or subject))
            if cached is None:
                cached = self._ask(turn, subject)
                self._asked[(turn.id, key or subject)] = cached
            return cached

    def answer_permission(self, allowed: bool) -> bool:
        """The user's Allow (True) or Deny on screen; False when nothing is being asked."""
        answers = self._asking
        if answers is None:
            return False
        answers.put(allowed)
        return True

    def correct(self, text: str) -> bool:
        """Replace the question of the turn waiting in its correction grace with ``text``;
        its reply is made for ``text`` instead (thread-safe).

        False when no turn is waiting: the grace is over, reply audio has started, or
        ``VoiceConfig.correction_grace_s`` is 0.
        """
        text = text.strip()
        turn = self._active
        if not text or turn is None:
            return False
        with turn.lock:
            if not turn.grace_open or turn.cancelled.is_set():
                return False
            turn.correction = text
        turn.poke.set()
        return True

    def hold_correction(self) -> bool:
        """The user started typing a correction: the waiting turn waits past its grace,
        until :meth:`correct` or :meth:`end_correction` (at most ``CORRECTION_HOLD_S``).
        False when no turn is waiting."""
        turn = self._active
        if turn is None:
            return False
        with turn.lock:
            if not turn.grace_open or turn.cancelled.is_set():
                return False
            turn.held_until = time.perf_counter() + CORRECTION_HOLD_S
        return True

    def end_correction(self) -> None:
        """Give up a held correction: the reply is played as it is."""
        turn = self._active
        if turn is None:
            return
        with turn.lock:
            turn.held_until = 0.0
        turn.poke.set()

    def run(
        self, *, max_turns: int | None = None, timeout: float | None = None
    ) -> list[TurnResult]:
        """Listen and answer until :meth:`stop`, ``max_turns`` answered turns, or ``timeout``.

        ``timeout`` bounds the time spent waiting for speech while nothing is in progress.
        Raises the :class:`HearthError` that ended the loop (a device that vanished, ...).
        """
        start_count = len(self.results)
        idle_since = time.perf_counter()
        self._warm_prompt_cache()
        self._set_state(VoiceState.LISTENING)
        try:
            while not self._stop.is_set():
                if self._error is not None:
                    raise self._error
                busy = any(t is not None for t in (self._active, self._pending, self._late))
                answered = len(self.results) - start_count
                if max_turns is not None and answered >= max_turns and not busy:
                    break
                if busy or self.detector.in_speech:
                    idle_since = time.perf_counter()
                elif timeout is not None and time.perf_counter() - idle_since > timeout:
                    break
                self._handle_ptt()
                frame = self.capture.read(timeout=0.1)
                if frame is not None:
                    self._on_frame(frame)
                    self._end_if_finished(frame.time)
                    self._maybe_partial()
        finally:
            self._shutdown()
        if self._error is not None:
            raise self._error
        return self.results[start_count:]

    # -- listening -----------------------------------------------------------------------
    def _on_frame(self, frame: Frame) -> None:
        active = self._active
        listening = active is None or self.config.barge_in
        detect = listening and not self.config.push_to_talk
        if not listening and not self.detector.in_speech:
            # Barge-in is off and Hearth is busy: speech now is not a new turn.
            self.detector.push(frame.samples, frame.time, detect=False)
            return
        pending = self._pending
        events = self.detector.push(frame.samples, frame.time, detect=detect)
        if pending is not None:
            # The frame went on the speculative turn's utterance (a RESUME below drops it).
            pending.grow(frame.samples)
        for event in events:
            self._on_vad(event)

    def _on_vad(self, event: VadEvent) -> None:
        kind = event.kind
        log.debug("vad %s at %.3f", kind.value, event.time)
        answers = self._asking
        if answers is not None and kind not in (VadEventKind.MAYBE_SPEECH, VadEventKind.NOT_SPEECH):
            # A permission question is out: what the user says answers it; it neither
            # interrupts the turn waiting for the answer nor starts another.
            if kind is VadEventKind.SPEECH_START:
                self._new_utterance()
                self.player.stop_now()  # the rest of the question is not needed
            elif kind is VadEventKind.SPEECH_END and event.audio is not None:
                answers.put(event.audio)
            return
        if self.wake is not None and self._wake_gate(event):
            return
        if kind is VadEventKind.MAYBE_SPEECH:
            # Hold Hearth's voice at the first speech-like frame: if the onset is confirmed
            # this was the start of the barge-in; if not, playback resumes where it was.
            if self._active is not None and self.config.barge_in:
                self.player.pause()
        elif kind is VadEventKind.NOT_SPEECH:
            if self.player.paused:
                self.player.resume()
        elif kind is VadEventKind.SPEECH_START:
            self._new_utterance()
            active = self._active
            if active is not None and self.config.barge_in:
                active.mark("barge_in_speech", event.speech_start)
                self._interrupt(active, event.time)
            elif self.player.paused:
                self.player.resume()  # the turn ended meanwhile: nothing is held
            self._cancel_pending()
        elif kind is VadEventKind.PAUSE:
            if self.config.speculative and self._active is None:
                self._cancel_pending()
                self._pending = self._start_turn(event, speculative=True)
        elif kind in (VadEventKind.RESUME, VadEventKind.DISCARDED):
            self._cancel_pending()
        elif kind is VadEventKind.SPEECH_END:
            turn = self._pending
            self._pending = None
            if turn is None or turn.cancelled.is_set():
                turn = self._start_turn(event, speculative=False)
            self._commit(turn, event.time)

    def _wake_gate(self, event: VadEvent) -> bool:
        """With a wake word: True when ``event`` belongs to an utterance heard while
        asleep, which starts no turn unless it begins with the wake phrase."""
        wake = self.wake
        assert wake is not None
        kind = event.kind
        if kind is VadEventKind.SPEECH_START:
            # Speech while Hearth answers (a barge-in) or right after a bare wake phrase
            # is heard as usual; anything else waits to be read for the phrase.
            self._gated = self._active is None and self._pending is None and wake.asleep(event.time)
            return self._gated
        if not self._gated:
            if kind is VadEventKind.SPEECH_END:
                wake.sleep()  # this utterance is the question: the next needs the phrase
            return False
        if kind in (VadEventKind.MAYBE_SPEECH, VadEventKind.NOT_SPEECH):
            return False
        if kind is VadEventKind.DISCARDED:
            self._gated = False
        if kind is not VadEventKind.SPEECH_END or event.audio is None:
            return True
        self._gated = False
        found, text = wake.check(event.audio)
        log.debug("asleep, heard %r", text)
        if found is None:
            return True
        self._woken(found.phrase)
        if found.bare:
            wake.wake(time.perf_counter())  # "Hey Hearth." alone: the question comes next
            # Where the speech ended in the utterance's audio (the hang-over follows it):
            # within the head read, nothing else was said.
            spoken_s = event.audio.size / SAMPLE_RATE - (event.time - event.speech_end)
            if spoken_s <= wake.config.head_s:
                return True
        else:
            wake.sleep()
        self._new_utterance()
        self._commit(self._start_turn(event, speculative=False), event.time)
        return True

    def _woken(self, phrase: str) -> None:
        """The wake phrase was heard: the chime, and the callback that shows it."""
        self._wakes += 1
        log.info("wake phrase heard")
        assert self.wake is not None
        if self.wake.config.cue:
            self.player.play(cue_sound(self.tts.sample_rate), ("wake", self._wakes))
        if self.callbacks.wake_heard is not None:
            self.callbacks.wake_heard(phrase)

    def _new_utterance(self) -> None:
        self._utterance += 1
        self._partial_from_s = 0.0

    def _end_if_finished(self, now: float) -> None:
        """End the turn before the hang-over when what was said reads as finished."""
        turn = self._pending
        wait_s = self.config.finished_silence_ms / 1000
        if (
            turn is None
            or not 0 < wait_s < self.config.vad.silence_ms / 1000
            # Without barge-in, speech while Hearth answers is ignored: a user who was not
            # done after all could not go on, so only the full hang-over ends a turn.
            or not self.config.barge_in
            or turn.cancelled.is_set()
            or not self.detector.in_speech
            or now - turn.speech_end < wait_s
        ):
            return
        heard = turn.heard_so_far()
        if heard is None or heard.empty or not sounds_finished(heard.text, heard.language):
            return
        self.detector.finish(now)
        self._pending = None
        turn.ended_early = True
        log.info("turn %d ends before the hang-over: it reads as finished", turn.id)
        log.debug("turn %d heard, finished: %r", turn.id, heard.text)
        self._commit(turn, now)

    def _handle_ptt(self) -> None:
        while True:
            try:
                action = self._ptt.get_nowait()
            except queue.Empty:
                return
            now = time.perf_counter()
            answers = self._asking
            if action == "press":
                if self._active is not None and answers is None:
                    self._interrupt(self._active, now)
                self._new_utterance()
                self.detector.begin(now)
            elif action == "release":
                event = self.detector.finish(now)
                if event is None:
                    continue
                if event.speech_s * 1000 < self.config.vad.min_speech_ms:
                    log.info("push-to-talk recording had no speech in it")
                    continue
                if answers is not None and event.audio is not None:
                    answers.put(event.audio)  # the answer to a permission question
                    continue
                self._commit(self._start_turn(event, speculative=False), now)

    # -- running transcript --------------------------------------------------------------
    def _maybe_partial(self) -> None:
        """Start a draft of the utterance so far, after each ``PARTIAL_EVERY_S`` of new
        speech, when someone shows it. Only while no turn is being transcribed (a turn's
        passes are never kept waiting for one) and none is still running."""
        if (
            self.callbacks.transcript_partial is None
            or self._gated  # asleep: nothing but the wake phrase is read
            or not self.detector.in_speech
            or self._pending is not None
            or self._active is not None
            or (self._partial_job is not None and self._partial_job.is_alive())
        ):
            return
        speech_s = self.detector.speech_s
        if speech_s - self._partial_from_s < PARTIAL_EVERY_S:
            return
        audio = self.detector.utterance_audio()
        if audio is None:
            return
        self._partial_from_s = speech_s
        utterance = self._utterance
        job = threading.Thread(
            target=self._guard,
            args=(lambda: self._partial_main(utterance, audio),),
            name=f"voice-partial-{utterance}",
        )
        self._partial_job = job
        self._keep_thread(job)
        job.start()

    def _partial_main(self, utterance: int, audio: Samples) -> None:
        heard = self._transcribe(audio, draft=True)
        self._show_partial(utterance, audio.size, heard.text)

    def _show_partial(self, utterance: int, covered: int, text: str) -> None:
        """Show a running transcript unless a fuller one, or the final one, was shown."""
        callback = self.callbacks.transcript_partial
        if callback is None or not text:
            return
        with self._partial_lock:
            if utterance <= self._final_shown or (utterance, covered) <= self._partial_shown:
                return
            self._partial_shown = (utterance, covered)
            callback(text)

    def _show_final(self, turn: _Turn, transcript: Transcript) -> None:
        with self._partial_lock:
            self._final_shown = max(self._final_shown, turn.seq)
            if self.callbacks.transcript_ready is not None:
                self.callbacks.transcript_ready(transcript)

    # -- turns ---------------------------------------------------------------------------
    def _start_turn(self, event: VadEvent, *, speculative: bool) -> _Turn:
        assert event.audio is not None
        turn = _Turn(
            next(self._ids),
            event,
            self._after_carried(event.audio, event.first_sample),
            speculative,
            self._utterance,
            max_samples=int(self.config.vad.max_utterance_s * SAMPLE_RATE),
        )
        with self._lock:
            turn.after = self._late
        worker = threading.Thread(
            target=self._guard,
            args=(lambda: self._turn_main(turn), turn),
            name=f"voice-turn-{turn.id}",
        )
        self._keep_thread(worker)
        worker.start()
        return turn

    def _after_carried(self, audio: Samples, first_sample: int) -> Samples:
        """``audio`` (starting at stream position ``first_sample``) after the audio of a
        question still open, if any: Whisper hears the two as one utterance (within its
        30 s window). Where the new audio starts where the open question's ended (the
        user went on within the pre-roll), the two are the microphone's own recording,
        joined as it is: a word said across the cut is heard whole. Otherwise the audio
        between is gone, and a short silence stands for it."""
        with self._lock:
            carried, end = self._carry_audio, self._carry_end
        if carried is None:
            return audio
        if end is not None and first_sample <= end < first_sample + audio.size:
            joined = np.concatenate([carried, audio[end - first_sample :]])
        else:
            gap = np.zeros(int(CARRY_GAP_S * SAMPLE_RATE), dtype=np.float32)
            joined = np.concatenate([carried, gap, audio])
        joined = joined.astype(np.float32, copy=False)
        most = int(self.config.vad.max_utterance_s * SAMPLE_RATE)
        return joined[-most:] if joined.size > most else joined

    def _ask(self, turn: _Turn, subject: str) -> bool:
        heard = turn.heard_so_far()
        language = heard.language if heard is not None else (self.config.language or "en")
        question = permission_question(subject, language)
        answers: queue.Queue[Samples | bool] = queue.Queue()
        decision: bool | None = None
        self._asking = answers
        try:
            if self.callbacks.permission_asked is not None:
                self.callbacks.permission_asked(question)
            audio = self.speak(question, language)
            self.player.play(audio, ("ask", turn.id, subject))
            log.info("turn %d asks: %s", turn.id, question)
            deadline = time.monotonic() + audio.size / self.tts.sample_rate
            deadline += self.PERMISSION_WAIT_S
            while decision is None and not turn.cancelled.is_set() and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = answers.get(timeout=min(left, 0.1))
                except queue.Empty:
                    continue
                if isinstance(item, bool):
                    decision = item
                    continue
                said = self._transcribe(item, draft=False)
                decision = heard_consent(said.text)
                log.info("turn %d heard %r: %s", turn.id, said.text, decision)
        finally:
            self._asking = None
            if self.callbacks.permission_answered is not None:
                self.callbacks.permission_answered(decision)
        return decision is True

    def _keep_thread(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)

    def _commit(self, turn: _Turn, now: float) -> None:
        turn.mark("end_of_speech_detected", now)
        with self._lock:
            self._active = turn
        with turn.lock:  # against the worker's own state change once the transcript is in
            turn.committed.set()
            ready = turn.transcript is not None
            self._set_state(VoiceState.THINKING if ready else VoiceState.TRANSCRIBING)
            self._release_locked(turn)

    def _release_locked(self, turn: _Turn) -> None:
        """Under ``turn.lock``: without a correction grace, the reply may be played as
        soon as the end of speech is confirmed, before the final transcript is known
        (if that says other words, the reply is stopped and made again)."""
        attempt = turn.reply
        if (
            attempt is not None
            and turn.committed.is_set()
            and self.config.correction_grace_s <= 0
            and not self.config.wait_for_final
            and not turn.cancelled.is_set()
        ):
            attempt.go.set()

    def _cancel_pending(self) -> None:
        turn, self._pending = self._pending, None
        if turn is not None:
            with turn.lock:
                turn.cancelled.set()
                handle = turn.handle
            turn.poke.set()
            if handle is not None:
                self.engine.cancel(handle)
            log.debug("speculative turn %d dropped", turn.id)

    def _interrupt(self, turn: _Turn, now: float) -> None:
        """Barge-in: stop generating and speaking at once; keep what was heard."""
        with turn.lock:
            if turn.cancelled.is_set() or turn.finalized:
                return
            turn.cancelled.set()
            turn.interrupted = True
            turn.mark("interrupted", now)
            handle = turn.handle
        turn.poke.set()
        self.player.stop_now()
        if handle is not None:
            self.engine.cancel(handle)
        if not self._keep_late(turn):
            self._finalize(turn)
        log.info("turn %d interrupted", turn.id)

    def _keep_late(self, turn: _Turn) -> bool:
        """After a barge-in: True when the turn's (draft's) reply was heard but its question
        was not announced yet. It is then recorded as it stands, not continued by the next
        utterance: at once if the final transcript is in, else by its worker once it is."""
        spoken = self._heard(turn)
        with turn.lock:  # against the worker setting the final transcript
            turn.late = bool(spoken) and not turn.announced
            if not turn.late:
                return False
            turn.spoken = spoken
            final_in = turn.transcript is not None
        with self._lock:
            self._carry_audio, self._carry_text = None, ""
            self._late = turn
            if self._active is turn:
                self._active = None
        log.info("turn %d was talked over before its final transcript", turn.id)
        if final_in:
            self._record_late(turn)
        elif self._active is None:
            self._set_state(VoiceState.LISTENING)
        return True

    def _record_late(self, turn: _Turn) -> None:
        """Record a late turn (see ``_Turn.late``) with its final transcript: the question
        as Whisper finally heard it, the reply as far as it was heard, and the draft it
        answered when that said other words."""
        transcript = turn.transcript
        attempt = turn.reply
        try:
            if transcript is None or transcript.empty or attempt is None:
                log.info("turn %d: no words in its final transcript; not recorded", turn.id)
                return
            self._follow_language(transcript)
            with turn.lock:
                if attempt.key != question_key(transcript.text):
                    turn.redone_from = attempt.question
                turn.announced = True
            self.conversation.turn_heard(transcript.text)
            self._finalize(turn)
        finally:
            with self._lock:
                if self._late is turn:
                    self._late = None
            turn.settled.set()

    def _guard(self, target: Callable[[], None], turn: _Turn | None = None) -> None:
        try:
            target()
        except BaseException as exc:
            log.exception("voice %s failed", f"turn {turn.id}" if turn else "thread")
            if self._error is None:
                self._error = exc
            self._stop.set()
        finally:
            if turn is not None:
                turn.done.set()

    def _follow_language(self, transcript: Transcript) -> None:
        sure = getattr(getattr(self.stt, "config", None), "unsure_language", UNSURE_LANGUAGE)
        self._likely_language = next_likely_language(self._likely_language, transcript, sure)

    def _too_unsure(self, draft: Transcript) -> bool:
        """Whether Whisper was too unsure of ``draft`` for its reply to get a head start."""
        limit = self.config.unsure_draft_logprob
        return limit is not None and not draft.empty and draft.avg_logprob < limit

    def _transcribe(
        self, audio: Samples, *, draft: bool, stop: threading.Event | None = None
    ) -> Transcript:
        """Whisper's draft (cheap, for speculation and running transcripts) or final pass;
        given up (empty) once ``stop`` is set."""
        heard = self.stt.transcribe(
            audio, self.config.language, likely=self._likely_language, draft=draft, stop=stop
        )
        # "Hey Hearth, what time is it?" asks "What time is it?".
        return self.wake.strip(heard) if self.wake is not None else heard

    def _turn_main(self, turn: _Turn) -> None:
        try:
            self._hear_and_answer(turn)
        finally:
            turn.settled.set()
            for attempt in self._attempts(turn):
                if not attempt.confirmed.is_set():
                    self._drop(turn, attempt)
                for thread in attempt.threads:
                    thread.join(timeout=5.0)

    def _hear_and_answer(self, turn: _Turn) -> None:
        turn.mark("transcription_start")
        attempt: _Reply | None = None
        if turn.speculative:
            # A draft first: the reply gets its head start while the final pass runs.
            draft = self._transcribe(turn.audio, draft=True, stop=turn.carried)
            turn.mark("draft_ready")
            if draft.rejected == "stopped":
                return  # carried on into the next turn before its draft was done
            with turn.lock:
                turn.draft = draft
            log.debug("turn %d draft %r", turn.id, draft.text)
            self._show_partial(turn.seq, turn.own_samples, draft.text)
            if turn.cancelled.is_set():
                return
            if self._too_unsure(draft):
                # Most likely misheard: better no head start than a wrong answer begun.
                log.info(
                    "turn %d: draft too unsure (%.2f); waiting for the final pass",
                    turn.id,
                    draft.avg_logprob,
                )
                with turn.lock:
                    turn.unsure_draft = draft.text
            elif not draft.empty:
                attempt = self._begin_reply(turn, draft.text, draft.language)
            if not self._wait_settled(turn) or not self._wait_first_piece(turn, attempt):
                with turn.lock:  # talked over while its reply played: it may be late
                    heard = turn.interrupted and bool(turn.played)
                if not heard:
                    return
        turn.mark("final_transcription_start")
        # The cut at the pause, not the utterance with the silence that followed: with
        # that (300 ms or more of it) Whisper base heard worse on the benchmark's held-out
        # set, 20.8 / 29.2 % against 19.3 / 27.1 % (clean / 20 dB, 240 clips), mostly
        # the Scottish voice in noise. The cut does lose a last word now and then
        # ("water" heard as "wander" in a clean test-set clip).
        transcript = self._transcribe(turn.audio, draft=False, stop=turn.carried)
        turn.mark("final_transcript_ready")
        with turn.lock:  # together: the state change in _commit needs both
            turn.question = transcript.text
            turn.transcript = transcript
            late = turn.late
        if late:  # talked over before this: recorded now, with what was heard
            self._record_late(turn)
            return
        log.info(
            "turn %d heard %d characters (%s, %.2f s)",
            turn.id,
            len(transcript.text),
            transcript.rejected or "kept",
            transcript.elapsed_s,
        )
        log.debug("turn %d heard %r", turn.id, transcript.text)
        if transcript.empty:
            if attempt is not None:
                self._drop(turn, attempt)  # stopped, if the draft's reply was playing
            if not self._wait_commit(turn):
                return
            if self._not_made_out(turn, transcript):
                self._say_not_heard(turn)
            else:
                self._end_turn(turn, answered=False)  # noise that passed the VAD: no turn
            return
        self._follow_language(transcript)
        if attempt is None or attempt.key != question_key(transcript.text):
            if attempt is not None:
                # Another question than the draft's: its reply is stopped (if it was
                # already playing) and made again; the conversation never sees it.
                log.info("turn %d: the final transcript differs from the draft; redone", turn.id)
                log.debug("turn %d draft %r, final %r", turn.id, attempt.question, transcript.text)
                turn.redone_from = attempt.question
                self._drop(turn, attempt)
            attempt = self._begin_reply(turn, transcript.text, transcript.language)
        if attempt is None or not self._wait_commit(turn):
            return
        with turn.lock:
            if turn.cancelled.is_set():
                return
            if self._state is VoiceState.TRANSCRIBING:
                self._set_state(VoiceState.THINKING)
        attempt = self._grace(turn, attempt, transcript)
        if attempt is None:
            return
        with turn.lock:  # the question reaches the conversation before any of its reply
            if turn.cancelled.is_set():
                return
            turn.announced = True
            assert turn.question is not None
            self.conversation.turn_heard(turn.question)
            attempt.confirmed.set()
            attempt.go.set()
        while not attempt.finished:
            for thread in attempt.threads:
                thread.join(0.1)
            if self._stop.is_set():
                turn.cancelled.set()
        if turn.cancelled.is_set():
            return
        if self._played_out(turn):
            self._end_turn(turn, answered=True)

    def _played_out(self, turn: _Turn) -> bool:
        """Wait until the device has played what it was given (True), then the floor is
        the user's again; False when the turn was dropped or the loop stopped meanwhile."""
        while not self.player.wait_idle(0.2):
            if turn.cancelled.is_set() or self._stop.is_set():
                return False
        self._stop.wait(self.player.latency)
        turn.mark("playback_done")
        return not turn.cancelled.is_set()

    def _not_made_out(self, turn: _Turn, transcript: Transcript) -> bool:
        """Whether ``turn``, its final transcript empty, was speech Whisper could not make
        out, to be told so (app.voice.not_heard)."""
        if not self.config.say_not_heard:
            return False
        with turn.lock:
            draft = turn.draft
        speech_s = turn.marks["speech_end"] - turn.marks["speech_start"]
        return could_not_make_out(
            transcript, draft, speculative=turn.speculative, speech_s=speech_s
        )

    def _say_not_heard(self, turn: _Turn) -> None:
        """Say that what was said could not be made out, then hand back the floor. Nothing
        is asked or stored, and nothing is carried into the next question."""
        # The conversation's language: the rejected pass's own detection is as doubtful
        # as its words.
        language = self.config.language or self._likely_language or "en"
        phrase = not_heard_phrase(language)
        log.info("turn %d: could not make out the speech; saying so", turn.id)
        audio = self.speak(phrase, language)
        with turn.lock:
            if turn.cancelled.is_set():
                return
            turn.not_heard = phrase
            turn.mark("first_audio_ready")
            self.player.play(audio, _not_heard_tag(turn))
        self._set_state(VoiceState.SPEAKING)
        if self.callbacks.not_heard is not None:
            self.callbacks.not_heard(phrase)
        if not self._played_out(turn):
            return
        if self.wake is not None:
            self.wake.wake()  # "say it again": the question, without the phrase this time
        self._end_turn(turn, answered=True)

    def _grace(self, turn: _Turn, attempt: _Reply, transcript: Transcript) -> _Reply | None:
        """Show the final transcript, then wait ``correction_grace_s`` (longer while a
        correction is held) for a typed one; returns the reply to play (None: the turn was
        dropped)."""
        grace = self.config.correction_grace_s
        if grace <= 0:
            self._show_final(turn, transcript)
            return attempt
        with turn.lock:  # open before it is shown: a correction may come at once
            turn.grace_until = time.perf_counter() + grace
            turn.grace_open = not turn.cancelled.is_set()
        self._show_final(turn, transcript)
        with turn.lock:  # the grace runs from when the transcript could be seen
            turn.grace_until = time.perf_counter() + grace
        while True:
            with turn.lock:
                text, turn.correction = turn.correction, None
                left = max(turn.grace_until, turn.held_until) - time.perf_counter()
                if text is not None or left <= 0 or turn.cancelled.is_set():
                    turn.grace_open = False  # correct() says False from here on
            if turn.cancelled.is_set():
                return None
            if text is not None:
                log.info("turn %d: the question was corrected", turn.id)
                self._drop(turn, attempt)
                with turn.lock:
                    turn.question = text
                    turn.corrected = True
                language = turn.transcript.language if turn.transcript else attempt.language
                return self._begin_reply(turn, text, language)
            if left <= 0:
                return attempt
            turn.poke.wait(min(left, 0.1))
            turn.poke.clear()

    def _attempts(self, turn: _Turn) -> list[_Reply]:
        with turn.lock:
            return list(turn.attempts)

    def _begin_reply(self, turn: _Turn, question: str, language: str) -> _Reply | None:
        """Start generating (and synthesising) a reply to ``question``; None when the turn
        was dropped meanwhile."""
        previous = turn.after  # a late turn before this one is recorded first
        while previous is not None and not previous.settled.wait(0.05):
            if turn.cancelled.is_set() or self._stop.is_set():
                return None
        attempt = _Reply(len(turn.attempts) + 1, question, language)
        # A conversation that reads documents gives the question with the passages found
        # (``prompt``, optional: see VoiceConversation); searched here, off the GUI thread.
        prompt = getattr(self.conversation, "prompt", None)
        content = prompt(question) if callable(prompt) else question
        messages: list[Message] = [
            {"role": "system", "content": self.config.system_prompt},
            *self.conversation.history(),
            self._user_message(content),
        ]
        with turn.lock:
            if turn.cancelled.is_set():
                return None
            if turn.reply is not None:  # made again: the marks are this reply's
                for name in _Turn.REPLY_MARKS:
                    turn.marks.pop(name, None)
            turn.mark("transcript_ready")
            turn.mark("llm_request")
            params = replace(self.config.params, delta_interval_s=0.0, kv_key=self._kv_key())
            attempt.handle = self.engine.generate(messages, params)
            turn.handle = attempt.handle
            turn.reply = attempt
            turn.attempts.append(attempt)
            self._release_locked(turn)
        sentences: queue.Queue[Sentence | None] = queue.Queue()
        splitter = SentenceSplitter(
            first_clause_words=self.config.first_clause_words,
            first_phrase_words=self.config.first_phrase_words,
            # Only an answer from documents has references to leave unsaid: elsewhere
            # "notes.txt" or "[1]" is what the user asked to hear.
            drop_refs=content != question,
        )
        attempt.threads = [
            threading.Thread(
                target=self._guard,
                args=(lambda: self._stream_main(turn, attempt, splitter, sentences),),
                name=f"voice-reply-{turn.id}",
            ),
            threading.Thread(
                target=self._guard,
                args=(lambda: self._speak_main(turn, attempt, sentences),),
                name=f"voice-speak-{turn.id}",
            ),
        ]
        for thread in attempt.threads:
            thread.start()
        return attempt

    def _user_message(self, content: str) -> Message:
        """The user message of the next question: ``content`` with the images it is about,
        when the conversation has some (``images``, optional: see VoiceConversation)."""
        message: Message = {"role": "user", "content": content}
        images = getattr(self.conversation, "images", None)
        attached = images() if callable(images) else []
        if attached:
            message["images"] = list(attached)
        return message

    def _drop(self, turn: _Turn, attempt: _Reply) -> None:
        """Cancel a reply that is not the answer; stop it if it was already playing."""
        with turn.lock:  # its speech thread plays under this lock: nothing more after it
            attempt.dropped.set()
            playing = turn.reply is attempt and bool(turn.played) and not turn.cancelled.is_set()
            if playing:
                turn.played.clear()  # what is kept is the answer's, not this
        if playing:
            self.player.stop_now()
            log.info("turn %d: the reply that was playing is stopped", turn.id)
        if attempt.handle is not None:
            self.engine.cancel(attempt.handle)

    def _current(self, turn: _Turn, attempt: _Reply) -> bool:
        return not attempt.dropped.is_set() and not turn.cancelled.is_set()

    def _mark(self, turn: _Turn, attempt: _Reply, name: str) -> None:
        with turn.lock:
            if turn.reply is attempt and self._current(turn, attempt):
                turn.mark(name)

    def _wait_settled(self, turn: _Turn) -> bool:
        """Block until the speculative turn is committed, or its silence has lasted as
        long as a finished sentence needs (True), or it is dropped (False). Whisper's
        final pass is long: spent on a pause inside a sentence it would only hold up the
        next draft."""
        settle_s = (self.config.finished_silence_ms or self.config.vad.silence_ms) / 1000
        while not turn.committed.wait(0.02):
            if turn.cancelled.is_set() or self._stop.is_set():
                return False
            if time.perf_counter() - turn.speech_end >= settle_s:
                break
        return not turn.cancelled.is_set()

    def _wait_first_piece(self, turn: _Turn, attempt: _Reply | None) -> bool:
        """Without a correction grace, let the draft's first piece be made before the
        final pass starts: the answer's first words then do not share the cores with
        Whisper, which checks the draft while they play. False: the turn was dropped."""
        if attempt is None or self.config.correction_grace_s > 0 or self.config.wait_for_final:
            return not turn.cancelled.is_set()  # the final pass is what the listener waits on
        deadline = time.perf_counter() + self.FIRST_PIECE_WAIT_S
        while not attempt.first_audio.wait(0.02):
            if turn.cancelled.is_set() or self._stop.is_set():
                return False
            if attempt.finished or time.perf_counter() > deadline:
                break
        return not turn.cancelled.is_set()

    def _wait_commit(self, turn: _Turn) -> bool:
        """Block until the turn is committed (True) or dropped (False)."""
        while not turn.committed.wait(0.05):
            if turn.cancelled.is_set() or self._stop.is_set():
                return False
        return not turn.cancelled.is_set()

    def _wait_go(self, turn: _Turn, attempt: _Reply) -> bool:
        """Block until the reply may be played (True) or is not to be (False)."""
        while not attempt.go.wait(0.05):
            if not self._current(turn, attempt) or self._stop.is_set():
                return False
        return self._current(turn, attempt)

    def _wait_confirmed(self, turn: _Turn, attempt: _Reply) -> bool:
        """Block until the reply's text may be handed on (True) or never will (False)."""
        while not attempt.confirmed.wait(0.05):
            if not self._current(turn, attempt) or self._stop.is_set():
                return False
        return self._current(turn, attempt)

    def _deliver(self, turn: _Turn, attempt: _Reply, text: str) -> None:
        """Hand reply text of the played reply to the conversation and the callback."""
        with turn.lock:
            if not self._current(turn, attempt) or not attempt.confirmed.is_set():
                return  # dropped, or being finalized: what was said replaces the reply
            self.conversation.reply_delta(text)
            if self.callbacks.reply_delta is not None:
                self.callbacks.reply_delta(text)

    def _stream_main(
        self,
        turn: _Turn,
        attempt: _Reply,
        splitter: SentenceSplitter,
        sentences: queue.Queue[Sentence | None],
    ) -> None:
        try:
            self._stream_reply(turn, attempt, splitter, sentences)
        finally:
            sentences.put(None)

    def _stream_reply(
        self,
        turn: _Turn,
        attempt: _Reply,
        splitter: SentenceSplitter,
        sentences: queue.Queue[Sentence | None],
    ) -> None:
        handle = attempt.handle
        assert handle is not None
        undelivered: list[str] = []  # deltas of a reply not yet confirmed
        # A reasoning model's thinking is never spoken nor handed on as the reply.
        reasoning = ReasoningSplitter()

        def answered(text: str) -> None:
            self._answer_delta(
                turn,
                attempt,
                text,
                splitter=splitter,
                sentences=sentences,
                undelivered=undelivered,
            )

        for event in each_event(handle, self.config.engine_timeout_s):
            if isinstance(event, p.Delta):
                _thinking, answer = reasoning.feed(event.text)
                if answer:
                    answered(answer)
            elif isinstance(event, p.PromptPrepared):
                attempt.notice = event.notice
                attempt.prompt_tokens = event.prompt_tokens
                attempt.image_tokens = event.image_tokens
                if event.thinking_open:  # the prompt opened the block: thinking first
                    reasoning = ReasoningSplitter(thinking_open=True)
            elif isinstance(event, p.GenerationDone):
                _thinking, answer = reasoning.flush()
                if answer:
                    answered(answer)
                self._mark(turn, attempt, "reply_done")
                attempt.text = reasoning.answer if reasoning.marked else event.text
                attempt.finish_reason = event.finish_reason
            elif isinstance(event, p.ErrorEvent):
                if not self._current(turn, attempt):
                    return
                raise error_from_kind(event.kind, event.message)
        for sentence in splitter.flush():
            self._mark(turn, attempt, "first_sentence_ready")
            sentences.put(sentence)
        if undelivered and self._wait_confirmed(turn, attempt):
            self._deliver(turn, attempt, "".join(undelivered))

    def _answer_delta(
        self,
        turn: _Turn,
        attempt: _Reply,
        text: str,
        *,
        splitter: SentenceSplitter,
        sentences: queue.Queue[Sentence | None],
        undelivered: list[str],
    ) -> None:
        """Answer text of the reply: kept, handed on once confirmed, cut into pieces."""
        self._mark(turn, attempt, "first_token")
        attempt.text += text  # so far: an interrupted turn keeps this much
        undelivered.append(text)
        if attempt.confirmed.is_set():
            self._deliver(turn, attempt, "".join(undelivered))
            undelivered.clear()
        for sentence in splitter.feed(text):
            self._mark(turn, attempt, "first_sentence_ready")
            sentences.put(sentence)

    def _speak_main(
        self, turn: _Turn, attempt: _Reply, sentences: queue.Queue[Sentence | None]
    ) -> None:
        while True:
            try:
                sentence = sentences.get(timeout=0.1)
            except queue.Empty:
                if not self._current(turn, attempt):
                    return
                continue
            if sentence is None or not self._current(turn, attempt):
                return
            # The listener is waiting for the first piece: hold the generation meanwhile,
            # so Piper has every core (on 2 cores: 0.08 s instead of 0.17 s; the pieces
            # after it are made while it plays).
            held = attempt.handle if sentence.index == 0 else None
            if held is not None:
                self.engine.hold(held, self.FIRST_PIECE_HOLD_S)
            try:
                audio = self.speak(sentence.spoken, attempt.language, self._pause_after(sentence))
            finally:
                if held is not None:
                    self.engine.release(held)
            self._mark(turn, attempt, "first_audio_ready")
            attempt.first_audio.set()
            # Speculative work waits here until the end of speech is confirmed and any
            # correction grace is over.
            if not self._wait_go(turn, attempt):
                return
            tag = (turn.id, attempt.number, sentence.index)
            with turn.lock:
                if not self._current(turn, attempt):
                    return
                self.player.play(audio, tag)
                turn.played.append((sentence, tag, audio.size))
            self._set_state(VoiceState.SPEAKING)
            if self.callbacks.sentence_queued is not None:
                self.callbacks.sentence_queued(sentence)

    def speak(self, text: str, language: str, pause_s: float | None = None) -> Samples:
        """``text`` in the voice for ``language``, at the player's source rate."""
        return speak_in_language(text, language, self.tts, self.voices, pause_s)

    def _pause_after(self, piece: Sentence) -> float:
        """A sentence gets the voice's pause, a clause half of it; a piece cut before a new
        phrase runs straight into the next one."""
        if piece.ends is PieceEnd.PHRASE:
            return 0.0
        return self.tts.pause_s / 2 if piece.ends is PieceEnd.CLAUSE else self.tts.pause_s

    def _on_first_audio(self, tag: Hashable, at: float) -> None:
        # Runs on PortAudio's thread: record only.
        self._first_audio[tag] = at

    def _heard(self, turn: _Turn) -> str:
        """The part of the reply that reached the listener's ears; nothing when it was
        talked over within ``continue_within_s`` of its audio (the question goes on)."""
        latency_samples = int(self.player.latency * self.tts.sample_rate)
        if turn.interrupted:
            handed = sum(min(self.player.progress(tag)[0], n) for _, tag, n in turn.played)
            if handed - latency_samples < self.config.continue_within_s * self.tts.sample_rate:
                return ""
        said: list[str] = []
        for sentence, tag, total in turn.played:
            played, _ = self.player.progress(tag)
            heard = max(0, played - latency_samples) if turn.interrupted else total
            pause = int(self._pause_after(sentence) * self.tts.sample_rate)
            speech = max(1, total - pause)
            if heard >= speech * 0.9:
                said.append(sentence.raw)
                continue
            words = sentence.raw.split()
            keep = int(len(words) * heard / speech)
            if keep:
                said.append(" ".join(words[:keep]) + "…")
            break
        return " ".join(said)

    def _finalize(self, turn: _Turn) -> None:
        """Record the turn once: history, result, callbacks."""
        with self._lock:
            if turn.finalized:
                return
            turn.finalized = True
            first_tag = turn.played[0][1] if turn.played else _not_heard_tag(turn)
            if first_tag is not None and first_tag in self._first_audio:
                turn.mark("first_audio_written", self._first_audio[first_tag])
            transcript = turn.transcript
            attempt = turn.reply
            # A late turn's was measured when it was talked over.
            spoken = turn.spoken if turn.late else (turn.not_heard or self._heard(turn))
            turn.spoken = spoken
            heard = turn.heard_so_far()
            question = turn.question or (heard.text if heard is not None else "")
            # Nothing was heard: the question is still open; the next utterance continues
            # it, by its audio, so a turn cut off before its transcript loses no words.
            # (A late turn's question was closed when it was talked over.)
            # Nor was speech that could not be made out: the user says it again.
            if turn.late:
                pass
            elif turn.not_heard is not None or (spoken and turn.announced):
                self._carry_audio, self._carry_text = None, ""
            else:
                self._carry_audio = turn.heard_audio()
                with turn.lock:
                    self._carry_end = turn.stream_end
                self._carry_text = question or self._carry_text
                turn.carried.set()
            result = TurnResult(
                transcript=transcript.text if transcript else "",
                language=transcript.language if transcript else "",
                reply=attempt.text if attempt else "",
                spoken=spoken,
                sentences=tuple(s.spoken for s, _, _ in turn.played),
                finish_reason="cancelled"
                if turn.interrupted
                else (attempt.finish_reason if attempt else ""),
                interrupted=turn.interrupted,
                speculative=turn.speculative,
                ended_early=turn.ended_early,
                timings=turn.timings(),
                stages=turn.stages(),
                notice=attempt.notice if attempt else None,
                prompt_tokens=attempt.prompt_tokens if attempt else 0,
                image_tokens=attempt.image_tokens if attempt else 0,
                question=question,
                draft=turn.redone_from,
                unsure_draft=turn.unsure_draft,
                corrected=turn.corrected,
                carried=turn.carried.is_set(),
                sampled=transcript.sampled if transcript else False,
                not_heard=turn.not_heard is not None,
            )
            self.results.append(result)
            if self._active is turn:
                self._active = None
        with turn.lock:  # after the turn's last delta; nothing was handed if never heard
            if turn.announced:
                self.conversation.turn_finished(result)
        if not self._stop.is_set():
            self._warm_prompt_cache()
        if self.callbacks.turn_finished is not None:
            self.callbacks.turn_finished(result)
        if self._active is None:
            self._set_state(VoiceState.LISTENING)

    def _warm_prompt_cache(self) -> None:
        """Have llama.cpp read the conversation so far, up to where the next question goes,
        while the user is still talking: the question's turn then costs only its own
        tokens (llama.cpp reuses the longest common prefix of the previous prompt)."""
        with self._lock:
            carry_over = self._carry_text
        # With the images the question is about: they are encoded now, not after it.
        messages: list[Message] = [
            {"role": "system", "content": self.config.system_prompt},
            *self.conversation.history(),
            self._user_message(carry_over),
        ]
        # One token, greedy: the work is reading the prompt; its reply is never read.
        # The same tools and template variables as the reply: they are part of the prompt.
        # The reply's length too: once the conversation outgrows the window, the history
        # kept depends on the room left for the reply, and a warm-up planned for one token
        # kept other turns than the reply then did (both read the whole prompt again).
        warm = GenerationParams(
            max_tokens=self.config.params.max_tokens,
            prefill=True,
            temperature=0.0,
            n_threads=self.config.params.n_threads,
            tools=self.config.params.tools,
            template_vars=self.config.params.template_vars,
            kv_key=self._kv_key(),
        )
        self.engine.generate(messages, warm)

    def _kv_key(self) -> str | None:
        """The conversation's key, which tags its KV state (VoiceConversation.kv_key,
        optional)."""
        key = getattr(self.conversation, "kv_key", None)
        return key() if callable(key) else self.config.params.kv_key

    def _end_turn(self, turn: _Turn, *, answered: bool) -> None:
        if answered:
            self._finalize(turn)
            return
        with self._lock:  # nothing was said: not a turn, keep listening
            if self._active is turn:
                self._active = None
            turn.finalized = True
        self._set_state(VoiceState.LISTENING)

    def _set_state(self, state: VoiceState) -> None:
        with self._lock:
            if state is self._state:
                return
            self._state = state
        log.debug("voice state %s", state.value)
        if self.callbacks.state_changed is not None:
            self.callbacks.state_changed(state)

    def _shutdown(self) -> None:
        """Stop everything in flight; no thread outlives ``run`` by more than a moment."""
        self._cancel_pending()
        active = self._active
        if active is not None:
            self._interrupt(active, time.perf_counter())
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5.0)
            if thread.is_alive():
                log.warning("thread %s did not stop in time", thread.name)
        self._set_state(VoiceState.IDLE)


__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "HearthError",
    "TurnResult",
    "VoiceCallbacks",
    "VoiceConfig",
    "VoiceLoop",
    "VoiceState",
    "question_key",
]
