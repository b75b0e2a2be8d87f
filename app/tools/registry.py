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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import ConfigError
from app.core.i18n import translate
from app.tools.tool import PERMISSIONS, Permission, Tool, ToolContext

if TYPE_CHECKING:
    from app.core.settings import Settings

# Tool and ToolContext are defined in app.tools.tool (the built-ins import them from
# there, so the registry may import the built-ins); most callers take them from here.
__all__ = ["SETTINGS_KEY", "Tool", "ToolContext", "ToolRegistry", "ToolSettings"]

log = logging.getLogger(__name__)

SETTINGS_KEY = "tools"  # the group in Settings.extra


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
                    translate(
                        "Tools",
                        "A tool named {name} is already registered; give the new one another name.",
                    ).format(name=tool.name)
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
            raise ConfigError(
                translate(
                    "Tools", "A tool's permission is allow, ask or never, not {permission}."
                ).format(permission=repr(permission))
            )
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
                        translate(
                            "Tools",
                            "The tool {name} is set to never run; change its permission in "
                            "Preferences › Tools first.",
                        ).format(name=name)
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
            raise ConfigError(
                translate("Tools", "There is no tool named {name} (known tools: {known}).").format(
                    name=repr(name), known=known
                )
            )
        return tool
