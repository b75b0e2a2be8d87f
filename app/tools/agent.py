"""The tool loop: model → tool calls → tools run → results → model again → answer.

:class:`ToolTurn` is the loop's logic, with no I/O: what to send the model each round
(the tools offered, a forced call's JSON schema), what its reply asks for, and the
messages the results add. Two drivers run it: :func:`run_turn` (blocking, for the CLI,
voice and tests) and the window's chat service (event-driven on the GUI thread). Both
pass each call through :func:`execute`, which keeps the user's permissions: ``never``
refuses, ``ask`` waits for the user's answer (a tool never runs while a prompt is
unanswered; no one to ask means no), ``allow`` runs it.

Rounds: the first uses the turn's ``choice`` (``auto``: the model may call; ``required``
or a tool's name: a call is forced with a grammar built from the tools' schemas; or
``none``), later ones ``then``; after ``max_rounds`` rounds of calls the model is asked
for an answer without tools. A forced round's JSON is never shown; in an ``auto`` round,
text that may start a call is held back (:class:`CallHoldback`) until it is known to be
text, so only answers reach the screen and the speaker.

:class:`ToolEngine` wraps an engine so that one ``generate`` runs a whole tool turn and
streams only what is to be shown: the voice loop uses it unchanged.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from app.core.errors import EngineError, HearthError, ToolError, error_from_kind
from app.core.generation import GenerationParams, GenerationStats, Message
from app.core.i18n import translate
from app.engine import protocol as p
from app.tools.calls import ToolCall
from app.tools.registry import Tool, ToolContext, ToolRegistry
from app.tools.runner import ToolResult, failed, run_tool

if TYPE_CHECKING:
    from app.engine.client import RequestHandle

log = logging.getLogger(__name__)

DEFAULT_MAX_ROUNDS = 4
FORCED_TOKENS = 512  # the least a forced call's round may write
# What the user is asked, and must answer, before a call runs: True runs it.
AskFn = Callable[[Tool, ToolCall], bool]
Choice = str  # "auto", "required", "none" or a tool's name


class HandleLike(Protocol):
    request_id: int

    def events(self, timeout: float | None = None) -> Any: ...


class ChatEngine(Protocol):
    """What the blocking driver needs: the engine client or a remote endpoint."""

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> RequestHandle: ...

    def cancel(self, target: RequestHandle | int) -> None: ...


@dataclass(frozen=True)
class CallEvent:
    """A call starting (``result`` None) or finished, for cards and logs."""

    call: ToolCall
    tool: Tool | None
    result: ToolResult | None = None
    round: int = 0


@dataclass
class TurnOutcome:
    """A finished tool turn: what was shown (the answer), the calls made, the figures."""

    text: str
    records: list[dict[str, Any]]
    rounds: int
    finish_reason: str
    stats: GenerationStats | None
    messages: list[Message] = field(default_factory=list)


class CallHoldback:
    """Streamed text of a round that may hold a call: what may be shown now.

    Text before where a call may begin (``app.tools.formats.held_from``) is passed on at
    once; the rest is kept until the round ends, then shown (:meth:`flush`) when the
    reply held no call, or dropped.
    """

    def __init__(self, active: bool = True) -> None:
        self._active = active
        self._text = ""
        self._sent = 0

    def feed(self, text: str) -> str:
        if not self._active:
            return text
        from app.tools.formats import held_from

        self._text += text
        hold = held_from(self._text)
        if hold <= self._sent:
            return ""
        shown, self._sent = self._text[self._sent : hold], hold
        return shown

    def flush(self) -> str:
        shown, self._sent = self._text[self._sent :], len(self._text)
        return shown


def _strict_json(text: str) -> str:
    """``text`` as strict JSON: llama.cpp's schema grammar lets a string hold raw control
    characters (a newline), which JSON forbids; they are escaped here."""
    try:
        json.loads(text)
    except ValueError:
        return json.dumps(json.loads(text, strict=False), ensure_ascii=False)
    return text


def _choice_object(choice: Choice) -> str | dict[str, Any]:
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "function": {"name": choice}}


class ToolTurn:
    """One answer that may use tools: its rounds, messages and calls (no I/O here)."""

    def __init__(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool],
        params: GenerationParams,
        *,
        choice: Choice = "auto",
        then: Choice = "auto",
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        parallel: bool = False,
    ) -> None:
        names = {t.name for t in tools}
        for wanted in (choice, then):
            if wanted not in ("auto", "required", "none") and wanted not in names:
                raise ToolError(
                    translate(
                        "Tools", "the tool {wanted} is not offered in this conversation."
                    ).format(wanted=wanted)
                )
        self.messages: list[Message] = list(messages)
        self.tools = list(tools)
        self.params = params
        self.choice = choice
        self.then = then
        self.max_rounds = max_rounds
        self.parallel = parallel
        self.round = 0  # rounds answered so far
        self.records: list[dict[str, Any]] = []
        self.answer: str | None = None
        self._openai = [t.to_openai() for t in self.tools]

    @property
    def current_choice(self) -> Choice:
        if not self.tools or self.round >= self.max_rounds:
            return "none"
        return self.choice if self.round == 0 else self.then

    @property
    def forced(self) -> bool:
        """Whether this round's reply is a forced call (JSON, never shown)."""
        return self.current_choice not in ("auto", "none")

    @property
    def offers_tools(self) -> bool:
        return self.current_choice != "none"

    @property
    def done(self) -> bool:
        return self.answer is not None

    def request(self) -> tuple[list[Message], GenerationParams]:
        """The messages and settings of the next model call."""
        choice = self.current_choice
        if choice == "none":
            return list(self.messages), replace(self.params, tools=None)
        params = replace(self.params, tools=json.dumps(self._openai, ensure_ascii=False))
        if self.forced:
            from app.tools.forced import forced_call_schema

            schema = forced_call_schema(self._openai, _choice_object(choice), self.parallel)
            # A call cut short is no call: the round gets room for whole arguments.
            room = None if params.max_tokens is None else max(params.max_tokens, FORCED_TOKENS)
            params = replace(params, json_schema=schema, grammar=None, max_tokens=room)
        return list(self.messages), params

    def take_reply(self, text: str, *, thinking_open: bool = False) -> tuple[ToolCall, ...]:
        """The model's reply to the last request: the calls it makes (then answer each
        with :meth:`add_result`), or none when ``text`` is the answer.

        A reasoning model's thinking (``thinking_open``: its prompt opened the block) is
        no call: calls are read from the answer, the thinking goes back to the model as
        the calling message's ``reasoning_content`` (kept where the template reads it).
        """
        from app.core.reasoning import split_reasoning

        forced, offered = self.forced, self.offers_tools
        self.round += 1
        calls: tuple[ToolCall, ...] = ()
        split = split_reasoning(text, thinking_open=thinking_open)
        content = split.answer if split.found else text
        if forced:
            from app.tools.forced import calls_from_forced

            try:
                calls = tuple(calls_from_forced(_strict_json(text)))
            except ValueError as exc:
                raise ToolError(
                    translate("Tools", "the forced tool call could not be read ({exc}).").format(
                        exc=exc
                    )
                ) from exc
            content = ""
        elif offered:
            from app.tools.formats import parse_reply

            parsed = parse_reply(content, self._openai)
            calls, content = tuple(parsed.calls), parsed.content
        if not calls:
            self.answer = text
            return ()
        message: Message = {
            "role": "assistant",
            "content": content,
            "tool_calls": [c.to_openai() for c in calls],
        }
        if split.thinking and not forced:
            message["reasoning_content"] = split.thinking
        self.messages.append(message)
        return calls

    def add_result(self, call: ToolCall, result: ToolResult) -> None:
        """A call's result, as the ``tool`` message the model reads next round."""
        self.messages.append(
            {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": result.text}
        )
        self.records.append(result.record(call))

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)


