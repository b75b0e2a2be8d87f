"""Context-window policy: make a conversation fit ``n_ctx`` without cutting a message.

The system prompt and the newest message always stay. When the whole conversation does
not fit, the oldest turns are dropped, whole messages at a time, so that the kept
history still starts with a user turn, and in steps of half a window, so that the kept
prompt's start stays put from one reply to the next and its cache is reused. The caller
learns how many were dropped.
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
    if not messages:
        raise ValueError("fit_to_context needs at least one message")
    msgs = list(messages)
    n_system = 0
    while n_system < len(msgs) - 1 and msgs[n_system].get("role") == "system":
        n_system += 1
    system, history, newest = msgs[:n_system], msgs[n_system:-1], msgs[-1]
    budget = n_ctx - reply_reserve(n_ctx, max_tokens)

    def attempt(drop: int) -> tuple[list[Message], list[int]]:
        kept = [*system, *history[drop:], newest]
        return kept, tokenize(kept)

    kept, tokens = attempt(0)
    whole = len(tokens)
    if whole <= budget:
        return FittedPrompt(kept, tokens, 0, n_ctx - len(tokens))

    # Valid cut points keep a history that starts with a user turn (or is empty).
    cuts = [i for i in range(1, len(history)) if history[i].get("role") == "user"]
    cuts.append(len(history))
    # Fewer tokens the more we drop, so binary-search the smallest cut that fits.
    best: tuple[int, list[Message], list[int]] | None = None
    low, high = 0, len(cuts) - 1
    while low <= high:
        mid = (low + high) // 2
        kept, tokens = attempt(cuts[mid])
        if len(tokens) <= budget:
            best = (cuts[mid], kept, tokens)
            high = mid - 1
        else:
            low = mid + 1
    if best is None:
        kept, tokens = attempt(len(history))
        if len(tokens) + MIN_REPLY_TOKENS <= n_ctx:
            # The newest message fits, just not with the full reserve: answer shorter.
            return FittedPrompt(kept, tokens, len(history), n_ctx - len(tokens))
        raise ContextOverflowError(
            translate(
                "Errors",
                "The newest message and the system prompt take {tokens} tokens, more than this "
                "model's context window of {n_ctx} allows for a reply. Shorten the message or "
                "raise the context length in the settings.",
            ).format(tokens=len(tokens), n_ctx=n_ctx)
        )
    drop, kept, tokens = _steady_cut(cuts, attempt, whole, budget, best)
    return FittedPrompt(kept, tokens, drop, n_ctx - len(tokens))


def _steady_cut(
    cuts: list[int],
    attempt: Callable[[int], tuple[list[Message], list[int]]],
    whole: int,
    budget: int,
    smallest: tuple[int, list[Message], list[int]],
) -> tuple[int, list[Message], list[int]]:
    """Where to cut instead of ``smallest``: after a multiple of half the budget of
    dropped tokens, counted from the conversation's start.

    The smallest cut that fits moves by a turn with every new turn, so the prompt's
    start would change every time and llama.cpp would evaluate the whole kept history
    again for each reply (tens of seconds on a CPU once a long voice conversation fills
    the window). This cut stays put while the conversation grows by half a window, so
    replies reuse the cached prompt; then it moves on by half a window at once, as
    llama.cpp's own server discards half of its context when it is full.
    """
    step = max(1, budget // 2)
    needed = whole - len(smallest[2])  # tokens the smallest cut drops
    target = -(-needed // step) * step  # the next multiple of the step
    low, high = cuts.index(smallest[0]), len(cuts) - 1
    found: tuple[int, list[Message], list[int]] | None = None
    while low <= high:  # the smallest cut that drops ``target`` tokens or more
        mid = (low + high) // 2
        kept, tokens = attempt(cuts[mid])
        if whole - len(tokens) >= target:
            found = (cuts[mid], kept, tokens)
            high = mid - 1
        else:
            low = mid + 1
    return found if found is not None else smallest
