"""Hands-free in the window, from the user's documents: "what does my lease say about
pets?" spoken into the microphone is answered from the attached collection, the model is
asked with the passages, and the spoken answer keeps its numbered references.

Real parts throughout: the window offscreen, the real engine process and starter model,
the real starter embedding model, Whisper, Piper and Silero, and a private PulseAudio
server whose virtual microphone hears the question.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.gui.test_doc_sources import LEASE, attach_from_menu, index_lease
from tests.voice.audio_env import PulseServer
from tests.voice.test_voice_one_conversation import start_voice, stop_voice, window_with_model

pytestmark = pytest.mark.slow

QUESTION = "What does my lease say about pets?"


def test_a_spoken_question_is_answered_from_the_attached_documents(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    win, engines = window_with_model(qtbot, make_window, {"max_tokens": 40})
    window = win.window
    assert window.voice is not None
    index_lease(qtbot, win, tmp_path / "papers")
    attach_from_menu(win, LEASE)

    start_voice(qtbot, win)
    with qtbot.waitSignal(window.voice.turn_finished, timeout=180_000) as turn:
        assert pulse.play(speech_wav(QUESTION)).wait(20) == 0
    result = turn.args[0]
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=10_000)
    stop_voice(qtbot, win)

    # The model was asked with the passages, the question as heard at the end.
    asked = [
        g.messages[-1]["content"]
        for g in engines[-1].generations
        if g.messages[-1]["role"] == "user"
        and g.messages[-1]["content"].endswith(f"Question: {result.transcript}")
    ]
    assert asked, [g.messages[-1] for g in engines[-1].generations]
    assert asked[-1].startswith(f"Passages from the user's documents ('{LEASE}')")
    assert "lease.pdf, page 2 — Pets" in asked[-1]

    question, answer = win.chat.messages()[-2:]
    assert question.content == result.transcript  # stored as heard, without the passages
    assert answer.content == result.spoken and answer.sources
    pets = [s for s in answer.sources if s["page"] == 2]
    assert pets and pets[0]["heading"] == "Pets"
    view = window.chat_view.widgets[answer.id].sources
    assert view.state == "found" and view.buttons
