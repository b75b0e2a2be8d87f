"""Every sentence of the model card and the first run has its 简体中文 translation."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator

from tests.gui.test_background_translations import APP, NAMES, translatable

MODULES = ["ui/model_card.py", "ui/first_run.py"]


@pytest.mark.parametrize("module", MODULES)
def test_every_sentence_is_translated(qapp: Any, module: str) -> None:
    translator = QTranslator()
    assert translator.load(str(APP.parent / "assets" / "translations" / "hearth_zh_CN.qm"))
    QCoreApplication.installTranslator(translator)
    try:
        sentences = translatable(APP / module)
        assert sentences
        missing = [
            (context, source)
            for context, source in sentences
            if source not in NAMES and QCoreApplication.translate(context, source) == source
        ]
        assert not missing, missing
        # Placeholders survive translation, so the filled-in sentence stays whole.
        for context, source in sentences:
            assert source.count("%s") == QCoreApplication.translate(context, source).count("%s")
    finally:
        QCoreApplication.removeTranslator(translator)
