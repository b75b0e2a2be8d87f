"""Context-window policy: make a conversation fit ``n_ctx`` without cutting a message.

The system prompt and the newest message always stay. When the whole conversation does
not fit, the oldest turns are dropped, whole messages at a time, so that the kept
history still starts with a user turn, and in steps of half a window, so that the kept
prompt's start stays put from one reply to the next and its cache is reused. The caller
learns how many were dropped. ``ContextFitter`` remembers where it cut a conversation, so
a long one is not rendered a dozen times for each reply to find the same cut again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.core.errors import ContextOverflowError
from app.core.i18n import translate

Message = dict[str, str]
Tokenize = Callable[[list[Message]], list[int]]

# Never plan a reply with less room than this, even when max_tokens asks for less.
MIN_REPLY_TOKENS = 16
# Room kept for the newest message when deciding where to cut (a spoken question is 10-30
# tokens), at most an eighth of a step: a newest message this short never moves the cut.
NEWEST_ROOM = 64


@dataclass(frozen=True)
class FittedPrompt:
    """The messages actually sent, their prompt tokens and how many were left out."""

    messages: list[Message]
    tokens: list[int]
    dropped_messages: int
    reply_budget: int

    @property
    def notice(self) -> str | None:
        """A sentence for the user when history was left out, else None."""
        if not self.dropped_messages:
            return None
        if self.dropped_messages == 1:
            return translate(
                "Notices",
                "The conversation is longer than the model's context window, so the oldest "
                "message was left out of this reply.",
            )
        return translate(
            "Notices",
            "The conversation is longer than the model's context window, so the oldest "
            "{n} messages were left out of this reply.",
        ).format(n=self.dropped_messages)


def reply_reserve(n_ctx: int, max_tokens: int | None) -> int:
    """Tokens kept free for the reply: what was asked for, capped at half the window."""
    wanted = max_tokens if max_tokens and max_tokens > 0 else n_ctx // 4
    return max(MIN_REPLY_TOKENS, min(wanted, n_ctx // 2))


def fit_to_context(
    messages: Sequence[Message],
    tokenize: Tokenize,
    *,
    n_ctx: int,
    max_tokens: int | None,
) -> FittedPrompt:
    """Drop the oldest turns until the prompt plus the reply reserve fits ``n_ctx``.

    ``tokenize`` renders a message list with the chat template and tokenizes it.
    Raises ContextOverflowError when the system prompt and the newest message alone
    leave no room for a reply.
    """
    split, budget = _Split.of(messages), _budget(n_ctx, max_tokens)
    return _fit(split, tokenize, budget, n_ctx)[0]


class ContextFitter:
    """``fit_to_context`` for the requests of one loaded model, which remembers where it
    cut the last few conversations.

    A conversation that has grown since its last reply (the same messages up to the cut)
    is checked at its known cut points only: two renderings of the kept part, instead of
    the whole conversation's and a dozen more. (On a 2-core CPU the search cost 0.27 s a
    reply in a 200-turn voice conversation.) The answer is ``fit_to_context``'s wherever
    the tokens a cut drops do not depend on the messages after it, as with templates
    that render each message on its own; a conversation that changed before its cut, or
    whose newest message shrank, is searched again.
    """

    def __init__(self, remembered: int = 8) -> None:
        self._cuts: list[_Cuts] = []  # the most recently used last
        self._remembered = remembered

    def fit(
        self,
        messages: Sequence[Message],
        tokenize: Tokenize,
        *,
        n_ctx: int,
        max_tokens: int | None,
        setup: object = None,
    ) -> FittedPrompt:
        """As ``fit_to_context``; ``setup`` names what else shapes the tokens (tools,
        template variables): a conversation's cuts are reused under the same one only."""
        split = _Split.of(messages)
        budget = _budget(n_ctx, max_tokens)
        limit = None
        known = next(
            (
                k
                for k in reversed(self._cuts)
                if k.budget == budget and k.setup == setup and k.holds(split)
            ),
            None,
        )
        if known is not None:
            self._cuts.remove(known)
            limit = _cut_limit(split, tokenize, budget)
            fitted = _fit_at_known_cuts(split, tokenize, known, limit, n_ctx)
            if fitted is not None:
                self._cuts.append(known)
                return fitted
            # It changed before its cut: searched again, below.
        fitted, found = _fit(split, tokenize, budget, n_ctx, limit)
        if found is not None:
            before, cut = found
            prefix = [*split.system, *split.history[:cut]]
            self._cuts.append(_Cuts(prefix, cut, before, budget, setup))
            del self._cuts[: -self._remembered]
        return fitted


