"""VoiceService: the voice conversation behind the window's mic button and voice bar.

It assembles the voice loop (:func:`app.composition.voice.assemble_voice_loop`, as
``hearth voice`` does) on a thread of its own (seconds of work the window must not wait
for) and runs it there over the window's own engine. The loop talks into the chat
service: it reads the history from it and hands it each turn, so spoken and typed turns
are one stored conversation. The loop's callbacks run on its threads; re-emitting them
as Qt signals queues them onto the window's thread: the running transcript while the
user speaks, the final one, and, with a grace period set, the offer to correct it before
the answer is spoken (:meth:`VoiceService.correct`). Any fault (no microphone, a device
that vanished, a missing voice) ends voice mode with one message; text chat is untouched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.core.errors import HearthError
from app.core.generation import GenerationParams, Message
from app.core.i18n import translate
from app.services.chat_service import ChatService
from app.services.engine_service import EngineService

if TYPE_CHECKING:
    from app.services.image_attachments import ImageAttachments
    from app.vision.images import PreparedImage
    from app.voice.loop import TurnResult, VoiceLoop
    from app.voice.stt import Transcript

log = logging.getLogger(__name__)


def speaking_rates() -> tuple[float, float]:
    """The slowest and fastest speaking rate the voice settings offer."""
    from app.voice.session import SPEEDS

    return SPEEDS


def most_final_takes() -> int:
    """The most takes of Whisper's full pass the voice settings offer."""
    from app.core.ranges import FINAL_TAKES

    return int(FINAL_TAKES.high or 1)


def correction_grace_limit() -> float:
    """The longest grace period (seconds) the voice settings offer for corrections."""
    from app.voice.session import CORRECTION_GRACE_MAX_S

    return CORRECTION_GRACE_MAX_S


OFF = "off"
STARTING = "starting"
# The longest a turn waits for the turns before it to be stored before it reads the
# history (the window's thread is normally idle within milliseconds).
HANDOVER_WAIT_S = 2.0


class ChatConversation(QObject):
    """The chat service as the voice loop's conversation (``VoiceConversation``).

    The loop calls from its threads; each turn it hands over runs on the chat service's
    thread, in order (a queued signal). Reading the history first waits until what was
    handed over is stored, so the next turn reads a barged-in reply as it was trimmed.

    With the composer's ``attachments``, a spoken question is about the images waiting
    there: the loop reads a copy made on the window's thread whenever they change, and
    once the question is heard they are stored with it and leave the composer, as with a
    typed send. A model that reads text only gets none; they stay in the composer.
    """

    _handed = Signal(object)  # a call to run on the chat service's thread

    def __init__(self, chat: ChatService, attachments: ImageAttachments | None = None) -> None:
        super().__init__()
        self.chat = chat
        self._pending = 0
        self._idle = threading.Condition()
        self._handed.connect(self._run, Qt.ConnectionType.QueuedConnection)
        self._attachments = attachments
        self._images: tuple[PreparedImage, ...] = ()  # the composer's, for the loop's threads
        self._images_lock = threading.Lock()
        if attachments is not None:
            attachments.changed.connect(self._images_changed)
            self._images_changed()

    @Slot()
    def _images_changed(self) -> None:
        assert self._attachments is not None
        images = tuple(self._attachments.images())
        with self._images_lock:
            self._images = images

    def _seen_images(self) -> tuple[PreparedImage, ...]:
        if self.chat.model_vision is False:  # kept in the composer for a model that sees
            return ()
        with self._images_lock:
            return self._images

    def images(self) -> list[bytes]:
        """The images the next spoken question is about (see VoiceConversation)."""
        return [image.data for image in self._seen_images()]

    def history(self) -> list[Message]:
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, HANDOVER_WAIT_S):
                log.warning("the window did not store the last voice turn in time")
        return self.chat.history()

    def kv_key(self) -> str | None:
        """The engine's key for the conversation spoken in (engine.kv_files): its saved
        KV state is tagged with it, so spoken and typed turns share it and it is deleted
        with the conversation."""
        from app.engine.kv_files import conversation_key

        current = self.chat.current_id
        return conversation_key(current) if current else None

    def prompt(self, question: str) -> str:
        """The question as the model reads it: grounded in the conversation's documents
        when it reads some (searched on the loop's thread, not the window's)."""
        return self.chat.voice_prompt(question)

    def turn_heard(self, question: str) -> None:
        images = self._seen_images()
        if not images:
            self._hand(partial(self.chat.begin_voice_turn, question))
            return
        self._hand(partial(self._begin_with_images, question, images))

    def _begin_with_images(self, question: str, images: tuple[PreparedImage, ...]) -> None:
        """On the chat service's thread: the question stored with the images the model
        was given, which then leave the composer (those added meanwhile stay)."""
        if not self.chat.begin_voice_turn(question, images):
            return
        attachments = self._attachments
        if attachments is None:
            return
        sent = {image.sha256 for image in images}
        waiting = attachments.images()
        for index in reversed(range(len(waiting))):
            if waiting[index].sha256 in sent:
                attachments.remove(index)

    def reply_delta(self, text: str) -> None:
        self._hand(partial(self.chat.voice_delta, text))

    def turn_finished(self, result: TurnResult) -> None:
        self._hand(partial(self.chat.finish_voice_turn, result))

    def tools_used(self, records: list[dict[str, Any]]) -> None:
        """The tool calls of the spoken reply being made (stored with it)."""
        self._hand(partial(self.chat.voice_tools, records))

    def abort(self, message: str) -> None:
        """Voice ended on a fault: close a spoken reply left open."""
        self._hand(partial(self.chat.abort_voice_turn, message))

    def _hand(self, call: Callable[[], object]) -> None:
        with self._idle:
            self._pending += 1
        self._handed.emit(call)

    @Slot(object)
    def _run(self, call: Callable[[], object]) -> None:
        try:
            call()
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()