def execute(
    call: ToolCall,
    tool: Tool | None,
    registry: ToolRegistry | None,
    context: ToolContext,
    *,
    ask: AskFn | None,
    cancel: threading.Event | None = None,
) -> ToolResult:
    """Run one call as the user's permissions say (see the module docstring)."""
    if tool is None:
        return failed(
            translate("Tools", "no tool named {name} is offered here").format(name=call.name),
            "refused",
        )
    permission = registry.permission(tool.name) if registry is not None else tool.default_permission
    if permission == "never":
        return failed(
            translate("Tools", "the user does not allow {name} to run").format(name=tool.name),
            "refused",
        )
    if permission == "ask":
        if ask is None:
            return failed(
                translate(
                    "Tools", "{name} needs the user's permission and nobody could be asked"
                ).format(name=tool.name),
                "refused",
            )
        try:
            allowed = ask(tool, call)
        except HearthError as exc:  # the prompt went away (window closed, timed out)
            log.info("permission prompt for %s ended: %s", tool.name, exc)
            allowed = False
        if not allowed:
            return failed(
                translate("Tools", "the user did not allow this call of {name}").format(
                    name=tool.name
                ),
                "refused",
            )
    if cancel is not None and cancel.is_set():
        return failed(
            translate("Tools", "the user stopped {name}").format(name=tool.name), "cancelled"
        )
    return run_tool(tool, call, context, cancel=cancel)


