"""The wake word in the window: with "Answer only after “Hey Hearth”" on, a question
said after the phrase is answered in the conversation, the phrase shows in the voice bar
as it is heard, and what is stored is the question without it.

Real parts: the window offscreen, the engine process and starter model, Whisper, Piper,
Silero and a private PulseAudio server's virtual microphone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.ui.launch import default_chat_model
from app.voice.wake_word import match_wake
from tests.fixtures.reference import RecordingEngineClient
from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.voice.audio_env import PulseServer
from tests.voice.conftest import word_overlap
from tests.voice.test_voice_window import save_voice_settings

pytestmark = pytest.mark.slow


def test_the_window_answers_what_follows_hey_hearth(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
) -> None:
    from app.context import open_app_context

    win = make_window(backend_factory=RecordingEngineClient)
    window = win.window
    assert window.voice is not None
    save_voice_settings(win, language="en", wake_word=True)
    win.chat.new_conversation()
    win.chat.update_settings({"temperature": 0.0, "seed": 1, "n_ctx": 2048, "max_tokens": 40})
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    with qtbot.waitSignal(win.models.model_ready, timeout=120_000):
        window.load_model(entry)
    with qtbot.waitSignal(
        window.voice.state_changed, timeout=120_000, check_params_cb=lambda s: s == "listening"
    ):
        window.composer.voice_button.click()

    shown: list[str] = []
    window.voice.transcript_partial.connect(shown.append)
    with qtbot.waitSignal(window.voice.turn_finished, timeout=180_000):
        assert pulse.play(speech_wav("Hey Hearth, what time is it?")).wait(20) == 0
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=30_000)

    # The phrase was shown as soon as it was heard (before any answer).
    assert any(match_wake(text) is not None for text in shown), shown
    user, reply = win.chat.messages()[-2:]
    assert user.role == "user" and match_wake(user.content) is None, user.content
    assert word_overlap("what time is it", user.content) >= 0.75, user.content
    assert reply.role == "assistant" and reply.status == "complete" and reply.content.strip()

    with qtbot.waitSignal(
        window.voice.state_changed, timeout=20_000, check_params_cb=lambda s: s == "off"
    ):
        window.voice_bar.end_button.click()
