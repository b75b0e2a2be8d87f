"""Quick ask: one question, typed or said, answered without the main window.

The exchange goes through a ``ChatService`` of its own over the window's store and
engine (the same engine process and model: no second engine), always in one
conversation, "Quick questions", made the first time and found again by a mark in its
settings (so renaming it, or another language, does not make a second one). A chat
service of its own keeps the window where the user left it; the window's list is told
when the quick conversation changes. A spoken question runs the window's voice service
over this chat service for one turn: heard, answered aloud, stored, then voice stops.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from app.services.chat_service import ChatService, params_from_settings

if TYPE_CHECKING:
    from app.services.model_service import ModelService
    from app.services.voice_service import VoiceService
    from app.storage import StoredMessage

log = logging.getLogger(__name__)

QUICK_MARK = "quick_ask"  # the conversation setting that marks the quick conversation
VOICE_MAX_TOKENS = 256  # spoken answers are short, as in the window's voice mode


def _tr(text: str) -> str:
    return QCoreApplication.translate("QuickAskService", text)


class QuickAskService(QObject):
    """Asks in the "Quick questions" conversation and reports the answer as it streams."""

    question_asked = Signal(str)  # the question as stored (typed, or as it was heard)
    answer_delta = Signal(str)
    answer_finished = Signal(object)  # StoredMessage: the reply, final
    busy_changed = Signal(bool)
    listening_changed = Signal(bool)  # a spoken question is being taken
    # A tool call waits for Allow or Deny: (call id, tool name); ("", "") once none waits.
    tool_asking = Signal(str, str)
    failed = Signal(str)  # one sentence for the user

    def __init__(
        self,
        chat: ChatService,
        models: ModelService,
        voice: VoiceService | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.main = chat
        self.models = models
        self.voice = voice
        self.chat = ChatService(chat.store, chat.engine, self)
        self._reply_id = 0
        self._listening = False
        chat_ = self.chat
        chat_.message_added.connect(self._on_message)
        chat_.reply_delta.connect(self._on_delta)
        chat_.reply_finished.connect(self._on_finished)
        chat_.busy_changed.connect(self.busy_changed)
        chat_.error_occurred.connect(self.failed)
        chat_.notice_posted.connect(lambda text: log.info("quick ask: %s", text))
        # With tools enabled a reply may ask before a call runs: the panel asks the user.
        chat_.tools.tools_changed.connect(self._on_tools)
        # The window's conversation list shows the quick conversation as it changes.
        chat_.conversations_changed.connect(chat.conversations_changed)
        if voice is not None:
            voice.turn_finished.connect(self._on_voice_turn)
            voice.state_changed.connect(self._on_voice_state)
            voice.failed.connect(self._on_voice_failed)

    # -- the conversation ----------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.chat.busy or self._listening

    @property
    def listening(self) -> bool:
        return self._listening

    def find_conversation(self) -> int:
        """The quick conversation's id, 0 when there is none yet."""
        for conversation in self.chat.store.list_conversations():
            if conversation.settings.get(QUICK_MARK):
                return conversation.id
        return 0

    def conversation_id(self) -> int:
        """The quick conversation, made the first time it is needed."""
        found = self.find_conversation()
        if not found:
            created = self.chat.store.create_conversation(
                _tr("Quick questions"), model=self.main.model_name, settings={QUICK_MARK: True}
            )
            found = created.id
            self.main.conversations_changed.emit()
        if self.chat.current_id != found:
            self.chat.select(found)
        return found

    def messages(self) -> list[StoredMessage]:
        found = self.find_conversation()
        return self.chat.store.get_messages(found) if found else []

    def _ready(self) -> bool:
        """Whether a model is there to answer; says why not otherwise."""
        if self.models.loaded is None and not self.models.loading:
            self.failed.emit(_tr("No model is loaded. Open Hearth and choose a model first."))
            return False
        if self.busy:
            self.failed.emit(_tr("Hearth is still answering; wait for it or stop it first."))
            return False
        # The window's chat service knows the model in use (name, vision, its template).
        self.chat.model_name = self.main.model_name
        self.chat.model_vision = self.main.model_vision
        self.chat.template_reasoning = self.main.template_reasoning
        self.conversation_id()
        return True

    # -- asking --------------------------------------------------------------------------
    def ask(self, text: str) -> bool:
        """Ask a typed question; False (with a ``failed`` sentence) when it cannot go."""
        if not text.strip() or not self._ready():
            return False
        return self.chat.send(text)

    def listen(self) -> bool:
        """Take one spoken question through the voice service, answer it aloud."""
        voice = self.voice
        if voice is None:
            self.failed.emit(_tr("Voice is not available in this Hearth."))
            return False
        if voice.active:
            self.failed.emit(_tr("Voice is already on in the Hearth window; end it there first."))
            return False
        if not self._ready():
            return False
        params = params_from_settings(self.chat.settings())
        short = min(params.max_tokens or VOICE_MAX_TOKENS, VOICE_MAX_TOKENS)
        self._set_listening(True)
        voice.start(self.chat, replace(params, max_tokens=short))
        return True

    def answer_tool(self, call_id: str, allowed: bool) -> bool:
        """Allow or Deny the tool call that is waiting."""
        return self.chat.tools.answer(call_id, allowed)

    def stop(self) -> None:
        """Stop the answer (and stop listening)."""
        if self._listening and self.voice is not None:
            self.voice.stop()
        self.chat.stop()

    def shutdown(self) -> None:
        self.stop()
        self.chat.shutdown()

    # -- events --------------------------------------------------------------------------
    def _set_listening(self, on: bool) -> None:
        if on != self._listening:
            self._listening = on
            self.listening_changed.emit(on)

    def _on_message(self, message: StoredMessage) -> None:
        if message.role == "user":
            self.question_asked.emit(message.content)
        elif message.role == "assistant":
            self._reply_id = message.id

    def _on_delta(self, message_id: int, text: str) -> None:
        if message_id == self._reply_id:
            self.answer_delta.emit(text)

    def _on_finished(self, message: StoredMessage) -> None:
        if message.id != self._reply_id:
            return
        self.answer_finished.emit(message)
        main = self.main
        if main.current_id == message.conversation_id and not main.busy:
            main.select(main.current_id)  # the window shows this conversation: reload it

    def _on_tools(self, message_id: int, records: list[dict[str, Any]]) -> None:
        if message_id != self._reply_id:
            return
        asking = next((r for r in records if r.get("status") == "asking"), None)
        if asking is None:
            self.tool_asking.emit("", "")
        else:
            self.tool_asking.emit(str(asking.get("id", "")), str(asking.get("name", "")))

    def _on_voice_turn(self, result: Any) -> None:
        if getattr(result, "not_heard", False):
            return  # "Sorry, I didn't catch that": the question is still to come
        if self._listening and self.voice is not None:
            self.voice.stop()  # one question: the answer was spoken, voice ends

    def _on_voice_state(self, state: str) -> None:
        if state == "off":
            self._set_listening(False)

    def _on_voice_failed(self, message: str) -> None:
        if self._listening:
            self.failed.emit(message)
