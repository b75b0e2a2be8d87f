"""The 简体中文 window over the real engine process: the offload plan the worker makes (in
English, it has no translator) is shown in Chinese in the header's chip and popover, and a
damaged model's load error is shown in Chinese. Screenshots go to $HEARTH_SHOTS when set."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QTranslator
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from app.catalog.library import ModelEntry
from app.core import i18n
from app.engine.client import EngineClient
from app.engine.hardware import probe_hardware
from app.ui.launch import default_chat_model
from tests.gui.conftest import MakeWindow
from tests.gui.test_window_fit import cut_off

pytestmark = pytest.mark.slow

LOAD_MS = 120_000
# Kept as they are in every language: units, device and file names, the library's name.
KEPT = ("llama.cpp", "GPU", "CPU", "GB", "broken.gguf")


def latin_words(text: str) -> list[str]:
    """Words in Latin letters left in ``text`` once names and units are taken out."""
    for kept in (*KEPT, *(gpu.name for gpu in probe_hardware().gpus)):
        text = text.replace(kept, "")
    return re.findall(r"[A-Za-z]{2,}", text)


@pytest.fixture
def chinese_window_settings() -> Iterator[None]:
    from app.core.paths import app_paths
    from app.core.settings import load_settings, save_settings

    paths = app_paths().ensure()
    settings = load_settings(paths)
    settings.extra["language"] = "zh_CN"
    save_settings(paths, settings)
    yield
    app = QCoreApplication.instance()
    assert app is not None
    for translator in app.findChildren(QTranslator):
        QCoreApplication.removeTranslator(translator)
        translator.deleteLater()
    i18n.install(None)


def settle(widget: QWidget) -> None:
    """Let the posted layout requests run (the header's words come and go with its width),
    so what is grabbed or measured is the laid-out window, not the one before."""
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        QCoreApplication.processEvents()
    widget.update()


def shoot(widget: QWidget, name: str, popup: QWidget | None = None) -> None:
    """``widget`` as it looks, with ``popup`` (a window of its own) drawn where it shows."""
    folder = os.environ.get("HEARTH_SHOTS")
    if not folder:
        return
    settle(widget)
    pixmap = widget.grab()
    if popup is not None:
        painter = QPainter(pixmap)
        painter.drawPixmap(widget.mapFromGlobal(popup.mapToGlobal(QPoint(0, 0))), popup.grab())
        painter.end()
    assert pixmap.save(str(Path(folder) / name))


def test_the_plan_and_a_load_error_are_chinese(
    qtbot: QtBot,
    make_window: MakeWindow,
    smol_model: Path,
    tmp_path: Path,
    chinese_window_settings: None,
) -> None:
    from app.context import open_app_context

    win = make_window(backend_factory=EngineClient)
    assert i18n.installed()  # the window's translator reaches the sentences below it
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    win.chat.new_conversation()
    win.chat.update_settings({"n_ctx": 1024})
    with qtbot.waitSignal(win.models.model_ready, timeout=LOAD_MS):
        win.window.load_model(entry)

    chip = win.window.header.plan
    plan = chip.text()
    assert plan and re.search(r"[\u4e00-\u9fff]", plan), plan
    assert not latin_words(plan), plan
    assert chip.label() in {"仅 CPU", "GPU · 全部层"} or chip.label().startswith("GPU · ")
    assert not latin_words(chip.label()), chip.label()
    settle(win.window)  # the popover goes under the chip where the laid-out header has it
    assert not cut_off([win.window.header]), cut_off([win.window.header])  # Chinese words fit
    popover = chip.show_popover()
    qtbot.waitUntil(popover.isVisible, timeout=10_000)
    shown = popover.findChild(QLabel, "planPopoverText")
    assert shown is not None and shown.text() == plan
    shoot(win.window, "plan-zh_CN.png", popup=popover)
    popover.hide()

    # A download cut short: the worker reads the header, finds the data missing, and says
    # so in English; the window shows it in Chinese.
    broken = tmp_path / "broken.gguf"
    data = smol_model.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    failed = ModelEntry(name="broken", kind="chat", path=str(broken))
    with qtbot.waitSignal(win.models.load_failed, timeout=LOAD_MS) as blocker:
        win.window.load_model(failed)
    message = blocker.args[0]
    assert "下载" in message and not latin_words(message), message
    banner = win.window.error_banner
    qtbot.waitUntil(banner.isVisible, timeout=10_000)
    assert banner.label.text() == message
    shoot(win.window, "load-error-zh_CN.png")
