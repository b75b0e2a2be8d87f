"""ToolService: the window's side of the tool loop (``app.tools.agent``).

A reply in a conversation with enabled tools is one ``ToolEngine`` turn over the
window's engine: its events reach the chat service as the engine's own (through
``EngineService.post``), so the answer streams and finishes as any reply does. Each
call is a card: ``tools_changed`` gives the reply's calls as they go (asking, running,
done); finished ones are stored with the message. A call that asks waits for Allow or
Deny on its card (``answer``), never runs before; Stop ends the turn, a running tool
included. The user's choices are read from the settings file at each reply, so a
change in Preferences applies to the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import HearthError
from app.core.generation import GenerationParams, Message
from app.core.paths import app_paths
from app.core.settings import Settings, load_settings
from app.services.engine_service import EngineService
from app.storage import ConversationStore
from app.tools.agent import CallEvent, ToolEngine, call_messages, voice_tool_engine
from app.tools.calls import ToolCall
from app.tools.registry import Tool, ToolRegistry

__all__ = [
    "Tool",
    "ToolRegistry",
    "ToolService",
    "call_messages",
    "registry_for",
    "voice_engine",
]

log = logging.getLogger(__name__)

_POLL_S = 0.1


@dataclass
class _Turn:
    """One reply's tool turn: its calls so far and the prompts waiting for an answer."""

    message_id: int
    conversation_id: int
    engine: ToolEngine
    request_id: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, tuple[threading.Event, list[bool]]] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)


