"""The typed messages between Hearth and its llama.cpp worker process.

Requests go to the worker, events come back; both are small frozen dataclasses sent
over a multiprocessing pipe. Every request carries an id; every event names the request
it answers, so a caller can match replies without blocking on the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.core.generation import GenerationParams, GenerationStats, Message, TokenLogprob


# -- requests ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadModel:
    request_id: int
    path: str
    n_ctx: int = 4096
    n_gpu_layers: int | None = 0  # None: the planner chooses; -1: all layers
    n_threads: int | None = None
    chat_template: str | None = None  # override by name, see engine.templates
    # Flash attention (engine.kv_cache.kv_setup): True on, False off, None auto (on
    # for a quantised cache).
    flash_attn: bool | None = None
    mmproj: str | None = None  # a vision projector (mmproj-*.gguf) for this model
    kv_type: str = "f16"  # the KV cache's type: "f16", "q8_0" or "q4_0" (see engine.kv_cache)
    # Saved KV state of recent conversations (engine.kv_state): its folder and cap in
    # MiB; None or 0: nothing saved or restored.
    kv_state_dir: str | None = None
    kv_state_mb: int = 0
    # MoE models: the experts of the first N blocks stay in RAM (engine.moe); None: the
    # planner decides, 0: none.
    cpu_moe: int | None = None
    # Speculative decoding (engine.speculative): "lookup" (prompt lookup); None: off.
    draft: str | None = None
    # RAM slots for the states of recent conversations (engine.kv_state), in MiB; 0: none.
    kv_ram_mb: int = 0


@dataclass(frozen=True)
class UnloadModel:
    request_id: int


@dataclass(frozen=True)
class Generate:
    request_id: int
    messages: tuple[Message, ...]
    params: GenerationParams = field(default_factory=GenerationParams)


@dataclass(frozen=True)
class Embed:
    """Embedding vectors of ``texts`` by the model at ``path`` (any loaded chat model stays)."""

    request_id: int
    path: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Cancel:
    """Stop the generation (or load) ``target_id``; acts at the next token."""

    request_id: int
    target_id: int


@dataclass(frozen=True)
class Hold:
    """Pause the generation ``target_id`` before its next token for up to ``seconds``
    (0: go on now). The voice loop holds it while the first spoken piece is synthesised,
    so text to speech gets every core when the listener is waiting for it."""

    request_id: int
    target_id: int
    seconds: float


@dataclass(frozen=True)
class ForgetState:
    """Delete the saved KV state of conversations ``keys`` (GenerationParams.kv_key) in
    ``folder`` and the worker's RAM, or of every conversation (``everything``)."""

    request_id: int
    folder: str
    keys: tuple[str, ...] = ()
    everything: bool = False


@dataclass(frozen=True)
class GetStats:
    request_id: int


@dataclass(frozen=True)
class Shutdown:
    request_id: int


@dataclass(frozen=True)
class Handover:
    """Answered at once with :class:`HandedOver`, even during a generation: the caller's
    reader thread stops after that event and its event loop reads on (see
    ``EngineClient.deliver_on``)."""

    request_id: int


Request = (
    LoadModel
    | UnloadModel
    | Generate
    | Embed
    | Cancel
    | Hold
    | GetStats
    | Shutdown
    | ForgetState
    | Handover
)


# -- events -----------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerReady:
    pid: int
    request_id: int = 0


@dataclass(frozen=True)
class LoadProgress:
    request_id: int
    fraction: float


@dataclass(frozen=True)
class ModelLoaded:
    request_id: int
    path: str
    n_ctx: int
    n_gpu_layers: int
    backend: str
    chat_format: str
    chat_format_source: str
    load_s: float
    plan: str = ""  # the offload plan in one sentence
    notice: str | None = None  # e.g. the GGUF's template failed and a built-in one is used
    vision: bool = False  # the projector loaded: user messages may carry images
    mmproj: str | None = None  # the projector in use (None: text only)
    kv_type: str = "f16"  # the KV cache's type as loaded
    cpu_moe_layers: int = 0  # blocks whose expert tensors llama.cpp put in RAM (its log)
    draft: str | None = None  # speculative decoding in use: "lookup" or None
    flash_attn: bool = False  # flash attention as loaded


@dataclass(frozen=True)
class ModelUnloaded:
    request_id: int


@dataclass(frozen=True)
class PromptPrepared:
    """Sent before the first token: what the context policy kept."""

    request_id: int
    prompt_tokens: int
    dropped_messages: int
    notice: str | None
    # The prompt ends inside an open thinking block (DeepSeek-R1's template writes
    # ``<think>`` itself): the reply starts as thinking (see app.core.reasoning).
    thinking_open: bool = False
    # Of ``prompt_tokens``, those the images take (mtmd's embeddings, and the text tokens
    # some projectors put around an image).
    image_tokens: int = 0


@dataclass(frozen=True)
class Delta:
    request_id: int
    text: str
    # With ``GenerationParams.logprobs``: the tokens whose text this delta completes (a
    # last delta may bring only tokens, with no text).
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class GenerationDone:
    request_id: int
    text: str
    finish_reason: str  # "stop", "length" or "cancelled"
    stats: GenerationStats
    logprobs: tuple[TokenLogprob, ...] | None = None  # every reply token, when asked for


@dataclass(frozen=True)
class EmbeddingsReady:
    """Unit-length vectors, one per text, in order; ``prompt_tokens`` over all texts."""

    request_id: int
    vectors: tuple[tuple[float, ...], ...]
    prompt_tokens: int


@dataclass(frozen=True)
class StatsReport:
    request_id: int
    stats: dict[str, Any]


@dataclass(frozen=True)
class ErrorEvent:
    """A failure of one request; ``kind`` names a class in ``core.errors``."""

    request_id: int
    kind: str
    message: str


@dataclass(frozen=True)
class ShutdownDone:
    request_id: int


@dataclass(frozen=True)
class HandedOver:
    """The answer to :class:`Handover`: the last event the caller's reader thread reads."""

    request_id: int


@dataclass(frozen=True)
class StateForgotten:
    """The saved state asked for by a ForgetState is gone: ``files`` deleted."""

    request_id: int
    files: int


Event = (
    WorkerReady
    | LoadProgress
    | ModelLoaded
    | ModelUnloaded
    | PromptPrepared
    | Delta
    | GenerationDone
    | EmbeddingsReady
    | StatsReport
    | ErrorEvent
    | ShutdownDone
    | StateForgotten
    | HandedOver
)

# Events after which a request is finished and no more events for it will come.
FINAL_EVENTS = (
    ModelLoaded,
    ModelUnloaded,
    GenerationDone,
    EmbeddingsReady,
    StatsReport,
    ErrorEvent,
    ShutdownDone,
    StateForgotten,
)
