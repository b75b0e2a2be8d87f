"""Embedding in a child process, so the window's process never runs the model.

ONNX Runtime (or llama.cpp) keeps its threads busy and holds a few hundred MB while a
collection is indexed; in the window's process that would take the GIL and memory from
the GUI, and a crash in native code would take the window down with it. Here the model
lives in a child process started on first use: requests are batches of passages sent
over a pipe (the indexer sends up to ``EMBED_BATCH`` passages at a time), replies are
the vectors. The child ends with the process that started it (``app.engine.lifeline``);
when it dies mid-request (a crash, the OOM killer), that request fails with one
:class:`EngineCrashedError` and the next one starts a fresh child.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import multiprocessing.connection
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from app.core.errors import EngineCrashedError, EngineError, HearthError, error_from_kind
from app.core.i18n import translate
from app.docs.embedder import Embedder, OnnxEmbedder, Purpose
from app.engine.lifeline import die_with_parent, start_child

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from numpy.typing import NDArray

log = logging.getLogger(__name__)

# Makes the embedder in the child: a module-level function or functools.partial of one
# (it is pickled to reach the child, which is spawned, never forked from the window).
EmbedderFactory = Callable[[], Embedder]
_STOP_S = 3.0  # how long a child may take to leave when asked, before it is killed


def _failure(exc: BaseException) -> tuple[str, str, str]:
    if isinstance(exc, HearthError):
        return ("error", type(exc).__name__, str(exc))
    return (
        "error",
        "EngineError",
        translate(
            "Documents",
            "The embedding model failed ({kind}: {error}).",
        ).format(kind=type(exc).__name__, error=exc),
    )


def serve(conn: Connection, factory: EmbedderFactory) -> None:
    """The child: make the embedder, say what it is, then answer requests until the
    pipe closes or a stop arrives."""
    die_with_parent()
    try:
        embedder = factory()
        conn.send(("ok", (embedder.model_id, embedder.dimensions, embedder.max_tokens)))
    except BaseException as exc:  # told to the parent, which raises it
        conn.send(_failure(exc))
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the parent closed its end
        if request[0] == "stop":
            return
        reply: tuple[Any, ...]
        try:
            if request[0] == "embed":
                reply = ("ok", embedder.embed(request[1], request[2]))
            else:
                reply = ("ok", embedder.count_tokens(request[1]))
        except Exception as exc:  # one request failed; the model stays loaded
            reply = _failure(exc)
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


class ProcessEmbedder:
    """An :class:`Embedder` whose model runs in a child process (started on first use,
    and again after a crash). Thread-safe: requests are answered one at a time, a
    search's query before the rest of a batch being indexed (batches go over in parts of
    ``part`` passages, and a waiting query is sent before the next part)."""

    def __init__(
        self, factory: EmbedderFactory, *, name: str = "hearth-embedder", part: int = 16
    ) -> None:
        self._factory = factory
        self._name = name
        self._part = part
        self._lock = threading.Condition()
        self._counting = threading.Lock()
        self._queries = 0  # queries waiting or in flight: document parts let them go first
        # Counts tokens in this process (False: only the child can).
        self._counter: Callable[[Sequence[str]], list[int]] | Literal[False] | None = None
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._info: tuple[str, int, int] | None = None
        self.starts = 0  # children started so far (a crash makes the next call start one)

    # -- the Embedder protocol -------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self._described()[0]

    @property
    def dimensions(self) -> int:
        return self._described()[1]

    @property
    def max_tokens(self) -> int:
        return self._described()[2]

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if purpose == "query":
            query: NDArray[np.float32] = self._call(("embed", list(texts), purpose), urgent=True)
            return query
        parts = [
            self._call(("embed", list(texts[start : start + self._part]), purpose))
            for start in range(0, len(texts), self._part)
        ]
        vectors: NDArray[np.float32] = np.concatenate(parts)
        return vectors

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        local = self._local_counter()
        if local is not None:
            return local(texts)
        counts: list[int] = self._call(("count", list(texts)))
        return counts

    def _local_counter(self) -> Callable[[Sequence[str]], list[int]] | None:
        """Chunking counts tokens once or more per page: with an ONNX model the tokenizer
        alone does it here (a few MB, no model), saving a round trip per call."""
        with self._counting:
            if self._counter is None:
                try:
                    made = self._factory()  # embedders load their model on first use only
                except HearthError:
                    made = None  # the child says why, when asked
                self._counter = made.count_tokens if isinstance(made, OnnxEmbedder) else False
            return self._counter or None

    # -- the child -------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The child's process id while one runs."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def close(self) -> None:
        """Ask the child to leave (killed if it does not within a few seconds)."""
        with self._lock:
            self._stop()

    def _described(self) -> tuple[str, int, int]:
        info = self._info
        if info is not None:  # known: never wait behind a request in flight
            return info
        with self._lock:
            if self._info is None:
                self._start()
            assert self._info is not None
            return self._info

    def _call(self, request: tuple[Any, ...], *, urgent: bool = False) -> Any:
        if urgent:  # counted before waiting for the lock, so the next part lets it pass
            with self._counting:
                self._queries += 1
        try:
            with self._lock:
                if not urgent:
                    self._lock.wait_for(lambda: self._queries == 0)
                if self._process is None or not self._process.is_alive():
                    self._start()
                return self._exchange(request)
        finally:
            if urgent:
                with self._counting:
                    self._queries -= 1
                with self._lock:
                    self._lock.notify_all()

    def _start(self) -> None:
        self._stop()
        ctx = mp.get_context("spawn")  # fork would copy the window's Qt and threads
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        process = ctx.Process(
            target=serve, args=(child_conn, self._factory), name=self._name, daemon=True
        )
        start_child(process)  # ends with this process (app.engine.lifeline)
        child_conn.close()  # so a dead child reads as EOF here
        self._process, self._conn = process, parent_conn
        self.starts += 1
        log.info("embedding process started, pid %s", process.pid)
        reply = self._receive()
        info = (str(reply[0]), int(reply[1]), int(reply[2]))
        if self._info is not None and info != self._info:  # another model since (settings)
            with self._counting:
                self._counter = None
        self._info = info

    def _exchange(self, request: tuple[Any, ...]) -> Any:
        assert self._conn is not None
        try:
            self._conn.send(request)
        except (OSError, ValueError) as exc:
            raise self._crashed() from exc
        return self._receive()

    def _receive(self) -> Any:
        """The child's reply; raises what it reported, or EngineCrashedError if it died."""
        conn, process = self._conn, self._process
        assert conn is not None and process is not None
        # Wait for a reply or the child's end, whichever comes first.
        multiprocessing.connection.wait([conn, process.sentinel])
        try:
            reply = conn.recv() if conn.poll() else None
        except (EOFError, OSError):
            reply = None
        if reply is None:
            raise self._crashed()
        if reply[0] == "error":
            error = error_from_kind(reply[1], reply[2])
            if self._info is None:  # the model could not even be made: no child is left
                self._stop()
            raise error
        return reply[1]

    def _crashed(self) -> EngineError:
        process = self._process
        if process is not None:
            process.join(_STOP_S)
        code = process.exitcode if process is not None else None
        self._stop()
        how = f"was killed by signal {-code}" if code is not None and code < 0 else "stopped"
        log.error("embedding process %s (exit code %s)", how, code)
        return EngineCrashedError(
            translate(
                "Documents",
                "The embedding model's process {how} unexpectedly; the files indexed so "
                "far are kept: try again (a new process starts).",
            ).format(how=how)
        )

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(("stop",))
        if process is not None:
            process.join(_STOP_S)
            if process.is_alive():
                process.kill()
                process.join(_STOP_S)
        if conn is not None:
            conn.close()
