"""The llama.cpp worker: runs in its own process, speaks ``engine.protocol``.

A crash, abort or out-of-memory kill here ends only this process; the client turns the
broken pipe into an error event and starts a fresh worker for the next request.

Two threads: the main thread loads models and generates; a reader thread receives
requests, so a ``Cancel`` is seen while a reply is being generated and takes effect at
the next token (through llama-cpp-python's per-token stopping criteria).
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from app.core.errors import (
    CancelledError,
    ConfigError,
    ContextOverflowError,
    EngineError,
    HearthError,
    InvalidModelError,
    ModelError,
    ModelTooLargeError,
    NoModelLoadedError,
    ProjectorError,
    UnsupportedModelError,
)
from app.core.generation import GenerationParams, GenerationStats, Message
from app.core.i18n import join, translate
from app.core.reasoning import prompt_opens_thinking, reasoning_for_template
from app.engine import protocol as p
from app.engine.context import ContextFitter
from app.engine.decode import TokenLoop
from app.engine.draft_policy import DecodeCosts
from app.engine.lifeline import die_with_parent, leave_quietly
from app.engine.moe import BuftOverrides, expert_overrides, overridden_layers
from app.engine.prompt import PromptBuilder
from app.engine.speculative import Drafter, PromptLookup
from app.engine.templates import ChatFormat, resolve_chat_format

if TYPE_CHECKING:
    from app.core.gguf_meta import GGUFInfo
    from app.engine.draft_model import DraftModel
    from app.engine.kv_state import KVStateStore
    from app.engine.lora import Adapters
    from app.engine.planner import OffloadPlan
    from app.engine.renderer import TemplateRenderer
    from app.engine.sampling import LogprobRecorder
    from app.engine.vision import ImageTokens, VisionContext

log = logging.getLogger(__name__)

_LOG_LINES = 80
# Streamed text is sent at most this often (30 per second, smoother than the eye needs).
DELTA_INTERVAL_S = 0.033


class _LlamaLog:
    """Keeps llama.cpp's recent log lines, to explain a failed load in one sentence."""

    def __init__(self) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._partial = ""
        self._callback: Any = None
        # "tensor ... buffer type overridden to ..." lines of the last load (engine.moe).
        self.overridden: list[str] = []

    def install(self) -> None:
        import llama_cpp

        def on_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
            self._partial += text.decode("utf-8", errors="replace")
            while "\n" in self._partial:
                line, self._partial = self._partial.split("\n", 1)
                if line.strip():
                    self.lines.append(line.strip())
                    if "buffer type overridden to" in line:
                        self.overridden.append(line.strip())
                    if level in (3, 4):  # ggml's WARN and ERROR go to Hearth's log
                        log.warning("llama.cpp: %s", line.strip())

        self._callback = llama_cpp.llama_log_callback(on_log)
        llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))

    @property
    def callback(self) -> Any:
        """The ctypes callback installed (for libraries that log apart, like libmtmd)."""
        return self._callback

    def mark(self) -> int:
        self.lines.clear()
        self.overridden.clear()
        return 0

    def explain_load_failure(
        self, file_name: str, architecture: str, exc: BaseException
    ) -> HearthError:
        text = "\n".join(self.lines).lower()
        errors = [line for line in self.lines if "error" in line.lower() or "fail" in line.lower()]
        # llama.cpp's most specific line reads "error loading model: <reason>".
        specific = [
            line.split("error loading model:", 1)[1].strip()
            for line in errors
            if "error loading model:" in line
        ]
        last_error = specific[-1] if specific else (errors[-1] if errors else str(exc))
        if "unknown model architecture" in text or "unknown architecture" in text:
            return UnsupportedModelError(
                translate(
                    "Errors",
                    "{file} uses the '{architecture}' architecture, which this llama.cpp build "
                    "cannot run. Update Hearth or choose another model.",
                ).format(file=file_name, architecture=architecture)
            )
        if "out of memory" in text or "failed to allocate" in text or "unable to allocate" in text:
            return ModelTooLargeError(
                translate(
                    "Errors",
                    "Not enough memory to load {file} ({error}). Close other programs, "
                    "lower the context length or GPU layers, or choose a smaller quantisation.",
                ).format(file=file_name, error=last_error)
            )
        if "not within the file bounds" in text or "truncated" in text or "corrupted" in text:
            return InvalidModelError(
                translate("Errors", "{file} is damaged ({error}). Download it again.").format(
                    file=file_name, error=last_error
                )
            )
        return ModelError(
            translate("Errors", "llama.cpp could not load {file}: {error}.").format(
                file=file_name, error=last_error
            )
        )


@contextmanager
def _load_progress(
    on_progress: Callable[[float], bool], *, cpu_only: bool = False
) -> Iterator[None]:
    """Give ``Llama()`` a progress callback; returning False from it aborts the load.

    llama-cpp-python builds its model params from ``llama_model_default_params()`` and
    offers no argument for the callback, so the factory is wrapped for one call.

    ``cpu_only``: an empty device list, so a GPU build uses no GPU at all. With
    ``n_gpu_layers=0`` alone llama.cpp still gives the GPU the prompt's large matrix
    products (op offload), which need GPU memory: on a GPU without room, the very case
    the CPU was chosen for, CUDA's allocator then aborts the process mid-prompt (seen on
    an H200 with 200 MiB free).
    """
    import llama_cpp.llama_cpp as raw

    original = raw.llama_model_default_params
    callback = raw.llama_progress_callback(lambda fraction, _data: bool(on_progress(fraction)))
    no_devices = (ctypes.c_void_p * 1)()  # NULL-terminated: no device

    def params_with_progress() -> Any:
        params = original()
        params.progress_callback = callback
        if cpu_only:
            params.devices = ctypes.cast(no_devices, ctypes.c_void_p)
        return params

    raw.llama_model_default_params = params_with_progress
    try:
        yield
    finally:
        raw.llama_model_default_params = original