class ToolService(QObject):
    """Runs replies with tools for the chat service; asks, shows and stores each call."""

    tools_changed = Signal(int, list)  # message id, the reply's calls as dicts

    def __init__(
        self,
        store: ConversationStore,
        engine: EngineService,
        parent: QObject | None = None,
        *,
        registry_factory: Callable[[], ToolRegistry] | None = None,
        ask_timeout_s: float | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.engine = engine
        self._registry_factory = registry_factory or _registry_from_settings
        # None: a prompt waits until answered or stopped (the window); voice gives up.
        self.ask_timeout_s = ask_timeout_s
        # The first round's tool choice: "auto" lets the model choose; "required" or a
        # tool's name forces a call (then the model answers without tools).
        self.choice = "auto"
        self._turns: dict[int, _Turn] = {}  # by the turn's request id
        self._lock = threading.Lock()
        # The window's documents, for search_documents (None: the tool opens its own).
        self.documents: Callable[[], Any] = lambda: None
        # MCP servers (app.tools.mcp) start in the background once a tool of theirs is
        # enabled; their tools are offered from then on.
        self._mcp: Any = None
        self._mcp_starting = False
        if registry_factory is None:
            self.registry()

    def registry(self) -> ToolRegistry:
        """Every tool with the user's choices (read now), MCP servers' tools included."""
        registry = self._registry_factory()
        if self._mcp is not None:
            from app.tools.mcp.tools import register_mcp_tools

            register_mcp_tools(registry, self._mcp, start=False)
        elif _wants_mcp(registry) or _has_mcp_config():
            self._start_mcp()
        return registry

    def mcp_tools(self) -> list[Tool]:
        """The running MCP servers' tools (for the Tools page)."""
        return [t for t in self.registry().tools() if t.source.startswith("mcp:")]

    def mcp_manager(self) -> Any:
        """The McpManager running the user's servers, or None before it has started: the
        MCP settings page shares it, so Test does not start a second copy of a server."""
        return self._mcp

    def _start_mcp(self) -> None:
        with self._lock:
            if self._mcp_starting:
                return
            self._mcp_starting = True

        def start() -> None:
            from app.tools.mcp.tools import open_mcp_tools

            self._mcp = open_mcp_tools(app_paths(), ToolRegistry())

        threading.Thread(target=start, name="mcp-start", daemon=True).start()

    def shutdown(self) -> None:
        """Stop the MCP servers this service started."""
        if self._mcp is not None:
            self._mcp.close()

    def offered(self, registry: ToolRegistry | None = None) -> list[Tool]:
        """The tools a reply may use now (enabled, not "never")."""
        try:
            return (registry or self.registry()).enabled_tools()
        except HearthError as exc:
            log.warning("tools unavailable: %s", exc)
            return []

    def generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        message_id: int,
        conversation_id: int,
    ) -> int:
        """Start a reply that may call the offered tools; returns its request id."""
        registry = self.registry()
        turn_ref: list[_Turn] = []
        engine = ToolEngine(
            self.engine.backend,
            registry,
            self.offered(registry),
            lambda: registry.context(
                store=self.store, conversation_id=conversation_id, documents=self.documents()
            ),
            ask=lambda tool, call: self._ask(turn_ref[0], tool, call),
            on_call=lambda event: self._on_call(turn_ref[0], event),
            on_event=self.engine.post,
            choice=self.choice,
            then="auto" if self.choice == "auto" else "none",
        )
        turn = _Turn(message_id, conversation_id, engine)
        turn_ref.append(turn)
        handle = engine.generate(messages, params)
        turn.request_id = handle.request_id
        with self._lock:
            self._turns[handle.request_id] = turn
        return handle.request_id

    def finished(self, request_id: int) -> None:
        """The reply ended (the chat service saw its final event)."""
        with self._lock:
            self._turns.pop(request_id, None)

    def cancel(self, request_id: int) -> bool:
        """Stop the turn ``request_id`` (its model round or its tool); False if none."""
        with self._lock:
            turn = self._turns.get(request_id)
        if turn is None:
            return False
        turn.cancel.set()
        turn.engine.cancel(request_id)
        return True

    def answer(self, call_id: str, allowed: bool) -> bool:
        """The user's Allow (True) or Deny on a call's card; False if nothing asked."""
        with self._lock:
            waiting = [t.answers.get(call_id) for t in self._turns.values()]
        for found in waiting:
            if found is not None:
                event, answer = found
                answer.append(allowed)
                event.set()
                return True
        return False

    def stop_call(self, call_id: str) -> bool:
        """Stop on a running call's card: ends the turn it belongs to."""
        with self._lock:
            owners = [
                rid
                for rid, turn in self._turns.items()
                if any(r["id"] == call_id for r in turn.records)
            ]
        owner = owners[0] if owners else None
        return owner is not None and self.cancel(owner)

    # -- on the turn's thread ------------------------------------------------------------
    def _ask(self, turn: _Turn, tool: Tool, call: ToolCall) -> bool:
        event, answer = threading.Event(), list[bool]()
        turn.answers[call.id] = (event, answer)
        self._update(turn, call.id, {"status": "asking"})
        waited = 0.0
        try:
            while not event.wait(_POLL_S):
                waited += _POLL_S
                if turn.cancel.is_set():
                    return False
                if self.ask_timeout_s is not None and waited >= self.ask_timeout_s:
                    log.info("nobody answered the prompt for %s: refused", tool.name)
                    return False
            return bool(answer and answer[0])
        finally:
            turn.answers.pop(call.id, None)
            self._update(turn, call.id, {"status": "running"})

    def _on_call(self, turn: _Turn, event: CallEvent) -> None:
        if event.result is None:
            record = {
                "id": event.call.id,
                "name": event.call.name,
                "arguments": event.call.arguments,
                "status": "running",
            }
            turn.records.append(record)
            self.tools_changed.emit(turn.message_id, [dict(r) for r in turn.records])
            return
        self._update(turn, event.call.id, event.result.record(event.call))
        finished = [r for r in turn.records if r.get("status") not in ("asking", "running")]
        try:
            self.store.set_tools(turn.message_id, finished)
        except HearthError as exc:  # the reply was deleted meanwhile, or a full disk
            log.warning("tool calls of message %d not stored: %s", turn.message_id, exc)

    def _update(self, turn: _Turn, call_id: str, changes: dict[str, Any]) -> None:
        for record in turn.records:
            if record["id"] == call_id:
                record.update(changes)
        self.tools_changed.emit(turn.message_id, [dict(r) for r in turn.records])


def _wants_mcp(registry: ToolRegistry) -> bool:
    """Whether the user enabled a tool of an MCP server (named ``<server>__<tool>``)."""
    return any(on and "__" in name for name, on in registry.settings.enabled.items())


def _has_mcp_config() -> bool:
    from app.tools.mcp.config import config_file

    return config_file(app_paths()).is_file()


def _registry_from_settings() -> ToolRegistry:
    return ToolRegistry.from_settings(load_settings(app_paths()))


def registry_for(settings: Settings) -> ToolRegistry:
    """Every tool with the user's choices in ``settings`` (the Preferences page edits it)."""
    return ToolRegistry.from_settings(settings)


def voice_engine(
    backend: Any,
    on_records: Callable[[list[dict[str, Any]]], None],
    ask: Callable[[Tool, Any], bool] | None = None,
) -> Any:
    """The window's voice engine: ``backend``, with the enabled tools when there are any
    (see ``app.tools.agent.voice_tool_engine``); ``ask`` puts a permission to the user."""
    return voice_tool_engine(backend, _registry_from_settings(), on_records=on_records, ask=ask)
