"""ChatService: conversations, sending, streaming, stop, regenerate and edit.

It owns the conversation store and asks the EngineService for replies. The user's
message is stored before generation starts and the reply is stored as it streams (the
store flushes on a short timer), so a killed app loses at most the last fraction of a
second of what was on screen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from app.composition.options import LoadOverrides
from app.core.errors import HearthError, VisionUnsupportedError
from app.core.generation import IMAGE_MARK, GenerationParams, Message, sampling_defaults
from app.core.i18n import translate
from app.core.reasoning import (
    ReasoningSplitter,
    TemplateReasoning,
    split_reasoning,
    template_reasoning,
)
from app.engine import protocol as p
from app.engine.kv_files import conversation_key
from app.services.doc_chat import ConversationDocuments
from app.services.engine_service import EngineService
from app.services.lora_service import loras_from_settings
from app.services.tool_service import ToolService, call_messages
from app.storage import ConversationStore, StoredMessage

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from app.docs.grounding import Grounded
    from app.vision.images import PreparedImage
    from app.voice.loop import TurnResult

FLUSH_INTERVAL_MS = 100
VOICE_REQUEST = -1  # the request id of a voice turn (engine ids start at 1)
SEARCH_REQUEST = -2  # a typed turn searching its documents, before generation starts

# Per-conversation sampling settings and their defaults (the window's, app.composition).
_SAMPLING = sampling_defaults("window")
DEFAULT_SETTINGS: dict[str, Any] = {
    "temperature": _SAMPLING.temperature,
    "top_p": _SAMPLING.top_p,
    "top_k": _SAMPLING.top_k,
    "min_p": _SAMPLING.min_p,
    "repeat_penalty": _SAMPLING.repeat_penalty,
    "max_tokens": _SAMPLING.max_tokens,
    "seed": _SAMPLING.seed,
    "n_ctx": 4096,
    "gpu_layers": None,  # None = auto (the planner decides)
    # Reasoning on or off for templates that read ``enable_thinking`` (None: the
    # template's own default).
    "thinking": None,
}


def params_from_settings(settings: dict[str, Any]) -> GenerationParams:
    merged = {**DEFAULT_SETTINGS, **settings}
    return GenerationParams(
        max_tokens=int(merged["max_tokens"]) if merged["max_tokens"] else None,
        temperature=float(merged["temperature"]),
        top_p=float(merged["top_p"]),
        top_k=int(merged["top_k"]),
        min_p=float(merged["min_p"]),
        repeat_penalty=float(merged["repeat_penalty"]),
        seed=int(merged["seed"]) if merged["seed"] not in (None, "") else None,
        template_vars=(
            (("enable_thinking", bool(merged["thinking"])),)
            if merged.get("thinking") is not None
            else ()
        ),
        loras=loras_from_settings(merged),  # applied from this reply on, no reload
    )


@dataclass
class _Streaming:
    request_id: int
    message_id: int
    conversation_id: int
    question_id: int = 0  # a voice turn's question, dropped when no answer was heard
    # The reply's thinking, told apart from its answer as it streams.
    splitter: ReasoningSplitter = field(default_factory=ReasoningSplitter)
    reasoning: str = ""
    reasoning_stored: str = ""
    thinking_from: float | None = None
    thinking_s: float | None = None
    searched_from: float = 0.0  # when the documents' search began
    # A typed question's text and images: given back if the model turns the images down.
    asked: tuple[int, str, tuple[PreparedImage, ...]] | None = None
    documents_s: float | None = None  # how long it took (stored with the reply's figures)

    def thinking_ended(self) -> None:
        if self.thinking_from is not None and self.thinking_s is None:
            self.thinking_s = round(time.perf_counter() - self.thinking_from, 2)


class ChatService(QObject):
    """The conversation logic behind the chat view, sidebar and composer."""

    conversations_changed = Signal()
    current_changed = Signal(int)  # conversation id, 0 for none
    messages_reset = Signal(list)  # list[StoredMessage] of the current conversation
    message_added = Signal(object)  # StoredMessage
    reply_delta = Signal(int, str)  # message id, text
    reasoning_delta = Signal(int, str)  # message id, thinking text (never the answer)
    reply_finished = Signal(object)  # StoredMessage, final
    busy_changed = Signal(bool)
    error_occurred = Signal(str)
    notice_posted = Signal(str)
    searching = Signal(int)  # message id: its question is being looked up in the documents
    sources_changed = Signal(int, object)  # message id, the sources it was given (list)
    # Images sent to a model that reads text only: (text, list[PreparedImage], sentence).
    # Nothing was kept in the conversation; the window puts text and images back.
    vision_refused = Signal(str, list, str)

    def __init__(
        self, store: ConversationStore, engine: EngineService, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.engine = engine
        self.model_name: str | None = None
        # Whether the loaded model can see images (None: not known, e.g. a remote model:
        # the engine decides when images arrive).
        self.model_vision: bool | None = None
        # What the loaded model's chat template does with reasoning (see model_loaded).
        self.template_reasoning = TemplateReasoning()
        self.current_id = 0
        self._streaming: _Streaming | None = None
        self._flush = QTimer(self)
        self._flush.setInterval(FLUSH_INTERVAL_MS)
        self._flush.timeout.connect(self._flush_store)
        engine.delta_received.connect(self._on_delta)
        engine.generation_finished.connect(self._on_done)
        engine.request_failed.connect(self._on_failed)
        engine.prompt_prepared.connect(self._on_prepared)
        # Replies in a conversation with enabled tools run the tool loop (app.tools).
        self.tools = ToolService(store, engine, self)
        # The collections a conversation reads; its questions are grounded in them.
        self.docs = ConversationDocuments(store, self)
        self.tools.documents = lambda: self.docs.documents  # search_documents uses them too
        self._voice_sources: tuple[str, list[dict[str, Any]]] | None = None
        self._voice_lock = threading.Lock()
        # A spoken turn heard while a typed reply is still written waits here, in order
        # (its question, reply pieces and end), until the chat is free: never dropped.
        self._voice_waiting: list[Callable[[], object]] = []
        self._voice_draining = False
        self.busy_changed.connect(self._resume_voice, Qt.ConnectionType.QueuedConnection)

    # -- state ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._streaming is not None

    def messages(self) -> list[StoredMessage]:
        return self.store.get_messages(self.current_id) if self.current_id else []

    def settings(self) -> dict[str, Any]:
        if not self.current_id:
            return dict(DEFAULT_SETTINGS)
        return {**DEFAULT_SETTINGS, **self.store.get_conversation_settings(self.current_id)}

    def load_overrides(self) -> LoadOverrides:
        """What this conversation's own settings ask of a model load (a context length or
        a GPU layer count it was given); everything else comes from Preferences."""
        stored = self.store.get_conversation_settings(self.current_id) if self.current_id else {}
        n_ctx, gpu_layers = stored.get("n_ctx"), stored.get("gpu_layers")
        return LoadOverrides(
            n_ctx=int(n_ctx) if n_ctx else None,
            gpu_layers=int(gpu_layers) if gpu_layers is not None else None,
        )

    def update_settings(self, changes: dict[str, Any]) -> None:
        if not self.current_id:
            self.new_conversation()
        self.store.update_conversation_settings(self.current_id, changes)

    def system_prompt(self) -> str:
        if not self.current_id:
            return ""
        return self.store.get_conversation(self.current_id).system_prompt or ""

    def set_system_prompt(self, text: str) -> None:
        if not self.current_id:
            self.new_conversation()
        self.store.set_system_prompt(self.current_id, text.strip() or None)

    def model_loaded(
        self, path: str, chat_format_source: str, *, vision: bool | None = None
    ) -> None:
        """Read what the loaded model's own chat template does with reasoning (a built-in
        template does nothing with it); ``vision``: whether it was loaded with a projector."""
        self.model_vision = vision
        template: str | None = None
        if chat_format_source == "gguf":
            from app.core.gguf_meta import read_gguf

            try:
                template = read_gguf(path, check_data=False).chat_template
            except (HearthError, OSError) as exc:
                log.warning("cannot read the chat template of %s: %s", path, exc)
        self.template_reasoning = template_reasoning(template)

    # -- conversations -------------------------------------------------------------------
    def new_conversation(self) -> int:
        conversation = self.store.create_conversation(model=self.model_name)
        self.conversations_changed.emit()
        self.select(conversation.id)
        return conversation.id

    def select(self, conversation_id: int) -> None:
        self.current_id = conversation_id
        self.current_changed.emit(conversation_id)
        self.messages_reset.emit(self.messages())

    def rename(self, conversation_id: int, title: str) -> None:
        self.store.rename_conversation(conversation_id, title)
        self.conversations_changed.emit()

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self.store.set_pinned(conversation_id, pinned)
        self.conversations_changed.emit()

    def delete(self, conversation_id: int) -> None:
        if self._streaming and self._streaming.conversation_id == conversation_id:
            self.stop()
        self.store.delete_conversation(conversation_id)
        # Its saved KV state holds its content too: it goes with it (engine.kv_files).
        self.engine.forget_state([conversation_key(conversation_id)])
        self.conversations_changed.emit()
        if conversation_id == self.current_id:
            remaining = self.store.list_conversations(limit=1)
            self.select(remaining[0].id if remaining else 0)

    def export(self, conversation_id: int, path: Path) -> None:
        """Save a conversation as Markdown (``.md``) or JSON (``.json``)."""
        from app.storage.export import save_export

        try:
            save_export(self.store, conversation_id, path)
        except (HearthError, OSError) as exc:
            self.error_occurred.emit(
                translate("ChatService", "Could not export to {path}: {error}").format(
                    path=path, error=exc
                )
            )
            return
        self.notice_posted.emit(translate("ChatService", "Exported to {path}.").format(path=path))

    def save_preset(self, name: str, system_prompt: str) -> None:
        """Keep ``system_prompt`` as a named preset for other conversations."""
        try:
            self.store.create_preset(name, system_prompt)
        except HearthError as exc:
            self.error_occurred.emit(str(exc))

    # -- sending -------------------------------------------------------------------------
    def _note_model(self) -> None:
        """The conversation's model is the one it talks to now (the list shows it): a chat
        started before a model loaded, or continued with another, is brought up to date."""
        model = self.model_name
        if model and self.store.get_conversation(self.current_id).model != model:
            self.store.set_conversation_model(self.current_id, model)

    def send(self, text: str, images: Sequence[PreparedImage] = ()) -> bool:
        """Store the user's message (with its images) and start the reply; False when
        busy or empty, or when the model reads text only (``vision_refused`` says so)."""
        text = text.replace(IMAGE_MARK, "").strip()  # the mark places images: never typed
        if (not text and not images) or self.busy:
            return False
        if images and self.model_vision is False:
            self.vision_refused.emit(text, list(images), self.text_only_sentence())
            return False
        if not self.current_id:
            self.new_conversation()
        message_id = self.store.add_message(
            self.current_id, "user", text, model=self.model_name, images=images
        )
        self._note_model()
        self.message_added.emit(self.store.get_message(message_id))
        self.conversations_changed.emit()  # the title may have been derived from it
        self._start_reply(asked=(message_id, text, tuple(images)) if images else None)
        return True

    def text_only_sentence(self) -> str:
        """Why images cannot go to the loaded model (the front end offers the others)."""
        if not self.model_name:
            return translate(
                "ChatService", "This model reads text only; choose a model that can see images."
            )
        return translate(
            "ChatService", "{name} reads text only; choose a model that can see images."
        ).format(name=self.model_name)

    def _refused(self, streaming: _Streaming, message: str) -> bool:
        """The engine turned a typed question's images down: take the question and its
        reply out of the conversation and give text and images back (True), or, for a turn
        without images of its own (ones earlier in the history), False."""
        if streaming.asked is None:
            return False
        question_id, text, images = streaming.asked
        self._streaming = None
        self._flush.stop()
        self.tools.finished(streaming.request_id)
        self.store.finish_reply(streaming.message_id, "error")
        self.store.delete_messages_from(question_id)
        self.busy_changed.emit(False)
        self.conversations_changed.emit()
        if streaming.conversation_id == self.current_id:
            self.messages_reset.emit(self.messages())
        self.vision_refused.emit(text, list(images), message)
        return True

    def stop(self) -> None:
        """Stop the reply being generated; it keeps what it has said so far."""
        streaming = self._streaming
        if streaming is None or streaming.request_id == VOICE_REQUEST:
            return
        if streaming.request_id == SEARCH_REQUEST:  # nothing generated yet: end it here
            self._finish(streaming, "stopped", {"finish_reason": "cancelled"})
            return
        if not self.tools.cancel(streaming.request_id):  # a tool turn stops its own round
            self.engine.cancel(streaming.request_id)

    def regenerate(self) -> bool:
        """Replace the last reply with a new one."""
        if self.busy or not self.current_id:
            return False
        messages = self.messages()
        last_user = next((m for m in reversed(messages) if m.role == "user"), None)
        if last_user is None:
            return False
        self.store.delete_messages_after(last_user.id)
        self.messages_reset.emit(self.messages())
        self._start_reply()
        return True

    def edit_and_resend(self, message_id: int, text: str) -> bool:
        """Change a user message, drop everything after it, and answer again."""
        if self.busy or not text.strip():
            return False
        self.store.edit_message(message_id, text.strip())
        self.messages_reset.emit(self.messages())
        self._start_reply()
        return True

    def history(self) -> list[Message]:
        """The current conversation as the engine reads it (without the system prompt).

        Safe to call from another thread (the voice loop's): the store has its own lock.
        The last question comes back grounded when its answer was (with the passages).
        """
        return self._history_of(self.current_id)

    def _history_of(self, conversation_id: int) -> list[Message]:
        messages: list[Message] = []
        stored_messages = self.store.get_messages(conversation_id) if conversation_id else []
        grounded = self._grounded_question(stored_messages)
        # Earlier images go back with their questions (a follow-up asks about them; the
        # engine reuses the prompt it encoded), except to a model that reads text only.
        see = self.model_vision is not False
        for stored in stored_messages:
            hashes = stored.images if see else ()
            if not stored.content and not hashes:
                continue
            message = stored.as_message()
            if hashes and stored.role == "user":
                message["images"] = [self.store.image(sha).data for sha in hashes]
            if grounded is not None and stored.id == grounded[0]:
                # The question the model read: with the passages found for it.
                message["content"] = grounded[1]
            if stored.role == "assistant" and stored.reasoning:
                # The engine keeps it only where the chat template reads it.
                message["reasoning_content"] = stored.reasoning
            if stored.role == "assistant" and stored.tools:
                # The calls it made and their results, as the model read them then.
                messages.extend(call_messages(stored.tools))
            messages.append(message)
        return messages

    def _grounded_question(self, messages: list[StoredMessage]) -> tuple[int, str] | None:
        """The last question, as the model read it when its answer was grounded in
        documents (earlier ones go back plain: their answers carry what they found)."""
        for index in range(len(messages) - 1, -1, -1):
            if messages[index].role != "user":
                continue
            after = messages[index + 1] if index + 1 < len(messages) else None
            if after is None or after.role != "assistant" or after.sources is None:
                return None
            from app.docs.grounding import grounded_content

            names = self.docs.names(messages[index].conversation_id)
            text = grounded_content(messages[index].content, after.sources, names)
            return messages[index].id, text
        return None

    # -- voice turns ---------------------------------------------------------------------
    def voice_prompt(self, question: str) -> str:
        """The user message the model reads for a spoken ``question``: grounded in the
        conversation's documents when it reads some. Called on the voice loop's thread
        (the search must not run on the GUI's); the sources go with the spoken answer."""
        with self._voice_lock:
            self._voice_sources = None
        names = self.docs.names(self.current_id)
        if not names:
            return question
        try:
            grounded = self.docs.ground_now(question, names)
        except HearthError as exc:
            log.warning("the spoken question was not grounded: %s", exc)
            self.error_occurred.emit(str(exc))
            return question
        with self._voice_lock:
            self._voice_sources = (question.strip(), grounded.sources())
        return grounded.content

    # This service owns the history voice talks into (VoiceService hands it each turn on
    # this thread): spoken turns are stored as they stream and shown through the same
    # signals as typed ones; the voice loop reads them back with ``history``.
    def begin_voice_turn(self, question: str, images: Sequence[PreparedImage] = ()) -> bool:
        """The user said ``question`` (about ``images``, those the loop gave the model):
        store it with them and open Hearth's spoken reply. While a typed reply is still
        being written the spoken turn waits for it (the user is told) and is stored right
        after it, in order; False only for an empty question."""
        question = question.strip()
        if not question:
            return False
        if self._voice_wait(partial(self.begin_voice_turn, question, tuple(images))):
            if len(self._voice_waiting) == 1:
                self.notice_posted.emit(
                    translate(
                        "ChatService",
                        "Your spoken question was heard; it is added to the conversation "
                        "as soon as the reply being written is done.",
                    )
                )
            return True
        left_open = self._streaming
        if left_open is not None:  # a spoken reply whose end never came: it ends here
            log.warning("a spoken reply was left open; closing it before the next turn")
            self._finish(left_open, "stopped", {"voice": True, "finish_reason": "cancelled"})
        if not self.current_id:
            self.new_conversation()
        message_id = self.store.add_message(
            self.current_id, "user", question, model=self.model_name, images=images
        )
        self._note_model()
        self.message_added.emit(self.store.get_message(message_id))
        self.conversations_changed.emit()
        reply_id = self.store.begin_reply(self.current_id, self.model_name)
        with self._voice_lock:  # what the loop's last prompt() found, for this question
            found, self._voice_sources = self._voice_sources, None
        if found is not None:
            self.store.set_sources(reply_id, found[1])
        self.message_added.emit(self.store.get_message(reply_id))
        self._streaming = _Streaming(VOICE_REQUEST, reply_id, self.current_id, message_id)
        self._flush.start()
        self.busy_changed.emit(True)
        return True

    def _voice_wait(self, call: Callable[[], object]) -> bool:
        """Keep ``call`` for later (True) when a spoken turn waits for the chat: it is
        busy with a typed reply, or turns heard before this one still wait."""
        if self._voice_draining:
            return False
        streaming = self._streaming
        typed = streaming is not None and streaming.request_id != VOICE_REQUEST
        if not self._voice_waiting and not typed:
            return False
        self._voice_waiting.append(call)
        return True

    def _resume_voice(self, busy: bool) -> None:
        """The chat is free again: store the spoken turns that waited, in order (queued
        after the typed reply's own signals)."""
        if busy or self._voice_draining:
            return
        self._voice_draining = True
        try:
            while self._voice_waiting:
                streaming = self._streaming
                if streaming is not None and streaming.request_id != VOICE_REQUEST:
                    break  # a typed reply started meanwhile: the rest waits for it
                self._voice_waiting.pop(0)()
        finally:
            self._voice_draining = False

    def voice_delta(self, text: str) -> None:
        if self._voice_wait(partial(self.voice_delta, text)):
            return
        streaming = self._streaming
        if streaming is not None and streaming.request_id == VOICE_REQUEST:
            self.store.append_reply(streaming.message_id, text)
            self.reply_delta.emit(streaming.message_id, text)

    def voice_tools(self, records: list[dict[str, Any]]) -> None:
        """Store the tool calls of the spoken reply being made, and show their cards."""
        if self._voice_wait(partial(self.voice_tools, records)):
            return
        streaming = self._streaming
        if streaming is not None and streaming.request_id == VOICE_REQUEST and records:
            self.store.set_tools(streaming.message_id, records)
            self.tools.tools_changed.emit(streaming.message_id, records)

    def finish_voice_turn(self, result: TurnResult) -> None:
        """Close the spoken reply: it keeps what was said aloud (a barge-in trims it).

        When nothing was heard the exchange is dropped: the voice loop asks the question
        again within the next one, so the history does not hold it twice.
        """
        if self._voice_wait(partial(self.finish_voice_turn, result)):
            return
        streaming = self._streaming
        if streaming is None or streaming.request_id != VOICE_REQUEST:
            return
        if not result.spoken:
            self._drop_voice_turn(streaming)
            return
        stats = {
            "voice": True,
            "finish_reason": result.finish_reason,
            "voice_stages": dict(result.stages),
        }
        if result.draft is not None:  # the reply heard answered this draft, not the question
            stats["voice_draft"] = result.draft
        status = "stopped" if result.interrupted else "complete"
        self._finish(streaming, status, stats, spoken=result.spoken)

    def _drop_voice_turn(self, streaming: _Streaming) -> None:
        self._streaming = None
        self._flush.stop()
        self.store.finish_reply(streaming.message_id, "stopped")
        self.store.delete_messages_from(streaming.question_id)
        self.busy_changed.emit(False)
        self.conversations_changed.emit()
        if streaming.conversation_id == self.current_id:
            self.messages_reset.emit(self.messages())

    def abort_voice_turn(self, message: str) -> None:
        if self._voice_wait(partial(self.abort_voice_turn, message)):
            return
        streaming = self._streaming
        if streaming is not None and streaming.request_id == VOICE_REQUEST:
            self._finish(streaming, "error", {"error": message})

    def _start_reply(self, asked: tuple[int, str, tuple[PreparedImage, ...]] | None = None) -> None:
        conversation_id = self.current_id
        params = params_from_settings(self.settings())
        message_id = self.store.begin_reply(conversation_id, self.model_name, params=params)
        self.message_added.emit(self.store.get_message(message_id))
        names = self.docs.names(conversation_id)
        question = next((m for m in reversed(self.messages()) if m.role == "user"), None)
        if names and question is not None:
            # Look the question up first (on a pool thread); the reply starts after.
            self._streaming = _Streaming(SEARCH_REQUEST, message_id, conversation_id)
            self._streaming.searched_from = time.perf_counter()
            self._streaming.asked = asked
            self._flush.start()
            self.busy_changed.emit(True)
            self.searching.emit(message_id)
            self.docs.ground(
                question.content,
                names,
                lambda grounded: self._on_grounded(message_id, params, grounded),
                lambda exc: self._on_ground_failed(message_id, exc),
            )
            return
        self._generate(message_id, conversation_id, params, asked)

    def _on_grounded(self, message_id: int, params: GenerationParams, grounded: Grounded) -> None:
        streaming = self._streaming
        if streaming is None or streaming.request_id != SEARCH_REQUEST:
            return  # stopped (or the conversation deleted) while it searched
        if streaming.message_id != message_id:
            return
        sources = grounded.sources()
        try:
            self.store.set_sources(message_id, sources)
        except HearthError as exc:
            self._finish(streaming, "error", {"error": str(exc)})
            self.error_occurred.emit(str(exc))
            return
        if streaming.conversation_id == self.current_id:
            self.sources_changed.emit(message_id, sources)
        documents_s = round(time.perf_counter() - streaming.searched_from, 3)
        self._generate(message_id, streaming.conversation_id, params, streaming.asked)
        if self._streaming is not None and self._streaming.message_id == message_id:
            self._streaming.documents_s = documents_s

    def _on_ground_failed(self, message_id: int, exc: HearthError) -> None:
        streaming = self._streaming
        if streaming is None or streaming.request_id != SEARCH_REQUEST:
            return
        if streaming.message_id != message_id:
            return
        message = translate("ChatService", "Could not search the documents: {error}").format(
            error=str(exc)
        )
        self._finish(streaming, "error", {"error": message})
        self.error_occurred.emit(message)

    def _generate(
        self,
        message_id: int,
        conversation_id: int,
        params: GenerationParams,
        asked: tuple[int, str, tuple[PreparedImage, ...]] | None = None,
    ) -> None:
        """Ask the engine (or the tool loop) for the reply ``message_id``."""
        history = self._history_of(conversation_id)
        # The engine tags the conversation's saved KV state with it, to delete it with it.
        params = replace(params, kv_key=conversation_key(conversation_id))
        system = self.store.get_conversation(conversation_id).system_prompt
        if system:
            history.insert(0, {"role": "system", "content": system})
        try:
            if self.tools.offered():
                request_id = self.tools.generate(history, params, message_id, conversation_id)
            else:
                request_id = self.engine.generate(history, params)
        except HearthError as exc:
            if isinstance(exc, VisionUnsupportedError) and asked is not None:
                refused = _Streaming(0, message_id, conversation_id, asked=asked)
                if self._streaming is not None:  # it had searched the documents
                    refused.request_id = self._streaming.request_id
                self._refused(refused, str(exc))
                return
            self.store.finish_reply(message_id, "error")
            if self._streaming is not None:  # it had searched the documents
                self._streaming = None
                self._flush.stop()
                self.busy_changed.emit(False)
            self.error_occurred.emit(str(exc))
            return
        self._streaming = _Streaming(request_id, message_id, conversation_id, asked=asked)
        self._flush.start()
        self.busy_changed.emit(True)

    # -- engine events -------------------------------------------------------------------
    def _on_prepared(self, event: p.PromptPrepared) -> None:
        streaming = self._streaming
        if streaming is None or event.request_id != streaming.request_id:
            return
        if event.thinking_open:  # the prompt opened the block: the reply starts thinking
            streaming.splitter = ReasoningSplitter(thinking_open=True)
        if event.notice:
            self.notice_posted.emit(event.notice)

    def _on_delta(self, request_id: int, text: str) -> None:
        streaming = self._streaming
        if streaming is None or request_id != streaming.request_id:
            return
        self._route(streaming, *streaming.splitter.feed(text))

    def _route(self, streaming: _Streaming, thinking: str, answer: str) -> None:
        """Thinking to the Thinking block (stored on the flush timer), answer to the reply."""
        if thinking:
            if streaming.thinking_from is None:
                streaming.thinking_from = time.perf_counter()
            streaming.reasoning += thinking
            self.reasoning_delta.emit(streaming.message_id, thinking)
        if answer:
            streaming.thinking_ended()
            self.store.append_reply(streaming.message_id, answer)
            self.reply_delta.emit(streaming.message_id, answer)

    def _on_done(self, event: p.GenerationDone) -> None:
        streaming = self._streaming
        if streaming is None or event.request_id != streaming.request_id:
            return
        self._route(streaming, *streaming.splitter.flush())
        if not streaming.reasoning:
            # A reply that closes a block it never opened (a template that opened it
            # unseen): what came before the close tag was thinking after all.
            split = split_reasoning(event.text)
            if split.thinking:
                streaming.reasoning = split.thinking
                self.store.edit_message(streaming.message_id, split.answer)
        status = "stopped" if event.finish_reason == "cancelled" else "complete"
        stats = {**event.stats.to_dict(), "finish_reason": event.finish_reason}
        self._finish(streaming, status, stats)

    def _on_failed(self, event: p.ErrorEvent) -> None:
        streaming = self._streaming
        if streaming is None or event.request_id != streaming.request_id:
            return
        if event.kind == VisionUnsupportedError.__name__ and self._refused(
            streaming, event.message
        ):
            return
        self._finish(streaming, "error", {"error": event.message, "error_kind": event.kind})
        self.error_occurred.emit(event.message)

    def _finish(
        self,
        streaming: _Streaming,
        status: str,
        stats: dict[str, Any],
        *,
        spoken: str | None = None,
    ) -> None:
        self._streaming = None
        self._flush.stop()
        self.tools.finished(streaming.request_id)
        if streaming.reasoning:
            streaming.thinking_ended()
            stats = {**stats, "thinking_s": streaming.thinking_s}
            self.store.set_reasoning(streaming.message_id, streaming.reasoning.strip())
        if streaming.documents_s is not None:
            stats = {**stats, "documents_s": streaming.documents_s}
        self.store.finish_reply(streaming.message_id, status, stats)  # type: ignore[arg-type]
        if spoken is not None and spoken != self.store.get_message(streaming.message_id).content:
            # The history keeps what the user heard, not what was generated after it.
            self.store.edit_message(streaming.message_id, spoken)
        self.busy_changed.emit(False)
        self.conversations_changed.emit()
        if streaming.conversation_id == self.current_id:
            self.reply_finished.emit(self.store.get_message(streaming.message_id))

    def _flush_store(self) -> None:
        try:
            streaming = self._streaming
            if streaming is not None and streaming.reasoning != streaming.reasoning_stored:
                self.store.set_reasoning(streaming.message_id, streaming.reasoning)
                streaming.reasoning_stored = streaming.reasoning
            self.store.flush_if_due()
        except HearthError as exc:  # a full disk: say so, keep the text in memory
            self.error_occurred.emit(str(exc))

    def shutdown(self) -> None:
        self.stop()
        self.store.flush()
        self.tools.shutdown()  # the MCP servers it started
