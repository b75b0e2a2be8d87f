"""A spoken turn in the window's conversation continues the prefix its typed turns left
in the worker's KV cache (and a typed turn after it continues the spoken one): the real
window and engine, the virtual microphone of test_voice_window, Whisper and Piper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.engine import protocol as p
from app.engine.client import EngineClient
from app.ui.launch import default_chat_model
from app.voice.loop import VoiceConfig
from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.kv.test_kv_cache import SYSTEM, TURNS
from tests.voice.audio_env import PulseServer
from tests.voice.test_voice_window import save_voice_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

QUESTION = "When do you open?"
WAIT_MS = 240_000


def _stats(engine: EngineClient) -> dict[str, Any]:
    report = engine.stats().wait(60)
    assert isinstance(report, p.StatsReport)
    return report.stats


@dataclass(frozen=True)
class _PatientConfig(VoiceConfig):
    """The loop's config with a longer wait for the engine: on a machine shared with
    other test runs, a reply queued behind the prompt's warm-up may wait over a minute."""

    engine_timeout_s: float = 600.0


def test_spoken_turn_continues_the_typed_conversations_prefix(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.context import open_app_context

    monkeypatch.setattr("app.voice.loop.VoiceConfig", _PatientConfig)

    win = make_window(backend_factory=EngineClient)
    window, chat = win.window, win.chat
    assert window.voice is not None
    save_voice_settings(win, language="en")
    chat.new_conversation()
    chat.set_system_prompt(SYSTEM)  # spoken turns read the conversation's system prompt
    chat.update_settings({"temperature": 0.0, "seed": 1, "n_ctx": 2048, "max_tokens": 12})
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT_MS):
        window.load_model(entry)
    for turn in TURNS[:2]:
        with qtbot.waitSignal(chat.reply_finished, timeout=WAIT_MS):
            assert chat.send(turn)
    engine = chat.engine.local
    assert isinstance(engine, EngineClient)
    typed = _stats(engine)["generations"]
    last_typed = chat.messages()[-1].stats
    # The spoken turn's prompt holds this one's and more.
    assert last_typed and last_typed["prompt_tokens"] > 100

    with qtbot.waitSignal(
        window.voice.state_changed, timeout=WAIT_MS, check_params_cb=lambda s: s == "listening"
    ):
        window.composer.voice_button.click()
    with qtbot.waitSignal(window.voice.turn_finished, timeout=WAIT_MS):
        assert pulse.play(speech_wav(QUESTION)).wait(20) == 0
    qtbot.waitUntil(lambda: not chat.busy, timeout=30_000)
    spoken = _stats(engine)
    with qtbot.waitSignal(
        window.voice.state_changed, timeout=30_000, check_params_cb=lambda s: s == "off"
    ):
        window.voice_bar.end_button.click()
    user, reply = chat.messages()[-2:]
    assert user.role == "user" and reply.role == "assistant" and reply.stats
    assert reply.stats["voice"] is True
    # The spoken reply ran in the same worker, after the typed ones (its prompt warmed
    # while the question was heard, maybe), and read only what the typed turns had not.
    assert spoken["generations"] > typed
    assert spoken["prompt_tokens_evaluated"] < 40, spoken
    assert spoken["kv_state_restored_from"] == ""  # the live cache went on: nothing put back

    with qtbot.waitSignal(chat.reply_finished, timeout=WAIT_MS) as finished:
        assert chat.send(TURNS[2])  # typed again: continues the spoken turn
    after = _stats(engine)
    typed_again = finished.args[0].stats
    assert typed_again and typed_again["prompt_tokens"] > last_typed["prompt_tokens"] + 20
    assert after["prompt_tokens_evaluated"] < 40, after
