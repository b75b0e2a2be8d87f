"""Speculative decoding for the worker's token loop (``engine.decode``): prompt lookup.

A reply that repeats its prompt (a code edit, a rewrite, a summary quoting its source)
holds runs of tokens that already stand earlier in the context. :class:`PromptLookup`
finds the context's last n-gram earlier in it and proposes the tokens that followed
there; the token loop decodes the last sampled token and that draft in one batch, with
logits at every position, and samples position by position with its own sampler chain
while the sampled token equals the drafted one. The first mismatch ends the run: its
sampled token is the reply's next token, and the rejected tail leaves the KV cache.

Every token is still sampled once, in order, by the same chain (penalties, grammar,
seed), so the reply is the plain loop's reply whenever llama.cpp gives a position the
same logits in a batch as alone; a draft only saves ``llama_decode`` calls.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.core.i18n import translate
from app.engine.draft_policy import CopyOdds, DecodeCosts, draft_length

# What `--draft` and LoadModel.draft take besides a draft model's path.
DRAFT_OFF = "none"
DRAFT_LOOKUP = "lookup"


class Drafter(Protocol):
    """What the token loop drafts with: :class:`PromptLookup`, or a draft model
    (``engine.draft_model``). ``extend`` gets the prompt, then each reply token;
    ``drafted`` and ``accepted`` count the reply's drafted tokens and those taken."""

    drafted: int
    accepted: int

    def extend(self, tokens: list[int]) -> None: ...

    def draft(self, limit: int) -> list[int]: ...

    def record(self, drafted: int, accepted: int) -> None: ...

    @property
    def acceptance(self) -> float: ...


class PromptLookup:
    """Drafts from the context itself: after the context's last ``n`` tokens (the longest
    ``n`` from ``max_ngram`` down to ``min_ngram`` seen before), the tokens that followed
    their latest earlier occurrence.

    Adaptive (the default), it drafts only where it pays (``engine.draft_policy``): it
    foresees every reply token, drafted or not, to learn how long the reply's copies run,
    and drafts as many tokens as promise the most tokens per decode's time, by the costs
    of batches the token loop measures (:attr:`costs`) — none while the reply does not
    copy, or where batches cost too much. With ``adaptive=False`` it drafts wherever the
    n-gram matches, with a length that doubles when a draft is taken whole and halves
    when its first token is rejected.
    """

    def __init__(
        self,
        *,
        max_ngram: int = 3,
        min_ngram: int = 2,
        max_draft: int = 16,
        adaptive: bool = True,
        costs: DecodeCosts | None = None,
    ) -> None:
        if not 1 <= min_ngram <= max_ngram:
            raise ValueError("min_ngram must be between 1 and max_ngram")
        self.max_ngram = max_ngram
        self.min_ngram = min_ngram
        self.max_draft = max_draft
        self.length = min(4, max_draft)  # the next draft's length (adaptive=False)
        self.adaptive = adaptive
        # Batch costs the token loop measures; a worker shares one across its replies.
        self.costs = costs if costs is not None else DecodeCosts()
        self.odds = CopyOdds()
        self.context: list[int] = []
        # For each n: an n-gram -> where the token after its latest occurrence stands
        # (only occurrences that have a following token).
        self._seen: dict[int, dict[tuple[int, ...], int]] = {
            n: {} for n in range(min_ngram, max_ngram + 1)
        }
        self._prompted = False  # the first extend is the prompt: nothing foreseen in it
        self.drafted = 0  # tokens proposed
        self.accepted = 0  # of them, taken into the reply

    def extend(self, tokens: list[int]) -> None:
        """Append ``tokens`` to the context (the prompt first, then each reply token)."""
        context = self.context
        foresee = self.adaptive and self._prompted
        self._prompted = True
        for token in tokens:
            if foresee:
                guess = self._following(1)
                self.odds.observe(guess[0] == token if guess else None)
            end = len(context)  # the n-grams ending just before ``token`` are followed by it
            for n, seen in self._seen.items():
                if end >= n:
                    seen[tuple(context[end - n : end])] = end
            context.append(token)

    def draft(self, limit: int) -> list[int]:
        """Up to ``limit`` tokens likely to follow the context, as many as pay."""
        if not self.adaptive:
            return self._following(min(limit, self.length))
        following = self._following(min(limit, self.max_draft))
        return following[: draft_length(self.odds, self.costs, len(following))]

    def _following(self, limit: int) -> list[int]:
        """Up to ``limit`` tokens that followed the context's last n-gram before."""
        if limit <= 0:
            return []
        context = self.context
        for n in range(self.max_ngram, self.min_ngram - 1, -1):
            if len(context) <= n:
                continue
            start = self._seen[n].get(tuple(context[-n:]))
            if start is not None:
                return context[start : start + limit]
        return []

    def record(self, drafted: int, accepted: int) -> None:
        """A draft of ``drafted`` tokens had its first ``accepted`` taken."""
        self.drafted += drafted
        self.accepted += accepted
        if accepted == drafted:
            self.length = min(self.max_draft, self.length * 2)
        elif accepted == 0:
            self.length = max(1, self.length // 2)

    @property
    def acceptance(self) -> float:
        """The share of drafted tokens taken into replies so far."""
        return self.accepted / self.drafted if self.drafted else 0.0


def drafting_supported(llm: Any) -> bool:
    """Whether the loaded model's memory can drop a rejected draft's tail: attention
    caches can; recurrent and hybrid models (Mamba, RWKV, …) keep no per-position
    state to remove, so they decode one token at a time."""
    import llama_cpp as lc

    model = llm.model
    return not (lc.llama_model_is_recurrent(model) or lc.llama_model_is_hybrid(model))


def parse_draft(value: str | None) -> str | None:
    """``--draft``'s value as LoadModel.draft takes it: None (off), "lookup", or a draft
    model (a path or a library name, as given: the front end resolves it)."""
    if value is None:
        return None
    text = value.strip()
    if not text or text.lower() in (DRAFT_OFF, "off"):
        return None
    if text.lower() == DRAFT_LOOKUP:
        return DRAFT_LOOKUP
    return text


def draft_for(llm: Any, requested: str | None) -> tuple[str | None, str | None]:
    """The drafting a loaded model gets for LoadModel.draft: ("lookup", a draft model's
    path (``engine.draft_model`` loads it) or None, and a sentence when the request could
    not be met; the model itself loads either way)."""
    draft = parse_draft(requested)
    if draft is None:
        return None, None
    if not drafting_supported(llm):
        return None, (
            translate(
                "Errors",
                "This model keeps recurrent state that a rejected draft cannot be "
                "removed from, so its replies are not drafted.",
            )
        )
    return draft, None
