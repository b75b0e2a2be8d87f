"""Voice in the window: the mic button, the voice bar, and spoken turns in the conversation.

Real parts throughout: the window offscreen, the real engine process and starter model,
Whisper, Piper and Silero, and a private PulseAudio server whose virtual microphone
hears a question played into it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.ui.launch import default_chat_model
from tests.fixtures.reference import RecordingEngineClient
from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.gui.rendered import rendered_text
from tests.gui.test_window import ready
from tests.voice.audio_env import PulseServer, active_spans
from tests.voice.conftest import word_overlap

pytestmark = pytest.mark.slow

QUESTION = "What is the capital of France?"
SHOTS = os.environ.get("HEARTH_SCREENSHOTS")  # a folder: save what the test saw


def save_voice_settings(win: object, **values: object) -> None:
    preferences = win.window.preferences  # type: ignore[attr-defined]
    settings = preferences.settings
    settings.extra["voice"] = {**(settings.extra.get("voice") or {}), **values}
    preferences.save(settings)


def test_spoken_question_is_answered_in_the_conversation(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
    smol_model: Path,
) -> None:
    from app.context import open_app_context

    engines: list[RecordingEngineClient] = []

    def recording_engine(**kwargs: object) -> RecordingEngineClient:
        engines.append(RecordingEngineClient(**kwargs))
        return engines[-1]

    win = make_window(backend_factory=recording_engine)
    window = win.window
    assert window.voice is not None
    save_voice_settings(win, language="en")
    win.chat.new_conversation()
    win.chat.update_settings({"temperature": 0.0, "seed": 1, "n_ctx": 2048})
    entry = default_chat_model(open_app_context(), win.models)
    with qtbot.waitSignal(win.models.model_ready, timeout=120_000):
        window.load_model(entry)

    states: list[str] = []
    window.voice.state_changed.connect(states.append)
    with qtbot.waitSignal(
        window.voice.state_changed, timeout=120_000, check_params_cb=lambda s: s == "listening"
    ):
        window.composer.voice_button.click()
    assert window.voice_bar.isVisible()
    assert window.composer.voice_button.isChecked()
    assert window.voice_bar.state_label.text() == "Listening…"

    speaker = pulse.recorder("speaker.monitor")
    with qtbot.waitSignal(window.voice.turn_finished, timeout=120_000) as turn:
        assert pulse.play(speech_wav(QUESTION)).wait(20) == 0
        qtbot.waitUntil(lambda: window.voice.state == "speaking", timeout=60_000)
        if SHOTS:
            window.grab().save(str(Path(SHOTS) / "voice-speaking.png"))
    result = turn.args[0]
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=10_000)
    heard = speaker.stop()

    # The spoken exchange is in the conversation, stored, and on screen.
    user, reply = win.chat.messages()[-2:]
    assert user.role == "user" and word_overlap(QUESTION, user.content) >= 0.8
    assert reply.role == "assistant" and reply.status == "complete"
    # The words depend on the CPU: the model's reply to what was heard, all of it
    # spoken, and shown as it was spoken.
    assert reply.content == result.spoken and reply.content.strip()
    heard_turn = {"role": "user", "content": user.content}
    assert any(g.messages[-1] == heard_turn for g in engines[-1].generations)
    assert reply.stats["voice"] is True
    body = window.chat_view.widgets[reply.id].body.toPlainText()
    assert body == rendered_text(reply.content)
    assert "You said" in window.voice_bar.heard.text()
    assert active_spans(heard), "nothing was played on the speaker"
    # The states the bar showed, in the order a turn goes through them.
    seen = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
    assert seen[:2] == ["starting", "listening"]
    # The draft's answer may start while Whisper's final pass still runs: "Transcribing…"
    # then goes straight to "Speaking"; otherwise "Thinking…" comes between.
    busy = [s for s in seen if s in ("transcribing", "thinking")]
    assert busy and "speaking" in seen, seen
    assert seen.index(busy[0]) < seen.index("speaking")

    with qtbot.waitSignal(
        window.voice.state_changed, timeout=20_000, check_params_cb=lambda s: s == "off"
    ):
        window.voice_bar.end_button.click()
    assert not window.voice_bar.isVisible()
    assert not window.composer.voice_button.isChecked()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"input_device": "no such microphone"}, "No microphone is called"),
        ({"voice": "/nowhere/ghost.onnx"}, "The voice ghost.onnx is missing"),
    ],
)
def test_voice_faults_are_shown_and_text_chat_keeps_working(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    setting: dict[str, str],
    message: str,
) -> None:
    win = make_window()
    window = win.window
    ready(qtbot, win)
    save_voice_settings(win, **setting)
    assert window.voice is not None
    with qtbot.waitSignal(window.voice.failed, timeout=60_000) as failed:
        window.composer.voice_button.click()
    assert message in failed.args[0]
    # The bar goes when the "off" state reaches the window (a queued signal).
    qtbot.waitUntil(lambda: not window.voice_bar.isVisible(), timeout=10_000)
    assert window.voice.state == "off"
    assert window.error_banner.isVisible() and message in window.error_banner.label.text()
    assert not window.composer.voice_button.isChecked()
    # Text chat is untouched.
    window.composer.edit.setPlainText("Still there?")
    window.composer.send_button.click()
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=10_000)
    assert win.chat.messages()[-1].status == "complete"


def test_voice_needs_a_loaded_model(qtbot: QtBot, make_window: MakeWindow) -> None:  # noqa: F811
    win = make_window()
    win.window.composer.voice_button.click()
    assert "No model is loaded" in win.window.error_banner.label.text()
    assert not win.window.composer.voice_button.isChecked()
    assert win.window.voice is not None and win.window.voice.state == "off"


def test_voice_settings_are_saved_and_used_next_time(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
) -> None:
    from app.core.paths import app_paths
    from app.core.settings import load_settings

    win = make_window()
    assert win.window.voice is not None
    dialog = win.window.open_voice_settings()
    assert dialog is not None
    names = [dialog.input_device.itemText(i) for i in range(dialog.input_device.count())]
    # PortAudio sees the sound server as one device (ALSA's pulse plugin); the server's
    # own sources are listed too, by their description.
    assert names[0] == "System default" and "pulse" in names, names
    assert any("(vmic.monitor)" in n for n in names), names
    chosen = next(n for n in names if "(speaker.monitor)" in n)
    dialog.input_device.setCurrentIndex(dialog.input_device.findData(chosen))
    dialog.language.setCurrentIndex(dialog.language.findData("en"))
    dialog.mode.setCurrentIndex(dialog.mode.findData(True))
    assert dialog.quick_end.isChecked() and dialog.quick_end.isEnabled()
    dialog.quick_end.setChecked(False)
    dialog.barge_in.setChecked(False)
    # Without barge-in a user could not go on after a quick end: it is off then.
    assert not dialog.quick_end.isEnabled()
    dialog.silence.setValue(900)
    dialog.speed.setValue(1.3)
    if SHOTS:
        dialog.grab().save(str(Path(SHOTS) / "voice-settings.png"))
    dialog.accept()
    saved = load_settings(app_paths()).extra["voice"]
    assert saved["language"] == "en" and saved["push_to_talk"] is True
    assert saved["barge_in"] is False and saved["silence_ms"] == 900
    assert saved["quick_end"] is False
    assert saved["input_device"] == chosen
    assert saved["speed"] == 1.3
    assert win.window.voice.settings()["silence_ms"] == 900
    assert win.window.voice_bar.push_to_talk
