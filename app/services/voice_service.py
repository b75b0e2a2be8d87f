"""VoiceService: the voice conversation behind the window's mic button and voice bar.

It opens the devices and speech models on a thread of its own (seconds of work the
window must not wait for), then runs the plain-Python :class:`VoiceLoop` there over the
window's own engine. The loop's callbacks run on its threads; re-emitting them as Qt
signals queues them onto the window's thread. Any fault (no microphone, a device that
vanished, a missing voice) ends voice mode with one message; text chat is untouched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import HearthError
from app.core.generation import GenerationParams, Message
from app.services.engine_service import EngineService

log = logging.getLogger(__name__)


def speaking_rates() -> tuple[float, float]:
    """The slowest and fastest speaking rate the voice settings offer."""
    from app.voice.session import SPEEDS

    return SPEEDS


OFF = "off"
STARTING = "starting"


class VoiceService(QObject):
    """Start, steer and stop voice mode; everything it learns arrives as signals."""

    # "off", "starting", then the loop's own: "listening", "transcribing", "thinking",
    # "speaking" ("idle" between runs).
    state_changed = Signal(str)
    status_changed = Signal(str)  # what "starting" is doing, for the voice bar
    level_changed = Signal(float)  # microphone level, dBFS, every ~32 ms
    transcript_ready = Signal(str, str)  # text, language
    reply_delta = Signal(str)
    turn_finished = Signal(object)  # app.voice.loop.TurnResult
    failed = Signal(str)  # voice mode ended because of this

    def __init__(
        self,
        engine: EngineService,
        library: Any,
        voice_settings: Callable[[], dict[str, Any]],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.library = library
        self._voice_settings = voice_settings
        self._state = OFF
        self._loop: Any = None  # VoiceLoop while running
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- state ---------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def active(self) -> bool:
        return self._state != OFF

    def settings(self) -> dict[str, Any]:
        """The saved voice settings with defaults filled in (see ``VoiceSettings``)."""
        from app.voice.session import VoiceSettings

        return VoiceSettings.from_dict(self._voice_settings()).to_dict()

    def devices(self) -> list[tuple[str, bool, bool]]:
        """(name, can record, can play) of each audio device, for the settings page."""
        from app.voice.audio_io import list_devices

        try:
            found = list_devices()
        except HearthError:
            return []
        return [(d.name, d.max_input_channels > 0, d.max_output_channels > 0) for d in found]

    # -- control -------------------------------------------------------------------------
    def start(
        self, history: list[Message], system_prompt: str | None, params: GenerationParams
    ) -> None:
        """Begin listening (hands-free or push-to-talk as set) over the loaded model."""
        if self.active:
            return
        self._stop.clear()
        self._set_state(STARTING)
        self._thread = threading.Thread(
            target=self._run,
            args=(list(history), system_prompt, params),
            name="voice-service",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """End voice mode: playback and any reply in progress stop at once."""
        self._stop.set()
        loop = self._loop
        if loop is not None:
            loop.interrupt()
            loop.stop()

    def wait_stopped(self, timeout: float = 10.0) -> bool:
        """Block until the voice thread has ended (tests, and closing the window)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def press(self) -> None:
        """Push-to-talk pressed (also interrupts Hearth if it is speaking)."""
        if self._loop is not None:
            self._loop.press()

    def release(self) -> None:
        if self._loop is not None:
            self._loop.release()

    def interrupt(self) -> None:
        """Stop the current spoken reply (the Stop button); keep listening."""
        if self._loop is not None:
            self._loop.interrupt()

    def replace_history(self, history: list[Message]) -> None:
        """The conversation changed outside voice (a typed message): use it from now on."""
        if self._loop is not None:
            self._loop.replace_history(list(history))

    # -- the voice thread ----------------------------------------------------------------
    def _run(self, history: list[Message], system_prompt: str | None, params: Any) -> None:
        from dataclasses import replace

        from app.voice.loop import DEFAULT_SYSTEM_PROMPT, VoiceCallbacks, VoiceConfig, VoiceLoop
        from app.voice.session import (
            VoiceSettings,
            finished_silence_ms,
            open_voice_parts,
            voice_threads,
        )
        from app.voice.vad import VadConfig

        parts = None
        try:
            settings = VoiceSettings.from_dict(self._voice_settings())
            parts = open_voice_parts(self.library, settings, on_status=self.status_changed.emit)
            if self._stop.is_set():
                return
            config = VoiceConfig(
                push_to_talk=settings.push_to_talk,
                barge_in=settings.barge_in,
                finished_silence_ms=finished_silence_ms(settings),
                language=settings.language,
                system_prompt=system_prompt or DEFAULT_SYSTEM_PROMPT,
                params=replace(params, n_threads=params.n_threads or voice_threads()),
                vad=VadConfig(silence_ms=settings.silence_ms),
            )
            callbacks = VoiceCallbacks(
                state_changed=lambda s: self._set_state(s.value),
                level_changed=self.level_changed.emit,
                transcript_ready=lambda t: self.transcript_ready.emit(t.text, t.language),
                reply_delta=self.reply_delta.emit,
                turn_finished=self.turn_finished.emit,
            )
            parts.capture.start()
            parts.player.start()
            self._loop = VoiceLoop(
                engine=self.engine.backend,  # type: ignore[arg-type]  # a ChatEngine: local or remote
                stt=parts.stt,
                tts=parts.tts,
                capture=parts.capture,
                player=parts.player,
                vad=parts.vad,
                config=config,
                callbacks=callbacks,
                history=history,
                voices=parts.voices,
            )
            if not self._stop.is_set():
                self._loop.run()
        except HearthError as exc:
            log.info("voice mode ended: %s", exc, exc_info=True)
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug must not take the window down with it
            log.exception("voice mode crashed")
            self.failed.emit(f"Voice stopped after an unexpected error: {exc}")
        finally:
            self._loop = None
            if parts is not None:
                parts.close()
            self._set_state(OFF)

    def _set_state(self, state: str) -> None:
        self._state = state
        self.state_changed.emit(state)
