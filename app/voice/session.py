"""Everything a voice conversation needs, opened together and closed together.

The window and ``hearth voice`` both start voice the same way: devices first (no
microphone is the commonest fault and saying so needs no model), then Piper, Whisper and
the VAD, then warm-ups so the first real turn is not the slow one. The saved voice
settings live in the settings file's ``"voice"`` object.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol

from app.catalog.library import STT, TTS, ModelEntry
from app.core.errors import ModelNotFoundError, VoiceModelError
from app.core.generation import GenerationParams
from app.core.i18n import translate
from app.core.ranges import FINAL_TAKES
from app.voice.turn_end import FINISHED_SILENCE_MS, FINISHED_SILENCE_MS_GPU

log = logging.getLogger(__name__)

LANGUAGES = ("en", "zh")  # offered in the settings; Whisper itself knows many more


SPEEDS = (0.5, 2.0)  # the speaking rates offered: half to twice the voice's own
CHINESE_SCRIPTS = ("simplified", "traditional")  # app.voice.chinese_script.SCRIPTS
CORRECTION_GRACE_MAX_S = 10.0  # the longest an answer may wait for a typed correction


@dataclass
class VoiceSettings:
    """The voice page of the settings (``settings.extra["voice"]``)."""

    input_device: str | None = None  # None: the system's default microphone
    output_device: str | None = None
    language: str | None = None  # None: detect it from each utterance
    barge_in: bool = True
    push_to_talk: bool = False
    silence_ms: int = 600
    # A finished sentence ends the turn after FINISHED_SILENCE_MS (see app.voice.turn_end).
    quick_end: bool = True
    speed: float = 1.0  # speaking rate of the voice, SPEEDS wide
    stt_model: str | None = None  # a library name or path; None: the first installed
    voice: str | None = None  # the default voice
    # A voice per language ("zh": "zh_CN-huayan-medium"); languages not named here use an
    # installed voice of that language, else the default voice.
    voices: dict[str, str] = field(default_factory=dict)
    # Seconds the answer waits so what was heard can be corrected by typing (0: off; it
    # delays every answer, so it suits push-to-talk more than hands-free).
    correction_grace_s: float = 0.0
    # Nothing is spoken before Whisper's final pass confirms the question (slower; a
    # misheard draft is never heard). Off: answer the draft at once, redo if it was wrong.
    wait_for_final: bool = False
    # Answer a draft Whisper was unsure of at once too (faster, but most such drafts are
    # misheard and their answers are stopped and made again); off: wait for the final pass.
    answer_unsure_drafts: bool = False
    # Chinese shown and stored in "simplified" or "traditional" characters (None: as
    # Whisper and the model write it); see app.voice.chinese_script.
    chinese_script: str | None = None
    # Answer only after "Hey Hearth" (see app.voice.wake_word); off: every utterance.
    wake_word: bool = False
    # Takes of Whisper's final pass, the surest kept (see SttConfig.final_takes); None:
    # 3 on a GPU, 1 on the CPU.
    final_takes: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> VoiceSettings:
        """Known keys only; a damaged settings file gives defaults, not a crash."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (data or {}).items() if k in known}
        settings = cls(**values)
        if not isinstance(settings.voices, dict):
            settings.voices = {}
        if settings.language in ("", "auto"):
            settings.language = None
        if settings.chinese_script not in CHINESE_SCRIPTS:
            settings.chinese_script = None
        try:
            settings.silence_ms = max(200, min(3000, int(settings.silence_ms)))
        except (TypeError, ValueError):
            settings.silence_ms = 600
        try:
            settings.speed = max(SPEEDS[0], min(SPEEDS[1], float(settings.speed)))
        except (TypeError, ValueError):
            settings.speed = 1.0
        try:
            grace = float(settings.correction_grace_s)
        except (TypeError, ValueError):
            grace = 0.0
        grace = grace if math.isfinite(grace) else 0.0
        settings.correction_grace_s = max(0.0, min(CORRECTION_GRACE_MAX_S, grace))
        takes = settings.final_takes
        if takes is not None and not (isinstance(takes, int) and FINAL_TAKES.allows(takes)):
            settings.final_takes = None  # a damaged value: the hardware's default
        return settings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Library(Protocol):
    def resolve(self, name_or_path: str, kind: str = ...) -> ModelEntry: ...

    def entries(self, kind: str | None = None, *, external: bool = ...) -> list[ModelEntry]: ...


