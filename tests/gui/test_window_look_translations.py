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
from tests.gui.zh import chinese_translator

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