class _LoadPlan(NamedTuple):
    """What a load takes from the offload planner, asked once per load: the planner
    probes the hardware, and the GPU's free memory no longer shows the room once the
    model is in it."""

    n_gpu_layers: int
    backend: str
    text: str  # the explanation shown with the loaded model
    projector_on_gpu: bool = False  # a vision projector beside the GPU's layers
    cpu_moe_layers: int = 0  # a MoE model's blocks whose experts the planner keeps in RAM
    draft_on_gpu: bool = False  # a draft model's layers all on the GPU (engine.draft_model)


def _load_plan(info: GGUFInfo, request: p.LoadModel) -> _LoadPlan:
    """The plan for a load (it raises when the model cannot fit); the projector and
    the experts follow the planner only where layers go to the GPU."""
    from app.engine.hardware import build_backend

    plan = _plan(info, request)
    on_gpu = plan.n_gpu_layers > 0
    return _LoadPlan(
        n_gpu_layers=plan.n_gpu_layers,
        backend=build_backend() if on_gpu else "cpu",
        text=plan.explain(),
        projector_on_gpu=on_gpu and bool(request.mmproj) and plan.projector_on_gpu,
        cpu_moe_layers=plan.cpu_moe_layers if on_gpu else 0,
        draft_on_gpu=on_gpu and plan.draft_on_gpu,
    )


def _plan(info: GGUFInfo, request: p.LoadModel) -> OffloadPlan:
    """The offload planner's plan for a load (it raises when the model cannot fit)."""
    from app.engine.hardware import build_backend, llama_supports_gpu_offload, probe_hardware
    from app.engine.kv_cache import kv_setup
    from app.engine.planner import ensure_fits, plan_offload

    plan = plan_offload(
        info,
        probe_hardware(),
        n_ctx=request.n_ctx,
        gpu_layers=request.n_gpu_layers,
        gpu_offload_supported=llama_supports_gpu_offload(),
        backend=build_backend(),
        flash_attn=kv_setup(request.kv_type, request.flash_attn).flash_attn,
        cache_type_k=request.kv_type,
        cache_type_v=request.kv_type,
        projector=_projector_header(request.mmproj),
        cpu_moe=request.cpu_moe,
        draft=_draft_header(request.draft),
    )
    ensure_fits(plan)
    return plan


def _expert_overrides(
    info: GGUFInfo, request: p.LoadModel, plan: _LoadPlan
) -> BuftOverrides | None:
    """The tensor overrides keeping a MoE model's first experts in RAM: as many blocks as
    asked, or as the planner chose for a GPU load (None: none)."""
    from app.engine.moe import check_cpu_moe, is_moe, overrides_for

    n = check_cpu_moe(info, request.cpu_moe)
    if n is None:
        if plan.n_gpu_layers <= 0 or not is_moe(info):
            return None
        n = plan.cpu_moe_layers
    return overrides_for(info, n) if n else None


def _draft_header(draft: str | None) -> GGUFInfo | None:
    """A draft model's GGUF header for the planner (None for none, prompt lookup, or a
    file that cannot be read: loading it then says why)."""
    from app.core.gguf_meta import read_gguf

    if not draft or draft == "lookup":
        return None
    try:
        return read_gguf(draft)
    except (HearthError, OSError):
        return None


def _projector_header(mmproj: str | None) -> GGUFInfo | None:
    """The projector's GGUF header for the planner; None without one, or for a file that
    cannot be read (loading it then says why, and the model loads text only)."""
    from app.core.gguf_meta import read_gguf

    if not mmproj:
        return None
    try:
        return read_gguf(mmproj)
    except (HearthError, OSError):
        return None


