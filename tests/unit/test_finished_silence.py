"""How long a finished sentence's silence must last before the turn ends."""

from __future__ import annotations

from app.voice.session import VoiceSettings, finished_silence_ms
from app.voice.turn_end import FINISHED_SILENCE_MS, FINISHED_SILENCE_MS_GPU


def test_whisper_on_a_gpu_ends_a_finished_turn_sooner() -> None:
    settings = VoiceSettings()
    assert finished_silence_ms(settings, "cpu") == FINISHED_SILENCE_MS
    assert finished_silence_ms(settings, "cuda") == FINISHED_SILENCE_MS_GPU
    assert 0 < FINISHED_SILENCE_MS_GPU < FINISHED_SILENCE_MS


def test_quick_end_off_waits_for_the_whole_hang_over_on_any_device() -> None:
    settings = VoiceSettings(quick_end=False)
    assert finished_silence_ms(settings, "cpu") == 0
    assert finished_silence_ms(settings, "cuda") == 0
