"""What a chat template does with reasoning: read from its text, and seen in its real
rendering (Hearth's sandboxed Jinja renderer, as the engine uses it)."""

from __future__ import annotations

from typing import Any

from app.core.gguf_meta import read_gguf
from app.core.reasoning import (
    TemplateReasoning,
    prompt_opens_thinking,
    reasoning_for_template,
    template_reasoning,
)
from app.engine.templates import BUILTIN_FORMATS, ChatFormat, render_prompt
from tests.fixtures.models import smollm2_path
from tests.reasoning.templates import (
    CHATML_OPENS_THINK,
    MAGISTRAL_STYLE,
    QWEN3_STYLE,
    R1_STYLE,
)

HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "What is 2 + 2?"},
    {"role": "assistant", "content": "4.", "reasoning_content": "Two and two make four."},
    {"role": "user", "content": "And 3 + 3?"},
]


def render(template: str, messages: list[dict[str, Any]], **variables: Any) -> str:
    return render_prompt(ChatFormat("gguf", template, source="gguf"), messages, extra=variables)


def test_the_generation_prompt_opens_the_block_for_r1_and_thinking_only_chatml() -> None:
    for template in (R1_STYLE, CHATML_OPENS_THINK):
        assert prompt_opens_thinking(render(template, HISTORY[:1]))


def test_qwen3_opens_nothing_and_thinking_off_closes_an_empty_block() -> None:
    on = render(QWEN3_STYLE, HISTORY[:1])
    off = render(QWEN3_STYLE, HISTORY[:1], enable_thinking=False)
    assert not prompt_opens_thinking(on)
    assert not prompt_opens_thinking(off)
    assert off.endswith("<think>\n\n</think>\n\n") and "<think>" not in on


def test_plain_and_magistral_prompts_open_nothing() -> None:
    assert not prompt_opens_thinking(render(MAGISTRAL_STYLE, HISTORY[:1]))
    assert not prompt_opens_thinking(render(BUILTIN_FORMATS["chatml"].template, HISTORY[:1]))
    assert not prompt_opens_thinking("<|im_start|>user\nWhat does <think> do?<|im_end|>\n")


def test_template_reading() -> None:
    assert template_reasoning(QWEN3_STYLE) == TemplateReasoning(
        enable_thinking=True, reasoning_content=True, thinks=True
    )
    assert template_reasoning(R1_STYLE) == TemplateReasoning(thinks=True)
    assert template_reasoning(MAGISTRAL_STYLE).thinks
    assert template_reasoning(None) == TemplateReasoning()
    # The starter model's own template (SmolLM2, read from its GGUF) knows nothing of it.
    starter = read_gguf(smollm2_path(), check_data=False).chat_template
    assert starter and template_reasoning(starter) == TemplateReasoning()


def test_thinking_goes_back_only_to_a_template_that_reads_it() -> None:
    kept = reasoning_for_template(HISTORY, QWEN3_STYLE)
    assert kept == HISTORY
    assert "<think>\nTwo and two make four.\n</think>" in render(QWEN3_STYLE, kept)
    for template in (R1_STYLE, BUILTIN_FORMATS["chatml"].template):
        dropped = reasoning_for_template(HISTORY, template)
        assert all("reasoning_content" not in m for m in dropped)
        assert [m["content"] for m in dropped] == [m["content"] for m in HISTORY]
        assert "Two and two" not in render(template, dropped)
    assert "reasoning_content" in HISTORY[1], "the caller's messages are left as they were"
