"""A long conversation on the real starter model: once history is cut, each reply renders
the conversation twice at most (not a dozen times, as the cut's search did), sends the
prompt the context policy gives, and evaluates only what is new until the cut moves.

The worker runs in this process (see test_kv_cache.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from app.core.generation import GenerationParams, Message
from app.engine import protocol as p
from app.engine.context import fit_to_context
from tests.fixtures.models import smollm2_path
from tests.kv.test_kv_cache import _close, _worker

pytestmark = pytest.mark.slow

PARAMS = GenerationParams(temperature=0.0, max_tokens=8, seed=1)
SYSTEM = "You are a helpful voice assistant. Reply in one short sentence."
QUESTIONS = [
    "What is the capital of France?",
    "How do I boil an egg?",
    "Name a colour of the rainbow.",
    "What time is it in Tokyo when it is noon in London?",
    "Tell me a fact about the moon.",
]


def test_a_voice_conversation_past_the_window_renders_little_and_reuses_its_cache() -> None:
    worker = _worker(smollm2_path(), n_ctx=512)
    renders = [0]
    tokenize = worker.tokenize_messages

    def counted(messages: list[Message], *args: Any, **kwargs: Any) -> list[int]:
        # Renderings of the kept history (the newest message alone is measured too, to
        # leave the cut room for it: two short renderings, not counted).
        renders[0] += len(messages) > 2
        return tokenize(messages, *args, **kwargs)

    worker.tokenize_messages = counted  # type: ignore[method-assign]
    events: list[p.Event] = worker.conn.sent  # type: ignore[attr-defined]
    history: list[Message] = [{"role": "system", "content": SYSTEM}]
    cut_replies: list[tuple[int, int]] = []  # (renders, tokens evaluated) of each
    moves = 0
    last_cut = 0
    try:
        for turn in range(40):
            question = QUESTIONS[turn % len(QUESTIONS)]
            # As voice asks: a draft of the question first, then the final one.
            for asked in (question.rstrip("?.") + " now", question):
                messages = [*history, {"role": "user", "content": asked}]
                renders[0] = 0
                start = len(events)
                worker.generate(p.Generate(turn, tuple(messages), PARAMS))
                prepared = next(e for e in events[start:] if isinstance(e, p.PromptPrepared))
                done = next(e for e in events[start:] if isinstance(e, p.GenerationDone))
                evaluated = worker.prompt_evaluated
                expected = fit_to_context(messages, tokenize, n_ctx=512, max_tokens=8)
                assert prepared.dropped_messages == expected.dropped_messages
                assert prepared.prompt_tokens == len(expected.tokens)
                if expected.dropped_messages:
                    if expected.dropped_messages != last_cut:
                        moves += 1
                    else:
                        cut_replies.append((renders[0], evaluated))
                    last_cut = expected.dropped_messages
            history += [
                {"role": "user", "content": question},
                {"role": "assistant", "content": done.text},
            ]
    finally:
        _close(worker)
    assert moves >= 2, "the conversation should pass the window more than once"
    assert len(cut_replies) >= 20
    # Two renderings (the prompt after the cut, and the one a step before it) each; the
    # reply's new tokens only (the last turn and the question) evaluated.
    assert max(n for n, _ in cut_replies) <= 2, cut_replies
    assert max(e for _, e in cut_replies) < 60, cut_replies


def test_a_conversation_changed_before_its_cut_gets_the_policys_prompt() -> None:
    """An edit before the cut (a regenerated old turn) is not mistaken for the same
    conversation: the prompt is searched again and is the policy's."""
    worker = _worker(smollm2_path(), n_ctx=512)
    events: list[p.Event] = worker.conn.sent  # type: ignore[attr-defined]
    history: list[Message] = [{"role": "system", "content": SYSTEM}]
    for turn in range(30):
        history += [
            {"role": "user", "content": QUESTIONS[turn % len(QUESTIONS)]},
            {"role": "assistant", "content": f"Answer number {turn} is a short sentence."},
        ]
    asked = [*history, {"role": "user", "content": "And one more thing?"}]
    edited = [*asked[:3], {"role": "assistant", "content": "A much longer answer. " * 12}]
    edited += asked[4:]
    try:
        for messages in (asked, edited, asked):
            start = len(events)
            worker.generate(p.Generate(1, tuple(messages), replace(PARAMS, max_tokens=2)))
            prepared = next(e for e in events[start:] if isinstance(e, p.PromptPrepared))
            expected = fit_to_context(messages, worker.tokenize_messages, n_ctx=512, max_tokens=2)
            assert prepared.dropped_messages == expected.dropped_messages > 0
            assert prepared.prompt_tokens == len(expected.tokens)
    finally:
        _close(worker)


def test_a_warm_up_keeps_the_history_its_reply_will_keep() -> None:
    """Voice reads the conversation into the cache after each turn (a prefill planned as
    for the reply), so that the next question evaluates only its own words. Once history
    is cut, the cut depends on the room left for the reply: planned for one token, the
    warm-up kept other turns than the reply (160 tokens of room) and both read the whole
    prompt again, every turn. And where the question's own words crossed a step, the
    question moved the cut the warm-up had kept, and read it all again."""
    worker = _worker(smollm2_path(), n_ctx=512)
    events: list[p.Event] = worker.conn.sent  # type: ignore[attr-defined]
    # A reply of up to 160 tokens, as voice asks; stopped at its first space here (the
    # room planned for it is what matters).
    reply = GenerationParams(temperature=0.0, max_tokens=160, seed=1, stop=(" ",))
    history: list[Message] = [{"role": "system", "content": SYSTEM}]
    cut_turns: list[tuple[int, int, int]] = []  # (warm-up's cut, the reply's, evaluated)
    try:
        for turn in range(40):
            warm = [*history, {"role": "user", "content": ""}]
            question = [*history, {"role": "user", "content": QUESTIONS[turn % len(QUESTIONS)]}]
            cuts = []
            for messages, params in ((warm, replace(reply, prefill=True)), (question, reply)):
                start = len(events)
                worker.generate(p.Generate(turn, tuple(messages), params))
                prepared = next(e for e in events[start:] if isinstance(e, p.PromptPrepared))
                done = next(e for e in events[start:] if isinstance(e, p.GenerationDone))
                cuts.append(prepared.dropped_messages)
            assert done.stats.completion_tokens <= 2  # the question's own reply, short
            if cuts[1]:
                cut_turns.append((cuts[0], cuts[1], worker.prompt_evaluated))
            history += [
                {"role": "user", "content": question[-1]["content"]},
                {"role": "assistant", "content": f"Here is answer number {turn}."},
            ]
    finally:
        _close(worker)
    assert len(cut_turns) >= 20, cut_turns
    # Every question keeps the warm-up's history, even where its own words would have
    # crossed a step (the cut leaves room for them), and evaluates only its own words.
    assert all(warmed == asked for warmed, asked, _ in cut_turns), cut_turns
    assert len({asked for _, asked, _ in cut_turns}) >= 2, "the cut should move on"
    assert max(evaluated for _, _, evaluated in cut_turns) < 40, cut_turns