def run_turn(
    engine: ChatEngine,
    turn: ToolTurn,
    context: ToolContext,
    *,
    registry: ToolRegistry | None = None,
    ask: AskFn | None = None,
    cancel: threading.Event | None = None,
    on_delta: Callable[[str], None] | None = None,
    on_call: Callable[[CallEvent], None] | None = None,
    on_event: Callable[[p.Event], None] | None = None,
    on_request: Callable[[int], None] | None = None,
    timeout_s: float = 120.0,
) -> TurnOutcome:
    """Run ``turn`` to its answer on ``engine`` (blocks; call from a worker thread).

    ``on_delta`` gets the text to show, ``on_call`` each call's start and end,
    ``on_event`` the engine's PromptPrepared events, ``on_request`` each new request id
    (to hold or cancel it). ``cancel`` stops the turn: the running generation or tool
    ends and the outcome's ``finish_reason`` is ``cancelled``.
    """
    cancel = cancel or threading.Event()
    shown: list[str] = []
    stats: GenerationStats | None = None
    finish_reason = "stop"

    def show(text: str) -> None:
        if text:
            shown.append(text)
            if on_delta is not None:
                on_delta(text)

    while not turn.done:
        if cancel.is_set():
            finish_reason = "cancelled"
            break
        messages, params = turn.request()
        forced = turn.forced
        holdback = CallHoldback(active=turn.offers_tools and not forced)
        handle = engine.generate(messages, params)
        if on_request is not None:
            on_request(handle.request_id)
        text = ""
        opened = False  # this round's prompt opened a thinking block
        for event in _events(handle, engine, cancel, timeout_s):
            if isinstance(event, p.Delta) and not forced:
                show(holdback.feed(event.text))
            elif isinstance(event, p.PromptPrepared):
                opened = event.thinking_open
                if opened and turn.round > 0 and not forced:
                    # Only the first round's prompt is passed on: a later one's thinking
                    # gets its open tag here, so it is not shown as the answer.
                    show("<think>")
                if on_event is not None:
                    on_event(event)
            elif isinstance(event, p.GenerationDone):
                text, stats, finish_reason = event.text, event.stats, event.finish_reason
            elif isinstance(event, p.ErrorEvent):
                raise error_from_kind(event.kind, event.message)
        if finish_reason == "cancelled" or cancel.is_set():
            if not forced:
                show(holdback.flush())
            finish_reason = "cancelled"
            break
        calls = turn.take_reply(text, thinking_open=opened)
        if not calls:
            show(holdback.flush())
            break
        for call in calls:
            tool = turn.tool(call.name)
            if on_call is not None:
                on_call(CallEvent(call, tool, None, turn.round))
            result = execute(call, tool, registry, context, ask=ask, cancel=cancel)
            turn.add_result(call, result)
            if on_call is not None:
                on_call(CallEvent(call, tool, result, turn.round))
    return TurnOutcome(
        "".join(shown), list(turn.records), turn.round, finish_reason, stats, turn.messages
    )


