"""The window's buttons fit, in English and 简体中文, at the default and the smallest size:
no header, composer, documents or voice-bar button is narrower than its size hint (its
words cut off); a header too narrow for its words shows its icons only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSize, QTranslator
from PySide6.QtWidgets import QAbstractButton, QWidget
from pytestqt.qtbot import QtBot

from app.core import i18n
from tests.gui.conftest import MakeWindow

CPU_PLAN = "CPU only: no GPU offload in this build of llama.cpp; needs 0.17 GB of 19.0 GB free RAM"


@pytest.fixture(params=["en", "zh_CN"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    from app.core.paths import app_paths
    from app.core.settings import load_settings, save_settings

    paths = app_paths().ensure()
    settings = load_settings(paths)
    settings.extra["language"] = request.param
    save_settings(paths, settings)
    yield str(request.param)
    app = QCoreApplication.instance()
    assert app is not None
    for translator in app.findChildren(QTranslator):
        QCoreApplication.removeTranslator(translator)
        translator.deleteLater()
    i18n.install(None)


def settle() -> None:
    """Run the posted layout requests: the header's words come and go with its width."""
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        QCoreApplication.processEvents()


def cut_off(roots: list[QWidget]) -> list[str]:
    """The shown buttons under ``roots`` smaller than their size hint."""
    found = []
    for root in roots:
        for button in root.findChildren(QAbstractButton):
            if not button.isVisible():
                continue
            hint, size = button.sizeHint(), button.size()
            if size.width() < hint.width() or size.height() < hint.height():
                found.append(
                    f"{button.accessibleName() or button.text()!r}: "
                    f"{size.width()}x{size.height()} < {hint.width()}x{hint.height()}"
                )
    return found


@pytest.mark.parametrize("size", ["default", "minimum"])
def test_no_button_is_cut_off(
    qtbot: QtBot, make_window: MakeWindow, language: str, size: str
) -> None:
    win = make_window()
    window: Any = win.window
    if language == "zh_CN":
        assert window.header.models_button.accessibleName() == "模型"
    if size == "minimum":
        window.resize(QSize(1, 1))  # held at the layouts' minimum
    settle()
    window.voice_bar.set_push_to_talk(True)  # all its buttons: talk, stop, settings, end
    window.voice_bar.set_state("speaking")
    window.voice_bar.show()
    header = window.header
    roots = [header, window.composer, window.documents_bar, window.voice_bar]
    # Loading (the progress bar shows beside the chip: the header's widest state), then
    # loaded; the model list and chip change the header's needs without any resize.
    header.show_loading("SmolLM2-135M-Instruct")
    header.show_progress(0.5)
    settle()
    assert not cut_off(roots), cut_off(roots)
    header.show_loaded(CPU_PLAN, 0)
    settle()
    if size == "minimum":
        assert window.width() < 1100
    assert not cut_off(roots), cut_off(roots)
    # Icons only exactly when the words do not fit, and the choice holds once made.
    compact = header.compact()
    assert compact == (header.width() < header._width_with_words())
    settle()
    assert header.compact() == compact
    for button in (header.settings_button, header.models_button, header.app_settings_button):
        assert not button.icon().isNull()
        assert button.text() == ("" if compact else header.label(button))
        assert header.label(button) == button.accessibleName()
