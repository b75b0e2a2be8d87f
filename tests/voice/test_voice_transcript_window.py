"""What Hearth heard, shown while the user speaks, and corrected by typing before it answers.

Real parts throughout: the window offscreen, the real engine process and starter model,
Whisper, Piper and Silero, and a private PulseAudio server whose virtual microphone hears
a question played into it in real time. (The bar alone, fast, is in
tests/gui/test_voice_transcript_bar.py.) It lives next to test_voice_window.py because it
needs that folder's session-wide sound server.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.voice.audio_env import PulseServer
from tests.voice.conftest import word_overlap, words
from tests.voice.test_voice_one_conversation import (
    start_voice,
    stop_voice,
    stored_rows,
    window_with_model,
)
from tests.voice.test_voice_window import save_voice_settings

pytestmark = pytest.mark.slow

SHOTS = os.environ.get("HEARTH_SCREENSHOTS")  # a folder: save what the test saw
# Long enough (about 5 s) for drafts of it to show while it is still being said.
LONG = "Could you tell me what the weather is usually like in Paris in the middle of spring?"
ASKED = "What is the capital of France?"
FIXED = "What is the capital of Italy?"


def test_the_bar_shows_what_is_heard_while_the_user_speaks(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
) -> None:
    win, _engines = window_with_model(qtbot, make_window, {"max_tokens": 30})
    window = win.window
    voice, bar = window.voice, window.voice_bar
    assert voice is not None
    seen: list[tuple[str, str]] = []  # ("partial" | "final", text), in the order shown
    voice.transcript_partial.connect(lambda text: seen.append(("partial", text)))
    voice.transcript_ready.connect(lambda text, _language: seen.append(("final", text)))
    start_voice(qtbot, win)

    with qtbot.waitSignal(voice.turn_finished, timeout=120_000) as turn:
        speaking = pulse.play(speech_wav(LONG))
        # While the question is still being said, the bar shows a draft of it, greyed.
        qtbot.waitUntil(lambda: bool(bar.heard.property("partial")), timeout=20_000)
        still_speaking = speaking.poll() is None
        draft, draft_italic = bar.heard.text(), bar.heard.font().italic()
        if SHOTS:
            window.grab().save(str(Path(SHOTS) / "voice-bar-partial-real.png"))
        assert speaking.wait(20) == 0
    result = turn.args[0]
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=30_000)
    stop_voice(qtbot, win)

    assert still_speaking, "the first draft came only after the question was over"
    assert draft.startswith("Hearing: “") and draft_italic
    # Drafts are of this question (Whisper's draft may miss words, not invent a sentence).
    partials = [text for kind, text in seen if kind == "partial"]
    assert partials and all(word_overlap(text, LONG) >= 0.5 for text in partials), partials
    # Then the final transcript, after every draft, shown plainly.
    assert seen[-1] == ("final", result.transcript)
    assert [kind for kind, _ in seen].count("final") == 1
    assert word_overlap(LONG, result.transcript) >= 0.8
    assert bar.heard.text() == f"You said: “{result.transcript}”"
    assert not bar.heard.property("partial")
    assert not bar.correcting  # no grace period is set: nothing is offered


def test_a_typed_correction_during_the_grace_period_is_what_is_answered(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
) -> None:
    win, engines = window_with_model(qtbot, make_window, {"max_tokens": 30})
    window = win.window
    voice, bar = window.voice, window.voice_bar
    assert voice is not None
    save_voice_settings(win, correction_grace_s=3.0)
    offered: list[str] = []
    voice.correction_offered.connect(lambda text, _s: offered.append(text))
    start_voice(qtbot, win)

    with qtbot.waitSignal(voice.turn_finished, timeout=120_000) as turn:
        assert pulse.play(speech_wav(ASKED)).wait(20) == 0
        # The final transcript is offered for correcting before anything is said.
        qtbot.waitUntil(lambda: bar.correcting, timeout=30_000)
        heard = bar.correction.text()
        assert voice.state != "speaking"
        if SHOTS:
            QApplication.processEvents()  # lay the new row out before the picture
            window.grab().save(str(Path(SHOTS) / "voice-bar-correction-real.png"))
        qtbot.keyClicks(bar.correction, FIXED)  # replaces the selected transcript
        qtbot.keyClick(bar.correction, Qt.Key.Key_Return)
        assert not bar.correcting
        assert bar.heard.text() == f"You said: “{FIXED}”"
    result = turn.args[0]
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=30_000)
    stop_voice(qtbot, win)

    assert word_overlap(ASKED, heard) >= 0.8 and "italy" not in words(heard)
    assert offered == [heard]  # offered once, for the transcript heard
    assert result.question == FIXED and result.corrected
    # The stored user turn is the corrected question, and its answer is the reply made for
    # it (the model was asked the corrected question), as it was spoken.
    rows = stored_rows(win)
    assert [(role, content) for _, role, content, _ in rows] == [
        ("user", FIXED),
        ("assistant", result.spoken),
    ]
    assert result.spoken.strip()
    asked = [g.messages[-1] for g in engines[-1].generations if g.messages[-1]["role"] == "user"]
    assert {"role": "user", "content": FIXED} in asked
    assert bar.heard.text() == f"You said: “{FIXED}”"


def test_push_to_talk_shows_drafts_while_held_and_takes_a_correction(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
) -> None:
    win, engines = window_with_model(qtbot, make_window, {"max_tokens": 30})
    window = win.window
    voice, bar = window.voice, window.voice_bar
    assert voice is not None
    save_voice_settings(win, push_to_talk=True, correction_grace_s=2.0)
    start_voice(qtbot, win)
    assert bar.talk_button.isVisible()

    with qtbot.waitSignal(voice.turn_finished, timeout=120_000) as turn:
        qtbot.keyPress(window, Qt.Key.Key_F2)  # held while the question is said
        assert pulse.play(speech_wav(LONG)).wait(20) == 0
        # While the key is held, the bar shows a draft of what is being said.
        qtbot.waitUntil(lambda: bool(bar.heard.property("partial")), timeout=30_000)
        draft = bar.heard.text().removeprefix("Hearing: “").removesuffix("…”")
        assert word_overlap(draft, LONG) >= 0.5, bar.heard.text()
        assert voice.state == "listening"
        qtbot.keyRelease(window, Qt.Key.Key_F2)
        qtbot.waitUntil(lambda: bar.correcting, timeout=30_000)
        assert word_overlap(LONG, bar.correction.text()) >= 0.8
        qtbot.keyClicks(bar.correction, FIXED)
        qtbot.keyClick(bar.correction, Qt.Key.Key_Return)
        assert bar.heard.text() == f"You said: “{FIXED}”"
    result = turn.args[0]
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=30_000)
    stop_voice(qtbot, win)

    assert result.question == FIXED and result.corrected
    rows = stored_rows(win)
    assert [(role, content) for _, role, content, _ in rows] == [
        ("user", FIXED),
        ("assistant", result.spoken),
    ]
    asked = [g.messages[-1] for g in engines[-1].generations if g.messages[-1]["role"] == "user"]
    assert {"role": "user", "content": FIXED} in asked


def test_a_correction_typed_in_the_message_box_is_what_is_answered(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
) -> None:
    """Keyboard only: while the heard question is offered, Ctrl+L goes to the message box,
    the typed question and Enter replace it; the reply and the stored turn follow it."""
    win, engines = window_with_model(qtbot, make_window, {"max_tokens": 30})
    window = win.window
    voice, bar, composer = window.voice, window.voice_bar, window.composer
    assert voice is not None
    # The longest grace period: a loaded machine still has time for the first key, which
    # then holds the answer until Enter.
    save_voice_settings(win, correction_grace_s=10.0)
    sent: list[str] = []
    composer.submitted.connect(sent.append)  # a correction is not a new message
    start_voice(qtbot, win)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10_000)

    with qtbot.waitSignal(voice.turn_finished, timeout=120_000) as turn:
        assert pulse.play(speech_wav(ASKED)).wait(20) == 0
        qtbot.waitUntil(lambda: bar.correcting and composer.correcting, timeout=30_000)
        heard = bar.correction.text()
        assert voice.state != "speaking"
        if SHOTS:
            QApplication.processEvents()
            window.grab().save(str(Path(SHOTS) / "voice-composer-offer-real.png"))
        qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
        assert QApplication.focusWidget() is composer.edit
        qtbot.keyClicks(composer.edit, FIXED)
        assert bar.correcting  # the first key held the answer: no countdown runs out
        if SHOTS:
            window.grab().save(str(Path(SHOTS) / "voice-composer-correction-real.png"))
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
        assert not bar.correcting and not composer.correcting
        assert composer.text() == ""  # taken as the question
        assert bar.heard.text() == f"You said: “{FIXED}”"
    result = turn.args[0]
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=30_000)
    stop_voice(qtbot, win)

    assert word_overlap(ASKED, heard) >= 0.8 and "italy" not in words(heard)
    assert sent == []
    assert result.question == FIXED and result.corrected
    rows = stored_rows(win)
    assert [(role, content) for _, role, content, _ in rows] == [
        ("user", FIXED),
        ("assistant", result.spoken),
    ]
    assert result.spoken.strip()
    asked = [g.messages[-1] for g in engines[-1].generations if g.messages[-1]["role"] == "user"]
    assert {"role": "user", "content": FIXED} in asked