def _events(
    handle: HandleLike, engine: ChatEngine, cancel: threading.Event, timeout_s: float
) -> Any:
    """The request's events; a Stop cancels it (its last events still come).
    ``timeout_s`` is the longest wait for the next event."""
    cancelled = False
    deadline = time.monotonic() + timeout_s
    while True:
        if cancel.is_set() and not cancelled:
            engine.cancel(handle.request_id)
            cancelled = True
        left = deadline - time.monotonic()
        if left <= 0:
            raise EngineError(
                translate(
                    "Tools",
                    "The engine did not answer within {timeout_s:.0f} s.",
                ).format(timeout_s=timeout_s)
            )
        try:
            for event in handle.events(min(left, 0.1)):
                deadline = time.monotonic() + timeout_s
                yield event
                if isinstance(event, p.FINAL_EVENTS):
                    return
                if cancel.is_set() and not cancelled:
                    engine.cancel(handle.request_id)
                    cancelled = True
            return
        except EngineError:
            continue  # no event within the poll: look at cancel again


class ToolEngine:
    """An engine whose ``generate`` runs a whole tool turn (see the module docstring).

    Only what is to be shown streams out; the final ``GenerationDone`` carries it, with
    the last round's figures. ``records`` of the last finished turn (the calls made)
    are given to ``on_records``. Cancel, hold and release act on the round running.
    """

    def __init__(
        self,
        engine: Any,
        registry: ToolRegistry,
        tools: Sequence[Tool],
        context_factory: Callable[[], ToolContext],
        *,
        ask: AskFn | None = None,
        choice: Choice = "auto",
        then: Choice = "auto",
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        on_call: Callable[[CallEvent], None] | None = None,
        on_records: Callable[[list[dict[str, Any]]], None] | None = None,
        on_event: Callable[[p.Event], None] | None = None,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.tools = list(tools)
        self.context_factory = context_factory
        self.ask = ask
        self.choice, self.then, self.max_rounds = choice, then, max_rounds
        self.on_call = on_call
        self.on_records = on_records
        self.on_event = on_event  # each event of its own requests, as the handle gets it
        self._ids = itertools.count(1_000_000_000)  # never an engine request's id
        self._lock = threading.Lock()
        self._turns: dict[int, tuple[threading.Event, list[int]]] = {}

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> RequestHandle:
        from app.engine.client import RequestHandle

        params = params or GenerationParams()
        if params.max_tokens is not None and params.max_tokens <= 1:
            # A prompt-cache warm-up (voice): its reply is never read, so no tool runs;
            # the tools are offered all the same, being part of the prompt to warm.
            offered = json.dumps([t.to_openai() for t in self.tools], ensure_ascii=False)
            handle: RequestHandle = self.engine.generate(messages, replace(params, tools=offered))
            return handle
        handle = RequestHandle(next(self._ids), "generate")
        cancel, inner = threading.Event(), [0]
        with self._lock:
            self._turns[handle.request_id] = (cancel, inner)
        turn = ToolTurn(
            messages,
            self.tools,
            params,
            choice=self.choice,
            then=self.then,
            max_rounds=self.max_rounds,
        )
        threading.Thread(
            target=self._run,
            args=(handle, turn, cancel, inner),
            name=f"tool-turn-{handle.request_id}",
            daemon=True,
        ).start()
        return handle

    def _run(
        self, handle: RequestHandle, turn: ToolTurn, cancel: threading.Event, inner: list[int]
    ) -> None:
        rid = handle.request_id
        prepared = [False]

        def first_prepared(event: p.Event) -> None:
            if isinstance(event, p.PromptPrepared) and not prepared[0]:
                prepared[0] = True
                self._push(handle, replace(event, request_id=rid))

        def current(request_id: int) -> None:
            inner[0] = request_id

        try:
            outcome = run_turn(
                self.engine,
                turn,
                self.context_factory(),
                registry=self.registry,
                ask=self.ask,
                cancel=cancel,
                on_delta=lambda text: self._push(handle, p.Delta(rid, text)),
                on_call=self.on_call,
                on_event=first_prepared,
                on_request=current,
            )
        except HearthError as exc:
            self._push(handle, p.ErrorEvent(rid, type(exc).__name__, str(exc)))
        except Exception as exc:  # a bug: still a final event, never a hung caller
            log.exception("tool turn failed")
            self._push(
                handle,
                p.ErrorEvent(
                    rid,
                    "HearthError",
                    translate(
                        "Tools",
                        "The tool turn failed: {error}.",
                    ).format(error=exc),
                ),
            )
        else:
            if self.on_records is not None and outcome.finish_reason != "cancelled":
                self.on_records(outcome.records)
            stats = outcome.stats or GenerationStats(0, 0, 0.0, 0.0, 0.0, 0, 0, "")
            self._push(handle, p.GenerationDone(rid, outcome.text, outcome.finish_reason, stats))
        finally:
            with self._lock:
                self._turns.pop(rid, None)

    def _push(self, handle: RequestHandle, event: p.Event) -> None:
        handle._push(event)
        if self.on_event is not None:
            self.on_event(event)

    def _inner(self, target: Any) -> tuple[threading.Event, list[int]] | None:
        target_id = target if isinstance(target, int) else target.request_id
        with self._lock:
            return self._turns.get(target_id)

    def cancel(self, target: Any) -> None:
        found = self._inner(target)
        if found is None:
            self.engine.cancel(target)
            return
        cancel, inner = found
        cancel.set()
        if inner[0]:
            self.engine.cancel(inner[0])

    def hold(self, target: Any, seconds: float) -> None:
        found = self._inner(target)
        if found is not None and found[1][0] and hasattr(self.engine, "hold"):
            self.engine.hold(found[1][0], seconds)

    def release(self, target: Any) -> None:
        self.hold(target, 0.0)

    def __getattr__(self, name: str) -> Any:
        # Everything else (load, shutdown, embed, ...) is the wrapped engine's.
        return getattr(self.engine, name)


def call_messages(records: Sequence[Mapping[str, Any]]) -> list[Message]:
    """A stored reply's tool calls (``StoredMessage.tools``) as the messages the model
    read: the assistant's calls, then each result as a ``tool`` message. The reply's
    answer follows them in the history."""
    calls = [r for r in records if isinstance(r.get("id"), str) and isinstance(r.get("name"), str)]
    if not calls:
        return []
    messages: list[Message] = [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                ToolCall.make(
                    str(r["name"]), dict(r.get("arguments") or {}), str(r["id"])
                ).to_openai()
                for r in calls
            ],
        }
    ]
    messages += [
        {
            "role": "tool",
            "tool_call_id": r["id"],
            "name": r["name"],
            "content": str(r.get("result", "")),
        }
        for r in calls
    ]
    return messages


