"""The welcome's microphone test through the virtual microphone: speech is heard, a
silent microphone is reported with what to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.ui.first_run import show_welcome
from app.voice.mic_check import HEARD_DBFS, check_microphone
from tests.gui.conftest import MakeWindow, make_window  # noqa: F401  (fixture)
from tests.voice.audio_env import PulseServer

pytestmark = pytest.mark.slow
WAIT = 30_000


def test_the_welcome_hears_speech_and_reports_silence(
    qtbot: QtBot,
    make_window: MakeWindow,  # noqa: F811
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
) -> None:
    win = make_window()
    dialog = show_welcome(win.window)
    assert dialog is not None and dialog.mic_button.isVisible()
    # Nothing said: the loudest frame stays under the threshold, and the advice says so.
    dialog.mic_button.click()
    assert not dialog.mic_button.isEnabled()
    qtbot.waitUntil(dialog.mic_button.isEnabled, timeout=WAIT)
    assert dialog.mic_result.text().startswith("Heard nothing on ")
    assert "Voice settings" in dialog.mic_result.text()
    # Speech on the virtual microphone while it listens: heard.
    wav = speech_wav("Testing the microphone, one two three.")
    dialog.mic_button.click()
    player = pulse.play(wav)
    qtbot.waitUntil(dialog.mic_button.isEnabled, timeout=WAIT)
    assert player.wait(20) == 0
    assert dialog.mic_result.text().startswith("Heard you on "), dialog.mic_result.text()
    dialog.close()


def test_check_microphone_measures_the_loudest_frame(
    pulse: PulseServer, speech_wav: Callable[[str], Path]
) -> None:
    quiet = check_microphone(None, seconds=1.0)
    assert not quiet.heard and quiet.peak_dbfs < HEARD_DBFS
    player = pulse.play(speech_wav("Hello Hearth."))
    loud = check_microphone(None, seconds=2.5)
    assert player.wait(20) == 0
    assert loud.heard and loud.peak_dbfs > quiet.peak_dbfs + 20
