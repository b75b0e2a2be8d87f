"""When a draft pays: the measured cost of verifying k tokens in one batch against how
many of the drafted tokens the reply is likely to take.

A draft of ``d`` tokens is verified by one ``llama_decode`` of ``d + 1`` tokens with
logits at every position. On a GPU that batch costs about what one token does; on a small
CPU it does not: with the starter (SmolLM2-135M Q4_1) on 2 threads here, a batch of 2
costs 1.86 one-token decodes, of 4 2.64, of 16 7.5. A draft then pays only where the
reply is copying its context for many tokens in a row, and :func:`draft_length` drafts
only where the expected tokens per decode beat the measured cost of the batch.
"""

from __future__ import annotations

# The cost of a batch of k tokens over a one-token decode before any is measured:
# 1 + FIRST + NEXT * (k - 2) for k >= 2, the starter's on 2 CPU threads (1.86, 2.7 at 4,
# 7.7 at 16). Measured batches replace it; a GPU's flat costs soon make drafts longer.
PRIOR_FIRST = 0.85
PRIOR_NEXT = 0.42
# Each measurement moves the average this far (decode times wobble with the machine's load).
SMOOTHING = 0.2
# A draft must promise this many tokens per one-token decode's time, not just 1:
# the odds are estimates, and a wasted batch costs more than the time it could save.
MARGIN = 1.1
# A ratio above the prior that no batch has measured again for this many one-token
# decodes (about two replies) moves back toward the prior (by SMOOTHING, each time):
# drafting shut off by a busy moment (batches caught behind other programs) is tried,
# and measured, again; where batches truly cost that much it stops again at once.
RECOVER_AFTER = 256

# Runs of foreseen tokens, bucketed: [0], [1], [2], [3, 4], [5, 8], [9, 16], [17, ...).
_BUCKET_STARTS = (0, 1, 2, 3, 5, 9, 17)
# Before a reply shows its own: the chance that the next token continues the copy after
# a run of that many, and how many tokens that guess weighs.
_PRIOR_CHANCE = (0.36, 0.54, 0.63, 0.72, 0.77, 0.81, 0.84)
_PRIOR_WEIGHT = 4.0


class DecodeCosts:
    """How much a ``llama_decode`` of k tokens costs against one of a single token, as
    measured (moving averages). Each batch is compared with the one-token decodes of the
    moment, so a machine that gets busier or quieter keeps its ratios."""

    def __init__(self) -> None:
        self.one: float | None = None  # seconds of a one-token decode
        self.ratios: dict[int, float] = {}  # batch size (2 and more) -> over one token
        self._plain = 0  # one-token decodes since the last batch

    def observe(self, tokens: int, seconds: float) -> None:
        """A decode of ``tokens`` tokens took ``seconds``. A decode caught behind another
        program counts at most thrice the average (or the prior) it updates."""
        if tokens <= 1:
            old = self.one
            self.one = seconds if old is None else old + SMOOTHING * (min(seconds, 3 * old) - old)
            self._plain += 1
            if self._plain >= RECOVER_AFTER:
                self._recover()
            return
        self._plain = 0
        if not self.one:
            return  # nothing to compare it with yet
        ratio = min(seconds / self.one, 3 * self.ratios.get(tokens, _prior(tokens)))
        old_ratio = self.ratios.get(tokens)
        self.ratios[tokens] = (
            ratio if old_ratio is None else old_ratio + SMOOTHING * (ratio - old_ratio)
        )

    def _recover(self) -> None:
        """Move ratios above the prior back toward it (no batch measured them lately)."""
        self._plain = 0
        for k, old in self.ratios.items():
            prior = _prior(k)
            if old > prior:
                self.ratios[k] = old + SMOOTHING * (prior - old)

    def ratio(self, tokens: int) -> float:
        """A batch of ``tokens`` over one token: measured, else between the nearest
        measured sizes; above the largest measured, what that one costs; below the
        smallest, the prior scaled to it.

        Above the largest size the estimate is the cheapest it could be (batches do not
        get cheaper as they grow, mostly), so a longer draft is tried, and measured, when
        the odds favour it. Scaling the prior up instead kept drafts short for good
        wherever one size came out dear: llama.cpp's kernels make some sizes cost more
        than larger ones (Gemma 3 270M here: 5 tokens 3.3-4.1 decodes, 8 tokens 3.5-3.8),
        and a size never drafted is never measured."""
        if tokens <= 1:
            return 1.0
        ratios = self.ratios
        own = ratios.get(tokens)
        if own is not None:
            return own
        below = [k for k in ratios if k < tokens]
        above = [k for k in ratios if k > tokens]
        if below and above:
            a, b = max(below), min(above)
            return ratios[a] + (ratios[b] - ratios[a]) * (tokens - a) / (b - a)
        if below:
            return ratios[max(below)]
        if above:
            k = min(above)
            return _prior(tokens) * ratios[k] / _prior(k)
        return _prior(tokens)


def _prior(tokens: int) -> float:
    return 1.0 if tokens <= 1 else 1.0 + PRIOR_FIRST + PRIOR_NEXT * (tokens - 2)


def _bucket(run: int) -> int:
    for i in range(len(_BUCKET_STARTS) - 1, -1, -1):
        if run >= _BUCKET_STARTS[i]:
            return i
    return 0


class CopyOdds:
    """How likely the reply's next token is the one the lookup foresees, by how many
    tokens in a row it foresaw so far (:attr:`run`): counted over the reply, on top of
    a prior. A reply that quotes its prompt shows long runs that go on; one that does
    not shows short runs that break."""

    def __init__(self) -> None:
        self.run = 0  # tokens in a row the lookup foresaw, up to the last one
        self.hits = [0] * len(_BUCKET_STARTS)
        self.seen = [0] * len(_BUCKET_STARTS)

    def observe(self, foreseen: bool | None) -> None:
        """The next reply token was foreseen (True), not (False), or nothing was (None)."""
        if foreseen is None:
            self.run = 0
            return
        b = _bucket(self.run)
        self.seen[b] += 1
        if foreseen:
            self.hits[b] += 1
            self.run += 1
        else:
            self.run = 0

    def chance(self, run: int) -> float:
        """The chance that a token after a run of ``run`` foreseen ones is foreseen too."""
        b = _bucket(run)
        return (self.hits[b] + _PRIOR_WEIGHT * _PRIOR_CHANCE[b]) / (self.seen[b] + _PRIOR_WEIGHT)


def draft_length(odds: CopyOdds, costs: DecodeCosts, available: int) -> int:
    """How many of ``available`` drafted tokens to verify (0: decode one token alone):
    the length with the most expected tokens per one-token decode's time, if that beats
    a plain decode by :data:`MARGIN`.

    A draft of ``d`` tokens yields 1 token plus each drafted one while all before it were
    taken, so ``1 + p1 + p1 p2 + …`` tokens for ``ratio(d + 1)`` one-token decodes."""
    best, best_value = 0, MARGIN
    expected, alive = 1.0, 1.0
    for d in range(1, available + 1):
        alive *= odds.chance(odds.run + d - 1)
        expected += alive
        value = expected / costs.ratio(d + 1)
        if value > best_value:
            best, best_value = d, value
    return best