class VoiceService(QObject):
    """Start, steer and stop voice mode; everything it learns arrives as signals."""

    # "off", "starting", then the loop's own: "listening", "transcribing", "thinking",
    # "speaking" ("idle" between runs).
    state_changed = Signal(str)
    status_changed = Signal(str)  # what "starting" is doing, for the voice bar
    level_changed = Signal(float)  # microphone level, dBFS, every ~32 ms
    transcript_partial = Signal(str)  # what is heard so far, while the user speaks
    transcript_ready = Signal(str, str)  # text, language (the turn itself goes to the chat)
    # The final transcript may be corrected for this many seconds (the grace period).
    correction_offered = Signal(str, float)
    turn_finished = Signal(object)  # app.voice.loop.TurnResult
    not_heard = Signal(str)  # speech Whisper could not make out: what Hearth says about it
    # A tool needs permission: the question said aloud (Allow/Deny also answer it), then
    # its answer (True, False, or None when none came in time).
    permission_asked = Signal(str)
    permission_closed = Signal(object)
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
        self._loop: VoiceLoop | None = None  # while running
        self._conversation: ChatConversation | None = None
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
        self,
        chat: ChatService,
        params: GenerationParams,
        attachments: ImageAttachments | None = None,
    ) -> None:
        """Begin listening (hands-free or push-to-talk as set) over the loaded model, in
        ``chat``'s current conversation (its history and system prompt); spoken questions
        are about the images waiting in ``attachments`` (the composer's), if any."""
        if self.active:
            return
        self._stop.clear()
        self._set_state(STARTING)
        # Made here, on the chat service's thread, so the turns it hands over run there.
        conversation = ChatConversation(chat, attachments)
        self._conversation = conversation
        self._thread = threading.Thread(
            target=self._run,
            args=(conversation, chat.system_prompt() or None, params),
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

    def correct(self, text: str) -> bool:
        """Replace the question just heard with ``text`` (typed during the grace period):
        the answer is made for it instead. False when it came too late (or voice is off)."""
        loop = self._loop
        text = text.strip()
        if loop is None or not text:
            return False
        return loop.correct(text)

    def answer_permission(self, allowed: bool) -> None:
        """Allow or Deny on screen for the tool Hearth is asking about aloud."""
        loop = self._loop
        if loop is not None:
            loop.answer_permission(allowed)

    def _ask_tool(self, tool: Any, call: Any) -> bool:
        loop = self._loop
        return loop.ask_tool(tool, call) if loop is not None else False

    def hold_correction(self) -> None:
        """The user started typing a correction: the answer waits until it is sent or
        given up (:meth:`end_correction`), not just for the grace period."""
        loop = self._loop
        if loop is not None:
            loop.hold_correction()

    def end_correction(self) -> None:
        """The user gave up correcting (Esc): the answer goes ahead as it was heard."""
        loop = self._loop
        if loop is not None:
            loop.end_correction()

    def _on_transcript(self, transcript: Transcript, grace_s: float) -> None:
        self.transcript_ready.emit(transcript.text, transcript.language)
        if grace_s > 0 and transcript.text.strip():
            self.correction_offered.emit(transcript.text, grace_s)

    # -- the voice thread ----------------------------------------------------------------
    def _run(
        self, conversation: ChatConversation, system_prompt: str | None, params: GenerationParams
    ) -> None:
        from app.composition.voice import VoiceRun, assemble_voice_loop
        from app.voice.loop import VoiceCallbacks
        from app.voice.session import VoiceSettings

        run: VoiceRun | None = None
        settings = VoiceSettings.from_dict(self._voice_settings())
        try:
            callbacks = VoiceCallbacks(
                state_changed=lambda s: self._set_state(s.value),
                level_changed=self.level_changed.emit,
                transcript_partial=self.transcript_partial.emit,
                # "Hey Hearth" heard (the wake word, when on): the bar shows it at once,
                # as what is being heard, while the chime plays.
                wake_heard=self.transcript_partial.emit,
                transcript_ready=partial(self._on_transcript, grace_s=settings.correction_grace_s),
                turn_finished=self.turn_finished.emit,
                not_heard=self.not_heard.emit,
                permission_asked=self.permission_asked.emit,
                permission_answered=self.permission_closed.emit,
            )
            from app.services.tool_service import voice_engine

            # With tools enabled, each spoken answer may call them (only it is spoken); a
            # tool that asks is asked aloud and in the voice bar.
            engine = voice_engine(self.engine.backend, conversation.tools_used, self._ask_tool)
            run = assemble_voice_loop(
                engine,
                self.library,
                settings,
                conversation,
                system_prompt=system_prompt,
                params=params,
                callbacks=callbacks,
                on_status=self.status_changed.emit,
                stopped=self._stop.is_set,
            )
            if run is None:
                return
            self._loop = run.loop
            if not self._stop.is_set():
                run.loop.run()
        except HearthError as exc:
            log.info("voice mode ended: %s", exc, exc_info=True)
            conversation.abort(str(exc))
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug must not take the window down with it
            log.exception("voice mode crashed")
            message = translate(
                "VoiceService", "Voice stopped after an unexpected error: {error}"
            ).format(error=exc)
            conversation.abort(message)
            self.failed.emit(message)
        finally:
            self._loop = None
            if run is not None:
                run.close()
            self._set_state(OFF)

    def _set_state(self, state: str) -> None:
        self._state = state
        self.state_changed.emit(state)
