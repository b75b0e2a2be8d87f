"""Value types for one generation: the sampling settings and the figures it produced."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

# {"role": "system" | "user" | "assistant" | "tool", "content": str}, and where a turn
# used tools: "tool_calls" (OpenAI's list of {"id", "type", "function": {"name",
# "arguments"}}) on an assistant message, "tool_call_id" (and "name") on a tool message;
# "reasoning_content" (a reasoning model's thinking) on an assistant message.
Message = dict[str, Any]
# A user message may also carry "images": a list of encoded images (PNG or JPEG bytes,
# app.vision.images.PreparedImage.data) the model looks at before the message's text, or
# where its "content" holds IMAGE_MARK, once per image (interleaved text and images).
# A private-use character: no keyboard, file or template writes it.
IMAGE_MARK = "\U0010fffd"
# ``GenerationParams.json_schema`` for "any JSON object" (OpenAI's json_object).
JSON_OBJECT_SCHEMA = '{"type": "object"}'


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings. Defaults follow llama.cpp's own."""

    max_tokens: int | None = 512
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    seed: int | None = None
    stop: tuple[str, ...] = ()
    # CPU threads for this reply (None: the model's own). Voice mode leaves a core free
    # for capture, Whisper and Piper: llama.cpp's threads wait for each other, so one
    # that loses its core slows every token.
    n_threads: int | None = None
    # CPU threads for the tokens made before the caller first holds the reply
    # (EngineClient.hold), ``n_threads`` after (None: ``n_threads`` throughout). Voice mode
    # makes its first spoken piece while nothing else runs, on every core, and holds the
    # reply while Piper says it; what follows shares the cores with Whisper and Piper.
    lead_threads: int | None = None
    # How often streamed text is sent, in seconds (None: 30 times a second, plenty for
    # the eye). Voice mode takes every token: its first spoken piece waits for a word.
    delta_interval_s: float | None = None
    # The reply must be JSON matching this JSON schema (its text), enforced by a llama.cpp
    # grammar; JSON_OBJECT_SCHEMA asks for any JSON object. None: free text.
    json_schema: str | None = None
    # None: no log-probabilities; N: each reply token's, with the N likeliest alternatives.
    logprobs: int | None = None
    # (token id, bias) pairs added to the model's logits before sampling: -100 keeps a
    # token out, +100 all but forces it.
    logit_bias: tuple[tuple[int, float], ...] = ()
    # The reply must follow this llama.cpp GBNF grammar (its text); not with json_schema.
    grammar: str | None = None
    # OpenAI-style tool definitions (a JSON array's text, [{"type": "function",
    # "function": {"name", "description", "parameters"}}]) the chat template shows the
    # model as ``tools``. None: no tools offered.
    tools: str | None = None
    # Extra variables for the chat template, e.g. (("enable_thinking", False),).
    template_vars: tuple[tuple[str, Any], ...] = ()
    # LoRA adapters applied to the loaded model for this reply: (adapter path, scale)
    # pairs; a change of set between replies needs no reload (app.engine.lora).
    loras: tuple[tuple[str, float], ...] = ()
    # The conversation this reply continues (e.g. "conversation:12", engine.kv_files):
    # its saved KV state is tagged with it and deleted with it. None (an API request, a
    # private chat): the state stays in the worker's RAM, never on disk.
    kv_key: str | None = None
    # Only read the prompt into the KV cache (one token is made, never meant to be read),
    # planned as for a reply of ``max_tokens``: the same history is kept as that reply
    # will keep, so the reply finds the whole prompt but its own words cached.
    prefill: bool = False


FrontEnd = Literal["chat", "window", "server", "voice"]

# The one place sampling defaults are set: llama.cpp's own (GenerationParams'), with what
# each front end changes and why.
_FRONT_END_CHANGES: dict[str, dict[str, Any]] = {
    "chat": {},
    "server": {},
    # The window's replies may run longer: the reader scrolls, nobody waits on a pipe.
    "window": {"max_tokens": 1024},
    # Spoken replies stay short and a little less random: every token is heard.
    "voice": {"max_tokens": 160, "temperature": 0.7},
}


def sampling_defaults(front_end: FrontEnd = "chat") -> GenerationParams:
    """The sampling settings a new reply starts from on ``front_end``."""
    return replace(GenerationParams(), **_FRONT_END_CHANGES[front_end])


@dataclass(frozen=True)
class TokenLogprob:
    """One token of a reply: its text and bytes, its log-probability under the model
    (before sampling settings and biases), and the likeliest alternatives at its place."""

    token: str
    data: bytes  # the token's bytes in the reply (a token may hold part of a character)
    logprob: float
    offset: int = 0  # where the token starts in the reply, in characters
    top: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class GenerationStats:
    """Figures of one finished (or stopped) reply, as shown under it and in ``--json``."""

    prompt_tokens: int
    completion_tokens: int
    ttft_s: float
    tokens_per_s: float
    total_s: float
    n_gpu_layers: int
    n_ctx: int
    backend: str
    dropped_messages: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
