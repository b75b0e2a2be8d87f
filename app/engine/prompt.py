"""From messages to prompt tokens for the loaded model, whatever its template does.

A GGUF's own template is rendered by the :class:`TemplateRenderer` child under a time,
size and memory budget, tried once at load on a sample conversation, and watched on
every render after. When it fails (too slow, too much output or memory, a sandbox
violation, a syntax error) the architecture's built-in format replaces it for as long
as the model stays loaded, and :attr:`PromptBuilder.notice` says so in one sentence.
Message text is tokenized as text (see :mod:`prompt_tokens`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.core.errors import ChatTemplateError, ModelError
from app.core.i18n import translate
from app.engine.prompt_tokens import PromptTokenizer, special_tokens
from app.engine.templates import (
    BUILTIN_FORMATS,
    ChatFormat,
    Message,
    fallback_format_name,
    render_prompt,
)
from app.engine.tool_prompt import PROBE_MESSAGES, PROBE_TOOL, for_template, uses_tools

# Variables every render sets itself: template_vars may not replace them.
_RESERVED = frozenset({"messages", "bos_token", "eos_token", "add_generation_prompt", "tools"})

if TYPE_CHECKING:
    from app.core.gguf_meta import GGUFInfo
    from app.engine.renderer import TemplateRenderer

log = logging.getLogger(__name__)

# The trial render at load: every role, two user turns.
SAMPLE_CONVERSATION: tuple[Message, ...] = (
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello!"},
    {"role": "assistant", "content": "Hi! How can I help?"},
    {"role": "user", "content": "What is the capital of France?"},
)


class PromptBuilder:
    """Renders and tokenizes conversations for one loaded ``llama_cpp.Llama``."""

    def __init__(
        self,
        llm: Any,
        info: GGUFInfo,
        chat_format: ChatFormat,
        renderer: TemplateRenderer | None,
    ) -> None:
        self.llm = llm
        self.model_name = info.path.name
        self.chat_format = chat_format
        base = BUILTIN_FORMATS[fallback_format_name(info)]
        self.fallback = ChatFormat(base.name, base.template, base.stop, source="fallback")
        self.renderer = renderer
        self.notice: str | None = None
        self.bos_id, eos_id = llm.token_bos(), llm.token_eos()
        self.bos_text, self.eos_text = token_text(llm, self.bos_id), token_text(llm, eos_id)
        self.tokenizer = PromptTokenizer(llm, special_tokens(llm))
        self._renders_tools: dict[str, bool] = {}  # by template text

    def check(self) -> None:
        """Render a sample conversation once, so a bad template is replaced before the
        first message. A template that refuses the sample (roles, order) is left in use."""
        try:
            self._render([list(SAMPLE_CONVERSATION)])
        except ChatTemplateError as exc:
            self._replace(exc)
        except ModelError as exc:
            log.info("the chat template refused the sample conversation: %s", exc)

    def tokenize(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[dict[str, Any]] = (),
        variables: dict[str, Any] | None = None,
        images: Sequence[Sequence[int]] = (),
    ) -> list[int]:
        """Prompt tokens of ``messages`` offering ``tools`` (OpenAI tool objects) with
        the extra template ``variables``, BOS added when the model wants one and the
        template did not write it; image slots in the text give ``images``' ids (see
        ``engine.vision``)."""
        try:
            tokens = self._tokens(messages, tools, variables or {}, images)
        except ChatTemplateError as exc:
            if self.chat_format.source != "gguf":
                raise
            self._replace(exc)
            tokens = self._tokens(messages, tools, variables or {}, images)
        # Templates differ on whether they write the BOS token themselves: add it only
        # when the model wants one and the template did not.
        wants_bos = self.llm._model.add_bos_token() and self.bos_id >= 0
        if wants_bos and (not tokens or tokens[0] != self.bos_id):
            tokens.insert(0, self.bos_id)
        return tokens

    def renders_tools(self) -> bool:
        """Whether the chat template in use writes the ``tools`` it is given (tried once
        per template on a probe tool); Hearth's built-in formats do not."""
        chat_format = self.chat_format
        if chat_format.source != "gguf":
            return False
        known = self._renders_tools.get(chat_format.template)
        if known is None:
            try:
                (text,) = self._render([list(PROBE_MESSAGES)], {"tools": [PROBE_TOOL]})
            except ModelError:  # refused or failed with tools: give it none
                known = False
            else:
                known = PROBE_TOOL["function"]["name"] in text
            self._renders_tools[chat_format.template] = known
        return known

    def _tokens(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        variables: dict[str, Any],
        images: Sequence[Sequence[int]] = (),
    ) -> list[int]:
        extra = {k: v for k, v in variables.items() if k not in _RESERVED}
        if uses_tools(messages, tools):
            native = self.renders_tools()
            messages = for_template(messages, tools, native=native)
            if native and tools:
                # Tool text comes from clients: no control token may hide in it.
                extra["tools"] = self.tokenizer.defuse_value(list(tools))
        else:
            messages = [{**m, "content": m.get("content") or ""} for m in messages]
        return self.tokenizer.tokenize(
            messages, lambda variants: self._render(variants, extra), images
        )

    def _render(
        self, variants: Sequence[Sequence[Message]], extra: dict[str, Any] | None = None
    ) -> list[str]:
        chat_format = self.chat_format
        if chat_format.source == "gguf" and self.renderer is not None:
            return self.renderer.render(
                chat_format,
                variants,
                bos_token=self.bos_text,
                eos_token=self.eos_text,
                extra=extra,
            )
        # Built-in formats are Hearth's own code: rendered here, no trip to the child.
        return [
            render_prompt(
                chat_format, v, bos_token=self.bos_text, eos_token=self.eos_text, extra=extra
            )
            for v in variants
        ]

    def _replace(self, exc: ChatTemplateError) -> None:
        self.chat_format = self.fallback
        self.notice = translate(
            "Notices",
            "{model}'s chat template {reason}; using the built-in {template} template instead.",
        ).format(model=self.model_name, reason=exc.reason, template=self.fallback.name)
        log.warning("%s", self.notice)


def token_text(llm: Any, token_id: int) -> str:
    """The text of one token, special tokens included ("" for none)."""
    if token_id < 0:
        return ""
    try:
        return bytes(llm.detokenize([token_id], special=True)).decode("utf-8", errors="replace")
    except TypeError:  # older signature without ``special``
        return bytes(llm.detokenize([token_id])).decode("utf-8", errors="replace")
