"""Run one tool call: check its arguments, keep its time limit, never hang.

The arguments are validated against the tool's JSON schema before the handler sees
them. The handler runs on its own daemon thread while the caller waits with a deadline
and watches ``cancel``: a tool that raises, runs past its time limit or is stopped gives
an error result the model can read, and the caller goes on at once. Python cannot kill
a thread, so a stuck handler is left to finish in the background with
``context.cancel`` set (a well-behaved tool checks it); its late result is dropped.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from app.core.errors import HearthError
from app.core.i18n import english, translate
from app.tools import schema_errors
from app.tools.calls import ToolCall
from app.tools.registry import Tool, ToolContext

log = logging.getLogger(__name__)

ResultStatus = Literal["complete", "error", "timeout", "cancelled", "refused"]
# A result longer than this is cut: it goes into the model's context window.
MAX_RESULT_CHARS = 16_000
_POLL_S = 0.05


@dataclass(frozen=True)
class ToolResult:
    """What a call gave: ``text`` goes to the model (an error's text too)."""

    text: str
    ok: bool
    elapsed_s: float
    error: str | None = None
    status: ResultStatus = "complete"

    def record(self, call: ToolCall) -> dict[str, Any]:
        """The call and its result as stored with the message (``StoredMessage.tools``)."""
        return {
            "id": call.id,
            "name": call.name,
            "arguments": call.arguments,
            "result": self.text,
            "ok": self.ok,
            "elapsed_s": round(self.elapsed_s, 4),
            "status": self.status,
        }


def failed(message: str, status: ResultStatus = "error", elapsed_s: float = 0.0) -> ToolResult:
    """An error result: the model reads ``Error: <message>`` in English, whatever the
    window's language; the text stays a Sentence that the tool card can :func:`localize`
    (``error`` keeps the message as it was made)."""
    said = translate("Tools", "Error: {message}").format(message=message)
    return ToolResult(english(said), False, elapsed_s, message, status)


def validation_error(tool: Tool, arguments: dict[str, Any]) -> str | None:
    """Why ``arguments`` break the tool's schema (one sentence), or None when they fit."""
    # jsonschema ships no type hints: imported as a plain module object.
    jsonschema = importlib.import_module("jsonschema")
    try:
        validator_class = jsonschema.validators.validator_for(tool.parameters)
        validator_class.check_schema(tool.parameters)
    except jsonschema.SchemaError as exc:
        return translate("Tools", "the tool {name} has a broken schema ({problem})").format(
            name=tool.name, problem=exc.message
        )
    validator = validator_class(tool.parameters)
    errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    first = errors[0]
    where = ".".join(str(p) for p in first.absolute_path)
    if where:
        return translate(
            "Tools", "the arguments do not fit {name}'s schema: {where}: {reason}"
        ).format(name=tool.name, where=where, reason=schema_errors.reason(first))
    return translate("Tools", "the arguments do not fit {name}'s schema: {reason}").format(
        name=tool.name, reason=schema_errors.reason(first)
    )


def run_tool(
    tool: Tool,
    call: ToolCall,
    context: ToolContext,
    *,
    timeout_s: float | None = None,
    cancel: threading.Event | None = None,
) -> ToolResult:
    """Run ``call`` with ``tool``; always returns (within ``timeout_s`` plus a poll).

    ``timeout_s`` defaults to the tool's own limit; ``cancel`` stops the wait at once
    (the user pressed Stop). The handler sees ``context`` with ``context.cancel`` set
    when either happens.
    """
    start = time.monotonic()
    if call.name != tool.name:
        return failed(
            translate("Tools", "the call is for {call}, not {name}").format(
                call=call.name, name=tool.name
            ),
            "refused",
        )
    problem = validation_error(tool, call.arguments)
    if problem is not None:
        return failed(problem, "refused")
    limit = tool.timeout_s if timeout_s is None else timeout_s
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["text"] = tool.run(dict(call.arguments), context)
        except HearthError as exc:  # the tool's own refusal: its sentence for the model
            outcome["error"] = str(exc)
        except Exception as exc:  # a bug or an OS error in the tool: still an answer
            log.warning("tool %s failed", tool.name, exc_info=True)
            outcome["error"] = translate("Tools", "the tool {name} failed ({kind}: {exc})").format(
                name=tool.name, kind=type(exc).__name__, exc=exc
            )
        finally:
            done.set()

    worker = threading.Thread(target=work, name=f"tool-{tool.name}", daemon=True)
    worker.start()
    deadline = start + limit
    while not done.wait(_POLL_S):
        if cancel is not None and cancel.is_set():
            context.cancel.set()
            return failed(
                translate("Tools", "the user stopped {name}").format(name=tool.name),
                "cancelled",
                time.monotonic() - start,
            )
        if time.monotonic() >= deadline:
            context.cancel.set()
            log.warning("tool %s ran past its %.1f s limit", tool.name, limit)
            return failed(
                translate("Tools", "{name} did not finish within {limit} s").format(
                    name=tool.name, limit=format(limit, "g")
                ),
                "timeout",
                time.monotonic() - start,
            )
    elapsed = time.monotonic() - start
    if "error" in outcome:
        return failed(str(outcome["error"]), "error", elapsed)
    text = outcome.get("text")
    if not isinstance(text, str):
        return failed(
            translate("Tools", "{name} returned no text").format(name=tool.name), "error", elapsed
        )
    if len(text) > MAX_RESULT_CHARS:
        cut = len(text) - MAX_RESULT_CHARS
        text = text[:MAX_RESULT_CHARS] + f"\n[… {cut} more characters cut]"
    return ToolResult(text, True, elapsed)
