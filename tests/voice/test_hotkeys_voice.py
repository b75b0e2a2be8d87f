"""The global push-to-talk key, end to end: the desktop's portal (the stand-in on a private
session bus) says the key went down, Hearth starts voice mode and records while it is held;
the key comes up and the spoken question is answered in the conversation.

Real parts: the window offscreen, the engine process with the starter model, Whisper,
Piper, Silero, and a private PulseAudio server whose virtual microphone hears the question.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from pytestqt.qtbot import QtBot

from app.core.paths import app_paths
from app.core.settings import load_settings, save_settings
from app.engine.client import EngineClient
from app.services.global_keys import PUSH_TO_TALK, QUICK_ASK
from app.ui.launch import default_chat_model
from tests.desktop_session import private_session_bus
from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.portal_standin import PortalStandIn
from tests.voice.audio_env import PulseServer, write_wav
from tests.voice.conftest import word_overlap

pytestmark = pytest.mark.slow

QUESTION = "What is the capital of France?"
WAIT_MS = 120_000


@pytest.fixture
def portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PortalStandIn]:
    with private_session_bus(tmp_path / "bus") as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        stand_in = PortalStandIn(address).start()
        yield stand_in
        stand_in.stop()


def test_holding_the_global_key_asks_a_spoken_question(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    portal: PortalStandIn,
    speak: Callable[..., npt.NDArray[np.float32]],
    smol_model: Path,
    tmp_path: Path,
) -> None:
    from app.context import open_app_context

    paths = app_paths()
    settings = load_settings(paths)
    settings.extra["hotkeys"] = {PUSH_TO_TALK: "Ctrl+Alt+T", QUICK_ASK: ""}
    settings.extra["voice"] = {"language": "en", "push_to_talk": True}
    save_settings(paths, settings)
    win = make_window(backend_factory=EngineClient)
    window = win.window
    background = win.background
    assert window.voice is not None and background is not None
    keys = background.global_keys
    qtbot.waitUntil(lambda: bool(keys.service.bound), timeout=WAIT_MS)
    assert [s[0] for s in portal.binds[0].shortcuts] == [PUSH_TO_TALK]
    win.chat.new_conversation()
    win.chat.update_settings({"temperature": 0.0, "seed": 1, "n_ctx": 2048})
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT_MS):
        window.load_model(default_chat_model(open_app_context(), win.models))
    # The question with a second of silence after it: once paplay is done, all the
    # speech has reached the microphone.
    wav = write_wav(tmp_path / "question.wav", speak(QUESTION, 0.3, 1.0), 16_000)

    # Key down (voice mode is off): voice mode starts, the recording begins once it
    # listens, while the key is still held.
    portal.press(PUSH_TO_TALK)
    qtbot.waitUntil(lambda: keys.talking, timeout=WAIT_MS)
    assert window.voice.active and window.voice_bar.isVisible()
    assert pulse.play(wav).wait(30) == 0
    with qtbot.waitSignal(window.voice.turn_finished, timeout=WAIT_MS):
        portal.release(PUSH_TO_TALK)  # key up: the utterance is over
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=30_000)
    user, reply = win.chat.messages()[-2:]
    assert user.role == "user" and word_overlap(QUESTION, user.content) >= 0.8, user.content
    assert reply.role == "assistant" and reply.status == "complete" and reply.content.strip()
    assert not keys.talking
    with qtbot.waitSignal(
        window.voice.state_changed, timeout=30_000, check_params_cb=lambda s: s == "off"
    ):
        window.set_voice_mode(False)
