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
    """Drafts from the context itself, following the passage the reply is copying.

    Where the reply starts copying is found by n-gram: after the context's last ``n``
    tokens (the longest ``n`` from ``max_ngram`` down to ``min_ngram`` seen before), the
    tokens that followed their latest earlier occurrence. From there a cursor follows the
    source as the reply goes on, through the edits a reply makes to what it copies: a
    token it replaces with up to ``max_replaced`` others (a renamed variable, a word
    changed to the past tense) is learned once the reply is seen to go on copying after
    it, and later drafts write the replacement wherever the source has that token; a
    token dropped or text inserted keeps the cursor; anything else loses it, and the
    n-gram finds the copy again. So a reply that renames ``x`` on every line of a
    function is drafted line after line, where the n-gram alone would lose its place at
    every ``x``.

    Adaptive (the default), it drafts only where it pays (``engine.draft_policy``): it
    foresees every reply token, drafted or not, to learn how long the reply's copies run,
    and drafts as many tokens as promise the most tokens per decode's time, by the costs
    of batches the token loop measures (:attr:`costs`) — none while the reply does not
    copy, or where batches cost too much. With ``adaptive=False`` it drafts wherever it
    has a place in the source, with a length that doubles when a draft is taken whole
    and halves when its first token is rejected.
    """

    def __init__(
        self,
        *,
        max_ngram: int = 3,
        min_ngram: int = 2,
        max_draft: int = 16,
        max_replaced: int = 4,
        adaptive: bool = True,
        costs: DecodeCosts | None = None,
    ) -> None:
        if not 1 <= min_ngram <= max_ngram:
            raise ValueError("min_ngram must be between 1 and max_ngram")
        self.max_ngram = max_ngram
        self.min_ngram = min_ngram
        self.max_draft = max_draft
        self.max_replaced = max_replaced
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
        # Where in the context the reply's copy goes on (None: no copy found), and the
        # rest of a replacement the reply is writing for the source token before it.
        self._cursor: int | None = None
        self._pending: list[int] = []
        # Source token -> the tokens the reply writes for it (learned edits).
        self._replaced: dict[int, tuple[int, ...]] = {}
        # An edit not yet confirmed: the source position the reply departed from, and
        # the tokens it wrote there so far.
        self._trial: tuple[int, list[int]] | None = None
        self.drafted = 0  # tokens proposed
        self.accepted = 0  # of them, taken into the reply

    def extend(self, tokens: list[int]) -> None:
        """Append ``tokens`` to the context (the prompt first, then each reply token)."""
        context = self.context
        reply = self._prompted
        foresee = self.adaptive and reply
        self._prompted = True
        for token in tokens:
            if foresee:
                guess = self._stream(1)
                self.odds.observe(guess[0] == token if guess else None)
            if reply:
                self._follow(token)
            end = len(context)  # the n-grams ending just before ``token`` are followed by it
            for n, seen in self._seen.items():
                if end >= n:
                    seen[tuple(context[end - n : end])] = end
            context.append(token)
            if reply and self._cursor is None:
                self._cursor = self._lookup()
        if not reply:
            self._cursor = self._lookup()

    def draft(self, limit: int) -> list[int]:
        """Up to ``limit`` tokens likely to follow the context, as many as pay."""
        if not self.adaptive:
            return self._stream(min(limit, self.length))
        following = self._stream(min(limit, self.max_draft))
        return following[: draft_length(self.odds, self.costs, len(following))]

    def _written(self, position: int) -> tuple[int, ...]:
        """What the reply writes for the context's token at ``position``."""
        token = self.context[position]
        return self._replaced.get(token, (token,))

    def _stream(self, limit: int) -> list[int]:
        """Up to ``limit`` tokens the reply writes next if it goes on copying."""
        out = self._pending[:limit]
        position = self._cursor
        if position is None:
            return out
        end = len(self.context)
        while len(out) < limit and position < end:
            out.extend(self._written(position))
            position += 1
        return out[:limit]

    def _take(self, position: int) -> None:
        """The reply wrote the first token of what stands at ``position``: copy on."""
        self._pending = list(self._written(position)[1:])
        self._cursor = position + 1

    def _follow(self, token: int) -> None:
        """Move the cursor over the reply's next token (before it joins the context)."""
        cursor = self._cursor
        if cursor is None or cursor >= len(self.context):
            self._lose()
            return
        if self._pending:
            if token == self._pending[0]:
                self._pending.pop(0)
            else:  # a learned replacement, not written this time: find the copy again
                self._lose()
            return
        trial = self._trial
        if token == self._written(cursor)[0]:
            self._take(cursor)
            if trial is not None:  # the reply copies on after an edit: learn it
                source, wrote = trial
                self._replaced[self.context[source]] = tuple(wrote)
                self._trial = None
            return
        if trial is not None:
            source, wrote = trial
            if token == self._written(source)[0]:  # text inserted before the source token
                self._trial = None
                self._take(source)
            elif len(wrote) < self.max_replaced:
                wrote.append(token)
            else:
                self._lose()
            return
        original = self.context[cursor]
        if token == original and original in self._replaced:
            del self._replaced[original]  # an edit the reply no longer makes
            self._take(cursor)
        elif cursor + 1 < len(self.context) and token == self._written(cursor + 1)[0]:
            self._take(cursor + 1)  # the source token was dropped
        else:  # an edit begins: the reply writes something else for the source token
            self._trial = (cursor, [token])
            self._cursor = cursor + 1

    def _lose(self) -> None:
        """The reply left the copy: no place in the source until the n-gram finds one."""
        self._cursor, self._pending, self._trial = None, [], None

    def _lookup(self) -> int | None:
        """Where the token after the latest earlier occurrence of the context's last
        n-gram stands (the longest n first); None when none came before."""
        context = self.context
        for n in range(self.max_ngram, self.min_ngram - 1, -1):
            if len(context) <= n:
                continue
            start = self._seen[n].get(tuple(context[-n:]))
            if start is not None:
                return start
        return None

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