@dataclass(frozen=True)
class _Budget:
    """Prompt tokens allowed (the window less the reply reserve) and the step of a cut."""

    tokens: int
    step: int


def _budget(n_ctx: int, max_tokens: int | None) -> _Budget:
    tokens = n_ctx - reply_reserve(n_ctx, max_tokens)
    return _Budget(tokens, max(1, tokens // 2))


def _newest_room(budget: _Budget) -> int:
    return min(NEWEST_ROOM, budget.step // 8)


def _cut_limit(split: _Split, tokenize: Tokenize, budget: _Budget) -> int:
    """The most prompt tokens a cut may keep: the budget, less what ``NEWEST_ROOM`` (at
    most an eighth of a step) leaves over the newest message's own tokens. The cut then
    does not depend on a newest message shorter than that room."""
    room = _newest_room(budget)
    content = split.newest.get("content")
    if not room or not isinstance(content, str):
        return budget.tokens
    own = 0
    if content:
        alone = [*split.system, split.newest]
        emptied = [*split.system, {**split.newest, "content": ""}]
        own = len(tokenize(alone)) - len(tokenize(emptied))
    return budget.tokens - max(0, room - own)


@dataclass(frozen=True)
class _Split:
    """A request's messages: the system prompt, the history and the newest message."""

    system: list[Message]
    history: list[Message]
    newest: Message

    @classmethod
    def of(cls, messages: Sequence[Message]) -> _Split:
        if not messages:
            raise ValueError("fit_to_context needs at least one message")
        msgs = list(messages)
        n_system = 0
        while n_system < len(msgs) - 1 and msgs[n_system].get("role") == "system":
            n_system += 1
        return cls(msgs[:n_system], msgs[n_system:-1], msgs[-1])

    def kept(self, drop: int) -> list[Message]:
        return [*self.system, *self.history[drop:], self.newest]

    def cuts(self) -> list[int]:
        """Valid cut points: the kept history starts with a user turn (or is empty)."""
        points = [i for i in range(1, len(self.history)) if self.history[i].get("role") == "user"]
        return [*points, len(self.history)]


@dataclass(frozen=True)
class _Cuts:
    """Where a conversation was cut (``cut``, see ``_steady_cuts``), the cut one step
    before it (``before``, 0 for none), and the system prompt and history up to ``cut``
    as they were."""

    prefix: list[Message]
    cut: int
    before: int
    budget: _Budget
    setup: object

    def holds(self, split: _Split) -> bool:
        """Is ``split`` the same conversation, unchanged up to the cut (grown after it)?"""
        cut = self.cut
        if len(split.history) <= cut or split.history[cut].get("role") != "user":
            return False
        return [*split.system, *split.history[:cut]] == self.prefix


def _fit_at_known_cuts(
    split: _Split, tokenize: Tokenize, known: _Cuts, limit: int, n_ctx: int
) -> FittedPrompt | None:
    """The fit at ``known``'s cut, when it is still the answer: the prompt after it is
    within ``limit`` and the one after the cut a step before it is not; else None."""
    cut = known.cut
    kept = split.kept(cut)
    tokens = tokenize(kept)
    if len(tokens) > limit:
        return None
    if len(tokenize(split.kept(known.before))) <= limit:
        return None  # the newest message shrank (a long one replaced): fewer steps may do
    return FittedPrompt(kept, tokens, cut, n_ctx - len(tokens))


def _fit(
    split: _Split, tokenize: Tokenize, budget: _Budget, n_ctx: int, limit: int | None = None
) -> tuple[FittedPrompt, tuple[int, int] | None]:
    """The fit, searched, keeping at most ``limit`` prompt tokens where a cut can (see
    ``_cut_limit``; measured here when not given); and, when history was cut in steps,
    the cut one step before and the cut (see ``_steady_cuts``)."""

    tried: dict[int, tuple[list[Message], list[int]]] = {}

    def attempt(drop: int) -> tuple[list[Message], list[int]]:
        if drop not in tried:
            kept = split.kept(drop)
            tried[drop] = kept, tokenize(kept)
        return tried[drop]

    kept, tokens = attempt(0)
    whole = len(tokens)
    if limit is None:
        # A conversation that fits with the whole room to spare needs no measuring (the
        # common case: a chat well inside its window).
        spare = budget.tokens - _newest_room(budget)
        limit = spare if whole <= spare else _cut_limit(split, tokenize, budget)
    if whole <= limit:
        return FittedPrompt(kept, tokens, 0, n_ctx - len(tokens)), None

    cuts = split.cuts()
    # Fewer tokens the more we drop, so binary-search the smallest cut that fits; within
    # the limit, else (a newest message longer than the room) within the budget.
    smallest = _first(cuts, lambda cut: len(attempt(cut)[1]) <= limit)
    if smallest is None and limit < budget.tokens:
        smallest = _first(cuts, lambda cut: len(attempt(cut)[1]) <= budget.tokens)
    if smallest is None:
        kept, tokens = attempt(len(split.history))
        if len(tokens) + MIN_REPLY_TOKENS <= n_ctx:
            # The newest message fits, just not with the full reserve: answer shorter.
            return FittedPrompt(kept, tokens, len(split.history), n_ctx - len(tokens)), None
        raise ContextOverflowError(
            translate(
                "Errors",
                "The newest message and the system prompt take {tokens} tokens, more than this "
                "model's context window of {n_ctx} allows for a reply. Shorten the message or "
                "raise the context length in the settings.",
            ).format(tokens=len(tokens), n_ctx=n_ctx)
        )
    before, cut = _steady_cuts(cuts, lambda cut: whole - len(attempt(cut)[1]), smallest, budget)
    kept, tokens = attempt(cut)
    return FittedPrompt(kept, tokens, cut, n_ctx - len(tokens)), (before, cut)


def _steady_cuts(
    cuts: list[int], dropped: Callable[[int], int], smallest: int, budget: _Budget
) -> tuple[int, int]:
    """Where to cut instead of ``smallest`` (the smallest cut that fits): the first cut
    after k steps of half the budget of dropped tokens, counted from the conversation's
    start, for the smallest k that fits; returned after the cut for k - 1 steps (0 for
    none), which does not fit.

    The smallest cut that fits moves by a turn with every new turn, so the prompt's
    start would change every time and llama.cpp would evaluate the whole kept history
    again for each reply (tens of seconds on a CPU once a long voice conversation fills
    the window). This cut stays put while the conversation grows by half a window, so
    replies reuse the cached prompt; then it moves on by half a window at once, as
    llama.cpp's own server discards half of its context when it is full.
    """

    def after(steps: int) -> int | None:
        """The first cut that drops ``steps`` steps of tokens or more."""
        if steps == 0:
            return 0
        return _first(cuts, lambda cut: dropped(cut) >= steps * budget.step)

    # That many steps always fit; fewer may, where a long message spans a step.
    steps = -(-dropped(smallest) // budget.step)
    point = after(steps)
    if point is None:  # no whole step left before the end: the smallest cut
        point = smallest
    while True:  # after(0), no cut, never fits: the loop ends there at the latest
        before = after(steps - 1)
        if before is None or before < smallest:
            return before or 0, point
        steps, point = steps - 1, before


def _first(cuts: list[int], holds: Callable[[int], bool]) -> int | None:
    """The first of ``cuts`` for which ``holds`` (monotone: false, then true)."""
    found: int | None = None
    low, high = 0, len(cuts) - 1
    while low <= high:
        mid = (low + high) // 2
        if holds(cuts[mid]):
            found = cuts[mid]
            high = mid - 1
        else:
            low = mid + 1
    return found