def records_summary(records: Sequence[Mapping[str, Any]]) -> str:
    """One line per call for logs and the CLI: ``calculator {"expression": "6*7"} → 42``."""
    lines = []
    for record in records:
        arguments = json.dumps(record.get("arguments", {}), ensure_ascii=False)
        result = " ".join(str(record.get("result", "")).split())
        if len(result) > 120:
            result = result[:119] + "…"
        lines.append(f"{record.get('name')} {arguments} → {result}")
    return "\n".join(lines)


def voice_tool_engine(
    backend: Any,
    registry: ToolRegistry,
    *,
    on_records: Callable[[list[dict[str, Any]]], None] | None = None,
    on_call: Callable[[CallEvent], None] | None = None,
    ask: AskFn | None = None,
) -> Any:
    """``backend`` itself when no tool is enabled; else a ToolEngine for voice turns.

    What the user set to "Always allow" runs at once; a call that would ask goes to
    ``ask`` (the voice loop's ``ask_tool``: asked aloud and on screen, a clear yes in time
    or it is refused), and is refused without one. Only the final answer streams out, so
    only it is spoken.
    """
    try:
        offered = registry.enabled_tools()
    except HearthError as exc:
        log.warning("tools unavailable for voice: %s", exc)
        return backend
    if not offered:
        return backend
    return ToolEngine(
        backend,
        registry,
        offered,
        registry.context,
        ask=ask,
        on_records=on_records,
        on_call=on_call,
    )
