"""Chat templates: the GGUF's own, the fallbacks by architecture, and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog.gguf_meta import read_gguf
from app.core.errors import ConfigError, ModelError
from app.engine.templates import (
    BUILTIN_FORMATS,
    ChatFormat,
    fallback_format_name,
    render_prompt,
    resolve_chat_format,
)
from tests.fixtures.models import write_tiny_gguf

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Capital of France?"},
]


def test_gguf_template_is_used_and_its_turn_markers_become_stops(smol_model: Path) -> None:
    fmt = resolve_chat_format(read_gguf(smol_model))
    assert fmt.source == "gguf"
    assert "<|im_end|>" in fmt.stop
    prompt = render_prompt(fmt, CONVERSATION)
    assert prompt.startswith("<|im_start|>system\nBe brief.<|im_end|>")
    assert prompt.endswith("<|im_start|>assistant\n")
    assert prompt.count("<|im_start|>user") == 2


def test_gemma_fallback_folds_the_system_prompt_into_the_first_user_turn(gemma_model: Path) -> None:
    info = read_gguf(gemma_model)
    assert info.chat_template is None
    fmt = resolve_chat_format(info)
    assert (fmt.name, fmt.source) == ("gemma", "fallback")
    prompt = render_prompt(fmt, CONVERSATION, bos_token="<bos>")
    assert prompt == (
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nCapital of France?<end_of_turn>\n"
        "<start_of_turn>model\n"
    )


@pytest.mark.parametrize(
    ("arch", "expected"),
    [("gemma2", "gemma"), ("qwen2", "chatml"), ("phi3", "phi3"), ("llama", "chatml")],
)
def test_fallback_by_architecture(tmp_path: Path, arch: str, expected: str) -> None:
    info = read_gguf(write_tiny_gguf(tmp_path / "m.gguf", arch=arch))
    assert fallback_format_name(info) == expected


def test_override_by_name_and_unknown_name(smol_model: Path) -> None:
    info = read_gguf(smol_model)
    assert resolve_chat_format(info, "llama3") is BUILTIN_FORMATS["llama3"]
    with pytest.raises(ConfigError, match="Unknown chat template"):
        resolve_chat_format(info, "klingon")


def test_override_gguf_on_a_model_without_template_is_refused(tmp_path: Path) -> None:
    info = read_gguf(write_tiny_gguf(tmp_path / "m.gguf"))
    with pytest.raises(ConfigError, match="no chat template"):
        resolve_chat_format(info, "gguf")


def test_template_runs_sandboxed() -> None:
    evil = ChatFormat("x", "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ModelError):
        render_prompt(evil, CONVERSATION)


def test_template_raise_exception_becomes_model_error() -> None:
    strict = ChatFormat("x", "{{ raise_exception('roles must alternate') }}")
    with pytest.raises(ModelError, match="roles must alternate"):
        render_prompt(strict, CONVERSATION)


@pytest.mark.parametrize("name", sorted(BUILTIN_FORMATS))
def test_every_builtin_renders_each_message_once(name: str) -> None:
    prompt = render_prompt(BUILTIN_FORMATS[name], CONVERSATION, bos_token="<s>", eos_token="</s>")
    for message in CONVERSATION:
        assert prompt.count(message["content"]) == 1, (name, message)
