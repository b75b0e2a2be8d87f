"""The voice bar while the wake word waits: "Asleep — say “Hey Hearth”", driven through
the real window's VoiceService signals from another thread, as the voice loop's callbacks
are (fast, no audio). The loop itself hearing the phrase is in
tests/voice/test_wake_word_window.py."""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.gui.conftest import MakeWindow
from tests.gui.test_voice_transcript_bar import from_thread, voice_of

SHOTS = os.environ.get("HEARTH_SCREENSHOTS")  # a folder: save what the test saw
ASLEEP = "Asleep — say “Hey Hearth”"
WAIT = 5_000


def test_asleep_until_the_phrase_then_asleep_again_after_the_turn(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    win = make_window()
    voice, bar = voice_of(win)
    bar.follow_settings({"wake_word": True, "push_to_talk": False})
    from_thread(qtbot, lambda: voice.state_changed.emit("listening"))
    qtbot.waitUntil(lambda: bar.state_label.text() == ASLEEP, timeout=WAIT)
    assert bar.asleep and bar.state_label.accessibleName() == ASLEEP
    assert "Hey Hearth" in bar.state_label.toolTip()
    if SHOTS:
        bar.grab().save(str(Path(SHOTS) / "voice-bar-asleep.png"))

    # The loop's wake_heard shows the phrase as what is heard: awake now.
    from_thread(qtbot, lambda: voice.transcript_partial.emit("Hey Hearth,"))
    qtbot.waitUntil(lambda: bar.state_label.text() == "Listening…", timeout=WAIT)
    assert not bar.asleep and "Hey Hearth" in bar.heard.text()
    for state in ("transcribing", "thinking", "speaking"):
        from_thread(qtbot, lambda s=state: voice.state_changed.emit(s))  # type: ignore[misc]
    qtbot.waitUntil(lambda: bar.state == "speaking", timeout=WAIT)
    assert bar.state_label.text() == "Speaking…"
    # The answer is over: the next question needs the phrase again.
    from_thread(qtbot, lambda: voice.state_changed.emit("listening"))
    qtbot.waitUntil(lambda: bar.state_label.text() == ASLEEP, timeout=WAIT)


def test_a_bare_phrase_with_no_question_falls_asleep_again(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    win = make_window()
    voice, bar = voice_of(win)
    bar.follow_settings({"wake_word": True})
    bar._awake_timer.setInterval(200)  # the loop's listen_s, shortened for the test
    from_thread(qtbot, lambda: voice.state_changed.emit("listening"))
    qtbot.waitUntil(lambda: bar.asleep, timeout=WAIT)
    from_thread(qtbot, lambda: voice.transcript_partial.emit("Hey Hearth."))
    qtbot.waitUntil(lambda: not bar.asleep, timeout=WAIT)
    assert bar.state_label.text() == "Listening…"
    qtbot.waitUntil(lambda: bar.state_label.text() == ASLEEP, timeout=WAIT)


def test_without_the_wake_word_or_with_push_to_talk_listening_is_plain(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    win = make_window()
    voice, bar = voice_of(win)
    for values in ({"wake_word": False}, {"wake_word": True, "push_to_talk": True}):
        bar.follow_settings(values)
        from_thread(qtbot, lambda: voice.state_changed.emit("starting"))
        from_thread(qtbot, lambda: voice.state_changed.emit("listening"))
        qtbot.waitUntil(lambda: bar.state == "listening", timeout=WAIT)
        assert bar.state_label.text() == "Listening…" and not bar.asleep
        assert bar.push_to_talk is bool(values.get("push_to_talk"))


def test_asked_to_say_it_again_it_listens_without_the_phrase_for_a_while(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    # "Hey Hearth, <something Whisper could not make out>": Hearth says it did not catch
    # that, and the loop takes the next utterance without the phrase (listen_s); the bar
    # shows it awake, then asleep again when that time is over with nothing asked.
    win = make_window()
    voice, bar = voice_of(win)
    bar.follow_settings({"wake_word": True})
    from_thread(qtbot, lambda: voice.state_changed.emit("listening"))
    qtbot.waitUntil(lambda: bar.asleep, timeout=WAIT)
    from_thread(qtbot, lambda: voice.transcript_partial.emit("Hey Hearth, what an uphill"))
    for state in ("transcribing", "speaking"):
        from_thread(qtbot, lambda s=state: voice.state_changed.emit(s))  # type: ignore[misc]
    from_thread(qtbot, lambda: voice.not_heard.emit("Sorry, I didn't catch that."))
    from_thread(qtbot, lambda: voice.state_changed.emit("listening"))
    # The signals arrive in order: "listening" again once the message is shown (the state
    # was "listening" before the turn too, so that alone says nothing).
    qtbot.waitUntil(lambda: "catch" in bar.heard.text() and bar.state == "listening", timeout=WAIT)
    assert not bar.asleep and bar.state_label.text() == "Listening…"
    assert bar._awake_timer.isActive()
    bar._awake_timer.start(50)  # the loop's listen_s (8 s), over sooner for the test
    qtbot.waitUntil(lambda: bar.state_label.text() == ASLEEP, timeout=WAIT)
    # Asked within that time, the answer over: asleep again, as after any question.
    from_thread(qtbot, lambda: voice.not_heard.emit("Sorry, I didn't catch that."))
    from_thread(qtbot, lambda: voice.state_changed.emit("speaking"))
    from_thread(qtbot, lambda: voice.state_changed.emit("listening"))
    qtbot.waitUntil(lambda: not bar.asleep, timeout=WAIT)
    for state in ("transcribing", "thinking", "speaking", "listening"):
        from_thread(qtbot, lambda s=state: voice.state_changed.emit(s))  # type: ignore[misc]
    qtbot.waitUntil(lambda: bar.state_label.text() == ASLEEP, timeout=WAIT)
