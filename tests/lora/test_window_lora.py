"""A conversation's LoRA adapters in the window: the conversation settings list the
installed adapters that fit the loaded model, each with a scale; a change applies to the
next message without reloading the model. The real engine and the starter model; the
adapter is the tiny random one (tests/fixtures/lora_gguf.py), so replies are compared
with llama-cpp-python's, never read for their words."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.catalog.library import describe_gguf
from app.catalog.starter import STARTER_CHAT_NAME
from app.context import open_app_context
from app.core.paths import app_paths
from app.core.settings import load_settings, save_settings
from app.services.lora_service import (
    LoraChoice,
    choices_for,
    loras_from_settings,
    settings_value,
)
from app.ui.conversation_settings import ConversationSettingsDialog
from app.ui.launch import Window, default_chat_model
from tests.fixtures.lora_gguf import write_corrupt_lora, write_foreign_lora, write_tiny_lora
from tests.fixtures.reference import RecordingEngineClient, Reference
from tests.gui.conftest import MakeWindow

LOAD_MS = 120_000
QUESTION = "What is the capital of France?"
ASSETS = Path(__file__).resolve().parents[2] / "assets" / "screenshots"
SHOTS = Path(os.environ.get("HEARTH_SHOTS") or ASSETS)


def _adapters(win: Window, folder: Path, smol_model: Path) -> tuple[Path, Path, Path]:
    """A fitting, a foreign and a damaged adapter, imported into the library."""
    folder.mkdir(exist_ok=True)
    style = write_tiny_lora(folder / "style-lora.gguf", smol_model, std=0.15)
    foreign = write_foreign_lora(folder / "wide-lora.gguf")
    corrupt = write_corrupt_lora(style, folder / "broken-lora.gguf")
    for path in (style, foreign):
        win.models.library.import_path(path)
    # Import refuses a damaged file; a download cut short is listed (with its error).
    win.models.library.register([describe_gguf(corrupt, source="download")])
    return style, foreign, corrupt


def _ask(qtbot: QtBot, win: Window, text: str) -> None:
    composer = win.window.composer.edit
    count = len(win.chat.messages())
    qtbot.keyClicks(composer, text)
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: not win.chat.busy and len(win.chat.messages()) == count + 2, timeout=LOAD_MS
    )


def _settings_dialog(win: Window) -> ConversationSettingsDialog:
    dialog = win.window.open_conversation_settings()
    assert isinstance(dialog, ConversationSettingsDialog)
    return dialog


def test_panel_choices_are_stored_as_the_replys_adapters() -> None:
    choices = [
        LoraChoice("a", "/m/a.gguf", True, 0.5),
        LoraChoice("b", "/m/b.gguf", False, 1.0),
        LoraChoice("c", "/m/c.gguf", True, 7.0),
    ]
    value = settings_value(choices)
    assert value == [["/m/a.gguf", 0.5], ["/m/c.gguf", 2.0]]  # the panel's range is 0..2
    assert loras_from_settings({"loras": value}) == (("/m/a.gguf", 0.5), ("/m/c.gguf", 2.0))
    assert settings_value([dataclasses.replace(c, enabled=False) for c in choices]) is None
    assert loras_from_settings({"loras": [["x", "nan"], [1, 2], "junk"]}) == ()
    assert loras_from_settings({}) == ()


@pytest.mark.slow
def test_adapters_change_between_messages_without_a_reload(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path, reference: Reference, tmp_path: Path
) -> None:
    engines: list[RecordingEngineClient] = []

    def recording_engine(**kwargs: object) -> RecordingEngineClient:
        engines.append(RecordingEngineClient(**kwargs))
        return engines[-1]

    win = make_window(backend_factory=recording_engine)
    style, foreign, corrupt = _adapters(win, tmp_path / "adapters", smol_model)
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None and entry.name == STARTER_CHAT_NAME
    win.chat.new_conversation()
    win.chat.update_settings({"max_tokens": 12, "temperature": 0.0, "seed": 1, "n_ctx": 1024})
    with qtbot.waitSignal(win.models.model_ready, timeout=LOAD_MS):
        win.window.load_model(entry)

    # Only the adapter that fits is offered (the foreign and the damaged are not).
    dialog = _settings_dialog(win)
    assert dialog.loras is not None
    assert [c.path for c in dialog.loras.choices()] == [str(style)]
    assert not dialog.loras.boxes[0].isChecked() and not dialog.loras.scales[0].isEnabled()
    dialog.loras.boxes[0].setChecked(True)
    dialog.loras.scales[0].setValue(1.0)
    dialog.accept()
    assert win.chat.settings()["loras"] == [[str(style), 1.0]]
    _ask(qtbot, win, QUESTION)
    with_adapter = win.chat.messages()[-1]
    assert with_adapter.status == "complete", with_adapter.stats

    (engine,) = engines
    sent = engine.generations[-1]
    assert sent.params.loras == ((str(style), 1.0),)
    expected = reference.answer(engine.loads[-1], sent.messages, sent.params)
    base = reference.answer(
        engine.loads[-1], sent.messages, dataclasses.replace(sent.params, loras=())
    )
    assert with_adapter.content == expected.text
    assert expected.text != base.text  # the adapter changed the reply

    # Off again for the next message: the base model's reply, and still one load.
    dialog = _settings_dialog(win)
    assert dialog.loras is not None and dialog.loras.boxes[0].isChecked()
    dialog.loras.boxes[0].setChecked(False)
    dialog.accept()
    assert "loras" not in win.chat.settings()
    _ask(qtbot, win, QUESTION)
    plain = engine.generations[-1]
    assert plain.params.loras == ()
    assert win.chat.messages()[-1].content == (
        reference.answer(engine.loads[-1], plain.messages, plain.params).text
    )
    assert len(engine.loads) == 1  # no reload, whatever the adapters

    # An adapter that no longer fits (the conversation kept it from another model): one
    # sentence, and the model answers the next message without it.
    win.chat.update_settings({"loras": [[str(foreign), 1.0]]})
    with qtbot.waitSignal(win.chat.error_occurred, timeout=LOAD_MS) as failed:
        _ask(qtbot, win, QUESTION)
    message = str(failed.args[0])
    assert "wide-lora.gguf was made for another base model" in message
    assert message.count(". ") == 0 and "Traceback" not in message
    win.chat.update_settings({"loras": [[str(corrupt), 1.0]]})
    with qtbot.waitSignal(win.chat.error_occurred, timeout=LOAD_MS) as failed:
        _ask(qtbot, win, QUESTION)
    assert "broken-lora.gguf" in str(failed.args[0]) and "Traceback" not in str(failed.args[0])
    win.chat.update_settings({"loras": None})
    _ask(qtbot, win, QUESTION)
    assert win.chat.messages()[-1].status == "complete"
    assert len(engine.loads) == 1


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshot_of_the_adapters_panel(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path, tmp_path: Path, theme: str
) -> None:
    paths = app_paths()
    settings = load_settings(paths)
    settings.extra["theme"] = theme
    save_settings(paths, settings)
    win = make_window()  # the fake engine: only the dialog is looked at
    folder = tmp_path / "adapters"
    style, _foreign, _corrupt = _adapters(win, folder, smol_model)
    write_tiny_lora(folder / "formal-tone-lora.gguf", smol_model, seed=3)
    win.models.library.import_path(folder / "formal-tone-lora.gguf")
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    with qtbot.waitSignal(win.models.model_ready, timeout=LOAD_MS):
        win.window.load_model(entry)
    win.chat.new_conversation()
    win.chat.update_settings({"loras": [[str(style), 0.8]]})
    offered = choices_for(win.models.library, entry.name, win.chat.settings())
    assert {c.name: c.enabled for c in offered} == {"style-lora": True, "formal-tone-lora": False}
    dialog = _settings_dialog(win)
    qtbot.waitExposed(dialog)
    assert dialog.loras is not None
    for box, scale in zip(dialog.loras.boxes, dialog.loras.scales, strict=True):
        assert box.accessibleName() and box.toolTip()
        assert scale.accessibleName() and scale.toolTip()
        assert scale.isEnabled() == box.isChecked()
    qtbot.wait(200)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"lora-panel-{theme}.png"
    assert dialog.grab().save(str(path))
    assert path.stat().st_size > 10_000
    dialog.reject()
