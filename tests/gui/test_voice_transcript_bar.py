"""The voice bar's running transcript and correction row, driven through the real window's
VoiceService signals from another thread, as the voice loop's callbacks are (fast, no
audio). The same path with real speech is in test_voice_transcript_real.py."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from pytestqt.qtbot import QtBot

from app.core.settings_rules import check
from app.services.voice_service import VoiceService
from app.ui.launch import Window
from app.ui.voice_bar import VoiceBar
from app.ui.voice_settings import VoiceSettingsDialog
from app.voice.session import VoiceSettings
from tests.gui.conftest import MakeWindow

SHOTS = os.environ.get("HEARTH_SCREENSHOTS")  # a folder: save what the test saw


def from_thread(qtbot: QtBot, call: Callable[[], None]) -> None:
    """Run ``call`` on another thread, as the voice loop runs its callbacks."""
    thread = threading.Thread(target=call)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=5_000)


def voice_of(win: Window) -> tuple[VoiceService, VoiceBar]:
    voice = win.window.voice
    assert voice is not None
    win.window.voice_bar.show()
    return voice, win.window.voice_bar


def is_partial(bar: VoiceBar) -> bool:
    muted = bar.palette().color(QPalette.ColorRole.PlaceholderText)
    shown = bar.heard.palette().color(QPalette.ColorRole.WindowText)
    return bar.heard.font().italic() and shown == muted and bar.heard.property("partial")


def test_running_transcript_then_the_final_one(qtbot: QtBot, make_window: MakeWindow) -> None:
    voice, bar = voice_of(make_window())
    from_thread(qtbot, lambda: voice.transcript_partial.emit("What is the"))
    qtbot.waitUntil(lambda: "What is the" in bar.heard.text(), timeout=5_000)
    assert is_partial(bar)
    from_thread(qtbot, lambda: voice.transcript_partial.emit("What is the capital of?"))
    qtbot.waitUntil(lambda: "capital of" in bar.heard.text(), timeout=5_000)
    assert bar.heard.text() == "Hearing: “What is the capital of…”"  # it goes on
    if SHOTS:
        bar.set_state("listening")
        bar.window().grab().save(str(Path(SHOTS) / "voice-bar-partial.png"))
    from_thread(qtbot, lambda: voice.transcript_ready.emit("What is the capital of France?", "en"))
    qtbot.waitUntil(lambda: "France?" in bar.heard.text(), timeout=5_000)
    assert bar.heard.text() == "You said: “What is the capital of France?”"
    assert not is_partial(bar)
    assert not bar.correcting  # no grace period: nothing to correct

    # A long question never widens the window: the bar cuts it, the tooltip has it all.
    widest = bar.window().minimumSizeHint().width()
    long = "and then " * 60 + "the end"
    bar.show_partial(long)
    assert bar.window().minimumSizeHint().width() <= widest
    assert bar.heard.toolTip() == f"Hearing: “{long}…”"


def test_correction_row_during_the_grace_period(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    voice, bar = voice_of(win)
    win.window.activateWindow()
    win.window.composer.edit.setFocus()
    qtbot.waitUntil(win.window.composer.edit.hasFocus, timeout=5_000)
    bar.set_state("thinking")
    heard = "What is the capital and friends?"
    from_thread(qtbot, lambda: voice.correction_offered.emit(heard, 0.3 if not SHOTS else 3))
    qtbot.waitUntil(lambda: bar.correcting, timeout=5_000)
    assert bar.correction.text() == heard
    assert bar.correction.selectedText() == heard  # typing replaces it
    assert bar.correction.hasFocus()
    assert f"({3 if SHOTS else 1} s)" in bar.correction_hint.text(), bar.correction_hint.text()
    if SHOTS:
        bar.show_heard("What is the capital and friends?")
        bar.window().grab().save(str(Path(SHOTS) / "voice-bar-correction.png"))
    # Untouched, it goes when the grace period is over, and the composer has focus again.
    qtbot.waitUntil(lambda: not bar.correcting, timeout=5_000)
    assert win.window.composer.edit.hasFocus()

    # Typing keeps it open past the grace period; Enter hands the text to the service,
    # which says it came too late here (no voice loop runs): the bar says so.
    started: list[bool] = []
    submitted: list[str] = []
    bar.correction_started.connect(lambda: started.append(True))
    bar.correction_submitted.connect(submitted.append)
    bar.offer_correction("capital and friends", 0.2)
    qtbot.keyClicks(bar.correction, "capital of France")
    assert started == [True]
    assert "Enter sends it" in bar.correction_hint.text()  # no countdown while typing
    qtbot.wait(400)  # past the grace period: still open while the user types
    assert bar.correcting
    qtbot.keyClick(bar.correction, Qt.Key.Key_Return)
    assert submitted == ["capital of France"]
    assert not bar.correcting
    assert "Too late to correct" in bar.heard.text()

    # Esc gives up: untouched, it just closes; after typing, the held answer is let go.
    dropped: list[bool] = []
    bar.correction_dropped.connect(lambda: dropped.append(True))
    bar.offer_correction("capital and friends", 5.0)
    qtbot.keyClick(bar.correction, Qt.Key.Key_Escape)
    assert not bar.correcting and dropped == []
    bar.offer_correction("capital and friends", 5.0)
    qtbot.keyClicks(bar.correction, "capital of")
    qtbot.keyClick(bar.correction, Qt.Key.Key_Escape)
    assert not bar.correcting and dropped == [True]
    assert started == [True, True]

    # A message being written in the composer keeps the keys: the row does not take focus.
    composer = win.window.composer.edit
    composer.setFocus()
    qtbot.keyClicks(composer, "half a mess")
    bar.offer_correction("capital and friends", 5.0)
    assert bar.correcting and composer.hasFocus() and not bar.correction.hasFocus()
    bar.close_correction()
    assert composer.hasFocus() and composer.toPlainText() == "half a mess"
    composer.clear()

    # The answer starting to play closes it too.
    bar.offer_correction("again", 5.0)
    assert bar.correcting
    bar.set_state("speaking")
    assert not bar.correcting
    # And so does the user speaking again (a new question is coming).
    bar.set_state("thinking")
    bar.offer_correction("again", 5.0)
    bar.show_partial("Never mind")
    assert not bar.correcting and is_partial(bar)


def test_grace_setting_is_saved_checked_and_clamped(qtbot: QtBot, make_window: MakeWindow) -> None:
    from app.core.paths import app_paths
    from app.core.settings import load_settings

    win = make_window()
    dialog = win.window.open_voice_settings()
    assert isinstance(dialog, VoiceSettingsDialog)
    # Off by default; turning it on suggests 2 s.
    assert not dialog.correction.isChecked() and not dialog.correction_s.isEnabled()
    assert dialog.correction_s.value() == 2.0
    dialog.correction.setChecked(True)
    assert dialog.correction_s.isEnabled()
    dialog.correction_s.setValue(1.5)
    if SHOTS:
        dialog.grab().save(str(Path(SHOTS) / "voice-settings-correction.png"))
    dialog.accept()
    assert load_settings(app_paths()).extra["voice"]["correction_grace_s"] == 1.5
    assert win.window.voice is not None
    assert win.window.voice.settings()["correction_grace_s"] == 1.5

    dialog = win.window.open_voice_settings()
    assert isinstance(dialog, VoiceSettingsDialog)
    assert dialog.correction.isChecked() and dialog.correction_s.value() == 1.5
    dialog.correction.setChecked(False)
    dialog.accept()
    assert load_settings(app_paths()).extra["voice"]["correction_grace_s"] == 0.0

    # A hand-edited settings file: wrong types go, numbers are kept within 0..10 s.
    _, problems = check({"voice": {"correction_grace_s": "soon"}}, {})
    assert problems and "voice.correction_grace_s" in problems[0]
    _, problems = check({"voice": {"correction_grace_s": 60}}, {})
    assert problems
    assert VoiceSettings.from_dict({"correction_grace_s": 60}).correction_grace_s == 10.0
    assert VoiceSettings.from_dict({"correction_grace_s": "x"}).correction_grace_s == 0.0
    assert VoiceSettings.from_dict({"correction_grace_s": float("nan")}).correction_grace_s == 0.0
    assert VoiceSettings.from_dict({}).correction_grace_s == 0.0


def test_wait_for_final_is_saved_and_reaches_the_loop(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    from app.core.paths import app_paths
    from app.core.settings import load_settings
    from app.voice.loop import VoiceConfig

    win = make_window()
    dialog = win.window.open_voice_settings()
    assert isinstance(dialog, VoiceSettingsDialog)
    assert not dialog.wait_for_final.isChecked()  # off by default: answer the draft at once
    dialog.wait_for_final.setChecked(True)
    dialog.accept()
    assert load_settings(app_paths()).extra["voice"]["wait_for_final"] is True
    assert win.window.voice is not None and win.window.voice.settings()["wait_for_final"]
    dialog = win.window.open_voice_settings()
    assert isinstance(dialog, VoiceSettingsDialog) and dialog.wait_for_final.isChecked()
    dialog.reject()
    _, problems = check({"voice": {"wait_for_final": "yes"}}, {})
    assert problems and "voice.wait_for_final" in problems[0]
    assert VoiceSettings.from_dict({"wait_for_final": True}).wait_for_final
    assert not VoiceConfig().wait_for_final


def test_answering_unsure_drafts_is_off_by_default_and_reaches_the_loop(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    from app.core.paths import app_paths
    from app.core.settings import load_settings
    from app.voice.loop import VoiceConfig
    from app.voice.session import unsure_draft_logprob

    win = make_window()
    dialog = win.window.open_voice_settings()
    assert isinstance(dialog, VoiceSettingsDialog)
    # Off by default: a draft Whisper is unsure of waits for the final pass.
    assert not dialog.answer_unsure.isChecked() and dialog.answer_unsure.isEnabled()
    dialog.wait_for_final.setChecked(True)  # nothing is answered early then: no choice
    assert not dialog.answer_unsure.isEnabled()
    dialog.wait_for_final.setChecked(False)
    assert dialog.answer_unsure.isEnabled()
    dialog.answer_unsure.setChecked(True)
    dialog.accept()
    assert load_settings(app_paths()).extra["voice"]["answer_unsure_drafts"] is True
    assert win.window.voice is not None and win.window.voice.settings()["answer_unsure_drafts"]
    dialog = win.window.open_voice_settings()
    assert isinstance(dialog, VoiceSettingsDialog) and dialog.answer_unsure.isChecked()
    dialog.reject()
    _, problems = check({"voice": {"answer_unsure_drafts": "yes"}}, {})
    assert problems and "voice.answer_unsure_drafts" in problems[0]
    # What the loop is given: no limit when on, the default one when off.
    on = VoiceSettings.from_dict({"answer_unsure_drafts": True})
    assert unsure_draft_logprob(on) is None
    default = VoiceConfig().unsure_draft_logprob
    assert default is not None and unsure_draft_logprob(VoiceSettings()) == default


def test_the_full_pass_takes_are_chosen_in_the_settings_and_reach_whisper(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    from app.core.paths import app_paths
    from app.core.settings import load_settings

    win = make_window()
    dialog = win.window.open_voice_settings()
    assert isinstance(dialog, VoiceSettingsDialog)
    assert dialog.final_takes.currentData() is None  # automatic: by where Whisper runs
    offered = [dialog.final_takes.itemData(i) for i in range(dialog.final_takes.count())]
    assert offered == [None, 1, 2, 3, 4, 5]  # every value --final-takes may have saved
    dialog.final_takes.setCurrentIndex(dialog.final_takes.findData(3))
    dialog.accept()
    assert load_settings(app_paths()).extra["voice"]["final_takes"] == 3
    assert win.window.voice is not None and win.window.voice.settings()["final_takes"] == 3
    dialog = win.window.open_voice_settings()
    assert isinstance(dialog, VoiceSettingsDialog) and dialog.final_takes.currentData() == 3
    dialog.reject()
    _, problems = check({"voice": {"final_takes": 7}}, {})
    assert problems and "voice.final_takes" in problems[0]


def test_a_tools_permission_question_shows_with_allow_and_deny(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    """Hearth asks aloud whether it may use a tool; the voice bar shows the question, and
    Allow or Deny there answer it like a spoken yes or no (to the running loop)."""
    voice, bar = voice_of(make_window())
    answered: list[bool] = []

    class Loop:  # the running VoiceLoop's answer_permission
        def answer_permission(self, allowed: bool) -> bool:
            answered.append(allowed)
            return True

    voice._loop = Loop()  # type: ignore[assignment]
    question = "May I use Current datetime? Say yes or no."
    from_thread(qtbot, lambda: voice.permission_asked.emit(question))
    qtbot.waitUntil(bar.permission_row.isVisible, timeout=5_000)
    assert bar.permission_question.text() == question
    if SHOTS:
        bar.set_state("speaking")
        bar.window().grab().save(str(Path(SHOTS) / "voice-bar-permission.png"))
    qtbot.mouseClick(bar.allow_button, Qt.MouseButton.LeftButton)
    assert answered == [True] and not bar.permission_row.isVisible()
    # Asked again and answered by voice: the loop closes the question, the row goes.
    from_thread(qtbot, lambda: voice.permission_asked.emit(question))
    qtbot.waitUntil(bar.permission_row.isVisible, timeout=5_000)
    from_thread(qtbot, lambda: voice.permission_closed.emit(False))
    qtbot.waitUntil(lambda: not bar.permission_row.isVisible(), timeout=5_000)
    from_thread(qtbot, lambda: voice.permission_asked.emit(question))
    qtbot.waitUntil(bar.permission_row.isVisible, timeout=5_000)
    qtbot.mouseClick(bar.deny_button, Qt.MouseButton.LeftButton)
    assert answered == [True, False]
    voice._loop = None


def test_a_correction_typed_in_the_message_box(qtbot: QtBot, make_window: MakeWindow) -> None:
    """During the grace period an empty message box takes the correction: the first key
    holds the answer, Enter hands the text to the loop (not to the chat), Esc lets the
    answer go as heard; after the grace period, Enter sends messages again."""
    win = make_window()
    voice, bar = voice_of(win)
    composer = win.window.composer
    calls: list[tuple[str, str]] = []
    accept = [True]

    class Loop:  # the running VoiceLoop's correction methods
        def correct(self, text: str) -> bool:
            calls.append(("correct", text))
            return accept[0]

        def hold_correction(self) -> bool:
            calls.append(("hold", ""))
            return True

        def end_correction(self) -> None:
            calls.append(("end", ""))

    voice._loop = Loop()  # type: ignore[assignment]
    sent: list[str] = []
    composer.submitted.connect(sent.append)
    placeholder = composer.edit.placeholderText()
    win.window.activateWindow()
    bar.set_state("thinking")
    composer.set_busy(True)  # a voice turn is under way: Send is hidden

    from_thread(qtbot, lambda: voice.correction_offered.emit("capital and friends", 5.0))
    qtbot.waitUntil(lambda: bar.correcting and composer.correcting, timeout=5_000)
    assert "Heard wrong?" in composer.edit.placeholderText()
    composer.edit.setFocus()  # keyboard: Ctrl+L in the real window test
    qtbot.keyClicks(composer.edit, "What is the capital of France?")
    assert calls == [("hold", "")]  # the first key holds the answer, once
    assert "message box" in bar.correction_hint.text()  # no countdown while typing
    assert not bar.correction.isVisible()  # one place to type
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert calls[-1] == ("correct", "What is the capital of France?")
    assert sent == []  # not a new message
    assert composer.text() == "" and not composer.correcting and not bar.correcting
    assert composer.edit.placeholderText() == placeholder
    assert bar.heard.text() == "You said: “What is the capital of France?”"

    # Too late (the answer had started): the text stays in the box, to send as a message.
    accept[0] = False
    from_thread(qtbot, lambda: voice.correction_offered.emit("capital and friends", 5.0))
    qtbot.waitUntil(lambda: composer.correcting, timeout=5_000)
    assert bar.correction.isVisible()  # offered again: the row's field is back
    composer.edit.setFocus()
    qtbot.keyClicks(composer.edit, "capital of Italy")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert calls[-1] == ("correct", "capital of Italy")
    assert composer.text() == "capital of Italy" and not composer.correcting
    assert "Too late to correct" in bar.heard.text()
    composer.edit.clear()

    # Esc after typing: the held answer goes ahead as heard; the text stays.
    from_thread(qtbot, lambda: voice.correction_offered.emit("capital and friends", 5.0))
    qtbot.waitUntil(lambda: composer.correcting, timeout=5_000)
    composer.edit.setFocus()
    qtbot.keyClicks(composer.edit, "capital of")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Escape)
    assert calls[-2:] == [("hold", ""), ("end", "")]
    assert not bar.correcting and not composer.correcting
    assert composer.text() == "capital of"

    # A box holding a message being written is left alone: Enter there is no correction.
    from_thread(qtbot, lambda: voice.correction_offered.emit("capital and friends", 5.0))
    qtbot.waitUntil(lambda: bar.correcting, timeout=5_000)
    assert not composer.correcting
    bar.close_correction()
    composer.edit.clear()

    # Untouched, the grace period ends and the box sends messages again.
    composer.set_busy(False)
    from_thread(qtbot, lambda: voice.correction_offered.emit("capital and friends", 0.3))
    qtbot.waitUntil(lambda: composer.correcting, timeout=5_000)
    qtbot.waitUntil(lambda: not composer.correcting, timeout=5_000)
    composer.edit.setFocus()
    qtbot.keyClicks(composer.edit, "hello")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == ["hello"]
    voice._loop = None


def test_speech_it_could_not_make_out_asks_for_it_again(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    # The loop says "Sorry, I didn't catch that" (app.voice.not_heard): the bar replaces
    # the greyed running transcript with a plain request to say it again or type it.
    voice, bar = voice_of(make_window())
    from_thread(qtbot, lambda: voice.transcript_partial.emit("What an uphill a break"))
    qtbot.waitUntil(lambda: "uphill" in bar.heard.text(), timeout=5_000)
    assert is_partial(bar)
    bar.set_state("speaking")
    from_thread(qtbot, lambda: voice.not_heard.emit("Sorry, I didn't catch that."))
    qtbot.waitUntil(lambda: "uphill" not in bar.heard.text(), timeout=5_000)
    assert bar.heard.text() == "Didn’t catch that — say it again or type it."
    assert not is_partial(bar)
    if SHOTS:
        bar.window().grab().save(str(Path(SHOTS) / "voice-bar-not-heard.png"))
    # The next question's running transcript takes its place.
    bar.set_state("listening")
    from_thread(qtbot, lambda: voice.transcript_partial.emit("What is the capital"))
    qtbot.waitUntil(lambda: "capital" in bar.heard.text(), timeout=5_000)
    assert is_partial(bar)
