"""The tool loop with a reasoning model (scripted replies in Qwen3's and DeepSeek-R1's
shapes): calls are read from the answer, never from the thinking; the thinking goes
back to the model as reasoning_content; what is shown splits into thinking and answer."""

from __future__ import annotations

from collections.abc import Sequence

from app.core.generation import GenerationParams, Message
from app.core.reasoning import split_reasoning
from app.engine import protocol as p
from app.engine.client import RequestHandle
from app.tools.agent import ToolTurn, run_turn
from app.tools.builtin.calculator import calculator_tool
from app.tools.registry import ToolContext
from tests.tools.test_agent import ASK_SUM, STATS, ScriptedEngine, hermes, registry_of

CALL = hermes("calculator", {"expression": "6*7"})


class OpenedEngine(ScriptedEngine):
    """Scripted replies whose prompts open the thinking block (DeepSeek-R1's template)."""

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> RequestHandle:
        handle = RequestHandle(len(self.requests) + 1, "generate")
        self.requests.append((list(messages), params or GenerationParams()))
        text = self.replies.pop(0)
        handle._push(p.PromptPrepared(handle.request_id, 10, 0, None, thinking_open=True))
        for at in range(0, len(text), 4):
            handle._push(p.Delta(handle.request_id, text[at : at + 4]))
        handle._push(p.GenerationDone(handle.request_id, text, "stop", STATS))
        return handle


def run(engine: ScriptedEngine) -> tuple[str, list[dict[str, object]], int]:
    calc = calculator_tool()
    turn = ToolTurn(ASK_SUM, [calc], GenerationParams())
    shown: list[str] = []
    outcome = run_turn(
        engine, turn, ToolContext(), registry=registry_of(calc), on_delta=shown.append
    )
    return "".join(shown), outcome.records, outcome.rounds


def test_a_thinking_model_calls_and_its_thinking_goes_back_apart() -> None:
    engine = ScriptedEngine(
        [
            f"<think>I need the calculator.</think>\n\n{CALL}",
            "<think>It says 42.</think>\nIt is 42.",
        ]
    )
    shown, records, rounds = run(engine)
    assert rounds == 2 and [r["result"] for r in records] == ["42"]
    split = split_reasoning(shown)
    assert (split.thinking, split.answer) == ("I need the calculator.\n\nIt says 42.", "It is 42.")
    calling = engine.requests[1][0][-2]
    assert calling["reasoning_content"] == "I need the calculator."
    assert "think" not in calling["content"] and calling["tool_calls"]


def test_a_call_written_inside_the_thinking_is_not_run() -> None:
    engine = ScriptedEngine([f"<think>Maybe {CALL}, no.</think>The answer is 42."])
    shown, records, rounds = run(engine)
    assert (records, rounds) == ([], 1)
    assert split_reasoning(shown).answer == "The answer is 42."


def test_prompts_that_open_the_block_keep_every_round_thinking() -> None:
    engine = OpenedEngine([f"I need it.</think>{CALL}", "Got 42.</think>It is 42."])
    shown, records, _ = run(engine)
    assert [r["result"] for r in records] == ["42"]
    split = split_reasoning(shown, thinking_open=True)
    assert (split.thinking, split.answer) == ("I need it.\n\nGot 42.", "It is 42.")
    assert engine.requests[1][0][-2]["reasoning_content"] == "I need it."
