"""Chat templates: turn a list of messages into the prompt text a model was trained on.

The GGUF's own ``tokenizer.chat_template`` is used when present, rendered in a sandboxed
Jinja environment (as llama.cpp and Hugging Face do). A GGUF without one (base models,
old conversions) falls back to a known format chosen by architecture and vocabulary;
the user may override the choice by name.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from app.core.errors import ChatTemplateError, ConfigError, ModelError
from app.core.i18n import translate

if TYPE_CHECKING:
    import jinja2

    from app.core.gguf_meta import GGUFInfo

Message = dict[str, str]

GGUF_TEMPLATE = "gguf"


@dataclass(frozen=True)
class ChatFormat:
    """A named prompt format: a Jinja template plus the strings that end a reply."""

    name: str
    template: str
    stop: tuple[str, ...] = ()
    source: str = "builtin"  # "gguf", "builtin" or "fallback"


# Built-in formats. Each is the widely published template of its family, reduced to the
# parts Hearth uses (system/user/assistant text turns).
_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Gemma has no system role: the system prompt is prepended to the first user turn.
_GEMMA = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] != 'system' %}"
    "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}\n"
    "{% if loop.index0 == 1 and messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}"
    "\n\n{% endif %}{{ m['content'] | trim }}<end_of_turn>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
_LLAMA3 = (
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}"
    "<|end_header_id|>\n\n{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
_MISTRAL = (
    "{{ bos_token }}{% set sys = namespace(text='') %}{% for m in messages %}"
    "{% if m['role'] == 'system' %}{% set sys.text = m['content'] + '\n\n' %}"
    "{% elif m['role'] == 'user' %}[INST] {{ sys.text }}{{ m['content'] }} [/INST]"
    "{% set sys.text = '' %}{% else %}{{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}"
)
_PHI3 = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

BUILTIN_FORMATS: dict[str, ChatFormat] = {
    "chatml": ChatFormat("chatml", _CHATML, ("<|im_end|>", "<|im_start|>")),
    "gemma": ChatFormat("gemma", _GEMMA, ("<end_of_turn>", "<start_of_turn>")),
    "llama3": ChatFormat("llama3", _LLAMA3, ("<|eot_id|>", "<|start_header_id|>")),
    "mistral": ChatFormat("mistral", _MISTRAL, ("[INST]", "</s>")),
    "phi3": ChatFormat("phi3", _PHI3, ("<|end|>", "<|user|>", "<|endoftext|>")),
}

# Markers that end a turn in common templates; any that appear in a GGUF's own template
# become stop strings, so a reply never runs on into an invented next turn.
_TURN_MARKERS = (
    "<|im_end|>",
    "<end_of_turn>",
    "<|eot_id|>",
    "<|end|>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "</s>",
    "[INST]",
    "<|user|>",
)


def format_names() -> list[str]:
    """Names accepted as a template override ("gguf" = the file's own template)."""
    return [GGUF_TEMPLATE, *BUILTIN_FORMATS]


def fallback_format_name(info: GGUFInfo) -> str:
    """The built-in format for a GGUF without a template, by architecture and vocabulary."""
    arch = info.architecture.lower()
    if arch.startswith("gemma"):
        return "gemma"
    if arch.startswith(("qwen", "smollm", "internlm", "olmo")):
        return "chatml"
    if arch.startswith("phi3"):
        return "phi3"
    if info.has_token("<|start_header_id|>"):
        return "llama3"
    if info.has_token("<|im_start|>"):
        return "chatml"
    if arch in ("llama", "mistral") and info.has_token("[INST]"):
        return "mistral"
    return "chatml"


def resolve_chat_format(info: GGUFInfo, override: str | None = None) -> ChatFormat:
    """Pick the format for a model: the user's override, the GGUF's template, or a fallback."""
    if override and override != GGUF_TEMPLATE:
        if override not in BUILTIN_FORMATS:
            raise ConfigError(
                translate(
                    "Errors",
                    "Unknown chat template {override!r}; choose one of: {formats}.",
                ).format(override=override, formats=", ".join(format_names()))
            )
        return BUILTIN_FORMATS[override]
    template = info.chat_template
    if template:
        stops = tuple(marker for marker in _TURN_MARKERS if marker in template)
        return ChatFormat(GGUF_TEMPLATE, template, stops, source="gguf")
    if override == GGUF_TEMPLATE:
        raise ConfigError(
            translate(
                "Errors",
                "{file} has no chat template of its own; choose one of: {formats}.",
            ).format(file=info.path.name, formats=", ".join(BUILTIN_FORMATS))
        )
    base = BUILTIN_FORMATS[fallback_format_name(info)]
    return ChatFormat(base.name, base.template, base.stop, source="fallback")


def _raise_exception(message: str) -> None:
    raise ModelError(
        translate(
            "Errors",
            "The model's chat template refused the conversation: {message}",
        ).format(message=message)
    )


def _strftime_now(fmt: str) -> str:
    return _dt.datetime.now().strftime(fmt)


@lru_cache(maxsize=16)
def _compile(template: str) -> jinja2.Template:
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(template)
    except TemplateError as exc:
        raise ChatTemplateError(
            translate(
                "Errors",
                "The model's chat template is broken ({error}); choose a built-in "
                "template instead.",
            ).format(error=exc),
            reason=translate("Errors", "is broken ({error})").format(error=_phrase(exc)),
        ) from exc


def _phrase(exc: BaseException) -> str:
    """An exception's message as a clause inside a sentence."""
    return str(exc).strip().rstrip(".") or type(exc).__name__


def render_prompt(
    chat_format: ChatFormat,
    messages: Sequence[Message],
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
    extra: dict[str, Any] | None = None,
    max_chars: int | None = None,
) -> str:
    """Render ``messages`` with ``chat_format`` into prompt text.

    Raises ChatTemplateError for a template that does not compile, breaks the sandbox or
    writes more than ``max_chars`` (counted while it writes), and ModelError when the
    template refuses the conversation or fails on it.
    """
    from jinja2.exceptions import SecurityError, TemplateError

    compiled = _compile(chat_format.template)
    try:
        pieces = compiled.generate(
            messages=list(messages),
            bos_token=bos_token,
            eos_token=eos_token,
            add_generation_prompt=add_generation_prompt,
            **(extra or {}),
        )
        if max_chars is None:
            return "".join(pieces)
        out: list[str] = []
        size = 0
        for piece in pieces:
            size += len(piece)
            if size > max_chars:
                limit = f"{max_chars / (1024 * 1024):g} MiB"
                raise ChatTemplateError(
                    translate(
                        "Errors",
                        "The model's chat template wrote more than {limit} of text.",
                    ).format(limit=limit),
                    reason=translate("Errors", "wrote more than {limit} of text").format(
                        limit=limit
                    ),
                )
            out.append(piece)
        return "".join(out)
    except SecurityError as exc:
        raise ChatTemplateError(
            translate(
                "Errors",
                "The model's chat template tried something the sandbox forbids "
                "({error}); choose a built-in template instead.",
            ).format(error=_phrase(exc)),
            reason=translate("Errors", "tried something the sandbox forbids ({error})").format(
                error=_phrase(exc)
            ),
        ) from exc
    except RecursionError as exc:
        raise ChatTemplateError(
            translate(
                "Errors",
                "The model's chat template recursed too deeply; choose a built-in "
                "template instead.",
            ),
            reason=translate("Errors", "recursed too deeply"),
        ) from exc
    except TemplateError as exc:
        raise ModelError(
            translate(
                "Errors",
                "The model's chat template failed ({error}); choose a built-in template instead.",
            ).format(error=exc)
        ) from exc
