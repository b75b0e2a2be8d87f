"""The repeat penalty as a sampler that touches only the tokens it penalises.

llama.cpp's own penalties sampler (``llama_sampler_init_penalties``) looks every token of
the vocabulary up in its table of recent tokens at every step: 49 k lookups a token for
SmolLM2, 262 k for Gemma 3. On two CPU cores that is most of what Hearth's engine loses to
``llama-server``, whose default repeat penalty is off (tests/bench/bench_llama_server.py).

The recent tokens are at most ``last_n`` (64 in llama-cpp-python), and where the penalty
runs in the chain (first, or right after the logit bias, which changes values in place)
the candidates are still the whole vocabulary in token order. So this sampler changes
only those few entries, with the same float32 arithmetic and the same window bookkeeping
as llama.cpp's: the same logits, so the same reply. Anything else (a reordered or cut
array) falls back to looking at every candidate, as llama.cpp does.
"""

from __future__ import annotations

import ctypes
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any

import numpy as np


class RecentPenalty:
    """``llama_sampler_init_penalties(n_vocab, last_n, repeat, 0, 0)`` for a chain.

    Add :attr:`sampler` to a chain with ``llama_sampler_chain_add``; the chain frees the
    C struct, but this object holds the callbacks and must outlive the chain.
    """

    def __init__(self, last_n: int, repeat: float) -> None:
        import llama_cpp as lc

        self.last_n = max(last_n, 0)
        # llama.cpp keeps the penalty as a float: the same float32 value here.
        self.repeat = ctypes.c_float(repeat).value
        self.disabled = self.last_n == 0 or self.repeat == 1.0
        self.recent: deque[int] = deque(maxlen=self.last_n or None)
        self.counts: Counter[int] = Counter()
        self._iface = lc.llama_sampler_i()  # zeroed: no name, clone, free or backend hooks
        # The callbacks are kept on self: ctypes would free them with their last reference.
        self._apply = lc.llama_sampler_i_apply(self._on_apply)
        self._accept = lc.llama_sampler_i_accept(self._on_accept)
        self._reset = lc.llama_sampler_i_reset(self._on_reset)
        self._iface.apply = self._apply
        self._iface.accept = self._accept
        self._iface.reset = self._reset
        # Allocated by llama.cpp, so the chain's free deletes it as its own.
        self.sampler = lc.llama_sampler_init(ctypes.pointer(self._iface), None)

    def _on_accept(self, _sampler: Any, token: int) -> None:
        if self.last_n == 0:
            return
        if len(self.recent) == self.last_n:  # the window is full: the oldest leaves it
            old = self.recent[0]
            self.counts[old] -= 1
            if self.counts[old] == 0:
                del self.counts[old]
        self.counts[token] += 1
        self.recent.append(token)

    def _on_reset(self, _sampler: Any) -> None:
        self.recent.clear()
        self.counts.clear()

    def _on_apply(self, _sampler: Any, cur_p: Any) -> None:
        if self.disabled:
            return
        candidates = cur_p.contents
        data = candidates.data
        size = int(candidates.size)
        recent = list(self.counts)
        if all(0 <= token < size and data[token].id == token for token in recent):
            positions: Iterable[int] = recent
        else:  # not in token order here: find them as llama.cpp would, in one pass
            ids = np.ctypeslib.as_array(data, shape=(size,))["id"]
            positions = np.flatnonzero(np.isin(ids, recent)).tolist()
        repeat = self.repeat
        for i in positions:
            entry = data[i]
            # A float32 product or quotient computed in double and stored as float32
            # rounds once, as llama.cpp's float arithmetic does.
            logit = entry.logit
            entry.logit = logit * repeat if logit <= 0 else logit / repeat
        candidates.sorted = False
