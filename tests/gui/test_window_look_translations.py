"""The window's look in 简体中文: every sentence of the header, the conversation list,
the message box, the shortcuts sheet and the Installed tab's origins is translated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication

from app.services.conversation_groups import ORDER
from app.ui.header import _CHIP_WORDS
from app.ui.model_manager import ORIGINS
from app.ui.shortcuts_sheet import _BUILT_IN
from app.ui.sidebar import GROUP_TITLES
from tests.gui.test_background_translations import translatable
from tests.gui.zh import HAN, chinese_translator

APP = Path(__file__).resolve().parents[2] / "app"
MODULES = ["ui/header.py", "ui/sidebar.py", "ui/composer.py", "ui/shortcuts_sheet.py"]
NAMES = {"GPU"}  # the same in Chinese


@pytest.fixture
def chinese(qapp: Any) -> Any:
    with chinese_translator() as translator:
        yield translator


def untranslated(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (context, source)
        for context, source in pairs
        if source not in NAMES and QCoreApplication.translate(context, source) == source
    ]


@pytest.mark.parametrize("module", MODULES)
def test_every_sentence_is_translated(chinese: Any, module: str) -> None:
    sentences = translatable(APP / module)
    assert sentences
    assert not untranslated(sentences)


def test_words_kept_in_tables_are_translated(chinese: Any) -> None:
    assert set(GROUP_TITLES) == set(ORDER)
    pairs = [("Sidebar", title) for title in GROUP_TITLES.values()]
    pairs += [("ChatHeader", words) for words in _CHIP_WORDS]
    pairs += [("InstalledTab", origin) for origin in ORIGINS.values()]
    pairs += [("ShortcutsSheet", what) for _keys, what in _BUILT_IN]
    assert not untranslated(pairs)
    assert QCoreApplication.translate("Sidebar", "Today") == "今天"
    assert QCoreApplication.translate("InstalledTab", "Starter set") == "入门套装"


def test_settings_and_badge_words_kept_in_tables_are_translated(chinese: Any) -> None:
    """Words that widgets look up with ``self.tr(variable)``, which lupdate cannot see:
    each table's words must have a translation in the context that looks them up (the
    language selector's own endonyms aside)."""
    from app.ui.composer import IMAGE_FILTER
    from app.ui.mcp_settings import STATE_TEXT
    from app.ui.settings_dialog import KV_TYPES, THEMES
    from app.ui.tools_settings import PERMISSION_LABELS
    from app.ui.vision_badge import VISION_TIP
    from app.ui.voice_settings import CHINESE_SCRIPTS
    from app.ui.voice_settings import LANGUAGES as VOICE_LANGUAGES

    pairs = [("SettingsDialog", label) for _, label in (*THEMES, *KV_TYPES)]
    pairs += [("VoiceSettingsDialog", label) for _, label in (*VOICE_LANGUAGES, *CHINESE_SCRIPTS)]
    pairs += [("ToolsSettingsPanel", label) for _, label in PERMISSION_LABELS]
    pairs += [("McpSettingsPanel", words) for words in STATE_TEXT.values()]
    pairs += [("Composer", IMAGE_FILTER)]
    pairs += [(c, VISION_TIP) for c in ("InstalledTab", "DiscoverTab", "ChatHeader", "VisionOffer")]
    assert not untranslated([(c, s) for c, s in pairs if not HAN.search(s)])  # 简体中文 is itself
    assert QCoreApplication.translate("McpSettingsPanel", "Stopped") == "已停止"
