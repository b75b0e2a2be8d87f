"""Context-window policy with a word-counting tokenizer (fast, exact arithmetic)."""

from __future__ import annotations

import itertools

import pytest

from app.core.errors import ContextOverflowError
from app.engine.context import MIN_REPLY_TOKENS, ContextFitter, fit_to_context, reply_reserve


def words(messages: list[dict[str, str]]) -> list[int]:
    # Four tokens of template overhead per message, plus one per word.
    return [0] * sum(4 + len(m["content"].split()) for m in messages)


def conversation(turns: int, words_per_message: int = 10) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": "sys " * 5}]
    for i in range(turns):
        msgs.append({"role": "user", "content": f"q{i} " * words_per_message})
        msgs.append({"role": "assistant", "content": f"a{i} " * words_per_message})
    msgs.append({"role": "user", "content": "newest " * words_per_message})
    return msgs


def test_everything_kept_when_it_fits() -> None:
    msgs = conversation(2)
    fitted = fit_to_context(msgs, words, n_ctx=512, max_tokens=64)
    assert fitted.messages == msgs and fitted.dropped_messages == 0 and fitted.notice is None


def test_oldest_turns_dropped_system_and_newest_kept() -> None:
    msgs = conversation(20)  # 9 + 40*14 + 14 = 583 tokens
    fitted = fit_to_context(msgs, words, n_ctx=300, max_tokens=100)
    assert fitted.messages[0] == msgs[0] and fitted.messages[-1] == msgs[-1]
    assert fitted.messages[1]["role"] == "user", "kept history starts with a user turn"
    assert len(fitted.tokens) <= 300 - 100
    # The cut is the first after a multiple of half the budget (100 tokens) of dropped
    # tokens: 583 - 200 = 383 must go, so at least 400, and one turn fewer is less.
    dropped = len(words(msgs)) - len(fitted.tokens)
    assert dropped >= 400
    bigger = [msgs[0], *msgs[1 + fitted.dropped_messages - 2 :]]
    assert len(words(msgs)) - len(words(bigger)) < 400
    assert fitted.dropped_messages % 2 == 0 and fitted.dropped_messages > 0
    assert "left out" in (fitted.notice or "")


def test_the_cut_stays_put_while_a_conversation_grows() -> None:
    """Each reply's prompt starts where the last one did, so llama.cpp reuses its cache,
    until the cut moves on by half the budget at once (not by a turn every reply)."""
    budget = 300 - 100
    fits = [
        fit_to_context(conversation(turns), words, n_ctx=300, max_tokens=100)
        for turns in range(10, 80)
    ]
    steady = 0
    for before, after in itertools.pairwise(fits):
        assert len(after.tokens) <= budget and after.messages[1]["role"] == "user"
        if before.messages[1] == after.messages[1]:
            # The same start: the last prompt's history is the start of this one's.
            assert after.messages[: len(before.messages) - 1] == before.messages[:-1]
            steady += 1
    # 69 new turns of 28 tokens (1932 tokens) at 100 tokens a step: at most 20 moves.
    assert steady >= 69 - 20


def test_a_long_message_spanning_a_step_takes_one_step_not_two() -> None:
    """The cut is the first after k steps for the smallest k that fits: where one long
    message spans a step boundary, the cut after fewer steps may already fit."""
    msgs = conversation(3)
    msgs[2] = {"role": "assistant", "content": "long " * 150}  # ends past the first step
    msgs += [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]
    fitted = fit_to_context(msgs, words, n_ctx=300, max_tokens=100)
    assert fitted.dropped_messages == 2  # the first turn, long answer and all
    assert len(words(msgs)) - len(fitted.tokens) >= 100  # one step of dropped tokens


class Counting:
    """``words``, counting the renderings with history in them (not the newest message's
    own, measured alone) and all the tokens it made."""

    def __init__(self) -> None:
        self.calls = 0
        self.tokens = 0

    def __call__(self, messages: list[dict[str, str]]) -> list[int]:
        self.calls += len(messages) > 2
        tokens = words(messages)
        self.tokens += len(tokens)
        return tokens


def test_the_fitter_answers_as_fit_to_context_and_renders_far_less() -> None:
    """A growing conversation, each turn a draft question replaced by the final one (as
    voice does): the same prompts as ``fit_to_context``, at a fraction of the renderings."""
    fitter, counted, plain = ContextFitter(), Counting(), Counting()
    for turns in range(10, 200):
        msgs = conversation(turns)
        draft = [*msgs[:-1], {"role": "user", "content": "draft " * (3 + turns % 7)}]
        for asked in (draft, msgs):
            expected = fit_to_context(asked, plain, n_ctx=1000, max_tokens=100)
            assert fitter.fit(asked, counted, n_ctx=1000, max_tokens=100) == expected
    assert counted.calls * 4 < plain.calls and counted.tokens * 4 < plain.tokens


