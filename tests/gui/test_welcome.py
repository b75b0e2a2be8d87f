"""The first-run welcome over the real engine and starter model: the model answering (as
llama-cpp-python answers it), a better model by the planner's verdict, shown once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.catalog.speed import COMFORTABLE_TOKENS_PER_S
from app.core.settings import load_settings
from app.services.welcome import DEMO_QUESTION, suggest_model
from app.ui.first_run import WelcomeDialog, show_welcome
from app.ui.launch import default_chat_model
from tests.fixtures.reference import RecordingEngineClient, Reference
from tests.gui.conftest import MakeWindow

pytestmark = pytest.mark.slow
WAIT = 300_000  # ms: the model loads and answers on a machine under load


def test_welcome_shows_the_starter_answering_and_suggests_a_better_model(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path, reference: Reference
) -> None:
    from app.context import open_app_context

    engines: list[RecordingEngineClient] = []

    def recording_engine(**kwargs: object) -> RecordingEngineClient:
        engines.append(RecordingEngineClient(**kwargs))
        return engines[-1]

    win = make_window(backend_factory=recording_engine)
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    # Shown before the model is ready: it answers as soon as the model is.
    dialog = show_welcome(win.window)
    assert isinstance(dialog, WelcomeDialog) and dialog.isVisible()
    assert dialog.demo is not None and dialog.demo.request_id is None
    with qtbot.waitSignal(dialog.demo.finished, timeout=WAIT):
        win.window.load_model(entry)
    (engine,) = engines
    sent = engine.generations[-1]
    assert list(sent.messages) == [{"role": "user", "content": DEMO_QUESTION}]
    expected = reference.answer(engine.loads[-1], sent.messages, sent.params)
    assert dialog.answer.toPlainText() == expected.text and expected.text.strip()
    assert f"Answered by {entry.name} on this computer" in dialog.demo_status.text()
    assert win.chat.store.list_conversations() == [] or all(
        c.title != DEMO_QUESTION for c in win.chat.store.list_conversations()
    )  # the demo is stored nowhere
    # The suggestion is the planner's: the same model and verdict as asked directly.
    qtbot.waitUntil(lambda: dialog.suggested is not None, timeout=30_000)
    wanted, shown = suggest_model([e.path for e in win.models.chat_models()]), dialog.suggested
    # (free RAM moves between the two calls: the figures in the sentence may differ)
    assert wanted is not None and shown is not None and shown.model == wanted.model
    assert shown.fit.verdict == wanted.fit.verdict and shown.fit.verdict != "too_big"
    assert wanted.model.name in dialog.suggestion.text()
    # It answers at a comfortable pace here, and the welcome says how fast.
    assert shown.tokens_per_s >= COMFORTABLE_TOKENS_PER_S
    assert f"about {shown.tokens_per_s:.0f} tokens per second" in dialog.suggestion.text()
    assert dialog.verdict.text() == shown.fit.explanation
    assert dialog.download_button.isVisible()
    dialog.download_requested.disconnect()  # no network here: only what it asks for
    with qtbot.waitSignal(dialog.download_requested) as asked:
        dialog.download_button.click()
    assert asked.args == [wanted.model.repo, wanted.model.file]
    # Skippable, and shown once: remembered in the settings file.
    dialog.skip_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert show_welcome(win.window) is None
    settings = load_settings(win.window.preferences.paths)  # type: ignore[union-attr]
    assert settings.extra["welcome"] == {"shown": True}


def test_every_welcome_control_is_named_and_explained(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    win = make_window()
    dialog = show_welcome(win.window)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    from PySide6.QtWidgets import QAbstractButton

    for button in dialog.findChildren(QAbstractButton):
        assert button.toolTip(), button.text()
    assert dialog.answer.accessibleName()
    from app.ui.accessibility import unnamed_controls

    assert unnamed_controls(dialog) == []  # the window names its dialogs as they show
    dialog.close()
    qtbot.waitUntil(lambda: not dialog.isVisible())
