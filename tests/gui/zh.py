"""The window's 简体中文 translator for the translation tests, as
``launch.configure_application`` installs it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTranslator

from app.core import i18n

QM = Path(__file__).resolve().parents[2] / "assets" / "translations" / "hearth_zh_CN.qm"
HAN = re.compile(r"[\u4e00-\u9fff]")  # a Chinese character


@contextmanager
def chinese_translator(seam: bool = False) -> Iterator[QTranslator]:
    """The zh_CN translator installed in the running QCoreApplication; ``seam`` also
    routes :mod:`app.core.i18n` through Qt, so sentences made below the widgets are
    translated as in the window."""
    translator = QTranslator()
    assert translator.load(str(QM))
    QCoreApplication.installTranslator(translator)
    if seam:
        i18n.install(QCoreApplication.translate)
    try:
        yield translator
    finally:
        if seam:
            i18n.install(None)
        QCoreApplication.removeTranslator(translator)