def speech_model(
    library: _Library, requested: str | None, kind: str, what: str
) -> ModelEntry | Path:
    """The Whisper model or Piper voice to use: a path, a library name, or the first one."""
    if requested and (os.sep in requested or requested.endswith((".onnx", ".bin"))):
        return Path(requested).expanduser()
    if requested:
        try:
            return library.resolve(requested, kind)
        except ModelNotFoundError as exc:
            raise VoiceModelError(str(exc)) from exc
    entries = [e for e in library.entries(kind) if e.error is None]
    if not entries:
        raise VoiceModelError(
            translate(
                "Voice",
                "No {what} is installed. Install one in Models, or the starter set with "
                "'pip install \"hearth[starter]\"'.",
            ).format(what=what)
        )
    return entries[0]


def language_of(entry: ModelEntry) -> str | None:
    """The two-letter language of a voice ("en_US" → "en")."""
    code = (entry.language or "").replace("-", "_").split("_")[0].lower()
    return code if len(code) in (2, 3) and code != "multilingual" else None


def voices_by_language(
    library: _Library, settings: VoiceSettings, default: ModelEntry | Path
) -> dict[str, ModelEntry | Path]:
    """The voice to use for each language other than the default voice's own.

    Only what a turn can be in: every language when it is detected, else the one fixed.
    """
    default_language = language_of(default) if isinstance(default, ModelEntry) else None
    chosen: dict[str, ModelEntry | Path] = {}
    for entry in library.entries(TTS):
        language = language_of(entry)
        if entry.error is None and language and language not in chosen:
            chosen[language] = entry
    for language, requested in settings.voices.items():
        what = translate("Voice", "{language} voice").format(language=language)
        chosen[language] = speech_model(library, requested, TTS, what)
    wanted = {settings.language} if settings.language else set(chosen)
    return {
        language: source
        for language, source in chosen.items()
        if language in wanted and language != default_language and source != default
    }


def finished_silence_ms(settings: VoiceSettings, stt_device: str = "cpu") -> int:
    """The loop's ``finished_silence_ms`` for these settings and the device Whisper runs
    on (0: quick end is off)."""
    if not settings.quick_end:
        return 0
    return FINISHED_SILENCE_MS_GPU if stt_device == "cuda" else FINISHED_SILENCE_MS


def unsure_draft_logprob(settings: VoiceSettings) -> float | None:
    """The loop's ``unsure_draft_logprob`` for these settings (None: every draft is
    answered at once)."""
    from app.voice.stt import UNSURE_DRAFT_LOGPROB

    return None if settings.answer_unsure_drafts else UNSURE_DRAFT_LOGPROB


def voice_threads() -> int:
    """llama.cpp threads while talking: a core is left for capture, VAD and Piper.

    llama.cpp's threads wait for each other at every layer; when one of them loses its
    core to the voice pipeline a reply slows down tenfold (measured on 2 cores: first
    sentence 4.3 s median with 2 threads, 0.29 s with 1).
    """
    import psutil

    cores = psutil.cpu_count(logical=False) or os.cpu_count() or 2
    return max(1, cores - 1) if cores <= 4 else cores - 2


def voice_lead_threads() -> int:
    """llama.cpp threads for a reply's first spoken piece: every physical core. Nothing
    else runs while it is made (Whisper's final pass waits for it, and the reply is held
    while Piper says it), so the listener waits less (on 2 cores: 8.4 ms a token with
    both against 12.7 ms with one, SmolLM2 135M)."""
    import psutil

    return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)


