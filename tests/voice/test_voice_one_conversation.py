"""Spoken and typed turns are one conversation with one owner: the chat service's store.

Real parts throughout: the window offscreen, the real engine process and starter model,
Whisper, Piper and Silero, a private PulseAudio server whose virtual microphone hears
the questions (and whose speaker's monitor hears Hearth), and the conversation read back
from the sqlite file itself.

Every wait is for a condition, with a deadline generous enough for a machine under load
(CI runs these beside the other tests on two cores): Whisper's final pass can take five
seconds there, and the reply to its draft may already be playing meanwhile.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.ui.launch import Window, default_chat_model
from tests.fixtures.reference import RecordingEngineClient
from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.gui.rendered import rendered_text
from tests.voice.audio_env import HeardFor, PulseServer
from tests.voice.conftest import word_overlap
from tests.voice.test_voice_window import save_voice_settings

pytestmark = pytest.mark.slow

TYPED = "What is the capital of France?"
SPOKEN = "What is the capital of Italy?"
STORY_PROMPT = "You are a storyteller. Always answer with a long story of at least ten sentences."
WAIT = 300_000  # ms: a turn on a loaded 2-core machine (Whisper, the model, Piper)


def stored_rows(win: Window) -> list[tuple[int, str, str, str]]:
    """(id, role, content, status) of the current conversation, from the database file."""
    win.chat.store.flush()
    with sqlite3.connect(win.chat.store.path) as db:
        return db.execute(
            "SELECT id, role, content, status FROM messages WHERE conversation_id = ? ORDER BY id",
            (win.chat.current_id,),
        ).fetchall()


def window_with_model(
    qtbot: QtBot, make: MakeWindow, settings: dict[str, Any]
) -> tuple[Window, list[RecordingEngineClient]]:
    from app.context import open_app_context

    engines: list[RecordingEngineClient] = []

    def recording_engine(**kwargs: object) -> RecordingEngineClient:
        engines.append(RecordingEngineClient(**kwargs))
        return engines[-1]

    win = make(backend_factory=recording_engine)
    save_voice_settings(win, language="en")
    win.chat.new_conversation()
    win.chat.update_settings({"temperature": 0.0, "seed": 1, "n_ctx": 2048, **settings})
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT):
        win.window.load_model(entry)
    return win, engines


def start_voice(qtbot: QtBot, win: Window) -> None:
    voice = win.window.voice
    assert voice is not None
    with qtbot.waitSignal(
        voice.state_changed, timeout=WAIT, check_params_cb=lambda s: s == "listening"
    ):
        win.window.composer.voice_button.click()


def stop_voice(qtbot: QtBot, win: Window) -> None:
    voice = win.window.voice
    assert voice is not None
    with qtbot.waitSignal(
        voice.state_changed, timeout=120_000, check_params_cb=lambda s: s == "off"
    ):
        win.window.voice_bar.end_button.click()


def test_a_typed_and_a_spoken_turn_are_one_stored_conversation(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
) -> None:
    win, engines = window_with_model(qtbot, make_window, {"max_tokens": 40})
    window = win.window
    assert window.voice is not None

    window.composer.edit.setPlainText(TYPED)
    window.composer.send_button.click()
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT)
    typed_user, typed_reply = win.chat.messages()

    start_voice(qtbot, win)
    with qtbot.waitSignal(window.voice.turn_finished, timeout=WAIT) as turn:
        assert pulse.play(speech_wav(SPOKEN)).wait(20) == 0
    result = turn.args[0]
    # The chat service closes the spoken reply on its own queue: wait for that.
    qtbot.waitUntil(lambda: len(stored_rows(win)) == 4 and not win.chat.busy, timeout=60_000)
    stop_voice(qtbot, win)

    # The voice turn was asked with the conversation the chat service holds: the typed
    # exchange, then the spoken question.
    asked = next(
        g.messages
        for g in engines[-1].generations
        if g.messages[-1]["role"] == "user" and g.messages[-1]["content"] == result.transcript
    )
    assert list(asked[1:]) == [
        {"role": "user", "content": TYPED},
        {"role": "assistant", "content": typed_reply.content},
        {"role": "user", "content": result.transcript},
    ]
    # Stored once each, in order, as the window shows them.
    rows = stored_rows(win)
    assert [(role, status) for _, role, _, status in rows] == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert [content for _, _, content, _ in rows] == [
        TYPED,
        typed_reply.content,
        result.transcript,
        result.spoken,
    ]
    assert word_overlap(SPOKEN, result.transcript) >= 0.8 and result.spoken.strip()
    assert rows[0][0] == typed_user.id
    for message_id, role, content, _ in rows:
        body = window.chat_view.widgets[message_id].body.toPlainText()
        assert body == (rendered_text(content) if role == "assistant" else content)
    stats = win.chat.messages()[-1].stats
    assert stats is not None and stats["voice"] is True


def test_barge_in_trims_the_stored_reply_to_what_was_said(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
) -> None:
    win, _engines = window_with_model(qtbot, make_window, {"max_tokens": 400, "seed": 3})
    window = win.window
    voice = window.voice
    assert voice is not None
    win.chat.set_system_prompt(STORY_PROMPT)

    start_voice(qtbot, win)
    speaker = pulse.recorder("speaker.monitor")
    try:
        with qtbot.waitSignal(voice.turn_finished, timeout=WAIT) as turn:
            assert pulse.play(speech_wav("Tell me a story about a dragon.")).wait(20) == 0
            # The turn is the conversation's once Whisper's final transcript is in: the
            # question and the open reply are stored. (The reply to Whisper's draft may
            # play before that; talking over it then only continues the open question,
            # as the voice loop means it to.)
            qtbot.waitUntil(lambda: len(win.chat.messages()) == 2, timeout=WAIT)
            qtbot.waitUntil(lambda: voice.state == "speaking", timeout=WAIT)
            # Let it be heard for a while, then talk over it.
            qtbot.waitUntil(HeardFor(speaker, 1.5), timeout=WAIT)
            assert pulse.play(speech_wav("Stop, please stop.")).wait(20) == 0
    finally:
        speaker.stop()
    result = turn.args[0]
    assert result.interrupted and result.spoken
    assert len(result.spoken) < len(result.reply)
    question, reply = win.chat.messages()[:2]
    # The chat service closes the reply on its own queue: wait until it has.
    qtbot.waitUntil(lambda: stored_rows(win)[1][3] == "stopped", timeout=60_000)
    stop_voice(qtbot, win)

    assert question.role == "user" and question.content == result.transcript
    assert reply.role == "assistant"
    rows = {row[0]: row[1:] for row in stored_rows(win)}
    # What the database keeps is what was said before the barge-in, not what was generated.
    assert rows[reply.id] == ("assistant", result.spoken, "stopped")
    assert rows[question.id] == ("user", result.transcript, "complete")
    assert [content for _, content, _ in rows.values()].count(result.transcript) == 1
    body = window.chat_view.widgets[reply.id].body.toPlainText()
    assert body == rendered_text(result.spoken)


def test_a_spoken_turn_heard_while_a_typed_reply_is_written_waits_for_it(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
) -> None:
    """A question said while a typed reply streams is neither dropped nor mixed into that
    reply: the user is told it waits, and it is stored (and shown) right after it."""
    from app.voice.loop import TurnResult

    win, _engines = window_with_model(qtbot, make_window, {"max_tokens": 200})
    chat = win.chat
    notices: list[str] = []
    chat.notice_posted.connect(notices.append)
    said = "Rome is the capital of Italy."
    heard = TurnResult(
        transcript=SPOKEN,
        language="en",
        reply=said,
        spoken=said,
        sentences=(said,),
        finish_reason="stop",
        interrupted=False,
        speculative=False,
        ended_early=False,
        timings={},
        stages={},
        question=SPOKEN,
    )
    assert chat.send(TYPED) and chat.busy
    # What the voice loop hands the chat service (on its thread, in this order), while the
    # typed reply is still being written.
    assert chat.begin_voice_turn(SPOKEN)
    chat.voice_delta(said)
    chat.finish_voice_turn(heard)
    assert len(notices) == 1 and "spoken question" in notices[0]
    rows = stored_rows(win)
    assert [(role, content) for _, role, content, _ in rows][:1] == [("user", TYPED)]
    assert SPOKEN not in [content for _, _, content, _ in rows]  # not yet: it waits

    qtbot.waitUntil(lambda: len(stored_rows(win)) == 4 and not chat.busy, timeout=WAIT)
    rows = stored_rows(win)
    assert [(role, status) for _, role, _, status in rows] == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    typed_reply = rows[1][2]
    assert typed_reply.strip()  # the typed reply, whole, before the spoken turn
    assert [content for _, _, content, _ in rows[2:]] == [SPOKEN, said]
    stats = chat.messages()[-1].stats
    assert stats is not None and stats["voice"] is True
    # The window shows the four, in order, as stored.
    assert list(win.window.chat_view.widgets) == [row[0] for row in rows]
    assert win.window.chat_view.widgets[rows[3][0]].body.toPlainText() == rendered_text(said)
