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

from app.core.errors import ConfigError

# What `--draft` and LoadModel.draft take besides a draft model's path.
DRAFT_OFF = "none"
DRAFT_LOOKUP = "lookup"


class Drafter(Protocol):
    """What the token loop drafts with: :class:`PromptLookup`, or a draft model
    (``engine.draft_model``). ``extend`` gets the prompt, then each reply token."""

    def extend(self, tokens: list[int]) -> None: ...

    def draft(self, limit: int) -> list[int]: ...

    def record(self, drafted: int, accepted: int) -> None: ...

    @property
    def acceptance(self) -> float: ...


class PromptLookup:
    """Drafts from the context itself: after the context's last ``n`` tokens (the longest
    ``n`` from ``max_ngram`` down to ``min_ngram`` seen before), the tokens that followed
    their latest earlier occurrence.

    The draft length adapts to the reply: a draft taken whole doubles it (up to
    ``max_draft``), a draft rejected at its first token halves it, so a reply that does
    not repeat its prompt costs few wasted positions.
    """

    def __init__(self, *, max_ngram: int = 3, min_ngram: int = 2, max_draft: int = 16) -> None:
        if not 1 <= min_ngram <= max_ngram:
            raise ValueError("min_ngram must be between 1 and max_ngram")
        self.max_ngram = max_ngram
        self.min_ngram = min_ngram
        self.max_draft = max_draft
        self.length = min(4, max_draft)  # the next draft's length
        self.context: list[int] = []
        # For each n: an n-gram -> where the token after its latest occurrence stands
        # (only occurrences that have a following token).
        self._seen: dict[int, dict[tuple[int, ...], int]] = {
            n: {} for n in range(min_ngram, max_ngram + 1)
        }
        self.drafted = 0  # tokens proposed
        self.accepted = 0  # of them, taken into the reply

    def extend(self, tokens: list[int]) -> None:
        """Append ``tokens`` to the context (the prompt first, then each reply token)."""
        context = self.context
        for token in tokens:
            end = len(context)  # the n-grams ending just before ``token`` are followed by it
            for n, seen in self._seen.items():
                if end >= n:
                    seen[tuple(context[end - n : end])] = end
            context.append(token)

    def draft(self, limit: int) -> list[int]:
        """Up to ``min(limit, current length)`` tokens likely to follow the context."""
        limit = min(limit, self.length)
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
    """``--draft``'s value as LoadModel.draft takes it: None (off), "lookup" or a path."""
    if value is None:
        return None
    text = value.strip()
    if not text or text.lower() in (DRAFT_OFF, "off"):
        return None
    if text.lower() == DRAFT_LOOKUP:
        return DRAFT_LOOKUP
    raise ConfigError(
        f"Draft {value!r} is not available: use --draft lookup (prompt lookup) or "
        "--draft none; draft models are not supported yet."
    )


def draft_for(llm: Any, requested: str | None) -> tuple[str | None, str | None]:
    """The drafting a loaded model gets for LoadModel.draft: ("lookup" or None, and a
    sentence when the request could not be met; the model itself loads either way)."""
    if requested is None or requested.strip().lower() in ("", DRAFT_OFF, "off"):
        return None, None
    if requested.strip().lower() != DRAFT_LOOKUP:
        return None, (
            "Draft models are not supported yet, so replies are not drafted; "
            "use --draft lookup for prompt lookup."
        )
    if not drafting_supported(llm):
        return None, (
            "This model keeps recurrent state that a rejected draft cannot be removed "
            "from, so prompt lookup is off for it."
        )
    return DRAFT_LOOKUP, None
