"""The chat service as the voice loop's conversation, without audio (fast).

The voice loop hands each turn to ``ChatConversation`` on its own threads; the chat
service stores it on the window's thread and shows it like a typed turn. The full path
with real speech is in tests/voice/test_voice_one_conversation.py.
"""

from __future__ import annotations

import dataclasses
import threading

from pytestqt.qtbot import QtBot

from app.services.voice_service import ChatConversation
from app.voice.loop import TurnResult
from tests.gui.conftest import MakeWindow
from tests.gui.test_window import ready, type_and_send, wait_reply


def turn(transcript: str, reply: str, spoken: str) -> TurnResult:
    return TurnResult(
        transcript=transcript,
        language="en",
        reply=reply,
        spoken=spoken,
        sentences=(spoken,) if spoken else (),
        finish_reason="cancelled" if spoken != reply else "stop",
        interrupted=spoken != reply,
        speculative=False,
        ended_early=False,
        timings={},
        stages={"total": 0.5},
    )


def hand_over(qtbot: QtBot, conversation: ChatConversation, result: TurnResult) -> list[str]:
    """Hand a turn over from another thread, as the loop does; the history it then reads."""
    seen: list[str] = []

    def loop_thread() -> None:
        conversation.turn_heard(result.transcript)
        conversation.reply_delta(result.reply)
        conversation.turn_finished(result)
        # Read at once: it must wait until the turn above is stored.
        seen.extend(m["content"] for m in conversation.history())

    thread = threading.Thread(target=loop_thread)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=10_000)
    return seen


def test_spoken_turns_join_the_typed_conversation(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    ready(qtbot, win)
    type_and_send(qtbot, win, "Typed question")
    wait_reply(qtbot, win)
    typed_reply = win.chat.messages()[-1].content
    conversation = ChatConversation(win.chat)
    added: list[object] = []
    win.chat.message_added.connect(added.append)

    full = hand_over(
        qtbot, conversation, turn("Spoken question", "A whole answer.", "A whole answer.")
    )
    assert full == ["Typed question", typed_reply, "Spoken question", "A whole answer."]
    assert len(added) == 2  # shown through the same signal as typed turns

    # A barge-in: the stored reply keeps what was said, not what was generated.
    cut = hand_over(qtbot, conversation, turn("Tell me more", "One. Two. Three.", "One…"))
    assert cut[-2:] == ["Tell me more", "One…"]
    last = win.chat.messages()[-1]
    assert last.content == "One…" and last.status == "stopped" and last.stats is not None
    assert last.stats["voice"] is True and last.stats["finish_reason"] == "cancelled"

    # Nothing heard: the exchange goes (the loop asks it again within the next question).
    before = [m.id for m in win.chat.messages()]
    unheard = hand_over(qtbot, conversation, turn("And then", "Something.", ""))
    assert unheard == cut
    assert [m.id for m in win.chat.messages()] == before


def test_a_late_turn_whose_draft_differed_keeps_the_final_question_and_the_draft(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    # Talked over before Whisper's final pass was in, the loop hands the turn over with the
    # final transcript; the reply heard answered the draft, which the stored reply says.
    win = make_window()
    ready(qtbot, win)
    conversation = ChatConversation(win.chat)
    result = dataclasses.replace(
        turn("Tell me a story about a dragon.", "Once upon a time. A wagon rolled.", "Once…"),
        question="Tell me a story about a dragon.",
        draft="Tell me a story about a wagon.",
    )
    seen = hand_over(qtbot, conversation, result)
    assert seen[-2:] == ["Tell me a story about a dragon.", "Once…"]
    last = win.chat.messages()[-1]
    assert last.status == "stopped" and last.stats is not None
    assert last.stats["voice_draft"] == "Tell me a story about a wagon."
