"""How many CPU threads llama.cpp gets while Hearth talks."""

from __future__ import annotations

import psutil

from app.core.generation import GenerationParams
from app.voice.session import voice_lead_threads, voice_params, voice_threads


def test_a_spoken_reply_starts_on_every_core_and_then_leaves_one_to_the_audio() -> None:
    params = voice_params(GenerationParams(max_tokens=64))
    cores = psutil.cpu_count(logical=False) or 1
    assert params.lead_threads == voice_lead_threads() == cores
    assert params.n_threads == voice_threads()
    assert params.n_threads < cores or cores == 1
    assert params.max_tokens == 64  # nothing else changes


def test_threads_the_user_chose_are_kept_throughout() -> None:
    chosen = GenerationParams(n_threads=3)
    assert voice_params(chosen) == chosen
    assert voice_params(chosen).lead_threads is None