class _Worker:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.send_lock = threading.Lock()
        self.requests: queue.Queue[p.Request] = queue.Queue()
        self.cancelled: set[int] = set()
        self.held: dict[int, float] = {}  # request id -> monotonic time the hold ends
        self.ever_held: set[int] = set()  # requests held at least once (lead_threads)
        self.cancel_lock = threading.Lock()
        self.hold_changed = threading.Event()
        self.llm: Any = None
        self.threads = 0  # the loaded model's own thread count (0: none loaded)
        self.embedder: Any = None  # a context in embedding mode (see ``embed``)
        self.embedder_path: str | None = None
        self.loaded: p.ModelLoaded | None = None
        self.chat_format: ChatFormat | None = None
        self.prompt: PromptBuilder | None = None  # the loaded model's template and tokens
        self.renderer: TemplateRenderer | None = None  # runs GGUF templates (started lazily)
        self.vision: VisionContext | None = None  # the loaded model's projector (libmtmd)
        self.adapters: Adapters | None = None  # the loaded model's LoRA adapters
        self.moe_overrides: BuftOverrides | None = None  # experts kept in RAM (engine.moe)
        self.llama_log = _LlamaLog()
        self.generations = 0
        self.kv_store: KVStateStore | None = None  # saved conversation state (engine.kv_state)
        self.draft_model: DraftModel | None = None  # speculative decoding's draft model
        self.decode_costs = DecodeCosts()  # the loaded model's batch costs (prompt lookup)
        self.prompt_evaluated = 0  # prompt tokens the last reply evaluated (not cached)
        self.fitter = ContextFitter()  # where the loaded model's conversations were cut

    # -- plumbing ------------------------------------------------------------------------
    def send(self, event: p.Event) -> None:
        with self.send_lock:
            try:
                self.conn.send(event)
            except (OSError, EOFError):
                leave_quietly()  # the caller is gone (killed, crashed): nobody to answer

    def is_cancelled(self, request_id: int) -> bool:
        with self.cancel_lock:
            return request_id in self.cancelled

    def was_held(self, request_id: int) -> bool:
        """Whether ``request_id`` has been held (see :class:`protocol.Hold`), even if it
        was released since."""
        with self.cancel_lock:
            return request_id in self.ever_held

    def wait_while_held(self, request_id: int) -> None:
        """Block while ``request_id`` is held (see :class:`protocol.Hold`), not past its
        deadline, and not once it or everything is cancelled."""
        while True:
            with self.cancel_lock:
                until = self.held.get(request_id)
                if until is None or {request_id, -2} & self.cancelled:
                    return
                left = until - time.monotonic()
                if left <= 0:
                    del self.held[request_id]
                    return
                self.hold_changed.clear()
            self.hold_changed.wait(left)

    def read_requests(self) -> None:
        while True:
            try:
                request = self.conn.recv()
            except (EOFError, OSError):
                # The caller went away: whatever runs has nobody to answer to.
                leave_quietly()
            if isinstance(request, p.Cancel):
                with self.cancel_lock:
                    self.cancelled.add(request.target_id)
                    self.hold_changed.set()
                continue
            if isinstance(request, p.Hold):
                with self.cancel_lock:
                    if request.seconds > 0:
                        self.held[request.target_id] = time.monotonic() + request.seconds
                        self.ever_held.add(request.target_id)
                    else:
                        self.held.pop(request.target_id, None)
                    self.hold_changed.set()
                continue
            if isinstance(request, p.Handover):
                self.send(p.HandedOver(request.request_id))
                continue
            if isinstance(request, p.Shutdown):
                with self.cancel_lock:
                    self.cancelled.add(-2)  # makes every running generation stop
                    self.hold_changed.set()
                self.requests.put(request)
                return
            self.requests.put(request)

    def run(self) -> None:
        unusable = None
        try:
            from app.engine.cuda_driver import prepare

            prepare()  # a CUDA build on a machine without the driver: see cuda_driver
            import llama_cpp  # heavy: only ever imported in the worker process

            llama_cpp.llama_backend_init()
            self.llama_log.install()
        except (ImportError, OSError) as exc:
            # E.g. a CUDA build on a machine without the CUDA runtime or NVIDIA driver:
            # answer every request with what to do instead of dying without a word.
            log.error("llama.cpp cannot be loaded: %s", exc)
            unusable = translate(
                "Errors",
                "llama.cpp cannot be loaded on this computer ({error}). A GPU build needs its "
                "GPU runtime (for CUDA: the NVIDIA driver and CUDA 12); install the CPU build "
                "instead (see packaging/README.md, GPU builds).",
            ).format(error=exc)
        threading.Thread(target=self.read_requests, name="requests", daemon=True).start()
        self.send(p.WorkerReady(pid=os.getpid()))
        while True:
            request = self.requests.get()
            if isinstance(request, p.Shutdown):
                self.unload()
                if request.request_id >= 0:
                    self.send(p.ShutdownDone(request.request_id))
                return
            if unusable is not None:
                self.send(p.ErrorEvent(request.request_id, "EngineError", unusable))
                continue
            try:
                self.handle(request)
            except HearthError as exc:
                self.send(p.ErrorEvent(request.request_id, type(exc).__name__, str(exc)))
            except Exception as exc:  # a bug or an unexpected llama.cpp error
                # The request's kind only: a Generate holds the user's messages.
                log.exception(
                    "worker request %s %s failed", type(request).__name__, request.request_id
                )
                self.send(
                    p.ErrorEvent(
                        request.request_id,
                        "EngineError",
                        translate(
                            "Errors", "The engine failed: {error}. See the log file for details."
                        ).format(error=exc),
                    )
                )
            finally:
                with self.cancel_lock:
                    self.cancelled.discard(request.request_id)
                    self.held.pop(request.request_id, None)
                    self.ever_held.discard(request.request_id)

    def handle(self, request: p.Request) -> None:
        if isinstance(request, p.LoadModel):
            self.load(request)
        elif isinstance(request, p.UnloadModel):
            self.unload()
            self.send(p.ModelUnloaded(request.request_id))
        elif isinstance(request, p.Generate):
            self.generate(request)
        elif isinstance(request, p.Embed):
            self.embed(request)
        elif isinstance(request, p.GetStats):
            self.send(p.StatsReport(request.request_id, self.stats()))
        elif isinstance(request, p.ForgetState):
            self.forget_state(request)

    # -- requests ------------------------------------------------------------------------
    def embed(self, request: p.Embed) -> None:
        """Mean-pooled (or the model's own pooling), unit-length vectors of each text.

        A second llama.cpp context in embedding mode, kept for the next request: the
        weights are memory-mapped, so sharing a file with the chat model costs little.
        """
        import llama_cpp
        import numpy as np

        from app.core.gguf_meta import read_gguf
        from app.engine.amx import avoid_amx_kernels

        avoid_amx_kernels()
        if self.embedder is None or self.embedder_path != request.path:
            info = read_gguf(request.path)  # clear errors for bad files first
            self.embedder = None
            n_ctx = min(int(info.arch_value("context_length", 2048) or 2048), 8192)
            # Embedding models name their pooling; for a chat model, average the tokens.
            own_pooling = info.arch_value("pooling_type") is not None
            try:
                self.embedder = llama_cpp.Llama(
                    model_path=request.path,
                    embedding=True,
                    n_ctx=n_ctx,
                    n_batch=n_ctx,
                    n_ubatch=n_ctx,  # a text must fit one micro-batch to be pooled
                    n_threads=self.threads or _default_threads(),
                    n_gpu_layers=0,
                    pooling_type=(
                        llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED
                        if own_pooling
                        else llama_cpp.LLAMA_POOLING_TYPE_MEAN
                    ),
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise EngineError(
                    translate(
                        "Errors",
                        "{file} cannot make embeddings with this llama.cpp ({error}).",
                    ).format(file=info.path.name, error=exc)
                ) from exc
            self.embedder_path = request.path
        llm = self.embedder
        vectors: list[tuple[float, ...]] = []
        tokens = 0
        for text in request.texts:
            count = len(llm.tokenize(text.encode("utf-8")))
            if count > llm.n_ctx():
                raise ContextOverflowError(
                    translate(
                        "Errors",
                        "A text of {count} tokens is longer than the {limit} this model embeds "
                        "at once; split it into smaller pieces.",
                    ).format(count=count, limit=llm.n_ctx())
                )
            tokens += count
            vector = np.asarray(llm.embed(text), dtype=np.float64)
            norm = float(np.linalg.norm(vector))
            vectors.append(tuple(float(x) for x in (vector / norm if norm else vector)))
        self.send(p.EmbeddingsReady(request.request_id, tuple(vectors), tokens))

    def load(self, request: p.LoadModel) -> None:
        import llama_cpp

        from app.core.gguf_meta import read_gguf
        from app.engine.amx import avoid_amx_kernels

        avoid_amx_kernels()  # before any model loads (AMX crashes on some Xeons)
        self.unload()
        from app.engine.kv_cache import fallback_notice, flash_notice, kv_setup

        kv = kv_setup(request.kv_type, request.flash_attn)  # an unknown type: one sentence
        kv_notice = None
        info = read_gguf(request.path)  # clear errors for bad files before llama.cpp sees them
        chat_format = resolve_chat_format(info, request.chat_template)
        if chat_format.source == "gguf":
            self._start_renderer()  # it starts up while llama.cpp loads
        plan = _load_plan(info, request)
        n_gpu_layers, backend, plan_text = plan.n_gpu_layers, plan.backend, plan.text
        projector_on_gpu = plan.projector_on_gpu
        draft_on_gpu = plan.draft_on_gpu
        # Kept on the worker while the model lives: llama.cpp holds pointers into it.
        self.moe_overrides = _expert_overrides(info, request, plan)
        started = time.perf_counter()
        last_sent = [0.0]

        def on_progress(fraction: float) -> bool:
            if fraction - last_sent[0] >= 0.05 or fraction >= 1.0:
                last_sent[0] = fraction
                self.send(p.LoadProgress(request.request_id, round(float(fraction), 3)))
            return not self.is_cancelled(request.request_id)

        threads = request.n_threads or _default_threads()

        from app.engine.hardware import llama_supports_gpu_offload

        gpu_build = llama_supports_gpu_offload()

        def make_llama(layers: int) -> Any:
            self.llama_log.mark()
            with (
                _load_progress(on_progress, cpu_only=gpu_build and layers == 0),
                expert_overrides(self.moe_overrides),
            ):
                return llama_cpp.Llama(
                    model_path=str(info.path),
                    n_ctx=request.n_ctx,
                    n_gpu_layers=layers,
                    n_threads=threads,
                    n_threads_batch=max(threads, os.cpu_count() or threads),
                    flash_attn=kv.flash_attn,
                    type_k=kv.type_k,
                    type_v=kv.type_v,
                    verbose=False,
                )

        def make_llama_kv(layers: int) -> Any:
            """``make_llama``; a quantised cache llama.cpp refuses falls back to f16, and
            flash attention it refuses with an f16 cache falls back to none."""
            nonlocal kv, kv_notice
            try:
                return make_llama(layers)
            except (ValueError, RuntimeError) as exc:
                flash_only = kv.kv_type == "f16" and kv.flash_attn
                if (kv.kv_type == "f16" and not flash_only) or self.is_cancelled(
                    request.request_id
                ):
                    raise
                failure = self.llama_log.explain_load_failure(
                    info.path.name, info.architecture, exc
                )
                if flash_only:
                    log.warning("flash attention failed (%s); loading without it", failure)
                    kv_notice = flash_notice(str(failure))
                    kv = dataclasses.replace(kv, flash_attn=False)
                    return make_llama(layers)
                log.warning("a %s KV cache failed (%s); trying f16", kv.kv_type, failure)
                kv_notice = fallback_notice(kv.kv_type, str(failure))
                kv = kv_setup("f16", request.flash_attn)
                return make_llama(layers)

        try:
            try:
                llm = make_llama_kv(n_gpu_layers)
            except (ValueError, RuntimeError) as exc:
                failure = self.llama_log.explain_load_failure(
                    info.path.name, info.architecture, exc
                )
                if (
                    n_gpu_layers == 0
                    or self.is_cancelled(request.request_id)
                    or isinstance(failure, (UnsupportedModelError, InvalidModelError))
                ):
                    raise
                # The GPU could not be used (driver, CUDA/Metal/Vulkan runtime, GPU memory):
                # fall back to the CPU and say so where the plan is shown.
                log.warning("loading on the GPU failed (%s); falling back to the CPU", failure)
                llm = make_llama_kv(0)
                n_gpu_layers, backend, projector_on_gpu = 0, "cpu", False
                draft_on_gpu = False
                reason = (
                    translate("Plan", "not enough GPU memory")
                    if isinstance(failure, ModelTooLargeError)
                    else str(failure).rstrip(".")
                )
                plan_text = translate("Plan", "CPU only: the GPU could not be used ({reason})")
                plan_text = plan_text.format(reason=reason)
        except (ValueError, RuntimeError) as exc:
            if self.is_cancelled(request.request_id):
                raise CancelledError(
                    translate("Errors", "Loading {file} was cancelled.").format(file=info.path.name)
                ) from exc
            raise self.llama_log.explain_load_failure(
                info.path.name, info.architecture, exc
            ) from exc
        self.llm = llm
        self.threads = threads
        from app.engine.lora import Adapters

        self.adapters = Adapters(llm, info, lambda: list(self.llama_log.lines))
        # A template that fails its trial render is replaced before the first message.
        self.prompt = PromptBuilder(llm, info, chat_format, self.renderer)
        self.prompt.check()
        self.kv_store = _open_kv_store(request, llm.n_ctx(), kv.kv_type, kv.flash_attn)
        chat_format = self.chat_format = self.prompt.chat_format
        vision_notice = None
        if request.mmproj:
            vision_notice = self._open_vision(request, info.path.name, projector_on_gpu)
        from app.engine.speculative import draft_for

        draft, draft_notice = draft_for(llm, request.draft)
        if draft is not None and draft != "lookup":  # a draft model's path
            draft, draft_notice = self._open_draft(
                request, draft, threads, gpu_build and not draft_on_gpu, draft_on_gpu
            )
        self.loaded = p.ModelLoaded(
            request_id=request.request_id,
            path=str(info.path),
            n_ctx=llm.n_ctx(),
            n_gpu_layers=n_gpu_layers,
            backend=backend,
            chat_format=chat_format.name,
            chat_format_source=chat_format.source,
            load_s=time.perf_counter() - started,
            plan=plan_text,
            notice=_join_notices(self.prompt.notice, vision_notice, kv_notice, draft_notice),
            vision=self.vision is not None,
            mmproj=str(self.vision.path) if self.vision is not None else None,
            kv_type=kv.kv_type,
            cpu_moe_layers=len(overridden_layers(self.llama_log.overridden)),
            draft=draft,
            flash_attn=kv.flash_attn,
        )
        self.send(self.loaded)

    def _open_vision(self, request: p.LoadModel, model_name: str, on_gpu: bool) -> str | None:
        """Load the projector for the model just loaded; a sentence when it cannot be
        used (the model then stays loaded, text only)."""
        from app.engine.vision import VisionContext

        assert self.llm is not None
        from llama_cpp import mtmd_cpp

        # mtmd's lines join llama.cpp's: kept to explain a refusal, warnings to the log.
        # Only where run() installed the callback: it lives as long as the process then
        # (a callback freed while libmtmd still holds it would crash the next log line).
        if self.llama_log.callback is not None:
            mtmd_cpp.mtmd_helper_log_set(self.llama_log.callback, ctypes.c_void_p(0))
        self.llama_log.mark()
        try:
            self.vision = VisionContext.open(
                self.llm,
                request.mmproj or "",
                model_name=model_name,
                n_threads=self.threads,
                use_gpu=on_gpu,
                flash_attn=bool(request.flash_attn),
                log_lines=lambda: list(self.llama_log.lines),
            )
        except ProjectorError as exc:
            log.warning("%s", exc)
            return str(exc)
        return None

    def _open_draft(
        self, request: p.LoadModel, path: str, threads: int, cpu_only: bool, on_gpu: bool
    ) -> tuple[str | None, str | None]:
        """Load the draft model beside the model just loaded (engine.draft_model), on
        the same threads, all its layers on the GPU where the plan put them (``cpu_only``:
        a GPU build keeps it off the GPU entirely): its path, or None and the sentence
        why it cannot draft."""
        from app.engine.draft_model import open_draft

        assert self.llm is not None
        layers = -1 if on_gpu else 0
        self.llama_log.mark()
        with _load_progress(
            lambda _fraction: not self.is_cancelled(request.request_id), cpu_only=cpu_only
        ):
            self.draft_model, notice = open_draft(
                self.llm,
                path,
                n_ctx=int(self.llm.n_ctx()),
                n_threads=threads,
                n_threads_batch=max(threads, os.cpu_count() or threads),
                n_gpu_layers=layers,
            )
        return (path if self.draft_model is not None else None), notice

    def _start_renderer(self) -> None:
        from app.engine.renderer import TemplateRenderer

        if self.renderer is None:
            self.renderer = TemplateRenderer()
        self.renderer.start()

    def unload(self) -> None:
        if self.kv_store is not None:  # the state being written is finished first
            self.kv_store.close()
            self.kv_store = None
        if self.vision is not None:  # mtmd holds the model: it goes first
            self.vision.close()
            self.vision = None
        if self.adapters is not None:  # llama.cpp frees them with the model
            self.adapters.close()
            self.adapters = None
        if self.draft_model is not None:
            self.draft_model.close()
            self.draft_model = None
        if self.llm is not None:
            self.llm.close()
        self.llm = None
        self.moe_overrides = None
        self.decode_costs = DecodeCosts()
        self.loaded = None
        self.chat_format = None
        self.prompt = None
        self.fitter = ContextFitter()

    def tokenize_messages(
        self,
        messages: list[Message],
        params: GenerationParams | None = None,
        images: Sequence[ImageTokens] = (),
    ) -> list[int]:
        """Prompt tokens: the template's markers as special tokens, message text as text,
        each image slot its image's ids; ``params``' tools and template variables go to
        the chat template."""
        assert self.prompt is not None
        from app.engine.tool_prompt import parse_tools

        tokens = self.prompt.tokenize(
            messages,
            tools=parse_tools(params.tools) if params else (),
            variables=dict(params.template_vars) if params else None,
            images=[image.ids for image in images],
        )
        self.chat_format = self.prompt.chat_format  # replaced if the template just failed
        return tokens

    def _prompt_tail(self, tokens: list[int]) -> str:
        """The text of a prompt's last tokens, special ones included."""
        assert self.llm is not None
        # Image placeholders are no tokens of the vocabulary (llama.cpp aborts on them).
        tail = self.llm.detokenize([t for t in tokens[-8:] if t >= 0], special=True)
        return bytes(tail).decode("utf-8", errors="replace")

    def generate(self, request: p.Generate) -> None:
        if self.llm is None or self.loaded is None or self.chat_format is None:
            raise NoModelLoadedError(
                translate("Errors", "No model is loaded. Choose a model first.")
            )
        started = time.perf_counter()
        params: GenerationParams = request.params
        n_ctx = self.loaded.n_ctx
        if self.adapters is not None:
            # Before the prompt: a set that changed drops the prefix cached under the old.
            self.llama_log.mark()
            self.adapters.apply(params.loras)
        from app.engine.vision import attach_images, image_indexes, overflow

        messages, image_data = attach_images(
            request.messages,
            model_name=Path(self.loaded.path).name,
            can_see=self.vision is not None,
        )
        images = self.vision.prepare(image_data) if self.vision and image_data else []
        # M-RoPE models: an image takes more KV cells than positions; keep room for them.
        surplus = sum(image.surplus for image in images)
        try:
            fitted = self.fitter.fit(
                reasoning_for_template(messages, self.chat_format.template),
                lambda kept: self.tokenize_messages(kept, params, images),
                n_ctx=n_ctx - surplus,
                max_tokens=params.max_tokens,
                setup=(params.tools, params.template_vars),
            )
        except ContextOverflowError as exc:
            raise overflow(images, image_indexes(messages[-1:]), n_ctx, exc) from exc
        kept = [images[i] for i in image_indexes(fitted.messages)]
        prompt_tokens = len(fitted.tokens) + sum(image.surplus for image in kept)
        self.send(
            p.PromptPrepared(
                request.request_id,
                prompt_tokens,
                fitted.dropped_messages,
                _join_notices(self.prompt.notice if self.prompt else None, fitted.notice),
                prompt_opens_thinking(self._prompt_tail(fitted.tokens)),
                image_tokens=sum(image.n_tokens for image in kept),
            )
        )
        max_tokens = fitted.reply_budget
        if params.max_tokens and params.max_tokens > 0:
            max_tokens = min(max_tokens, params.max_tokens)
        if params.prefill:
            max_tokens = 1
        generated = [0]
        rid = request.request_id

        threads = params.n_threads or self.threads
        batch_threads = max(threads, os.cpu_count() or threads)
        leading = [bool(params.lead_threads) and params.lead_threads != threads]

        def halted() -> bool:
            if leading[0] and self.was_held(rid):
                # Held for the first time: from now on the reply shares the cores.
                leading[0] = False
                llama_set_n_threads(self.llm.ctx, threads, batch_threads)
            self.wait_while_held(rid)
            return self.is_cancelled(rid) or self.is_cancelled(-2)

        def stop_now(_ids: Any, _logits: Any) -> bool:
            generated[0] += 1
            return halted()

        from llama_cpp import StoppingCriteriaList, llama_set_n_threads

        from app.engine.sampling import gbnf_grammar, json_grammar, logit_bias, recorder_for

        if params.json_schema and params.grammar:
            raise ConfigError(
                translate("Errors", "Give a JSON schema or a grammar for the reply, not both.")
            )
        grammar = (
            json_grammar(self.llm, params.json_schema)
            if params.json_schema
            else gbnf_grammar(self.llm, params.grammar)
            if params.grammar
            else None
        )
        bias = logit_bias(self.llm, params.logit_bias)
        recorder = recorder_for(self.llm, params)
        lead = params.lead_threads if leading[0] and params.lead_threads else threads
        llama_set_n_threads(self.llm.ctx, lead, max(lead, batch_threads))

        stop = list(dict.fromkeys([*self.chat_format.stop, *params.stop]))
        pieces: list[str] = []
        first_at: float | None = None
        finish = ["length"]
        loop: TokenLoop | None = None
        texts: Iterator[str]
        # Images go into the KV cache here; both loops below then find the whole prompt
        # cached (they never see an image's placeholder ids as tokens).
        # Saved states hold keys and values computed without LoRA adapters: not with them.
        if self.kv_store is not None:
            if kept or params.loras:
                self.kv_store.taint()
            else:  # keeps the conversation it pushes out; puts back a longer saved prefix
                self.kv_store.restore(self.llm, fitted.tokens, params.kv_key)
        # The token loop says what it reused; only the other two paths are compared here.
        reused = None if not kept and recorder is None else self._cached(fitted.tokens)
        evaluated = (
            not kept
            or self.vision is None
            or self.vision.evaluate(self.llm, fitted.tokens, kept, should_stop=halted)
        )
        if not evaluated:  # cancelled between two of the prompt's runs
            finish[0] = "cancelled"
            recorder = None
            texts = iter(())
        elif recorder is None:
            # llama.cpp's sampler chain in C, one token at a time: no per-token Python
            # beyond the loop itself (see engine.decode), the same reply token for token.
            loop = TokenLoop(
                self.llm,
                fitted.tokens,
                params,
                max_tokens=max_tokens,
                stop=stop,
                grammar=grammar,
                bias=bias,
                should_stop=lambda: stop_now(None, None),
                drafter=self._drafter(),
            )
            texts = loop.texts()
        else:
            # Log-probabilities need each step's logits: llama-cpp-python's own loop.
            stream = self.llm.create_completion(
                prompt=fitted.tokens,
                max_tokens=max_tokens,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=params.top_k,
                min_p=params.min_p,
                repeat_penalty=params.repeat_penalty,
                seed=params.seed,
                stop=stop,
                stream=True,
                stopping_criteria=StoppingCriteriaList([stop_now]),
                grammar=grammar,
                logit_bias=bias,
            )
            texts = _completion_texts(recorder.recording(stream), finish)
        unsent: list[str] = []
        sent_bytes = 0  # of the text sent, to hand out the tokens it holds
        last_sent = 0.0
        interval = DELTA_INTERVAL_S if params.delta_interval_s is None else params.delta_interval_s
        for text in texts:
            if text:
                now = time.perf_counter()
                if first_at is None:
                    first_at = now
                pieces.append(text)
                unsent.append(text)
                # The first token goes out at once; later ones are batched so the caller
                # wakes at most every DELTA_INTERVAL_S, not once per token: on a machine
                # whose cores all run llama.cpp, each wake-up stalls the decode threads.
                if len(pieces) == 1 or now - last_sent >= interval:
                    sent_bytes += self._send_delta(rid, unsent, recorder, sent_bytes)
                    last_sent = now
        finish_reason = loop.finish_reason if loop is not None else finish[0]
        if unsent:
            sent_bytes += self._send_delta(rid, unsent, recorder, sent_bytes)
        logprobs = None
        if recorder is not None:
            last = recorder.finish(sent_bytes)  # tokens that the reply's end cut
            if last:
                self.send(p.Delta(rid, "", last))
            logprobs = recorder.given()
        ended = time.perf_counter()
        if loop is not None and not kept:
            reused = loop.reused
        if reused is not None:
            self.prompt_evaluated = len(fitted.tokens) - min(reused, len(fitted.tokens) - 1)
        if self.is_cancelled(rid) or self.is_cancelled(-2):
            finish_reason = "cancelled"
        self.generations += 1
        if loop is not None:
            sampled, n_out = loop.sampled, len(loop.tokens)
        else:
            sampled = generated[0]
            # The per-token callback also sees a token sampled just before
            # llama-cpp-python notices the length limit; a reply holds max_tokens at most.
            n_out = min(sampled, max_tokens)
        decode_s = ended - first_at if first_at is not None else 0.0
        stats = GenerationStats(
            prompt_tokens=prompt_tokens,
            completion_tokens=n_out,
            ttft_s=(first_at - started) if first_at is not None else ended - started,
            tokens_per_s=(sampled - 1) / decode_s if sampled > 1 and decode_s > 0 else 0.0,
            total_s=ended - started,
            n_gpu_layers=self.loaded.n_gpu_layers,
            n_ctx=n_ctx,
            backend=self.loaded.backend,
            dropped_messages=fitted.dropped_messages,
        )
        self.send(p.GenerationDone(rid, "".join(pieces), finish_reason, stats, logprobs))
        if (
            self.kv_store is not None
            and not kept
            and finish_reason != "cancelled"
            and not params.loras
        ):
            self.kv_store.save(self.llm, params.kv_key)  # written in the background

    def _cached(self, tokens: list[int]) -> int:
        """Tokens of a prompt the KV cache holds (before images or llama-cpp-python's own
        loop evaluate it)."""
        from app.engine.kv_state import cached_prefix

        return cached_prefix(self.llm, tokens)

    def forget_state(self, request: p.ForgetState) -> None:
        """Delete saved state of conversations (their files, RAM slots, and the KV cache
        itself when it holds one of them)."""
        from app.engine.kv_files import clear_folder, forget_files

        store = self.kv_store
        live = store is not None and store.forget(request.keys, everything=request.everything)
        if live and self.llm is not None:
            self.llm.reset()
            self.llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        folder = Path(request.folder)
        files = clear_folder(folder) if request.everything else forget_files(folder, request.keys)
        self.send(p.StateForgotten(request.request_id, files))

    def _drafter(self) -> Drafter | None:
        """A reply's drafter for the loaded model's speculative decoding (None: off)."""
        if self.draft_model is not None:
            return self.draft_model.drafter()
        if self.loaded is None or self.loaded.draft != "lookup":
            return None
        return PromptLookup(costs=self.decode_costs)  # costs measured over the model's replies

    def _send_delta(
        self, rid: int, unsent: list[str], recorder: LogprobRecorder | None, sent_bytes: int
    ) -> int:
        """Send ``unsent`` text (and the tokens it completes) and clear it; its bytes."""
        text = "".join(unsent)
        unsent.clear()
        size = len(text.encode("utf-8"))
        logprobs = recorder.take(sent_bytes + size) if recorder is not None else ()
        self.send(p.Delta(rid, text, logprobs))
        return size

    def stats(self) -> dict[str, Any]:
        import psutil

        rss = psutil.Process().memory_info().rss
        data: dict[str, Any] = {
            "pid": os.getpid(),
            "rss_bytes": rss,
            "generations": self.generations,
        }
        if self.loaded is not None:
            from llama_cpp import llama_n_threads

            data.update(
                model=self.loaded.path,
                n_ctx=self.loaded.n_ctx,
                n_gpu_layers=self.loaded.n_gpu_layers,
                # As llama.cpp's context holds it (a reply may change it for its duration).
                n_threads=llama_n_threads(self.llm.ctx),
                backend=self.loaded.backend,
                chat_format=self.loaded.chat_format,
                vision=self.vision is not None,
                # Image chunks encoded into the KV cache since the model loaded.
                images_encoded=self.vision.encoded if self.vision is not None else 0,
                kv_type=self.loaded.kv_type,
                # Of the last prompt, the tokens evaluated (the rest came from the cache)
                # and those a saved state put back; states saved since the model loaded.
                prompt_tokens_evaluated=self.prompt_evaluated,
                kv_state_restored=self.kv_store.restored_tokens if self.kv_store else 0,
                kv_state_saved=self.kv_store.saved if self.kv_store else 0,
                # Where the last restore came from ("ram", "disk", ""), and the RAM slots.
                kv_state_restored_from=self.kv_store.restored_from if self.kv_store else "",
                kv_ram_slots=self.kv_store.slots if self.kv_store else 0,
                kv_ram_bytes=self.kv_store.slot_bytes if self.kv_store else 0,
                # LoRA adapters read from disk since the model loaded, and those applied.
                lora_loads=self.adapters.loads if self.adapters is not None else 0,
                loras=[list(x) for x in self.adapters.applied] if self.adapters else [],
                # Speculative decoding: "lookup", the draft model's path, or None; a draft
                # model's tokens drafted and accepted since it loaded.
                draft=self.loaded.draft,
                draft_drafted=self.draft_model.drafted if self.draft_model else 0,
                draft_accepted=self.draft_model.accepted if self.draft_model else 0,
            )
        return data


def _completion_texts(stream: Iterator[Any], finish: list[str]) -> Iterator[str]:
    """The text of each chunk of a ``create_completion`` stream; its finish reason goes
    into ``finish[0]``."""
    for chunk in stream:
        choice = chunk["choices"][0]
        yield choice.get("text") or ""
        if choice.get("finish_reason"):
            finish[0] = str(choice["finish_reason"])


def _open_kv_store(
    request: p.LoadModel, n_ctx: int, kv_type: str, flash_attn: bool
) -> KVStateStore | None:
    """The saved conversation state for this load (RAM slots, files), where the settings
    keep any."""
    disk = bool(request.kv_state_dir) and request.kv_state_mb > 0
    if not disk and request.kv_ram_mb <= 0:
        return None
    from app.engine.hardware import MIB
    from app.engine.kv_state import KVStateStore, load_identity

    identity = load_identity(request.path, n_ctx=n_ctx, kv_type=kv_type, flash_attn=flash_attn)
    return KVStateStore(
        Path(request.kv_state_dir) if disk and request.kv_state_dir else None,
        request.kv_state_mb * MIB if disk else 0,
        identity,
        ram_bytes=max(0, request.kv_ram_mb) * MIB,
    )


def _join_notices(*notices: str | None) -> str | None:
    """The sentences that apply, as one notice (None if none); each stays translatable."""
    return join(" ", (n for n in notices if n)) or None


def _default_threads() -> int:
    """Physical cores: llama.cpp decodes no faster on hyper-threads, often slower."""
    import psutil

    return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)


def worker_main(conn: Connection, log_file: str | None = None) -> None:
    """Process entry point (``multiprocessing`` spawn target)."""
    die_with_parent()  # first: the worker never outlives Hearth, whatever it is doing
    # Ctrl+C in a terminal reaches the whole process group; the caller decides what a
    # Ctrl+C means (stop the reply), so the worker must not die of it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger().addHandler(logging.NullHandler())  # never print to the CLI's stderr
    if log_file:
        from app.core.logsetup import PrivateFileHandler

        handler = PrivateFileHandler(log_file, encoding="utf-8")
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s worker %(name)s: %(message)s")
        )
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
    try:
        _Worker(conn).run()
    finally:
        conn.close()
