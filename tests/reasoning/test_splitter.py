"""The thinking/answer splitter on each family's format, split at every character.

The replies below are written from each family's published format (model cards and chat
templates), not recorded from the models: what matters is where the markers are.
"""

from __future__ import annotations

import pytest

from app.core.reasoning import ReasoningSplitter, Split, split_reasoning

# (name, reply, the prompt opened the block, expected thinking, expected answer)
SAMPLES: list[tuple[str, str, bool, str, str]] = [
    (
        "qwen3",
        "<think>\nThe user says hello. I should greet back.\n</think>\n\nHello! How can I help?",
        False,
        "The user says hello. I should greet back.",
        "Hello! How can I help?",
    ),
    (
        "qwen3 thinking off (empty block)",
        "<think>\n\n</think>\n\nParis is the capital of France.",
        False,
        "",
        "Paris is the capital of France.",
    ),
    (
        "deepseek-r1 (template opened the block)",
        "Okay, 2 + 2.\nThat is 4.\n</think>\n\nThe answer is **4**.",
        True,
        "Okay, 2 + 2.\nThat is 4.",
        "The answer is **4**.",
    ),
    (
        "qwq repeats the open tag",
        "<think>\nLet me count: 1, 2, 3.\n</think>\n\nThree.",
        True,
        "Let me count: 1, 2, 3.",
        "Three.",
    ),
    (
        "magistral",
        "[THINK]The user wants 7 * 6. That is 42.[/THINK]7 × 6 = 42.",
        False,
        "The user wants 7 * 6. That is 42.",
        "7 × 6 = 42.",
    ),
    (
        "seed-oss",
        "<seed:think>Short question, short answer.</seed:think>Yes.",
        False,
        "Short question, short answer.",
        "Yes.",
    ),
    (
        "gpt-oss harmony",
        "<|channel|>analysis<|message|>User asks for 2+2. Simple.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.",
        False,
        "User asks for 2+2. Simple.",
        "2 + 2 = 4.",
    ),
    (
        "gpt-oss harmony with its return token",
        "<|channel|>analysis<|message|>Need a haiku.<|end|><|start|>assistant"
        "<|channel|>final<|message|>Autumn moon rises<|return|>",
        False,
        "Need a haiku.",
        "Autumn moon rises",
    ),
    (
        "unclosed block at the end",
        "<think>I am still weighing whether",
        False,
        "I am still weighing whether",
        "",
    ),
    (
        "template opened, reply cut while thinking",
        "Hmm, the user",
        True,
        "Hmm, the user",
        "",
    ),
    (
        "a plain reply",
        "No thinking here, just an answer.",
        False,
        "",
        "No thinking here, just an answer.",
    ),
    (
        "an answer that talks about the tags",
        "Wrap it as <think>…</think> and the UI hides it.",
        False,
        "",
        "Wrap it as <think>…</think> and the UI hides it.",
    ),
    (
        "angle brackets and brackets in the answer",
        "<think>a < b</think>Use a[0] < b[THINK and <|x|>.",
        False,
        "a < b",
        "Use a[0] < b[THINK and <|x|>.",
    ),
]
IDS = [s[0] for s in SAMPLES]
MARKERS = ("<think>", "</think>", "[THINK]", "[/THINK]", "<|channel|>", "<|message|>", "<|end|>")


def _stream(pieces: list[str], thinking_open: bool) -> tuple[list[str], list[str]]:
    splitter = ReasoningSplitter(thinking_open=thinking_open)
    thinking: list[str] = []
    answer: list[str] = []
    for piece in pieces:
        t, a = splitter.feed(piece)
        thinking.append(t)
        answer.append(a)
    t, a = splitter.flush()
    thinking.append(t)
    answer.append(a)
    assert splitter.thinking == "".join(thinking)
    assert splitter.answer == "".join(answer)
    return thinking, answer


@pytest.mark.parametrize(("name", "reply", "opened", "thinking", "answer"), SAMPLES, ids=IDS)
def test_whole_reply(name: str, reply: str, opened: bool, thinking: str, answer: str) -> None:
    split = split_reasoning(reply, thinking_open=opened)
    assert (split.thinking, split.answer) == (thinking, answer)
    opens = ("<think>", "[THINK]", "<seed:think>", "<|channel|>")
    assert split.found == (opened or reply.lstrip().startswith(opens))


@pytest.mark.parametrize(("name", "reply", "opened", "thinking", "answer"), SAMPLES, ids=IDS)
def test_split_at_every_boundary(
    name: str, reply: str, opened: bool, thinking: str, answer: str
) -> None:
    for cut in range(len(reply) + 1):
        t, a = _stream([reply[:cut], reply[cut:]], opened)
        assert "".join(t).strip() == thinking, f"cut at {cut}"
        assert "".join(a).strip() == answer, f"cut at {cut}"


@pytest.mark.parametrize(("name", "reply", "opened", "thinking", "answer"), SAMPLES, ids=IDS)
def test_one_character_at_a_time(
    name: str, reply: str, opened: bool, thinking: str, answer: str
) -> None:
    t, a = _stream(list(reply), opened)
    assert "".join(t).strip() == thinking
    assert "".join(a).strip() == answer
    # No delta ever carries a marker, nor a piece of one, outside the answer's own text.
    for delta in t:
        assert not any(m in delta for m in MARKERS)


def test_deltas_stream_before_the_block_closes() -> None:
    splitter = ReasoningSplitter()
    assert splitter.feed("<think>\nFirst I") == ("First I", "")
    assert splitter.thinking_now
    assert splitter.feed(" add two.\n</thi") == (" add two.", "")
    assert splitter.feed("nk>\n\nIt is") == ("", "It is")
    assert not splitter.thinking_now
    assert splitter.feed(" four.") == ("", " four.")
    assert splitter.flush() == ("", "")
    assert splitter.saw_thinking


def test_a_reply_that_closes_a_block_it_never_opened() -> None:
    # A template that opens the block unseen: what comes before the close is thinking.
    assert split_reasoning("Just reasoning.\n</think>\n\nThe answer.") == Split(
        "Just reasoning.", "The answer.", found=True
    )


def test_a_plain_reply_streams_exactly_as_written() -> None:
    reply = "\n  Hello there.  \n"
    for cut in range(len(reply) + 1):
        t, a = _stream([reply[:cut], reply[cut:]], False)
        assert "".join(t) == "" and "".join(a) == reply
    assert split_reasoning(reply) == Split("", "Hello there.", found=False)


def test_open_tag_after_answer_text_is_answer() -> None:
    splitter = ReasoningSplitter()
    splitter.feed("Sure. ")
    splitter.feed("<think>not a block</think>")
    splitter.flush()
    assert splitter.thinking == ""
    assert splitter.answer == "Sure. <think>not a block</think>"
