"""The tools a conversation may offer the model, and what the user allows each to do.

A :class:`Tool` is a name, a description, a JSON schema for its arguments and a handler
that returns text for the model. The :class:`ToolRegistry` holds every known tool
(Hearth's built-ins, MCP servers' tools) with the user's choices: each tool is off until
enabled, and each has a permission: ``allow`` (run at once), ``ask`` (the user is asked
before every call) or ``never``. The choices live in ``Settings.extra["tools"]``::

    {"enabled": {"calculator": true}, "permissions": {"read_file": "allow"},
     "folders": ["/home/me/Notes"]}

so they survive restarts and are shared by the window, the CLI and voice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from app.core.errors import ConfigError

if TYPE_CHECKING:
    from app.core.settings import Settings
    from app.storage import ConversationStore

log = logging.getLogger(__name__)

Permission = Literal["allow", "ask", "never"]
PERMISSIONS: tuple[Permission, ...] = get_args(Permission)
SETTINGS_KEY = "tools"  # the group in Settings.extra
DEFAULT_TIMEOUT_S = 30.0
# A tool's name as the OpenAI API allows it (and every template can write).
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@dataclass
class ToolContext:
    """What a running tool may use: never more than the user allowed.

    ``folders`` are the folders file tools may read (already resolved); ``store`` the
    conversation history (search); ``cancel`` is set when the user stops the call or its
    time runs out (a long tool checks it and returns early); ``now`` is the clock.
    """

    folders: tuple[Path, ...] = ()
    store: ConversationStore | None = None
    conversation_id: int | None = None
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
                f"The tool name {self.name!r} is not usable: use up to 64 letters, digits, "
                "underscores or dashes."
            )
        if self.parameters.get("type") != "object":
            raise ConfigError(f"The tool {self.name}'s parameters must be a JSON object schema.")
        if self.default_permission not in PERMISSIONS:
            raise ConfigError(
                f"The tool {self.name}'s default permission must be allow, ask or never."
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


@dataclass
class ToolSettings:
    """The user's choices about tools, as kept in ``Settings.extra["tools"]``."""

    enabled: dict[str, bool] = field(default_factory=dict)
    permissions: dict[str, Permission] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> ToolSettings:
        """Read the group; a value of the wrong kind is dropped (its default applies)."""
        raw = extra.get(SETTINGS_KEY)
        if not isinstance(raw, Mapping):
            return cls()
        enabled = raw.get("enabled")
        permissions = raw.get("permissions")
        folders = raw.get("folders")
        return cls(
            enabled={
                str(k): v
                for k, v in (enabled.items() if isinstance(enabled, Mapping) else ())
                if isinstance(v, bool)
            },
            permissions={
                str(k): v
                for k, v in (permissions.items() if isinstance(permissions, Mapping) else ())
                if v in PERMISSIONS
            },
            folders=[f for f in folders if isinstance(f, str) and f]
            if isinstance(folders, list)
            else [],
        )

    def to_extra(self) -> dict[str, Any]:
        return {
            "enabled": dict(self.enabled),
            "permissions": dict(self.permissions),
            "folders": list(self.folders),
        }

    def allowed_folders(self) -> tuple[Path, ...]:
        """The allowed folders that exist, resolved (symlinks followed once, here)."""
        found: list[Path] = []
        for folder in self.folders:
            try:
                path = Path(folder).expanduser().resolve(strict=True)
            except (OSError, RuntimeError):
                log.warning("allowed folder %s is missing; skipped", folder)
                continue
            if path.is_dir() and path not in found:
                found.append(path)
        return tuple(found)


class ToolRegistry:
    """Every tool Hearth knows, with the user's choices; safe to read from any thread."""

    def __init__(self, settings: ToolSettings | None = None) -> None:
        self.settings = settings or ToolSettings()
        self._tools: dict[str, Tool] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Settings, *, builtins: bool = True) -> ToolRegistry:
        """A registry with the user's choices from ``settings`` (and the built-in tools)."""
        registry = cls(ToolSettings.from_extra(settings.extra))
        if builtins:
            from app.tools.builtin import builtin_tools

            for tool in builtin_tools():
                registry.register(tool)
        return registry

    def save_to(self, settings: Settings) -> None:
        """Write the user's choices into ``settings.extra`` (then save the settings)."""
        settings.extra[SETTINGS_KEY] = self.settings.to_extra()

    # -- tools ---------------------------------------------------------------------------
    def register(self, tool: Tool, *, replace: bool = False) -> None:
        """Add a tool; a second tool of the same name is refused unless ``replace``."""
        with self._lock:
            if tool.name in self._tools and not replace:
                raise ConfigError(
                    f"A tool named {tool.name} is already registered; give the new one "
                    "another name."
                )
            self._tools[tool.name] = tool

    def unregister(self, name: str) -> None:
        with self._lock:
            self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        with self._lock:
            return self._tools.get(name)

    def tools(self) -> list[Tool]:
        """Every registered tool, by name."""
        with self._lock:
            return sorted(self._tools.values(), key=lambda t: t.name)

    def names(self) -> list[str]:
        return [t.name for t in self.tools()]

    # -- the user's choices ----------------------------------------------------------------
    def is_enabled(self, name: str) -> bool:
        """Whether the user turned the tool on (every tool starts off)."""
        with self._lock:
            return name in self._tools and self.settings.enabled.get(name, False)

    def set_enabled(self, name: str, enabled: bool) -> None:
        self._known(name)
        with self._lock:
            self.settings.enabled[name] = enabled

    def permission(self, name: str) -> Permission:
        """``allow``, ``ask`` or ``never``: the user's choice, else the tool's default;
        ``never`` for a tool nobody registered."""
        with self._lock:
            tool = self._tools.get(name)
            if tool is None:
                return "never"
            return self.settings.permissions.get(name, tool.default_permission)

    def set_permission(self, name: str, permission: Permission) -> None:
        self._known(name)
        if permission not in PERMISSIONS:
            raise ConfigError(f"A tool's permission is allow, ask or never, not {permission!r}.")
        with self._lock:
            self.settings.permissions[name] = permission

    def enabled_tools(self, only: Iterable[str] | None = None) -> list[Tool]:
        """The tools the model may be offered: enabled, not ``never``; with ``only``,
        just those named (each must be known, enabled and permitted)."""
        with self._lock:
            if only is None:
                return [
                    t
                    for t in self.tools()
                    if self.is_enabled(t.name) and self.permission(t.name) != "never"
                ]
            chosen: list[Tool] = []
            for name in only:
                tool = self._known(name)
                if self.permission(name) == "never":
                    raise ConfigError(
                        f"The tool {name} is set to never run; change its permission in "
                        "Preferences › Tools first."
                    )
                if tool not in chosen:
                    chosen.append(tool)
            return chosen

    def to_openai(self, tools: Iterable[Tool] | None = None) -> list[dict[str, Any]]:
        """OpenAI tool definitions of ``tools`` (default: the enabled ones)."""
        return [t.to_openai() for t in (self.enabled_tools() if tools is None else tools)]

    def context(self, **values: Any) -> ToolContext:
        """A ToolContext holding the allowed folders, plus ``values`` (store, ...)."""
        return ToolContext(folders=self.settings.allowed_folders(), **values)

    def _known(self, name: str) -> Tool:
        tool = self.get(name)
        if tool is None:
            known = ", ".join(self.names()) or "none"
            raise ConfigError(f"There is no tool named {name!r} (known tools: {known}).")
        return tool
