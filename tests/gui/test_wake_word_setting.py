"""The voice settings' wake-word box: off by default, kept, hands-free only, in 简体中文."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTranslator
from pytestqt.qtbot import QtBot

from app.ui.voice_settings import VoiceSettingsDialog
from app.voice.session import VoiceSettings

QM = Path(__file__).resolve().parents[2] / "assets" / "translations" / "hearth_zh_CN.qm"


def test_the_wake_word_is_off_by_default_and_saved_when_ticked(qtbot: QtBot) -> None:
    dialog = VoiceSettingsDialog(VoiceSettings().to_dict(), [], [], [])
    qtbot.addWidget(dialog)
    box = dialog.wake_word
    assert not box.isChecked() and box.isEnabled()
    assert box.accessibleName() and "Hey Hearth" in box.toolTip()
    assert dialog.values()["wake_word"] is False
    box.setChecked(True)
    assert VoiceSettings.from_dict(dialog.values()).wake_word is True
    again = VoiceSettingsDialog(dialog.values(), [], [], [])
    qtbot.addWidget(again)
    assert again.wake_word.isChecked()


def test_push_to_talk_needs_no_wake_word(qtbot: QtBot) -> None:
    dialog = VoiceSettingsDialog({"push_to_talk": True}, [], [], [])
    qtbot.addWidget(dialog)
    assert not dialog.wake_word.isEnabled()
    dialog.mode.setCurrentIndex(dialog.mode.findData(False))
    assert dialog.wake_word.isEnabled()


def test_the_wake_word_box_speaks_chinese(qtbot: QtBot) -> None:
    translator = QTranslator()
    assert translator.load(str(QM))
    QCoreApplication.installTranslator(translator)
    try:
        dialog = VoiceSettingsDialog({}, [], [], [])
        qtbot.addWidget(dialog)
        assert dialog.wake_word.text() == "只在听到“Hey Hearth”后回答"
        assert dialog.wake_word.accessibleName() == "唤醒词"
        assert "Hey Hearth" in dialog.wake_word.toolTip() and "提示音" in dialog.wake_word.toolTip()
    finally:
        QCoreApplication.removeTranslator(translator)