def test_a_question_cuts_where_the_warm_up_before_it_did() -> None:
    """Voice reads the conversation with an empty question while the user talks (a
    warm-up); the question then keeps the same history, even on the turn that moves the
    cut: had the question moved it, llama.cpp would read the whole kept history again
    before its first token (seconds on a CPU), once in every few dozen turns."""
    fitter = ContextFitter()
    moves = 0
    last = None
    for turns in range(10, 200):
        history = conversation(turns)[:-1]
        warm_up = [*history, {"role": "user", "content": ""}]
        question = [*history, {"role": "user", "content": "word " * (10 + turns % 25)}]
        warmed = fitter.fit(warm_up, words, n_ctx=1000, max_tokens=100)
        asked = fitter.fit(question, words, n_ctx=1000, max_tokens=100)
        assert asked.dropped_messages == warmed.dropped_messages, turns
        assert asked == fit_to_context(question, words, n_ctx=1000, max_tokens=100)
        moves += last is not None and warmed.dropped_messages != last
        last = warmed.dropped_messages
    assert moves >= 5  # the cut moved on, each time in a warm-up


def test_a_newest_message_longer_than_the_room_still_fits() -> None:
    history = conversation(40)[:-1]
    long_question = [*history, {"role": "user", "content": "word " * 150}]
    fitted = fit_to_context(long_question, words, n_ctx=1000, max_tokens=100)
    assert len(fitted.tokens) <= 900 and fitted.messages[-1] == long_question[-1]
    warmed = fit_to_context(
        [*history, {"role": "user", "content": ""}], words, n_ctx=1000, max_tokens=100
    )
    assert fitted.dropped_messages >= warmed.dropped_messages


def test_the_fitter_searches_again_when_the_conversation_changed_before_its_cut() -> None:
    fitter = ContextFitter()
    msgs = conversation(40)
    fitter.fit(msgs, words, n_ctx=300, max_tokens=100)
    edited = [*msgs[:3], {"role": "assistant", "content": "short"}, *msgs[4:]]
    assert fitter.fit(edited, words, n_ctx=300, max_tokens=100) == fit_to_context(
        edited, words, n_ctx=300, max_tokens=100
    )
    shrunk = [*msgs[:-1], {"role": "user", "content": "w"}]  # the newest replaced
    for asked in (msgs, shrunk, msgs):
        assert fitter.fit(asked, words, n_ctx=300, max_tokens=100) == fit_to_context(
            asked, words, n_ctx=300, max_tokens=100
        )
    # Another window (or reply reserve) is another budget: searched, not reused.
    assert fitter.fit(msgs, words, n_ctx=400, max_tokens=100) == fit_to_context(
        msgs, words, n_ctx=400, max_tokens=100
    )


def test_the_fitter_keeps_the_cuts_of_conversations_taking_turns() -> None:
    """Two conversations answered in turn (two clients of the server) both keep theirs;
    a different setup (tools) does not reuse them."""
    fitter, counted = ContextFitter(), Counting()
    first = conversation(40)
    second = [first[0], *conversation(45, words_per_message=9)[1:]]
    for asked in (first, second):
        fitter.fit(asked, counted, n_ctx=300, max_tokens=100)
    counted.calls = 0
    for asked in (first, second, first):
        fitted = fitter.fit(asked, counted, n_ctx=300, max_tokens=100)
        assert fitted == fit_to_context(asked, words, n_ctx=300, max_tokens=100)
    assert counted.calls == 3 * 2  # the kept prompt and the one a step before it
    fitter.fit(first, counted, n_ctx=300, max_tokens=100, setup="tools")
    assert counted.calls > 3 * 2 + 2


def test_reply_budget_is_what_remains() -> None:
    fitted = fit_to_context(conversation(1), words, n_ctx=256, max_tokens=32)
    assert fitted.reply_budget == 256 - len(fitted.tokens)


def test_newest_message_alone_too_big_is_a_clear_error() -> None:
    msgs = [{"role": "user", "content": "w " * 1000}]
    with pytest.raises(ContextOverflowError, match="Shorten the message"):
        fit_to_context(msgs, words, n_ctx=256, max_tokens=32)


def test_newest_message_fits_with_a_shorter_reply() -> None:
    msgs = [*conversation(3)[:-1], {"role": "user", "content": "w " * 200}]
    fitted = fit_to_context(msgs, words, n_ctx=256, max_tokens=128)
    assert fitted.messages[-1] == msgs[-1]
    assert fitted.reply_budget >= MIN_REPLY_TOKENS


def test_reserve_is_capped_at_half_the_window() -> None:
    assert reply_reserve(1000, 5000) == 500
    assert reply_reserve(1000, None) == 250
    assert reply_reserve(1000, 1) == MIN_REPLY_TOKENS
