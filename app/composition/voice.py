"""The voice loop, assembled in one place for ``hearth voice`` and the window.

Both front ends hand over what differs — the engine that answers (its model already
loading), the conversation the turns go into, the saved voice settings with any
command-line options on top, and callbacks for what they show — and get back a loop
ready to :meth:`~app.voice.loop.VoiceLoop.run`, with its devices open and its speech
models warm. The model's load options are not worked out here: the caller loads with
:func:`app.composition.options.load_options`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.core.generation import GenerationParams

if TYPE_CHECKING:
    from app.voice.conversation import VoiceConversation
    from app.voice.loop import ChatEngine, VoiceCallbacks, VoiceLoop
    from app.voice.session import VoiceParts, VoiceSettings


@dataclass
class VoiceRun:
    """An assembled voice loop and the devices it holds; :meth:`close` after ``run``."""

    loop: VoiceLoop
    parts: VoiceParts

    def close(self) -> None:
        self.parts.close()


def assemble_voice_loop(
    engine: ChatEngine,
    library: Any,
    settings: VoiceSettings,
    conversation: VoiceConversation,
    *,
    system_prompt: str | None = None,
    params: GenerationParams | None = None,
    callbacks: VoiceCallbacks | None = None,
    speculative: bool = True,
    vad_threshold: float | None = None,
    stt_device: str = "auto",
    input_rate: int | None = None,
    output_rate: int | None = None,
    on_status: Callable[[str], None] | None = None,
    engine_ready: Callable[[], object] | None = None,
    stopped: Callable[[], bool] | None = None,
) -> VoiceRun | None:
    """Open the devices, load Whisper, Piper and the VAD, and build the loop over ``engine``.

    ``engine_ready`` is called once the speech models are loaded (the model loads in its
    own process meanwhile) and may block until it is. ``params.n_threads`` left unset
    is chosen by :func:`~app.voice.session.voice_params` (a core is left for the audio
    after the first spoken piece).
    Returns None when ``stopped()`` turned true meanwhile (the devices are closed then).
    Raises :class:`~app.core.errors.AudioDeviceError` or ``VoiceModelError``.
    """
    from app.core.generation import sampling_defaults
    from app.voice.chinese_script import with_script
    from app.voice.loop import DEFAULT_SYSTEM_PROMPT, VoiceConfig, VoiceLoop
    from app.voice.session import (
        finished_silence_ms,
        open_voice_parts,
        unsure_draft_logprob,
        voice_params,
    )
    from app.voice.vad import VadConfig
    from app.voice.wake_word import WakeConfig

    params = params or sampling_defaults("voice")
    parts = open_voice_parts(
        library,
        settings,
        stt_device=stt_device,
        input_rate=input_rate,
        output_rate=output_rate,
        on_status=on_status,
    )
    try:
        if engine_ready is not None:
            engine_ready()
        if stopped is not None and stopped():
            parts.close()
            return None
        vad = VadConfig(silence_ms=settings.silence_ms)
        if vad_threshold is not None:
            vad = replace(vad, threshold=float(vad_threshold))
        config = VoiceConfig(
            push_to_talk=settings.push_to_talk,
            barge_in=settings.barge_in,
            speculative=speculative,
            finished_silence_ms=finished_silence_ms(settings, parts.stt.device),
            correction_grace_s=settings.correction_grace_s,
            wait_for_final=bool(settings.wait_for_final),
            unsure_draft_logprob=unsure_draft_logprob(settings),
            language=settings.language,
            system_prompt=system_prompt or DEFAULT_SYSTEM_PROMPT,
            params=voice_params(params),
            vad=vad,
            wake=WakeConfig() if settings.wake_word else None,
        )
        # Chinese shown and stored in the script the settings ask for.
        conversation, callbacks = with_script(settings.chinese_script, conversation, callbacks)
        parts.capture.start()
        parts.player.start()
        loop = VoiceLoop(
            engine=engine,
            stt=parts.stt,
            tts=parts.tts,
            capture=parts.capture,
            player=parts.player,
            vad=parts.vad,
            config=config,
            callbacks=callbacks,
            conversation=conversation,
            voices=parts.voices,
        )
    except BaseException:
        parts.close()
        raise
    return VoiceRun(loop, parts)
