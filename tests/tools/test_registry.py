"""ToolRegistry: every tool off until enabled, permissions, and the choices kept in the
real settings file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.core.errors import ConfigError
from app.core.paths import app_paths
from app.core.settings import load_settings, save_settings
from app.tools.registry import Tool, ToolContext, ToolRegistry, ToolSettings


def echo(arguments: dict[str, Any], _context: ToolContext) -> str:
    return str(arguments)


def make(name: str = "echo", **kwargs: Any) -> Tool:
    return Tool(
        name=name,
        description="Echo.",
        parameters={"type": "object", "properties": {}},
        handler=echo,
        **kwargs,
    )


def test_builtin_tools_are_registered_and_all_off() -> None:
    registry = ToolRegistry.from_settings(load_settings(app_paths()))
    assert registry.names() == [
        "calculator",
        "current_datetime",
        "read_file",
        "search_conversations",
        "search_documents",
    ]
    assert not any(registry.is_enabled(n) for n in registry.names())
    assert registry.enabled_tools() == [] and registry.to_openai() == []
    # Anything that reads the user's data asks first; pure computation is allowed.
    assert registry.permission("read_file") == "ask"
    assert registry.permission("search_conversations") == "ask"
    assert registry.permission("calculator") == "allow"
    assert registry.permission("current_datetime") == "allow"
    # The documents the user indexed are there to be read by the model (as with --docs).
    assert registry.permission("search_documents") == "allow"


def test_enabled_tools_leave_out_never_and_offer_openai_definitions() -> None:
    registry = ToolRegistry()
    registry.register(make("a"))
    registry.register(make("b"))
    registry.register(make("c"))
    registry.set_enabled("a", True)
    registry.set_enabled("b", True)
    registry.set_permission("b", "never")
    assert [t.name for t in registry.enabled_tools()] == ["a"]
    assert registry.to_openai() == [
        {
            "type": "function",
            "function": {
                "name": "a",
                "description": "Echo.",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    # Named tools (``hearth chat --tools``) need not be enabled, but never stays never.
    assert [t.name for t in registry.enabled_tools(["c", "a", "c"])] == ["c", "a"]
    with pytest.raises(ConfigError, match="b is set to never run"):
        registry.enabled_tools(["b"])
    with pytest.raises(ConfigError, match="no tool named 'zz'"):
        registry.enabled_tools(["zz"])


def test_choices_survive_a_restart_through_the_settings_file(tmp_path: Path) -> None:
    paths = app_paths()
    settings = load_settings(paths)
    registry = ToolRegistry.from_settings(settings)
    registry.set_enabled("calculator", True)
    registry.set_permission("read_file", "allow")
    registry.settings.folders = [str(tmp_path)]
    registry.save_to(settings)
    save_settings(paths, settings)

    again = ToolRegistry.from_settings(load_settings(paths))
    assert again.is_enabled("calculator") and not again.is_enabled("read_file")
    assert again.permission("read_file") == "allow"
    assert again.context().folders == (tmp_path.resolve(),)


def test_bad_values_in_the_settings_are_dropped() -> None:
    found = ToolSettings.from_extra(
        {
            "tools": {
                "enabled": {"calculator": "yes", "read_file": True},
                "permissions": {"calculator": "sometimes", "read_file": "never"},
                "folders": ["", 3, "/tmp"],
            }
        }
    )
    assert found == ToolSettings({"read_file": True}, {"read_file": "never"}, ["/tmp"])
    assert ToolSettings.from_extra({"tools": "nonsense"}) == ToolSettings()


def test_missing_folders_are_left_out_of_the_context(tmp_path: Path) -> None:
    settings = ToolSettings(folders=[str(tmp_path / "gone"), str(tmp_path), str(tmp_path)])
    assert settings.allowed_folders() == (tmp_path.resolve(),)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "has space"}, "not usable"),
        ({"name": ""}, "not usable"),
        ({"name": "x" * 65}, "not usable"),
        ({"parameters": {"type": "string"}}, "JSON object schema"),
        ({"default_permission": "maybe"}, "allow, ask or never"),
    ],
)
def test_unusable_tools_are_refused(kwargs: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {
        "name": "ok",
        "description": "d",
        "parameters": {"type": "object"},
        "handler": echo,
        **kwargs,
    }
    with pytest.raises(ConfigError, match=message):
        Tool(**values)


def test_duplicate_names_and_unknown_tools_are_refused() -> None:
    registry = ToolRegistry()
    registry.register(make())
    with pytest.raises(ConfigError, match="already registered"):
        registry.register(make())
    replacement = Tool("echo", "Other.", {"type": "object"}, echo)
    registry.register(replacement, replace=True)
    assert registry.get("echo") is replacement
    with pytest.raises(ConfigError, match="no tool named"):
        registry.set_enabled("nope", True)
    with pytest.raises(ConfigError, match="allow, ask or never"):
        registry.set_permission("echo", "often")  # type: ignore[arg-type]
    assert registry.permission("nope") == "never" and not registry.is_enabled("nope")
    registry.unregister("echo")
    assert registry.names() == []
