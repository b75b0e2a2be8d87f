"""The caller's side of the engine: owns the worker process and never blocks on it.

Every call returns a :class:`RequestHandle` at once; events arrive on a reader thread (or,
for the API server, on its event loop: :meth:`EngineClient.deliver_on`) and go to the
handle (for code that wants to wait, like the CLI) and to an ``on_event`` callback (for
the Qt service, which re-emits them as signals). When the worker dies,
each pending request gets an ``EngineCrashedError`` event; the next request starts a
fresh worker and, if a model was loaded, loads it again first.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import multiprocessing as mp
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from app.core.errors import EngineCrashedError, EngineError, HearthError, error_from_kind
from app.core.generation import GenerationParams, Message
from app.core.i18n import translate
from app.engine import protocol as p
from app.engine.lifeline import start_child
from app.engine.worker import worker_main

log = logging.getLogger(__name__)

EventCallback = Callable[[p.Event], None]


class RequestHandle:
    """One request in flight: its events, in order, and its final outcome.

    With a ``listener`` its events are handed to that, on the client's reader thread, as
    they arrive, instead of being queued for :meth:`next_event`: a caller that forwards
    them at once (the API server) spares a thread's wake-up per event.
    """

    def __init__(self, request_id: int, kind: str, listener: EventCallback | None = None) -> None:
        self.request_id = request_id
        self.kind = kind
        self.sent_at = time.perf_counter()
        self._events: queue.Queue[p.Event] = queue.Queue()
        self._listener = listener
        self._final: p.Event | None = None
        self._done = threading.Event()

    def _push(self, event: p.Event) -> None:
        if isinstance(event, p.FINAL_EVENTS):
            self._final = event
        if self._listener is not None:
            self._listener(event)
        else:
            self._events.put(event)
        if isinstance(event, p.FINAL_EVENTS):
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def next_event(self, timeout: float | None = None) -> p.Event:
        """The next event of this request (blocks the calling thread up to ``timeout``)."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            raise EngineError(
                translate(
                    "Errors",
                    "The engine did not answer within {timeout:.0f} s. Stop and try again.",
                ).format(timeout=timeout)
            ) from None

    def events(self, timeout: float | None = None) -> Iterator[p.Event]:
        """Yield this request's events until its final one (blocks the calling thread)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            event = self.next_event(remaining)
            yield event
            if isinstance(event, p.FINAL_EVENTS):
                return

    def outcome(self, timeout: float | None = None) -> p.Event:
        """Wait for the final event and return it, an ErrorEvent included."""
        if not self._done.wait(timeout):
            raise EngineError(
                translate(
                    "Errors",
                    "The engine did not answer within {timeout} s.",
                ).format(timeout=timeout)
            )
        final = self._final
        assert final is not None
        return final

    def wait(self, timeout: float | None = None) -> p.Event:
        """Wait for the final event; raise the HearthError an ErrorEvent stands for."""
        final = self.outcome(timeout)
        if isinstance(final, p.ErrorEvent):
            raise error_from_kind(final.kind, final.message)
        return final


class EngineClient:
    """Starts, feeds and watches the llama.cpp worker process."""

    def __init__(
        self, *, on_event: EventCallback | None = None, log_file: str | None = None
    ) -> None:
        self._on_event = on_event
        self._log_file = log_file
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._pending: dict[int, RequestHandle] = {}
        self._process: Any = None
        self._conn: Connection | None = None
        self._reader: threading.Thread | None = None
        self._last_load: p.LoadModel | None = None  # what to reload after a crash
        self._loads_in_flight: dict[int, p.LoadModel] = {}
        self._loaded_in_worker = False
        self._generation = 0  # bumps with each worker, so stale readers stay quiet
        self.restarts = 0
        # Who reads the worker's events: a thread of their own, or the event loop given
        # to deliver_on ("loop" from the moment the thread handed over to it).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading = "thread"
        self._handing_over = False  # a Handover sent, its HandedOver not read yet
        self._watched: tuple[asyncio.AbstractEventLoop, int] | None = None  # loop, fd

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def worker_pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    @property
    def loaded_path(self) -> str | None:
        """The model the worker holds now (None: none, or it is being replaced)."""
        with self._lock:
            if self._loaded_in_worker and self._last_load is not None:
                return self._last_load.path
            return None

    def start(self) -> None:
        """Start the worker if none runs (returns at once; it boots in the background)."""
        with self._lock:
            if self._process is not None and self._process.is_alive():
                return
            ctx = mp.get_context("spawn")  # fork would copy Qt and threads into the child
            parent_conn, child_conn = ctx.Pipe(duplex=True)
            process = ctx.Process(
                target=worker_main,
                args=(child_conn, self._log_file),
                name="hearth-engine",
                daemon=True,
            )
            start_child(process)  # the worker ends with this process (see lifeline)
            child_conn.close()  # so the reader sees EOF when the worker dies
            self._generation += 1
            self._process, self._conn = process, parent_conn
            self._loaded_in_worker = False
            self._handing_over = False
            self._read(parent_conn, process, self._generation)
            log.info("engine worker started, pid %s", process.pid)

    def deliver_on(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Read the worker's events on ``loop`` instead of on a thread of their own.

        For the API server: each token then wakes only the event loop that sends it on,
        not a reader thread that wakes the loop in turn. Call it on ``loop``'s thread
        while it runs, and ``deliver_on(None)`` there before it stops, which goes back to
        a thread. Listeners and ``on_event`` then run on the loop's thread, so they must
        not block. A worker already running hands over at its next event. No effect on
        Windows, whose pipes an event loop cannot watch.
        """
        if sys.platform == "win32":
            return
        with self._lock:
            self._loop = loop
            conn, process, generation = self._conn, self._process, self._generation
            if conn is None:
                return  # the next worker starts with it
            if loop is None:
                if self._reading == "loop":  # we are on the loop: nothing reads meanwhile
                    watched, self._watched = self._watched, None
                    if watched is not None:
                        watched[0].remove_reader(watched[1])
                    self._read(conn, process, generation)
                return
            if self._reading == "thread" and not self._handing_over:
                # The reader thread is blocked in recv(): the worker's answer to this
                # wakes it, and it stops after that event (see _read_events).
                self._handing_over = True
                with contextlib.suppress(OSError, EOFError):
                    conn.send(p.Handover(next(self._ids)))

    def _read(self, conn: Connection, process: Any, generation: int) -> None:
        """Have the events of a worker read (lock held): on the loop, else by a thread."""
        if self._to_loop(conn, process, generation):
            return
        self._reading = "thread"
        self._reader = threading.Thread(
            target=self._read_events,
            args=(conn, process, generation),
            name="engine-events",
            daemon=True,
        )
        self._reader.start()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout``."""
        with self._lock:
            process, conn = self._process, self._conn
            self._process = self._conn = None
            self._generation += 1
            watched, self._watched = self._watched, None
        if process is None:
            return
        try:
            if conn is not None:
                conn.send(p.Shutdown(request_id=next(self._ids)))
        except (OSError, EOFError):
            pass
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(timeout)
        if watched is not None and conn is not None:
            _close_watched(watched[0], watched[1], conn)
        elif conn is not None:
            conn.close()
        self._fail_pending(translate("Errors", "The engine was shut down."), EngineError)

    # -- requests ------------------------------------------------------------------------
    def load(
        self,
        path: str,
        *,
        n_ctx: int = 4096,
        n_gpu_layers: int | None = 0,
        n_threads: int | None = None,
        chat_template: str | None = None,
        flash_attn: bool | None = None,
        mmproj: str | None = None,
        kv_type: str = "f16",
        kv_state_dir: str | None = None,
        kv_state_mb: int = 0,
        cpu_moe: int | None = None,
        draft: str | None = None,
        kv_ram_mb: int = 0,
    ) -> RequestHandle:
        request_id = next(self._ids)
        request = p.LoadModel(
            request_id,
            str(path),
            n_ctx,
            n_gpu_layers,
            n_threads,
            chat_template,
            flash_attn,
            str(mmproj) if mmproj else None,
            kv_type=kv_type,
            kv_state_dir=kv_state_dir,
            kv_state_mb=kv_state_mb,
            cpu_moe=cpu_moe,
            draft=draft,
            kv_ram_mb=kv_ram_mb,
        )
        return self._submit(request, "load")

    def generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams | None = None,
        *,
        listener: EventCallback | None = None,
    ) -> RequestHandle:
        """Start a reply; ``listener`` gets its events on the reader thread (see
        :class:`RequestHandle`) instead of the handle's queue."""
        request = p.Generate(next(self._ids), tuple(messages), params or GenerationParams())
        # What was said reaches the log only at debug level (hearth --verbose).
        log.debug("generate %d: %r", request.request_id, request.messages)
        with self._lock:
            alive = self._process is not None and self._process.is_alive()
            if not (alive and self._loaded_in_worker) and self._last_load is not None:
                # A fresh worker after a crash: bring the model back before generating.
                reload = dataclasses.replace(self._last_load, request_id=next(self._ids))
                self._submit(reload, "reload")
            return self._submit(request, "generate", listener)

    def embed(self, path: str, texts: Sequence[str]) -> RequestHandle:
        """Embedding vectors of ``texts`` (an :class:`EmbeddingsReady` event) by the model
        at ``path``; the chat model in use stays loaded."""
        return self._submit(p.Embed(next(self._ids), path, tuple(texts)), "embed")

    def unload(self) -> RequestHandle:
        with self._lock:
            self._last_load = None
            return self._submit(p.UnloadModel(next(self._ids)), "unload")

    def forget_state(
        self, folder: str, keys: Sequence[str] = (), *, everything: bool = False
    ) -> RequestHandle | None:
        """Delete the saved KV state of conversations ``keys`` (or of all): through the
        worker when it runs (its RAM and a file being written included), else the files
        here at once (None)."""
        with self._lock:
            if self._process is not None and self._process.is_alive():
                request = p.ForgetState(next(self._ids), folder, tuple(keys), everything)
                return self._submit(request, "forget")
        from app.engine.kv_files import clear_folder, forget_files

        if everything:
            clear_folder(Path(folder))
        else:
            forget_files(Path(folder), keys)
        return None

    def stats(self) -> RequestHandle:
        return self._submit(p.GetStats(next(self._ids)), "stats")

    def cancel(self, target: RequestHandle | int) -> None:
        """Stop a generation or load; it ends at the next token with ``cancelled``."""
        self._control(target, p.Cancel)

    def hold(self, target: RequestHandle | int, seconds: float) -> None:
        """Pause a generation before its next token for up to ``seconds`` (or until
        :meth:`release`), to give its cores to other work the user is waiting for."""
        self._control(target, lambda rid, target_id: p.Hold(rid, target_id, max(0.0, seconds)))

    def release(self, target: RequestHandle | int) -> None:
        """Let a held generation go on now."""
        self.hold(target, 0.0)

    def _control(self, target: RequestHandle | int, make: Callable[[int, int], p.Request]) -> None:
        """Send a request about a running one (cancel, hold); ignored once it has ended."""
        target_id = target.request_id if isinstance(target, RequestHandle) else target
        with self._lock:
            conn = self._conn
            if conn is None or target_id not in self._pending:
                return
            # A dead worker is reported by the reader thread, not here.
            with contextlib.suppress(OSError, EOFError):
                conn.send(make(next(self._ids), target_id))

    def _submit(
        self, request: p.Request, kind: str, listener: EventCallback | None = None
    ) -> RequestHandle:
        handle = RequestHandle(request.request_id, kind, listener)
        with self._lock:
            self.start()
            self._pending[request.request_id] = handle
            if isinstance(request, p.LoadModel):
                self._loaded_in_worker = False
                self._loads_in_flight[request.request_id] = request
            conn = self._conn
            assert conn is not None
            try:
                conn.send(request)
            except (OSError, EOFError, BrokenPipeError):
                # Worker already gone; the reader thread turns this into a crash event.
                log.warning("engine pipe closed while sending %s", kind)
        return handle

    # -- events --------------------------------------------------------------------------
    def _read_events(self, conn: Connection, process: Any, generation: int) -> None:
        while True:
            try:
                event: p.Event = conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a garbled message: treat the worker as broken
                log.exception("bad message from engine worker")
                break
            if isinstance(event, p.HandedOver):
                if self._hand_over(conn, process, generation):
                    return
                continue
            self._dispatch(event)
        self._worker_ended(process, generation)

    def _hand_over(self, conn: Connection, process: Any, generation: int) -> bool:
        """On the reader thread, at a HandedOver: True when the loop reads from now on."""
        with self._lock:
            self._handing_over = False
            return generation == self._generation and self._to_loop(conn, process, generation)

    def _to_loop(self, conn: Connection, process: Any, generation: int) -> bool:
        """Have the loop given to deliver_on read from now on (lock held); False when
        there is none, or it has closed."""
        loop = self._loop
        if loop is None:
            return False
        try:
            loop.call_soon_threadsafe(self._watch, conn, process, generation)
        except RuntimeError:  # the loop has closed
            self._loop = None
            return False
        self._reading = "loop"
        return True

    def _watch(self, conn: Connection, process: Any, generation: int) -> None:
        """On the loop: read the worker's events as they come."""
        with self._lock:
            loop = self._loop
            if (
                loop is None
                or generation != self._generation
                or self._reading != "loop"
                or self._watched is not None
            ):
                return  # gone back to a thread, or the worker was replaced meanwhile
            fd = conn.fileno()
            loop.add_reader(fd, self._on_readable, conn, fd, process, generation)
            self._watched = (loop, fd)

    def _on_readable(self, conn: Connection, fd: int, process: Any, generation: int) -> None:
        """On the loop: the next event (a readable pipe holds at least part of one; the
        worker writes the rest at once)."""
        try:
            event: p.Event = conn.recv()
        except Exception as exc:
            if not isinstance(exc, EOFError | OSError):
                log.exception("bad message from engine worker")
            loop = asyncio.get_running_loop()
            loop.remove_reader(fd)
            with self._lock:
                if self._watched == (loop, fd):
                    self._watched = None
            # Waiting for the process to end would hold up the loop.
            threading.Thread(
                target=self._worker_ended,
                args=(process, generation),
                name="engine-ended",
                daemon=True,
            ).start()
            return
        self._dispatch(event)

    def _worker_ended(self, process: Any, generation: int) -> None:
        """The worker's pipe closed: if nobody meant it to, fail what was pending."""
        process.join(2.0)
        with self._lock:
            if generation != self._generation:
                return  # a deliberate shutdown or an already-replaced worker
            self._process = self._conn = None
            self._loaded_in_worker = False
            self.restarts += 1
        reason = _describe_exit(process.exitcode)
        log.error("engine worker %s stopped: %s", process.pid, reason)
        self._fail_pending(
            translate(
                "Errors",
                "The engine stopped unexpectedly ({reason}). Hearth will start a fresh "
                "engine for your next request; if it happens again, lower the context "
                "length or GPU layers, or choose another model.",
            ).format(reason=reason),
            EngineCrashedError,
        )

    def _dispatch(self, event: p.Event) -> None:
        with self._lock:
            handle = self._pending.get(event.request_id)
            if isinstance(event, p.ModelLoaded):
                self._loaded_in_worker = True
                self._last_load = self._loads_in_flight.pop(event.request_id, self._last_load)
            elif isinstance(event, p.ErrorEvent):
                self._loads_in_flight.pop(event.request_id, None)
            elif isinstance(event, p.ModelUnloaded):
                self._loaded_in_worker = False
            if handle is not None and isinstance(event, p.FINAL_EVENTS):
                del self._pending[event.request_id]
        if handle is not None:
            handle._push(event)
        self._notify(event)

    def _fail_pending(self, message: str, error: type[HearthError]) -> None:
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
        for handle in pending:
            self._dispatch_failure(handle, p.ErrorEvent(handle.request_id, error.__name__, message))

    def _dispatch_failure(self, handle: RequestHandle, event: p.ErrorEvent) -> None:
        handle._push(event)
        self._notify(event)

    def _notify(self, event: p.Event) -> None:
        """Hand ``event`` to the ``on_event`` callback; its failure is the caller's bug."""
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("engine event callback failed")


def _close_watched(loop: asyncio.AbstractEventLoop, fd: int, conn: Connection) -> None:
    """Stop ``loop`` watching ``fd``, then close ``conn``: on the loop's own thread, so that
    the number is never reused while the loop still watches it."""

    def close() -> None:
        loop.remove_reader(fd)
        conn.close()

    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        close()
        return
    try:
        loop.call_soon_threadsafe(close)
    except RuntimeError:  # the loop has closed, its watch with it
        conn.close()


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if name == "SIGKILL":
            return "it was killed, possibly because the system ran out of memory"
        if name == "SIGABRT":
            return "llama.cpp aborted"
        if name == "SIGSEGV":
            return "llama.cpp crashed"
        return f"it was stopped by {name}"
    return f"it exited with status {exitcode}"
