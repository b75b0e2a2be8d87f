"""Chat templates proven bounded render in the engine worker itself, exactly as in the
renderer child, under the same time limit and output cap; everything else still goes to
the child."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.errors import ChatTemplateError
from app.engine.deadline import WATCHDOG, DeadlinePassed
from app.engine.renderer import TemplateRenderer
from app.engine.template_bounds import (
    MAX_INPUT_CHARS,
    input_in_bounds,
    renders_in_bounds,
    unbounded_reason,
)
from app.engine.templates import ChatFormat
from tests.fixtures.models import smollm2_path

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "chat_templates"
ADMITTED = [
    "meta-llama-Llama-3.1-8B-Instruct",
    "Qwen-Qwen2.5-7B-Instruct",
    "Qwen-Qwen3-0.6B",
    "google-gemma-2-2b-it",
    "microsoft-Phi-3.5-mini-instruct",
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B",
    "HuggingFaceTB-SmolLM3-3B",
]
# Real templates the proof does not admit: they keep rendering in the child.
TO_CHILD = {
    # A filtered list of the messages: harmless here, but the proof cannot tell it from
    # a list that ``~`` would write out quoted, turn after turn.
    "mistralai-Mistral-Nemo-Instruct-2407": "user_messages is set through something that grows",
    "Mistral-Small-3.2-24B-Instruct-2506": "user_messages is set through something that grows",
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use": "Macro",
}
CONVERSATION = [  # no system message: Gemma 2's template refuses one
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": "Sunny, 21 degrees."},
    {"role": "user", "content": "And in Lyon?"},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
# Each builds something far bigger than its input, runs for ever, or leaves the sandbox:
# none may render in the worker.
HOSTILE = {
    "range": "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}",
    "times": "{{ 'x' * 3000000000 }}",
    "power": "{{ 10 ** 10 ** 10 }}",
    "percent": "{{ '%999999999d' % 1 }}",
    "percent-content": "{{ messages[0].content % 1 }}",
    "format": "{{ '{:>999999999}'.format(1) }}",
    "center": "{{ 'x'|center(999999999) }}",
    "indent": "{{ messages|tojson(indent=999999999) }}",
    "replace-grows": "{{ messages[0].content|replace('', 'xxxx') }}",
    "batch": "{{ messages|batch(999999999, 'x')|list }}",
    "lipsum": "{{ lipsum(n=999999999) }}",
    "private": "{{ messages.__class__.__init__ }}",
    "private-item": "{{ messages['__class__'] }}",
    "macro": "{% macro m(n) %}{{ m(n) }}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    "recursive-loop": "{% for m in messages recursive %}{{ loop(messages) }}{% endfor %}",
    "double-itself": (
        "{% set ns = namespace(s='x') %}{% for m in messages %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s }}"
    ),
    "double-by-copy": (
        "{% set ns = namespace(s='x', t='') %}{% for m in messages %}{% set ns.t = ns.s %}"
        "{% set ns.s = ns.s ~ ns.t %}{% endfor %}"
    ),
    "double-straight": "{% set a = messages|string %}{% set b = a ~ a %}{% set a = b ~ b %}" * 20,
    "double-block": "{% set a = 'x' %}" + "{% set a %}{{ a }}{{ a }}{% endset %}" * 40,
    "grow-by-tojson": (
        "{% set ns = namespace(s='<') %}{% for m in messages %}{% set ns.s = ns.s|tojson %}"
        "{% endfor %}"
    ),
    "grow-by-join": (
        "{% set ns = namespace(s='ab') %}{% for m in messages %}"
        "{% set ns.s = ns.s|list|join('xyz') %}{% endfor %}"
    ),
    "grow-by-string": (
        "{% set ns = namespace(s='ab') %}{% for m in messages %}"
        "{% set ns.s = ns.s|list|string %}{% endfor %}"
    ),
    "grow-by-whole-input": (
        "{% set ns = namespace(s='') %}{% for c in messages[0].content %}"
        "{% set ns.s = ns.s ~ (messages|tojson) %}{% endfor %}"
    ),
    "nested-top-level-loops": (
        "{% for a in messages %}{% for b in messages %}{% for c in messages %}{{ c.content }}"
        "{% endfor %}{% endfor %}{% endfor %}"
    ),
    "nested-item-loops": (
        "{% for m in messages %}{% for a in m.content %}{% for b in m.content %}"
        "{{ b }}{% endfor %}{% endfor %}{% endfor %}"
    ),
    "loop-into-block": (
        "{% set a %}{% for m in messages %}{{ messages|tojson }}{% endfor %}{% endset %}"
    ),
    "list-then-quote": (
        "{% set ns = namespace(s='ab') %}{% for m in messages %}"
        "{% set ns.s = (ns.s.split('a') ~ '') %}{% endfor %}"
    ),
    "list-literal-then-quote": (
        "{% set ns = namespace(s='\\\\') %}{% for m in messages %}"
        "{% set ns.s = [ns.s] ~ '' %}{% endfor %}"
    ),
    "strftime-format": (
        "{% set ns = namespace(s='%c') %}{% for m in messages %}"
        "{% set ns.s = strftime_now(ns.s) %}{% endfor %}"
    ),
    "two-variables": ("{% set a = messages|tojson %}{% set b = a %}" + "{% set b = b ~ a %}" * 30),
    "cycler": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "method": "{{ messages[0].content.zfill(999999999) }}",
}


def gguf(template: str) -> ChatFormat:
    return ChatFormat("gguf", template, source="gguf")


def template(name: str) -> str:
    return (TEMPLATES / f"{name}.jinja").read_text(encoding="utf-8")


@pytest.fixture
def renderer() -> Iterator[TemplateRenderer]:
    renderer = TemplateRenderer()
    yield renderer
    renderer.close()


@pytest.mark.parametrize("name", ADMITTED)
def test_the_common_families_templates_render_here_exactly_as_in_the_child(
    renderer: TemplateRenderer, name: str
) -> None:
    source = template(name)
    assert renders_in_bounds(source), unbounded_reason(source)
    child = TemplateRenderer(in_process=False)
    try:
        for extra in ({}, {"tools": TOOLS}):
            variants = [CONVERSATION, CONVERSATION[:1]]
            here = renderer.render(gguf(source), variants, bos_token="<s>", extra=extra)
            assert here == child.render(gguf(source), variants, bos_token="<s>", extra=extra)
            assert "And in Lyon?" in here[0]
    finally:
        child.close()
    assert renderer.pid is None and renderer.starts == 0  # no child was needed


def test_the_starter_models_template_renders_here() -> None:
    from app.catalog.gguf_meta import read_gguf

    source = read_gguf(smollm2_path()).chat_template
    assert source and renders_in_bounds(source), unbounded_reason(source or "")


@pytest.mark.parametrize("name", sorted(TO_CHILD))
def test_templates_the_proof_does_not_cover_go_to_the_child(
    renderer: TemplateRenderer, name: str
) -> None:
    source = template(name)
    assert unbounded_reason(source) == TO_CHILD[name]
    text = renderer.render(gguf(source), [CONVERSATION[:1]])[0]
    assert "What is the weather in Paris?" in text
    assert renderer.pid is not None and renderer.starts == 1


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_templates_that_could_run_away_are_not_admitted(source: str) -> None:
    assert not renders_in_bounds(source)


def test_a_long_template_is_not_admitted() -> None:
    assert unbounded_reason("{{ 'x' }}" * 5000) == "too long"


def test_a_large_input_goes_to_the_child(renderer: TemplateRenderer) -> None:
    source = template("Qwen-Qwen2.5-7B-Instruct")
    big = [{"role": "user", "content": "word " * (MAX_INPUT_CHARS // 5)}]
    assert not input_in_bounds([big])
    assert input_in_bounds([CONVERSATION], (("tools", TOOLS),))
    text = renderer.render(gguf(source), [big])[0]
    assert text.count("word") == MAX_INPUT_CHARS // 5
    assert renderer.starts == 1


def test_output_past_the_cap_fails_here_as_in_the_child() -> None:
    small = TemplateRenderer(max_chars=1000)
    try:
        source = "{% for m in messages %}{{ m.content }}{% endfor %}"
        assert renders_in_bounds(source)
        with pytest.raises(ChatTemplateError, match="wrote more than"):
            small.render(gguf(source), [[{"role": "user", "content": "x" * 2000}]])
        assert small.starts == 0
    finally:
        small.close()


def test_a_bounded_but_slow_render_is_stopped_at_the_time_limit_here() -> None:
    # Linear in its input, but 900 filters per character of a 30 000-character message:
    # seconds of work, admitted by the proof, stopped by the time limit.
    body = "{% if (c|upper|lower|trim) == 'q' %}q{% endif %}" * 300
    source = "{% for m in messages %}{% for c in m.content %}" + body + "{% endfor %}{% endfor %}"
    assert renders_in_bounds(source)
    quick = TemplateRenderer(time_limit_s=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(ChatTemplateError, match=r"longer than 0\.3 s") as caught:
            quick.render(gguf(source), [[{"role": "user", "content": "a" * 30_000}]])
        assert time.monotonic() - started < 2.0
        assert caught.value.reason == "took longer than 0.3 s to render"
        assert quick.starts == 0  # stopped here, no child involved
        assert quick.render(gguf(source), [[{"role": "user", "content": "qa"}]]) == ["q" * 300]
    finally:
        quick.close()


def test_a_deadline_stops_a_python_loop_and_leaves_nothing_pending() -> None:
    started = time.monotonic()
    with pytest.raises(DeadlinePassed), WATCHDOG.limit(0.2):
        while True:
            pass
    assert 0.2 <= time.monotonic() - started < 1.0
    # Blocks ending just around their limit: the exception comes out of the block or not
    # at all, never later in the code after it.
    rng = random.Random(7)
    for _ in range(20):
        limit = rng.uniform(0.0, 0.15)
        try:
            with WATCHDOG.limit(limit):
                spin(rng.uniform(0.05, 0.2))
        except DeadlinePassed:
            pass
        spin(0.12)  # more than one watchdog look: a late exception would land here


def spin(seconds: float) -> None:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        pass


def test_the_watchdog_sleeps_while_nothing_runs_under_a_limit() -> None:
    with WATCHDOG.limit(5.0):
        pass
    spin(0.25)  # its last look finds nothing to watch
    assert WATCHDOG.idle
    with pytest.raises(DeadlinePassed), WATCHDOG.limit(0.1):
        spin(2.0)
