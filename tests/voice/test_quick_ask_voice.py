"""A spoken quick question: the panel's "Say it" over the window's voice service, the
real engine and starter model, Whisper, Piper and a virtual microphone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.ui.launch import default_chat_model
from tests.fixtures.reference import RecordingEngineClient
from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.gui.rendered import rendered_text
from tests.voice.audio_env import PulseServer, active_spans
from tests.voice.conftest import word_overlap
from tests.voice.test_voice_window import QUESTION, save_voice_settings

pytestmark = pytest.mark.slow


def test_spoken_quick_question_is_answered_aloud_and_stored(
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
    voice = win.window.voice
    assert voice is not None and win.background is not None
    save_voice_settings(win, language="en")
    win.chat.new_conversation()
    win.chat.update_settings({"n_ctx": 2048})
    window_conversation = win.chat.current_id
    entry = default_chat_model(open_app_context(), win.models)
    with qtbot.waitSignal(win.models.model_ready, timeout=120_000):
        win.window.load_model(entry)
    win.window.hide()
    panel = win.background.show_quick_ask()
    qtbot.waitExposed(panel)
    service = panel.service
    win.store.update_conversation_settings(
        service.conversation_id(), {"temperature": 0.0, "seed": 1}
    )

    with qtbot.waitSignal(
        voice.state_changed, timeout=120_000, check_params_cb=lambda s: s == "listening"
    ):
        panel.talk_button.click()
    assert service.listening and panel.stop_button.isVisible()
    assert panel.status.text() == "Listening… say your question."
    speaker = pulse.recorder("speaker.monitor")
    with qtbot.waitSignal(service.answer_finished, timeout=120_000) as finished:
        assert pulse.play(speech_wav(QUESTION)).wait(20) == 0
    # One question: voice ends by itself once the answer was spoken.
    qtbot.waitUntil(lambda: voice.state == "off" and not service.busy, timeout=30_000)
    heard = speaker.stop()

    user, reply = win.store.get_messages(service.find_conversation())
    assert user.role == "user" and word_overlap(QUESTION, user.content) >= 0.8
    assert reply.role == "assistant" and reply.status == "complete" and reply.content.strip()
    assert finished.args[0].id == reply.id and reply.stats["voice"] is True
    # The heard question went to the window's one engine; the answer was played.
    (engine,) = engines
    heard_turn = {"role": "user", "content": user.content}
    assert any(g.messages[-1] == heard_turn for g in engine.generations)
    assert active_spans(heard), "nothing was played on the speaker"
    assert panel.question.text() == user.content
    assert panel.answer.toPlainText() == rendered_text(reply.content)
    assert panel.ask_button.isVisible() and not service.listening
    assert win.chat.current_id == window_conversation  # the window was left as it was
