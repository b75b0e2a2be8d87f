"""Every sentence of every window module (app/ui/*.py) has its 简体中文 translation, with
the same placeholders, so the 简体中文 window is Chinese throughout."""

from __future__ import annotations

import re
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication

from tests.gui.test_background_translations import APP, translatable
from tests.gui.zh import chinese_translator

MODULES = sorted(path.name for path in (APP / "ui").glob("*.py"))
# The same in every language: product names, sampling terms, a file-dialog filter.
NAMES = {"Hearth", "Top-p", "Top-k", "Min-p", "Markdown (*.md);;JSON (*.json)"}
PLACEHOLDER = re.compile(r"%[sdn1-9]|\{\w+\}")


@pytest.fixture(scope="module")
def chinese(qapp: Any) -> Any:
    with chinese_translator() as translator:
        yield translator


def test_every_module_is_looked_at() -> None:
    assert "settings_dialog.py" in MODULES and "documents_page.py" in MODULES
    assert len(MODULES) > 30


@pytest.mark.parametrize("module", MODULES)
def test_every_sentence_is_translated(chinese: Any, module: str) -> None:
    missing = []
    for context, source in translatable(APP / "ui" / module):
        # Without a count Qt keeps "%n" of a plural message as it is, to be compared.
        translated = QCoreApplication.translate(context, source)
        if source not in NAMES and translated == source:
            missing.append((context, source))
        # Placeholders survive translation, so the filled-in sentence stays whole.
        elif sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(translated)):
            missing.append((context, source, translated))
    assert not missing, missing


def test_every_choice_and_tool_is_translated(chinese: Any) -> None:
    """The sentences a window passes to ``self.tr`` from a table or a tool: combo choices
    and the built-in tools' names and descriptions."""
    from app.tools.builtin import builtin_tools
    from app.ui.settings_dialog import FLASH_MODES, KV_TYPES, LANGUAGES, THEMES
    from app.ui.tools_settings import PERMISSION_LABELS
    from app.ui.voice_settings import CHINESE_SCRIPTS
    from app.ui.voice_settings import LANGUAGES as VOICE_LANGUAGES

    tools = [text for tool in builtin_tools() for text in (tool.label, tool.description)]
    tables = {
        "SettingsDialog": [
            label for table in (THEMES, LANGUAGES, KV_TYPES, FLASH_MODES) for _, label in table
        ],
        "ToolsSettingsPanel": [label for _, label in PERMISSION_LABELS] + tools,
        "VoiceSettingsDialog": [label for _, label in VOICE_LANGUAGES + CHINESE_SCRIPTS],
    }
    names = {"English", "简体中文"}  # a language's own name
    missing = [
        (context, source)
        for context, sources in tables.items()
        for source in sources
        if source not in names and QCoreApplication.translate(context, source) == source
    ]
    assert not missing, missing