def voice_params(params: GenerationParams) -> GenerationParams:
    """``params`` for spoken replies: unless their threads were chosen, the first piece is
    made on every core (:func:`voice_lead_threads`) and the rest leaves a core to the
    audio (:func:`voice_threads`)."""
    if params.n_threads:
        return params
    return replace(params, n_threads=voice_threads(), lead_threads=voice_lead_threads())


def tts_threads() -> int:
    """Piper's threads: every core, up to 4. The first piece of a reply, the one the
    listener waits for, is synthesised while the generation is held (see
    ``VoiceLoop.FIRST_PIECE_HOLD_S``); later ones share the cores with it."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class VoiceParts:
    """Opened devices and loaded speech models, ready for a :class:`VoiceLoop`."""

    capture: Any  # AudioCapture
    player: Any  # AudioPlayer
    stt: Any  # SpeechToText
    tts: Any  # TextToSpeech
    vad: Any  # SileroVad
    voices: dict[str, Any] = field(default_factory=dict)  # language -> TextToSpeech

    def close(self) -> None:
        self.capture.close()
        self.player.close()


def open_voice_parts(
    library: _Library,
    settings: VoiceSettings,
    *,
    stt_device: str = "auto",
    input_rate: int | None = None,
    output_rate: int | None = None,
    on_status: Callable[[str], None] | None = None,
) -> VoiceParts:
    """Open the devices and load Whisper, Piper and the VAD (seconds; call off the UI thread).

    Raises :class:`AudioDeviceError` or :class:`VoiceModelError` with a message for the user.
    """
    from app.voice.audio_io import AudioCapture, AudioPlayer, resolve_device
    from app.voice.stt import SpeechToText, SttConfig
    from app.voice.tts import TextToSpeech
    from app.voice.vad import SileroVad

    def status(text: str) -> None:
        if on_status is not None:
            on_status(text)

    status(translate("Voice", "Opening the microphone…"))
    capture = AudioCapture(settings.input_device, device_rate=input_rate)
    try:
        resolve_device(settings.output_device, "output")
        stt_source = speech_model(
            library, settings.stt_model, STT, translate("Voice", "Whisper model")
        )
        voice_source = speech_model(library, settings.voice, TTS, translate("Voice", "Piper voice"))
        status(translate("Voice", "Loading the voice…"))
        tts = TextToSpeech.load(voice_source, threads=tts_threads())
        voices = {
            language: TextToSpeech.load(source, threads=tts_threads())
            for language, source in voices_by_language(library, settings, voice_source).items()
        }
        for voice in (tts, *voices.values()):
            voice.speed = settings.speed
        player = AudioPlayer(
            settings.output_device, source_rate=tts.sample_rate, device_rate=output_rate
        )
    except BaseException:
        capture.close()
        raise
    try:
        status(translate("Voice", "Loading speech recognition…"))
        stt = SpeechToText.load(
            stt_source,
            SttConfig(
                language=settings.language, device=stt_device, final_takes=settings.final_takes
            ),
        )
        vad = SileroVad()
        # First calls into onnxruntime and CTranslate2 are slow: pay for them now.
        stt.warm_up()
        tts.warm_up()
        for other in voices.values():
            other.warm_up()
    except BaseException:
        capture.close()
        player.close()
        raise
    if stt.notice:
        # Why Whisper is on the CPU though a GPU was found (warm-up may have just fallen
        # back): the last status, so the voice bar keeps it until speech is heard.
        status(stt.notice)
    log.info(
        "voice ready: mic %r at %d Hz, speaker %r at %d Hz, whisper %s on %s, voice %s",
        capture.device.name,
        capture.device_rate,
        player.device.name,
        player.rate,
        stt.name,
        stt.device,
        tts.name,
    )
    return VoiceParts(capture, player, stt, tts, vad, voices)
