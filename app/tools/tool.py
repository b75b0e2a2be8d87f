"""A tool: what the model is told about it, and the handler that runs it.

Kept apart from :mod:`app.tools.registry` so the built-in tools can be defined without
importing the registry that collects them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from app.core.errors import ConfigError
from app.core.i18n import translate

if TYPE_CHECKING:
    from app.docs.documents import Documents
    from app.storage import ConversationStore

Permission = Literal["allow", "ask", "never"]
PERMISSIONS: tuple[Permission, ...] = get_args(Permission)
DEFAULT_TIMEOUT_S = 30.0
# A tool's name as the OpenAI API allows it (and every template can write).
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@dataclass
class ToolContext:
    """What a running tool may use: never more than the user allowed.

    ``folders`` are the folders file tools may read (already resolved); ``store`` the
    conversation history (search); ``documents`` the user's indexed documents (None: the
    tool opens those of ``store``'s database); ``cancel`` is set when the user stops the
    call or its time runs out (a long tool checks it and returns early); ``now`` is the
    clock.
    """

    folders: tuple[Path, ...] = ()
    store: ConversationStore | None = None
    conversation_id: int | None = None
    documents: Documents | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    now: Callable[[], datetime] = lambda: datetime.now().astimezone()


Handler = Callable[[dict[str, Any], ToolContext], str]


@dataclass
class Tool:
    """One tool: what the model is told, and the handler that runs it.

    ``parameters`` is the JSON schema of the arguments object (checked before the
    handler runs). ``handler(arguments, context)`` returns the result text for the model
    and raises ``ToolError`` (or any exception) on failure; it runs on a worker thread.
    ``source`` names where it comes from ("builtin", "mcp:<server>"); ``title`` is the
    name the window shows.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    handler: Handler
    default_permission: Permission = "ask"
    timeout_s: float = DEFAULT_TIMEOUT_S
    source: str = "builtin"
    title: str = ""

    def __post_init__(self) -> None:
        if not self.name or not set(self.name) <= _NAME_CHARS or len(self.name) > 64:
            raise ConfigError(
                translate(
                    "Tools",
                    "The tool name {name} is not usable: use up to 64 letters, digits, "
                    "underscores or dashes.",
                ).format(name=repr(self.name))
            )
        if self.parameters.get("type") != "object":
            raise ConfigError(
                translate(
                    "Tools", "The tool {name}'s parameters must be a JSON object schema."
                ).format(name=self.name)
            )
        if self.default_permission not in PERMISSIONS:
            raise ConfigError(
                translate(
                    "Tools", "The tool {name}'s default permission must be allow, ask or never."
                ).format(name=self.name)
            )

    def run(self, arguments: dict[str, Any], context: ToolContext) -> str:
        """The handler's result (call through ``app.tools.runner.run_tool``, which checks
        the arguments and keeps the time limit)."""
        return self.handler(arguments, context)

    @property
    def label(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()

    def to_openai(self) -> dict[str, Any]:
        """``{"type": "function", "function": {"name", "description", "parameters"}}``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }
