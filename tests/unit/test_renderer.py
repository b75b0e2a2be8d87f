"""The template renderer: a real child process, each render under a time, size and memory
budget; a runaway is killed and replaced, and the caller (the engine worker) goes on."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from app.core.errors import ChatTemplateError, ModelError
from app.engine.renderer import MAX_CHARS, TIME_LIMIT_S, TemplateRenderer
from app.engine.templates import BUILTIN_FORMATS, ChatFormat, render_prompt

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Capital of France?"},
]
CHATML = BUILTIN_FORMATS["chatml"].template
LOOP = (
    "{% for a in range(99999) %}{% for b in range(99999) %}{% for c in range(99999) %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)


def gguf(template: str) -> ChatFormat:
    return ChatFormat("gguf", template, source="gguf")


@pytest.fixture
def renderer() -> Iterator[TemplateRenderer]:
    # The child's own budget: every render goes to it (rendering in this process is
    # tested in test_template_bounds.py).
    renderer = TemplateRenderer(in_process=False)
    yield renderer
    renderer.close()


def wait_gone(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """The processes still alive after up to ``timeout`` seconds."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return alive


def child(renderer: TemplateRenderer) -> psutil.Process:
    pid = renderer.pid
    assert pid is not None and pid != os.getpid()
    return psutil.Process(pid)


def test_the_budget_is_two_seconds_and_four_mib() -> None:
    assert TIME_LIMIT_S == 2.0 and MAX_CHARS == 4 * 1024 * 1024


def test_renders_what_jinja_renders_here(renderer: TemplateRenderer) -> None:
    short = CONVERSATION[:2]
    texts = renderer.render(gguf(CHATML), [CONVERSATION, short], bos_token="<s>")
    assert texts == [
        render_prompt(BUILTIN_FORMATS["chatml"], CONVERSATION, bos_token="<s>"),
        render_prompt(BUILTIN_FORMATS["chatml"], short, bos_token="<s>"),
    ]
    assert texts[0].endswith("<|im_start|>assistant\n")


def test_a_runaway_template_is_stopped_at_two_seconds_and_the_renderer_replaced(
    renderer: TemplateRenderer,
) -> None:
    renderer.render(gguf(CHATML), [CONVERSATION])  # started and warm
    first = child(renderer)
    started = time.monotonic()
    with pytest.raises(ChatTemplateError, match="longer than 2 s") as caught:
        renderer.render(gguf(CHATML + LOOP), [CONVERSATION])
    took = time.monotonic() - started
    assert TIME_LIMIT_S <= took < TIME_LIMIT_S + 1.5, took
    assert caught.value.reason == "took longer than 2 s to render"
    assert not wait_gone([first], 2.0), "the runaway renderer was not killed"
    # A fresh renderer answers the next render; this process never stopped.
    assert renderer.render(gguf(CHATML), [CONVERSATION[:2]])[0].startswith("<|im_start|>system")
    assert child(renderer).pid != first.pid and renderer.starts == 2


def test_output_past_the_size_limit_is_cut_off_early(renderer: TemplateRenderer) -> None:
    flood = "{% for a in range(99999) %}{{ 'x' * 10000 }}{% endfor %}"  # ~1 GB if let run
    started = time.monotonic()
    with pytest.raises(ChatTemplateError, match="more than 4 MiB") as caught:
        renderer.render(gguf(flood), [CONVERSATION])
    assert time.monotonic() - started < 1.5
    assert caught.value.reason == "wrote more than 4 MiB of text"
    # Just under the limit is fine.
    under = "{% for a in range(400) %}{{ 'x' * 10000 }}{% endfor %}"
    assert len(renderer.render(gguf(under), [CONVERSATION])[0]) == 4_000_000


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux")
def test_a_memory_bomb_fails_in_the_renderer_not_here(renderer: TemplateRenderer) -> None:
    renderer.render(gguf(CHATML), [CONVERSATION])
    first = child(renderer)
    here = psutil.Process().memory_info().rss
    # One 3 GB string: more than the renderer may hold, far less than this machine has.
    with pytest.raises(ChatTemplateError, match="MiB of memory") as caught:
        renderer.render(gguf("{{ 'x' * 3000000000 }}"), [CONVERSATION])
    assert caught.value.reason == "needed more than 512 MiB of memory to render"
    assert psutil.Process().memory_info().rss < here + 50 * 1024 * 1024
    # A renderer that ran out of memory is not trusted again: a fresh one renders.
    assert not wait_gone([first], 5.0)
    assert renderer.render(gguf(CHATML), [CONVERSATION])[0]
    assert child(renderer).pid != first.pid


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ messages.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    ],
    ids=["mro", "globals", "os-popen"],
)
def test_sandbox_violations_are_template_errors(renderer: TemplateRenderer, template: str) -> None:
    with pytest.raises(ChatTemplateError, match="sandbox forbids") as caught:
        renderer.render(gguf(template), [CONVERSATION])
    assert caught.value.reason.startswith("tried something the sandbox forbids (")


def test_a_template_that_does_not_compile_is_a_template_error(renderer: TemplateRenderer) -> None:
    with pytest.raises(ChatTemplateError, match="broken") as caught:
        renderer.render(gguf("{% for %}"), [CONVERSATION])
    assert caught.value.reason.startswith("is broken (")


def test_a_template_refusing_the_conversation_is_not_a_budget_failure(
    renderer: TemplateRenderer,
) -> None:
    renderer.render(gguf(CHATML), [CONVERSATION])
    pid = renderer.pid
    with pytest.raises(ModelError, match="roles must alternate") as caught:
        renderer.render(gguf("{{ raise_exception('roles must alternate') }}"), [CONVERSATION])
    assert not isinstance(caught.value, ChatTemplateError)
    assert renderer.pid == pid  # nothing to replace


def test_a_killed_renderer_is_restarted_for_the_next_render(renderer: TemplateRenderer) -> None:
    renderer.render(gguf(CHATML), [CONVERSATION])
    first = child(renderer)
    os.kill(first.pid, signal.SIGKILL)
    assert not wait_gone([first], 5.0)
    assert renderer.render(gguf(CHATML), [CONVERSATION])[0].startswith("<|im_start|>system")
    assert child(renderer).pid != first.pid


def test_close_ends_the_renderer(renderer: TemplateRenderer) -> None:
    renderer.render(gguf(CHATML), [CONVERSATION])
    first = child(renderer)
    renderer.close()
    assert not wait_gone([first], 5.0)
    assert renderer.pid is None
