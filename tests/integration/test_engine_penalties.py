"""The engine's repeat penalty (engine.penalties) against llama.cpp's own penalties
sampler: the same recent tokens accepted by both, then both applied to copies of one
candidates array must leave bit-identical logits, in token order (the fast path) and
shuffled (the fallback), with the window full and overflowing, at several penalties."""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
import pytest

from app.engine.penalties import RecentPenalty

N_VOCAB = 5000
LAST_N = 64


def _candidates(logits: np.ndarray, order: np.ndarray) -> tuple[Any, Any]:
    import llama_cpp as lc

    data = (lc.llama_token_data * len(order))()
    for i, token in enumerate(order):
        data[i].id = int(token)
        data[i].logit = float(logits[token])
        data[i].p = 0.0
    array = lc.llama_token_data_array(data=data, size=len(order), selected=-1, sorted=False)
    return array, data


def _logits(data: Any, size: int) -> dict[int, np.float32]:
    return {int(data[i].id): np.float32(data[i].logit) for i in range(size)}


@pytest.mark.parametrize("repeat", [1.1, 1.5, 0.8])
@pytest.mark.parametrize("accepted", [10, LAST_N, 300])
@pytest.mark.parametrize("shuffled", [False, True])
def test_same_logits_as_llama_cpp_penalties(repeat: float, accepted: int, shuffled: bool) -> None:
    import llama_cpp as lc

    rng = np.random.default_rng(accepted * 7 + int(repeat * 10))
    logits = rng.normal(0.0, 4.0, N_VOCAB).astype(np.float32)
    logits[:20] = 0.0  # zero logits take the multiplying branch in both
    # Recent tokens drawn from a small set, so counts go above one and leave the window.
    history = rng.integers(0, 120, accepted)
    order = rng.permutation(N_VOCAB) if shuffled else np.arange(N_VOCAB)

    theirs = lc.llama_sampler_init_penalties(N_VOCAB, LAST_N, repeat, 0.0, 0.0)
    ours = RecentPenalty(LAST_N, repeat)
    try:
        for token in history:
            lc.llama_sampler_accept(theirs, int(token))
            lc.llama_sampler_accept(ours.sampler, int(token))
        expected_array, expected_data = _candidates(logits, order)
        got_array, got_data = _candidates(logits, order)
        lc.llama_sampler_apply(theirs, ctypes.byref(expected_array))
        lc.llama_sampler_apply(ours.sampler, ctypes.byref(got_array))
    finally:
        lc.llama_sampler_free(theirs)
        lc.llama_sampler_free(ours.sampler)

    expected = _logits(expected_data, N_VOCAB)
    got = _logits(got_data, N_VOCAB)
    changed = [t for t in expected if expected[t] != logits[t]]
    assert changed, "the penalty changed something (the test compares real work)"
    assert [got[t].tobytes() for t in range(N_VOCAB)] == [
        expected[t].tobytes() for t in range(N_VOCAB)
    ]
    assert bool(got_array.sorted) is bool(expected_array.sorted)


def test_no_penalty_changes_nothing() -> None:
    import llama_cpp as lc

    logits = np.linspace(-3.0, 3.0, N_VOCAB, dtype=np.float32)
    ours = RecentPenalty(LAST_N, 1.0)
    try:
        for token in range(100):
            lc.llama_sampler_accept(ours.sampler, token)
        array, data = _candidates(logits, np.arange(N_VOCAB))
        lc.llama_sampler_apply(ours.sampler, ctypes.byref(array))
    finally:
        lc.llama_sampler_free(ours.sampler)
    assert all(np.float32(data[i].logit) == logits[i] for i in range(N_VOCAB))


def test_reset_forgets_the_recent_tokens() -> None:
    import llama_cpp as lc

    logits = np.full(N_VOCAB, 2.0, dtype=np.float32)
    ours = RecentPenalty(LAST_N, 2.0)
    try:
        lc.llama_sampler_accept(ours.sampler, 7)
        lc.llama_sampler_reset(ours.sampler)
        array, data = _candidates(logits, np.arange(N_VOCAB))
        lc.llama_sampler_apply(ours.sampler, ctypes.byref(array))
    finally:
        lc.llama_sampler_free(ours.sampler)
    assert np.float32(data[7].logit) == np.float32(2.0)
