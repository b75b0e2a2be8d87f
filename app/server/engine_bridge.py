"""One engine for every caller: a fair FIFO queue of generations in front of an EngineClient.

The worker runs one request at a time anyway; queueing here (not in the worker's pipe)
lets the bridge switch models between jobs, drop a job whose caller left before it ran
without spending a prompt evaluation on it, refuse work when the queue is full, and
keep the counters the server's status and the tests read. Jobs run strictly in arrival
order whoever submits them (API clients or, later, the window), so nobody starves.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from app.catalog.library import CHAT, Library, ModelEntry
from app.composition.options import LoadOptions, default_model, load_options
from app.core.errors import (
    EngineError,
    HearthError,
    ModelNotFoundError,
    ServerBusyError,
)
from app.core.generation import GenerationParams, GenerationStats, Message
from app.core.settings import Settings
from app.engine import protocol as p
from app.engine.client import EngineClient, RequestHandle

log = logging.getLogger(__name__)

JobEvent = p.PromptPrepared | p.Delta | p.GenerationDone | p.ErrorEvent
EventSink = Callable[[JobEvent], None]

_NO_STATS = GenerationStats(0, 0, 0.0, 0.0, 0.0, 0, 0, "")
_ANY = "\0any"  # the projector loaded by someone else, taken as the one wanted


def sees_images(entry: ModelEntry) -> bool:
    """Whether the library pairs ``entry`` with a vision projector."""
    return entry.vision


@dataclass(frozen=True)
class JobRecord:
    """How one finished job went (kept for status and tests)."""

    job_id: int
    source: str
    model: str
    finish_reason: str  # stop | length | cancelled | error
    prompt_tokens: int
    completion_tokens: int
    queued_s: float
    run_s: float
    ended_at: float  # time.monotonic()


@dataclass
class Job:
    """One generation asked of the bridge; events go to ``sink`` or to :meth:`events`."""

    job_id: int
    source: str
    model: ModelEntry
    messages: tuple[Message, ...]
    params: GenerationParams
    sink: EventSink | None = None
    enqueued_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    handle: RequestHandle | None = None
    cancel_requested: bool = False
    finished: threading.Event = field(default_factory=threading.Event)
    # Set for a job that only loads its model (``EngineBridge.load``): the outcome goes here.
    preload: queue.Queue[p.ModelLoaded | HearthError | None] | None = None
    _events: queue.Queue[JobEvent] = field(default_factory=queue.Queue)

    def emit(self, event: JobEvent) -> None:
        if self.sink is not None:
            self.sink(event)
        else:
            self._events.put(event)

    def next_event(self, timeout: float | None = None) -> JobEvent | None:
        """The next event, or None when none came within ``timeout`` (no sink jobs only)."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def events(self, timeout: float | None = None) -> Iterator[JobEvent]:
        """Yield events until the final one (only for jobs submitted without a sink)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                event = self._events.get(timeout=remaining)
            except queue.Empty:
                raise EngineError(f"The engine did not answer within {timeout} s.") from None
            yield event
            if isinstance(event, p.GenerationDone | p.ErrorEvent):
                return


class EngineBridge:
    """Shares one :class:`EngineClient` between many callers, one generation at a time."""

    def __init__(
        self,
        library: Library,
        *,
        default_model: str | None = None,
        engine: EngineClient | None = None,
        n_ctx: int = 4096,
        n_gpu_layers: int | None = None,
        n_threads: int | None = None,
        template_overrides: dict[str, str] | None = None,
        options: Callable[[ModelEntry], LoadOptions] | None = None,
        max_queue: int = 32,
        log_file: str | None = None,
        history: int = 100,
    ) -> None:
        """``options`` gives the load options of a model (app.composition.options); without
        it they come from ``n_ctx``, ``n_gpu_layers``, ``n_threads`` and ``template_overrides``
        taken as settings."""
        self.library = library
        self.default_model = default_model
        self.engine = engine or EngineClient(log_file=log_file)
        self._owns_engine = engine is None
        if options is None:
            settings = Settings(
                n_ctx=n_ctx,
                gpu_layers="auto" if n_gpu_layers is None else str(n_gpu_layers),
                n_threads=n_threads,
                template_overrides=dict(template_overrides or {}),
            )
            options = lambda entry: load_options(entry, settings)  # noqa: E731
        self.options = options
        self.max_queue = max_queue
        self.history: collections.deque[JobRecord] = collections.deque(maxlen=history)
        self.counts: collections.Counter[str] = collections.Counter()
        self._ids = itertools.count(1)
        self._queue: collections.deque[Job] = collections.deque()
        self._cond = threading.Condition()
        self._running: Job | None = None
        self._loaded_path: str | None = None
        self._loaded_mmproj: str | None = None  # the entry's projector when it was loaded
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="engine-bridge", daemon=True)
        self._thread.start()

    @property
    def owns_engine(self) -> bool:
        """Whether the engine is the bridge's own (not shared with the window)."""
        return self._owns_engine

    # -- models --------------------------------------------------------------------------
    def chat_models(self) -> list[ModelEntry]:
        return [e for e in self.library.entries(CHAT) if e.error is None]

    def resolve_model(self, name: str | None) -> ModelEntry:
        """A usable chat model by library name; ``None`` means the default one.

        Paths are refused: a network client must not make Hearth open arbitrary files.
        """
        if not name:
            return default_model(self.library, Settings(default_model=self.default_model))
        if "/" in name or "\\" in name or name.lower().endswith(".gguf"):
            raise ModelNotFoundError(f"No chat model named {name!r}; use a name from /v1/models.")
        entry = self.library.resolve(name, CHAT)
        if entry.error:
            raise ModelNotFoundError(entry.error)
        return entry

    def load(self, entry: ModelEntry, timeout: float | None = None) -> p.ModelLoaded | None:
        """Load ``entry`` in the queue's turn (to warm a model up); None if already loaded."""
        job = self._make_job("preload", entry, (), GenerationParams(max_tokens=0), None)
        job.preload = queue.Queue()
        self._enqueue(job, limit=False)
        try:
            result = job.preload.get(timeout=timeout)
        except queue.Empty:
            raise EngineError(f"Loading {entry.name} took longer than {timeout} s.") from None
        if isinstance(result, HearthError):
            raise result
        return result

    def note_loaded(self, path: str | None) -> None:
        """Someone else (the window) loaded ``path`` into the shared engine.

        The next job then loads its own model again only if it differs; without this the
        bridge would trust a stale idea of what the worker holds.
        """
        with self._cond:
            self._loaded_path = path
            self._loaded_mmproj = _ANY

    # -- jobs ----------------------------------------------------------------------------
    def submit(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        *,
        model: ModelEntry | None = None,
        source: str = "api",
        sink: EventSink | None = None,
    ) -> Job:
        """Queue a generation; raises :class:`ServerBusyError` when the queue is full."""
        entry = model or self.resolve_model(None)
        job = self._make_job(source, entry, tuple(messages), params, sink)
        self._enqueue(job, limit=True)
        return job

    def cancel(self, job: Job) -> None:
        """Stop ``job``: dropped if still queued, stopped at the next token if running."""
        with self._cond:
            if job.finished.is_set():
                return
            job.cancel_requested = True
            handle = job.handle
        if handle is not None:
            self.engine.cancel(handle)

    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def status(self) -> dict[str, object]:
        with self._cond:
            running = self._running
            return {
                "loaded_model": self._loaded_path,
                # The projector loaded with it (None: text only, or loaded by the window).
                "loaded_projector": None if self._loaded_mmproj == _ANY else self._loaded_mmproj,
                "queued": len(self._queue),
                "running": None if running is None else running.job_id,
                "counts": dict(self.counts),
                "worker_pid": self.engine.worker_pid,
            }

    def wait_for_record(
        self, predicate: Callable[[JobRecord], bool], timeout: float
    ) -> JobRecord | None:
        """Block until a finished job matching ``predicate`` is in the history (or time out)."""

        def found() -> JobRecord | None:
            return next((r for r in reversed(self.history) if predicate(r)), None)

        with self._cond:
            self._cond.wait_for(lambda: found() is not None, timeout)
            return found()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no job runs or waits; False if that did not happen in ``timeout``."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._running is None, timeout)

    def close(self) -> None:
        """Cancel everything, stop the dispatcher, and shut the engine down if it is ours."""
        with self._cond:
            self._closed = True
            pending = list(self._queue)
            self._queue.clear()
            running = self._running
            self._cond.notify_all()
        for job in pending:
            if job.preload is not None:
                job.preload.put(EngineError("The server is shutting down."))
            self._finish(job, p.ErrorEvent(0, "EngineError", "The server is shutting down."))
        if running is not None:
            self.cancel(running)
        self._thread.join(10.0)
        if self._owns_engine:
            self.engine.shutdown()

    def _make_job(
        self,
        source: str,
        entry: ModelEntry,
        messages: tuple[Message, ...],
        params: GenerationParams,
        sink: EventSink | None,
    ) -> Job:
        return Job(next(self._ids), source, entry, messages, params, sink)

    def _enqueue(self, job: Job, *, limit: bool) -> None:
        with self._cond:
            if self._closed:
                raise EngineError("The server is shutting down.")
            if limit and len(self._queue) >= self.max_queue:
                raise ServerBusyError(
                    f"{len(self._queue)} requests are already waiting; try again shortly."
                )
            self._queue.append(job)
            self._cond.notify_all()

    # -- the dispatcher thread -----------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._closed)
                if self._closed:
                    return
                job = self._queue.popleft()
                self._running = job
                job.started_at = time.monotonic()
            try:
                self._run_job(job)
            except Exception as exc:  # never let one job kill the dispatcher
                log.exception("bridge job %s failed", job.job_id)
                self._finish(job, p.ErrorEvent(0, "EngineError", f"The engine failed: {exc}"))
            finally:
                with self._cond:
                    self._running = None
                    self._cond.notify_all()

    def _run_job(self, job: Job) -> None:
        preload = job.preload
        if job.cancel_requested:
            self._finish(job, p.GenerationDone(0, "", "cancelled", _NO_STATS))
            return
        try:
            loaded = self._ensure_loaded(job.model)
        except HearthError as exc:
            if preload is not None:
                preload.put(exc)
                job.finished.set()
                return
            self._finish(job, p.ErrorEvent(0, type(exc).__name__, str(exc)))
            return
        if preload is not None:
            preload.put(loaded)
            job.finished.set()
            return
        with self._cond:
            if job.cancel_requested:  # the caller left while the model loaded
                handle = None
            else:
                # The reply's text goes to the caller from the engine's reader thread as it
                # arrives: a hop through this thread would cost a wake-up per delta, and
                # on a machine whose cores all run llama.cpp each wake-up waits for a core.
                handle = job.handle = self.engine.generate(
                    job.messages, job.params, listener=lambda event: _relay(job, event)
                )
        if handle is None:
            self._finish(job, p.GenerationDone(0, "", "cancelled", _NO_STATS))
            return
        final = handle.outcome()
        assert isinstance(final, p.GenerationDone | p.ErrorEvent), final
        self._finish(job, final)

    def _ensure_loaded(self, entry: ModelEntry) -> p.ModelLoaded | None:
        # A projector paired since the model was loaded (or unpaired) needs a new load.
        mmproj = entry.mmproj
        if self._loaded_path == entry.path and self._loaded_mmproj in (_ANY, mmproj):
            return None
        options = self.options(entry)
        handle = self.engine.load(options.path, **options.load_kwargs())
        self._loaded_path = None
        final = handle.wait()
        assert isinstance(final, p.ModelLoaded)
        self._loaded_path, self._loaded_mmproj = entry.path, mmproj
        log.info("server loaded %s in %.1f s", entry.name, final.load_s)
        if final.notice:  # e.g. its chat template failed and a built-in one is used
            log.warning("%s", final.notice)
        return final

    def _finish(self, job: Job, event: p.GenerationDone | p.ErrorEvent) -> None:
        now = time.monotonic()
        if isinstance(event, p.GenerationDone):
            reason, stats = event.finish_reason, event.stats
        else:
            reason, stats = "error", _NO_STATS
            if event.kind == "EngineCrashedError":
                self._loaded_path = None
        started = job.started_at or now
        record = JobRecord(
            job.job_id,
            job.source,
            job.model.name,
            reason,
            stats.prompt_tokens,
            stats.completion_tokens,
            started - job.enqueued_at,
            now - started,
            now,
        )
        with self._cond:
            self.history.append(record)
            self.counts[reason] += 1
            self._cond.notify_all()
        job.finished.set()
        job.emit(event)


def _relay(job: Job, event: p.Event) -> None:
    """A running job's prompt and text events, to its caller (the final one is the
    dispatcher's, which records the job first)."""
    if isinstance(event, p.PromptPrepared | p.Delta):
        job.emit(event)
