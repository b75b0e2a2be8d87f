"""A spoken question in the window about the images waiting in the composer: the real
window offscreen, the real engine with the tiny vision pair (random weights: only what
must hold is checked), Whisper, Piper and Silero on a private PulseAudio server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.engine import protocol as p
from tests.fixtures.reference import RecordingEngineClient
from tests.fixtures.vision_gguf import VisionPair
from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.gui.test_vision_real import installed_pair, load
from tests.gui.vision_helpers import drop_files, wait_images, write_picture
from tests.voice.audio_env import PulseServer
from tests.voice.conftest import word_overlap
from tests.voice.test_voice_window import save_voice_settings

pytestmark = pytest.mark.slow

QUESTION = "What is in this picture?"


def test_a_spoken_question_is_about_the_composer_images(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
    vision_pair: VisionPair,
    tmp_path: Path,
) -> None:
    engines: list[RecordingEngineClient] = []

    def recording_engine(**kwargs: object) -> RecordingEngineClient:
        engines.append(RecordingEngineClient(**kwargs))
        return engines[-1]

    win = make_window(backend_factory=recording_engine)
    window = win.window
    assert window.voice is not None
    save_voice_settings(win, language="en")
    entry = installed_pair(win, vision_pair, tmp_path / "models")
    win.chat.new_conversation()
    win.chat.update_settings({"temperature": 0.0, "seed": 1, "n_ctx": 2048, "max_tokens": 16})
    load(qtbot, win, entry)
    assert win.chat.model_vision is True
    picture = write_picture(tmp_path / "square.png", (512, 512), (200, 60, 20))
    drop_files(window.chat_view.viewport(), [picture])
    wait_images(qtbot, win, 1)
    [attached] = window.composer.attachments.images()

    with qtbot.waitSignal(
        window.voice.state_changed, timeout=120_000, check_params_cb=lambda s: s == "listening"
    ):
        window.composer.voice_button.click()
    with qtbot.waitSignal(window.voice.turn_finished, timeout=120_000) as turn:
        assert pulse.play(speech_wav(QUESTION)).wait(20) == 0
    result = turn.args[0]
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=10_000)

    # The model read the picture: its tokens are in the answered prompt.
    assert result.image_tokens == vision_pair.image_tokens, result
    assert result.prompt_tokens > result.image_tokens
    answered = [
        g
        for g in engines[-1].generations
        if isinstance(g, p.Generate) and g.messages[-1].get("images")
    ]
    assert answered, "no spoken question carried the image"
    assert answered[-1].messages[-1]["images"] == [attached.data]
    # Stored with the spoken question, and gone from the composer as after a typed send.
    user, reply = win.chat.messages()[-2:]
    assert user.role == "user" and word_overlap(QUESTION, user.content) >= 0.8
    assert user.images == (attached.sha256,)
    assert reply.role == "assistant"
    qtbot.waitUntil(lambda: window.composer.attachments.images() == [], timeout=5_000)

    with qtbot.waitSignal(
        window.voice.state_changed, timeout=20_000, check_params_cb=lambda s: s == "off"
    ):
        window.voice_bar.end_button.click()
