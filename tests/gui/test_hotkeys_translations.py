"""The global keys' sentences made below the widgets (app.services.hotkey_service) have
their 简体中文 translations too, with the same placeholders."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication

from tests.gui.test_background_translations import APP, translatable
from tests.gui.test_ui_translations import PLACEHOLDER, chinese

__all__ = ["chinese"]  # the fixture that installs the 简体中文 translator


def test_hotkey_service_sentences_are_translated(chinese: Any) -> None:
    sources = translatable(APP / "services" / "hotkey_service.py")
    assert len(sources) > 10
    for context, source in sources:
        translated = QCoreApplication.translate(context, source)
        assert translated != source, (context, source)
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(translated))
