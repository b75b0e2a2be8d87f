"""Download GGUF files from the Hugging Face Hub into the models folder (no Qt).

A queue runs up to ``parallel`` downloads at once, each on its own thread. A download
writes ``<name>.part`` next to its destination with a JSON sidecar ``<name>.part.json``
(repo, file, commit, size, SHA-256), so it resumes with an HTTP Range request after a
pause, a crash, a ``kill -9`` or a reboot. Dropped connections and stalls (no byte for
``read_timeout_s``) are retried with exponential backoff, from the byte where they stopped.

Every read from the socket (at most ``CHUNK_SIZE``) is written to the unbuffered ``.part``
at once, so a dropped connection or a pause loses no byte received, and a ``kill -9`` only
what the kernel had received but the process had not read yet (its TCP receive queue) and
at most the one read in hand: written bytes are in the page cache, which outlives the
process. The hash goes on from the bytes already on disk when a download resumes. The
``.part`` and its sidecar are opened without following links (:mod:`app.catalog.partfiles`)
and repo paths must be portable relative names (:mod:`app.catalog.portable`).

Before the first byte the free space is checked; at the end the bytes are checked against
the SHA-256 the Hub publishes for LFS files (the git blob id and size for the others),
then fsynced and moved into place with ``os.replace``, so the library never sees a partial
or unverified file. A file that fails verification only loses its own ``.part``; a finished
file already at the destination is left untouched.

Metadata comes from ``huggingface_hub`` (see :mod:`app.catalog.hub`); the bytes are
streamed with urllib3 and hashed on a second thread, because on a fast link the Python
overhead of ``huggingface_hub``'s own httpx2 streaming halves throughput, and
``hf_hub_download`` has no pause, cancel or progress hooks.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import hashlib
import json
import logging
import os
import queue
import shutil
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from io import FileIO
from pathlib import Path, PurePosixPath
from typing import Literal

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, NewConnectionError

from app.catalog.hub import HubClient, ResolvedFile, gated_error, is_transient
from app.catalog.partfiles import open_for_reading, open_own, own_file_size, write_own
from app.catalog.portable import check_portable
from app.core.errors import (
    CancelledError,
    ChecksumMismatchError,
    DownloadError,
    HearthError,
    InsufficientSpaceError,
    ModelNotFoundError,
    OfflineError,
    UnsafeNameError,
)
from app.core.i18n import translate

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
SIDECAR_SUFFIX = ".part.json"
LOCK_SUFFIX = ".part.lock"
# One read from the socket: what a kill -9 can lose in Python at most (it is written at once).
CHUNK_SIZE = 256 * 1024
FLUSH_EVERY = 8 * 1024 * 1024
_SIDECAR_VERSION = 1
_SIDECAR_MAX_BYTES = 64 * 1024
_HASH_QUEUE_CHUNKS = 64  # bounds memory when hashing is slower than the network
_SPEED_WINDOW_S = 3.0
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class DownloadState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    VERIFYING = "verifying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATES = frozenset({DownloadState.DONE, DownloadState.FAILED, DownloadState.CANCELLED})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before a download fails (it can still be resumed afterwards)."""

    max_retries: int = 6  # consecutive failed attempts that brought no new bytes
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    connect_timeout_s: float = 15.0
    read_timeout_s: float = 30.0  # no byte for this long counts as a stall

    def delay(self, attempt: int) -> float:
        return float(min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class DownloadProgress:
    """A snapshot of one download, handed to the update callback."""

    repo_id: str
    filename: str
    dest: Path
    state: DownloadState
    done: int
    total: int | None
    speed_bps: float
    eta_s: float | None
    error: str | None = None

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


def free_bytes(folder: Path) -> int:
    """Free space on the file system holding ``folder`` (or its nearest existing parent)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def dest_path(dest_dir: Path, filename: str) -> Path:
    """Where a repo file lands: ``dest_dir`` plus its path in the repo, kept inside it.

    Raises :class:`~app.core.errors.UnsafeNameError` unless ``filename`` is a portable
    relative path (see :mod:`app.catalog.portable`).
    """
    check_portable(filename)
    return Path(dest_dir).joinpath(*filename.split("/"))


def _sibling(dest: Path, suffix: str) -> Path:
    return dest.with_name(dest.name + suffix)


def _size_text(n_bytes: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    raise AssertionError("unreachable")


# -- the sidecar ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sidecar:
    """What a ``.part`` file is a prefix of; written before its first byte."""

    repo_id: str
    filename: str
    revision: str
    commit: str
    url: str
    size: int
    sha256: str | None
    blob_id: str | None
    version: int = _SIDECAR_VERSION

    @classmethod
    def for_file(cls, resolved: ResolvedFile, revision: str) -> _Sidecar:
        return cls(
            repo_id=resolved.repo_id,
            filename=resolved.file.path,
            revision=revision,
            commit=resolved.commit,
            url=resolved.url,
            size=resolved.file.size,
            sha256=resolved.file.sha256,
            blob_id=resolved.file.blob_id,
        )

    def same_content(self, other: _Sidecar) -> bool:
        """Whether both describe the same bytes (a newer commit may keep the file)."""
        if self.sha256 or other.sha256:
            return self.sha256 == other.sha256 and self.size == other.size
        return self.blob_id == other.blob_id and self.size == other.size

    def write(self, path: Path) -> None:
        write_own(path, json.dumps(asdict(self), indent=1).encode())

    @classmethod
    def read(cls, path: Path) -> _Sidecar | None:
        """The sidecar at ``path``; None if absent, unreadable, a link or of another version."""
        try:
            with open_for_reading(path) as handle:
                data = json.loads(handle.read(_SIDECAR_MAX_BYTES))
            if not isinstance(data, dict) or data.get("version") != _SIDECAR_VERSION:
                return None
            return cls(**data)
        except (OSError, ValueError, TypeError, DownloadError):
            return None


# -- hashing on a second thread ------------------------------------------------------------


class _Hasher:
    """Hash a download while it arrives: the prefix already on disk, then each chunk.

    hashlib releases the GIL, so on a fast link this overlaps with receiving instead of
    adding a full pass over the file after the last byte.
    """

    def __init__(self, part: Path, prefix: int, *, git_blob_size: int | None) -> None:
        self.part = part
        self.git_blob_size = git_blob_size
        self._start(prefix)

    def _start(self, prefix: int) -> None:
        if self.git_blob_size is None:
            self._hash = hashlib.sha256()
        else:  # a git blob id is sha1("blob <size>\0" + content)
            header = f"blob {self.git_blob_size}\0".encode()
            self._hash = hashlib.sha1(header, usedforsecurity=False)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_HASH_QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(self.part, prefix), name="download-hash", daemon=True
        )
        self._thread.start()

    def restart(self) -> None:
        """Forget everything hashed so far (the partial file was truncated to zero)."""
        self.abort()
        self._thread.join()
        self._start(0)

    def _run(self, part: Path, prefix: int) -> None:
        try:
            if prefix:
                with open_for_reading(part) as handle:
                    left = prefix
                    while left:
                        block = handle.read(min(left, 4 * CHUNK_SIZE))
                        if not block:
                            raise DownloadError(
                                translate(
                                    "Errors",
                                    "{part} shrank while it was resumed.",
                                ).format(part=part.name)
                            )
                        self._hash.update(block)
                        left -= len(block)
        except BaseException as exc:
            self._error = exc
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                self._hash.update(chunk)

    def feed(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def hexdigest(self) -> str:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._hash.hexdigest()

    def abort(self) -> None:
        self._queue.put(None)


class _Flusher:
    """Start writing a download to disk while it arrives, so the final fsync is short.

    Every ``every`` bytes a background thread asks the kernel to write back what arrived
    since the last time. On Linux that is ``posix_fadvise(DONTNEED)``, which starts the
    writeback without waiting for it (and lets clean pages of a multi-GB download leave the
    page cache); an fdatasync there would stall the writer and let socket buffers fill.
    Elsewhere it is fdatasync.
    """

    def __init__(self, fd: int | None, start: int, every: int | None = None) -> None:
        self._fd = fd
        self._every = every or FLUSH_EVERY
        self._flushed = start  # offsets below this were handed to the kernel already
        self._written = start
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="download-flush", daemon=True)
        self._thread.start()

    def wrote(self, n_bytes: int) -> None:
        if self._fd is None:
            return
        self._written += n_bytes
        if self._written - self._flushed >= self._every:
            self._wake.set()

    def restart(self) -> None:
        self._written = self._flushed = 0

    def _run(self) -> None:
        previous = self._flushed
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping or self._fd is None:
                return
            upto = self._written
            with contextlib.suppress(OSError):  # the final fsync reports real errors
                if hasattr(os, "posix_fadvise"):
                    # From the previous range too: it is clean by now and can be dropped.
                    lo = min(previous, self._flushed)
                    os.posix_fadvise(self._fd, lo, upto - lo, os.POSIX_FADV_DONTNEED)
                else:
                    os.fsync(self._fd)
            previous, self._flushed = self._flushed, upto

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()


# -- handles -------------------------------------------------------------------------------


class _Stop(Exception):
    """Internal: the user paused or cancelled a running download."""

    def __init__(self, action: Literal["pause", "cancel"]) -> None:
        super().__init__(action)
        self.action = action


class _Transient(Exception):
    """Internal: an attempt failed in a way worth retrying."""

    def __init__(self, reason: str, *, connected: bool) -> None:
        super().__init__(reason)
        self.connected = connected


class DownloadHandle:
    """One queued download: watch it, pause, resume or cancel it, wait for its result."""

    def __init__(
        self, manager: DownloadManager, repo_id: str, filename: str, dest: Path, revision: str
    ) -> None:
        self.repo_id = repo_id
        self.filename = filename
        self.dest = dest
        self.revision = revision
        self._manager = manager
        self._cond = threading.Condition(manager._lock)
        self._state = DownloadState.QUEUED
        self._error: HearthError | None = None
        self._control: Literal["pause", "cancel"] | None = None
        self._wake = threading.Event()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._done = 0
        self._total: int | None = None
        self._samples: deque[tuple[float, int]] = deque()
        self._last_emit = 0.0

    def __repr__(self) -> str:
        return f"DownloadHandle({self.repo_id}/{self.filename}, {self._state})"

    @property
    def part_path(self) -> Path:
        return _sibling(self.dest, PART_SUFFIX)

    @property
    def sidecar_path(self) -> Path:
        return _sibling(self.dest, SIDECAR_SUFFIX)

    @property
    def state(self) -> DownloadState:
        with self._cond:
            return self._state

    @property
    def error(self) -> HearthError | None:
        with self._cond:
            return self._error

    def progress(self) -> DownloadProgress:
        with self._cond:
            speed = 0.0
            if len(self._samples) >= 2:
                (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
                speed = (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0
            eta = None
            if self._total is not None and speed > 0:
                eta = max(0, self._total - self._done) / speed
            return DownloadProgress(
                repo_id=self.repo_id,
                filename=self.filename,
                dest=self.dest,
                state=self._state,
                done=self._done,
                total=self._total,
                speed_bps=speed,
                eta_s=eta,
                error=str(self._error) if self._error else None,
            )

    def pause(self) -> None:
        """Stop transferring, keeping the partial file; :meth:`resume` continues it."""
        self._manager._pause(self)

    def resume(self) -> None:
        """Queue a paused or failed download again; it continues from its partial file."""
        self._manager._resume(self)

    def cancel(self) -> None:
        """Stop and delete the partial file."""
        self._manager._cancel(self)

    def wait_for(self, *states: DownloadState, timeout: float | None = None) -> bool:
        """Block until the download is in one of ``states``; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._state in states, timeout=timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done, failed or cancelled; False on timeout."""
        return self.wait_for(*TERMINAL_STATES, timeout=timeout)

    def result(self, timeout: float | None = None) -> Path:
        """The finished file's path; raises the download's error, or TimeoutError."""
        if not self.wait(timeout):
            raise TimeoutError(f"{self.filename} is still downloading.")
        with self._cond:
            if self._state is DownloadState.DONE:
                return self.dest
            assert self._error is not None
            raise self._error

    # -- called by the worker --------------------------------------------------------------

    def _set_total(self, done: int, total: int) -> None:
        with self._cond:
            self._done, self._total = done, total
            self._samples.clear()
            self._samples.append((time.monotonic(), done))

    def _advance(self, n_bytes: int) -> None:
        now = time.monotonic()
        with self._cond:
            self._done += n_bytes
            self._samples.append((now, self._done))
            while len(self._samples) > 2 and now - self._samples[0][0] > _SPEED_WINDOW_S:
                self._samples.popleft()

    def _check(self) -> None:
        control = self._control
        if control is not None:
            raise _Stop(control)


# -- the manager ---------------------------------------------------------------------------


UpdateCallback = Callable[[DownloadProgress], None]


class DownloadManager:
    """A queue of Hub downloads with ``parallel`` running at once.

    ``on_update`` is called from worker threads with a :class:`DownloadProgress` at most
    every ``progress_interval_s`` while bytes flow, and on every state change. ``disk_free``
    reports free bytes for a folder (injectable for tests). ``durable=False`` skips the
    fsyncs: faster when the disk is slower than the network, but a power cut soon after a
    download may leave a file of zeros in the library.
    """

    def __init__(
        self,
        *,
        parallel: int = 2,
        hub: HubClient | None = None,
        retry: RetryPolicy | None = None,
        chunk_size: int = CHUNK_SIZE,
        disk_free: Callable[[Path], int] = free_bytes,
        on_update: UpdateCallback | None = None,
        progress_interval_s: float = 0.1,
        durable: bool = True,
    ) -> None:
        if parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.hub = hub or HubClient()
        self.retry = retry or RetryPolicy()
        self.chunk_size = chunk_size
        self.disk_free = disk_free
        self.on_update = on_update
        self.progress_interval_s = progress_interval_s
        self.durable = durable
        self._lock = threading.RLock()
        self._parallel = parallel
        self._queue: deque[DownloadHandle] = deque()
        self._running: set[DownloadHandle] = set()
        self._threads: dict[DownloadHandle, threading.Thread] = {}
        self._handles: dict[Path, DownloadHandle] = {}
        self._closed = False
        # urllib3 strips Authorization when a redirect leaves the Hub's host (the CDN).
        self._pool = urllib3.PoolManager(num_pools=16, maxsize=max(4, parallel), block=False)
        self._retries = urllib3.Retry(
            total=None,
            connect=0,
            read=0,
            status=0,
            other=0,
            redirect=10,
            raise_on_redirect=True,
            raise_on_status=False,
        )

    # -- public ----------------------------------------------------------------------------

    @property
    def parallel(self) -> int:
        return self._parallel

    @parallel.setter
    def parallel(self, value: int) -> None:
        if value < 1:
            raise ValueError("parallel must be at least 1")
        with self._lock:
            self._parallel = value
        self._pump()

    def handles(self) -> list[DownloadHandle]:
        with self._lock:
            return list(self._handles.values())

    def forget_finished(self) -> None:
        """Drop done, failed and cancelled handles from :meth:`handles`."""
        with self._lock:
            self._handles = {
                dest: h for dest, h in self._handles.items() if h._state not in TERMINAL_STATES
            }

    def enqueue(
        self,
        repo_id: str,
        filename: str,
        dest_dir: Path | str,
        *,
        revision: str = "main",
        flat: bool = False,
    ) -> DownloadHandle:
        """Queue ``filename`` from ``repo_id`` into ``dest_dir`` and return its handle.

        The file keeps its repo path under ``dest_dir``; with ``flat`` only its name
        (Piper voices: ``voices/zh_CN/zh_CN-huayan-medium.onnx``, not the repo's tree).
        If the same destination is already queued, running or paused, that handle is
        returned. A ``.part`` left by an earlier run is resumed, not restarted.
        """
        dest = dest_path(Path(dest_dir), PurePosixPath(filename).name if flat else filename)
        with self._lock:
            if self._closed:
                raise DownloadError(
                    translate("Errors", "The download manager is shut down; restart Hearth.")
                )
            existing = self._handles.get(dest)
            if existing is not None and existing._state not in TERMINAL_STATES:
                return existing
            handle = DownloadHandle(self, repo_id, filename, dest, revision)
            self._handles[dest] = handle
            self._queue.append(handle)
        self._emit(handle, force=True)
        self._pump()
        return handle

    def resume_incomplete(self, models_dir: Path | str) -> list[DownloadHandle]:
        """Queue again every download whose ``.part`` and sidecar lie under ``models_dir``."""
        handles = []
        for sidecar_path in sorted(Path(models_dir).rglob(f"*{SIDECAR_SUFFIX}")):
            sidecar = _Sidecar.read(sidecar_path)
            if sidecar is None:
                log.warning("ignoring unreadable download sidecar %s", sidecar_path)
                continue
            dest = sidecar_path.with_name(sidecar_path.name[: -len(SIDECAR_SUFFIX)])
            parts = PurePosixPath(sidecar.filename).parts
            # A flat download lies at dest_dir/name, not dest_dir/its/repo/path.
            flat = len(parts) > 1 and dest.parts[-len(parts) :] != parts
            try:
                dest_dir = dest.parent if flat else dest.parents[len(parts) - 1]
                handles.append(
                    self.enqueue(
                        sidecar.repo_id,
                        sidecar.filename,
                        dest_dir,
                        revision=sidecar.revision,
                        flat=flat,
                    )
                )
            except (UnsafeNameError, IndexError):  # a sidecar edited by hand, or damaged
                log.warning("ignoring download sidecar %s with an unusable file name", sidecar_path)
        return handles

    def close(self, timeout: float | None = 10.0) -> None:
        """Pause everything running (partials stay for next time) and stop the workers."""
        with self._lock:
            self._closed = True
            running = list(self._running)
            threads = list(self._threads.values())
            while self._queue:
                self._set_state(self._queue.popleft(), DownloadState.PAUSED)
        for handle in running:
            self._pause(handle)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._pool.clear()

    # -- control ---------------------------------------------------------------------------

    def _pause(self, handle: DownloadHandle) -> None:
        with self._lock:
            if handle._state is DownloadState.QUEUED:
                self._queue.remove(handle)
                self._set_state(handle, DownloadState.PAUSED)
            elif handle._state is DownloadState.RUNNING and handle._control is None:
                handle._control = "pause"
                self._interrupt(handle)
                return
            else:
                return
        self._emit(handle, force=True)

    def _resume(self, handle: DownloadHandle) -> None:
        with self._lock:
            if self._closed or handle._state not in (DownloadState.PAUSED, DownloadState.FAILED):
                return
            handle._error = None
            self._set_state(handle, DownloadState.QUEUED)
            self._queue.append(handle)
        self._emit(handle, force=True)
        self._pump()

    def _cancel(self, handle: DownloadHandle) -> None:
        with self._lock:
            if handle._state in (DownloadState.RUNNING, DownloadState.VERIFYING):
                handle._control = "cancel"
                self._interrupt(handle)
                return
            if handle._state in (DownloadState.DONE, DownloadState.CANCELLED):
                return
            if handle._state is DownloadState.QUEUED:
                self._queue.remove(handle)
            self._discard_partial(handle)
            handle._error = CancelledError(
                translate("Errors", "The download of {file} was cancelled.").format(
                    file=handle.filename
                )
            )
            self._set_state(handle, DownloadState.CANCELLED)
        self._emit(handle, force=True)

    def _interrupt(self, handle: DownloadHandle) -> None:
        """Wake a worker that sleeps in a backoff or blocks on a stalled socket."""
        handle._wake.set()
        response = handle._response
        if response is not None:
            # Already finished or released: the worker then sees the flag at the next chunk.
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                response.shutdown()

    # -- scheduling ------------------------------------------------------------------------

    def _set_state(self, handle: DownloadHandle, state: DownloadState) -> None:
        handle._state = state
        handle._cond.notify_all()

    def _pump(self) -> None:
        started = []
        with self._lock:
            while self._queue and len(self._running) < self._parallel and not self._closed:
                handle = self._queue.popleft()
                handle._control = None
                handle._wake.clear()
                self._set_state(handle, DownloadState.RUNNING)
                self._running.add(handle)
                thread = threading.Thread(
                    target=self._run,
                    args=(handle,),
                    daemon=True,
                    name=f"download:{handle.filename}",
                )
                self._threads[handle] = thread
                started.append((handle, thread))
        for handle, thread in started:
            self._emit(handle, force=True)
            thread.start()

    def _run(self, handle: DownloadHandle) -> None:
        state = DownloadState.FAILED
        error: HearthError | None = None
        try:
            self._download(handle)
            state = DownloadState.DONE
        except _Stop as stop:
            if stop.action == "pause":
                state = DownloadState.PAUSED
            else:
                state = DownloadState.CANCELLED
                error = CancelledError(
                    translate("Errors", "The download of {file} was cancelled.").format(
                        file=handle.filename
                    )
                )
        except HearthError as exc:
            error = exc
        except Exception as exc:
            log.exception("download of %s/%s failed", handle.repo_id, handle.filename)
            error = DownloadError(
                translate(
                    "Errors", "The download of {file} failed unexpectedly ({error}); try again."
                ).format(file=handle.filename, error=f"{type(exc).__name__}: {exc}")
            )
        with self._lock:
            self._running.discard(handle)
            self._threads.pop(handle, None)
            handle._control = None
            handle._error = error
            self._set_state(handle, state)
        self._emit(handle, force=True)
        self._pump()

    def _emit(self, handle: DownloadHandle, *, force: bool = False) -> None:
        callback = self.on_update
        if callback is None:
            return
        now = time.monotonic()
        if not force and now - handle._last_emit < self.progress_interval_s:
            return
        handle._last_emit = now
        try:
            callback(handle.progress())
        except Exception:
            log.exception("download progress callback failed")

    # -- one download ----------------------------------------------------------------------

    def _download(self, handle: DownloadHandle) -> None:
        from filelock import FileLock, Timeout

        self.hub.check_online()
        dest = handle.dest
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadError(
                translate(
                    "Errors",
                    "Hearth cannot create the folder {parent} ({error}); choose a models "
                    "folder you can write to in Settings.",
                ).format(parent=dest.parent, error=exc.strerror)
            ) from exc
        # One writer per .part across processes (the window and the CLI may both try).
        lock_path = _sibling(dest, LOCK_SUFFIX)
        own_file_size(lock_path)  # a link there is removed: locking must not open its target
        lock = FileLock(lock_path, timeout=0)
        try:
            lock.acquire()
        except Timeout as exc:
            raise DownloadError(
                translate(
                    "Errors",
                    "{file} is already being downloaded by another Hearth process; "
                    "wait for it to finish.",
                ).format(file=dest.name)
            ) from exc
        except OSError as exc:
            raise DownloadError(
                translate(
                    "Errors",
                    "Hearth cannot lock {lock_path} ({error}); remove that file if it is a "
                    "link, or choose a models folder you can write to in Settings.",
                ).format(lock_path=lock_path, error=exc.strerror or exc)
            ) from exc
        try:
            resolved = self._with_retries(handle, lambda: self._resolve(handle))
            self._transfer(handle, resolved)
        except _Stop as stop:
            if stop.action == "cancel":
                self._discard_partial(handle)
            raise
        finally:
            # Unlink while holding the lock, so a waiter never locks a file about to vanish.
            Path(lock.lock_file).unlink(missing_ok=True)
            lock.release()

    def _resolve(self, handle: DownloadHandle) -> ResolvedFile:
        try:
            return self.hub.resolve(handle.repo_id, handle.filename, handle.revision)
        except HearthError as exc:
            if is_transient(exc):
                connected = not isinstance(exc, OfflineError)
                raise _Transient(str(exc), connected=connected) from exc
            raise

    def _with_retries(
        self, handle: DownloadHandle, attempt: Callable[[], ResolvedFile]
    ) -> ResolvedFile:
        failures = 0
        while True:
            handle._check()
            try:
                return attempt()
            except _Transient as exc:
                failures += 1
                if failures > self.retry.max_retries:
                    raise self._gave_up(handle, exc) from exc
                self._backoff(handle, failures)

    def _backoff(self, handle: DownloadHandle, failures: int) -> None:
        delay = self.retry.delay(failures)
        log.info("retrying %s in %.1fs (attempt %d)", handle.filename, delay, failures + 1)
        handle._wake.wait(delay)
        handle._check()

    def _gave_up(self, handle: DownloadHandle, exc: _Transient) -> HearthError:
        kept = ""
        if handle._done:
            kept = translate(
                "Errors",
                " {size} are kept and the download continues from there when you resume it.",
            ).format(size=_size_text(handle._done))
        if not exc.connected:
            return OfflineError(
                translate(
                    "Errors",
                    "Cannot reach the Hugging Face Hub to download {file}; "
                    "check your internet connection and resume the download.{kept}",
                ).format(file=handle.filename, kept=kept)
            )
        return DownloadError(
            translate(
                "Errors", "The download of {file} kept failing ({error}); try again later.{kept}"
            ).format(file=handle.filename, error=exc, kept=kept)
        )

    def _transfer(self, handle: DownloadHandle, resolved: ResolvedFile) -> None:
        dest, part, sidecar_path = handle.dest, handle.part_path, handle.sidecar_path
        remote = resolved.file
        wanted = _Sidecar.for_file(resolved, handle.revision)

        # A link at dest is not trusted as the finished file: the download replaces it.
        if _is_file_of_size(dest, remote.size):
            handle._set_total(0, remote.size)
            if self._verify_existing(handle, dest, resolved):
                self._discard_partial(handle)
                handle._set_total(remote.size, remote.size)
                return

        offset = 0
        previous = _Sidecar.read(sidecar_path)
        size = own_file_size(part)  # a link at the .part name is removed, never followed
        if size is not None:
            if previous is not None and previous.same_content(wanted) and size <= remote.size:
                offset = size
            else:
                log.info("discarding %s: it belongs to another version of the file", part)
        if not offset:  # open_own creates the file anew (O_EXCL)
            part.unlink(missing_ok=True)
        self._check_space(handle, remote.size - offset)
        wanted.write(sidecar_path)
        handle._set_total(offset, remote.size)
        self._emit(handle, force=True)

        git_size = None if remote.is_lfs or remote.blob_id is None else remote.size
        try:
            out = open_own(part, create=not offset)
        except OSError as exc:
            raise self._disk_error(handle, exc) from exc
        hasher = _Hasher(part, offset, git_blob_size=git_size)
        try:
            with out:
                out.seek(offset)
                flusher = _Flusher(out.fileno() if self.durable else None, offset)
                try:
                    failures = 0
                    while handle._done < remote.size:
                        before = handle._done
                        try:
                            self._stream(handle, resolved, out, hasher, flusher)
                        except _Transient as exc:
                            failures = 0 if handle._done > before else failures + 1
                            if failures > self.retry.max_retries:
                                raise self._gave_up(handle, exc) from exc
                            log.info("download of %s interrupted: %s", handle.filename, exc)
                            self._backoff(handle, max(1, failures))
                finally:
                    flusher.close()
                if self.durable:  # on disk before it is renamed into the library
                    os.fsync(out.fileno())
                written = os.fstat(out.fileno())
        except OSError as exc:
            hasher.abort()
            raise self._disk_error(handle, exc) from exc
        except BaseException:
            hasher.abort()
            raise

        with self._lock:
            self._set_state(handle, DownloadState.VERIFYING)
        self._emit(handle, force=True)
        digest = hasher.hexdigest()
        expected = remote.sha256 or remote.blob_id
        actual_size = written.st_size
        if actual_size != remote.size or (expected is not None and digest != expected):
            self._discard_partial(handle)
            what = "SHA-256" if remote.is_lfs else "checksum"
            detail = (
                f"expected {remote.size} bytes, got {actual_size}"
                if actual_size != remote.size
                else f"expected {expected[:12]}…, got {digest[:12]}…"
                if expected
                else ""
            )
            raise ChecksumMismatchError(
                translate(
                    "Errors",
                    "{file} from {repo} does not match the {what} the Hub publishes ({detail}); "
                    "the partial download was deleted and nothing else was touched. Download it "
                    "again; if it fails again, the file on the Hub or a proxy on the way is "
                    "damaged.",
                ).format(file=remote.name, repo=resolved.repo_id, what=what, detail=detail)
            )
        if handle._control == "cancel":
            raise _Stop("cancel")
        _move_into_place(part, dest, written)
        if self.durable:
            _fsync_dir(dest.parent)
        sidecar_path.unlink(missing_ok=True)

    def _stream(
        self,
        handle: DownloadHandle,
        resolved: ResolvedFile,
        out: FileIO,
        hasher: _Hasher,
        flusher: _Flusher,
    ) -> None:
        """One GET from the current offset to the end of the file."""
        total = resolved.file.size
        offset = handle._done
        headers = self.hub.headers()
        headers["Accept-Encoding"] = "identity"  # sizes and ranges are of the raw bytes
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            response = self._pool.request(
                "GET",
                resolved.url,
                headers=headers,
                preload_content=False,
                redirect=True,
                retries=self._retries,
                timeout=urllib3.Timeout(
                    connect=self.retry.connect_timeout_s, read=self.retry.read_timeout_s
                ),
            )
        except MaxRetryError as exc:
            connected = not isinstance(exc.reason, NewConnectionError)
            raise _Transient(f"{exc.reason}", connected=connected) from exc
        except (Urllib3Error, OSError) as exc:
            raise _Transient(str(exc), connected=False) from exc
        with self._lock:
            handle._response = response
        if handle._control is not None:
            self._interrupt(handle)
        try:
            status = response.status
            if status in (401, 403):
                if response.headers.get("X-Error-Code") == "GatedRepo" or status == 403:
                    raise gated_error(
                        resolved.repo_id, has_token=bool(self.hub.token), endpoint=self.hub.endpoint
                    )
                raise ModelNotFoundError(
                    translate(
                        "Errors",
                        "The Hub refused {file} from {repo} (HTTP 401); if the repo is private, "
                        "add an access token with read access in Settings.",
                    ).format(file=resolved.file.path, repo=resolved.repo_id)
                )
            if status == 404:
                raise ModelNotFoundError(
                    translate(
                        "Errors",
                        "{file} is no longer in {repo}; refresh the repo's file list and pick "
                        "again.",
                    ).format(file=resolved.file.path, repo=resolved.repo_id)
                )
            if (
                status == 416
                or (status == 200 and offset)
                or (status == 206 and not _range_starts_at(response, offset))
            ):
                log.info("server did not honour Range for %s; restarting", handle.filename)
                hasher.restart()
                flusher.restart()
                out.seek(0)
                out.truncate()
                handle._set_total(0, total)
                if status != 200:
                    raise _Transient(f"HTTP {status} to a Range request", connected=True)
            elif status in _RETRY_STATUSES:
                raise _Transient(f"HTTP {status}", connected=True)
            elif status not in (200, 206):
                raise DownloadError(
                    translate(
                        "Errors", "The Hub answered HTTP {status} for {file}; try again later."
                    ).format(status=status, file=resolved.file.path)
                )
            self._pump_body(handle, response, out, (hasher, flusher), total)
        except (Urllib3Error, OSError) as exc:
            handle._check()  # a pause/cancel shuts the socket: report that, not an error
            if isinstance(exc, OSError) and exc.errno is not None and _is_disk_errno(exc.errno):
                raise
            raise _Transient(str(exc) or type(exc).__name__, connected=True) from exc
        finally:
            with self._lock:
                handle._response = None
            response.close()
            response.release_conn()

    def _pump_body(
        self,
        handle: DownloadHandle,
        response: urllib3.BaseHTTPResponse,
        out: FileIO,
        sinks: tuple[_Hasher, _Flusher],
        total: int,
    ) -> None:
        hasher, flusher = sinks
        while handle._done < total:
            chunk = response.read1(min(self.chunk_size, total - handle._done))
            if not chunk:
                handle._check()
                raise _Transient("the connection closed early", connected=True)
            # Written at once, unbuffered, even when a pause is pending: a byte received is
            # never fetched again, and a kill -9 loses only what is still in the kernel.
            view = memoryview(chunk)
            while view:  # raw file writes may be short
                written = out.write(view)
                view = view[written:]
            hasher.feed(chunk)
            flusher.wrote(len(chunk))
            handle._advance(len(chunk))
            self._emit(handle)
            handle._check()

    def _verify_existing(self, handle: DownloadHandle, dest: Path, resolved: ResolvedFile) -> bool:
        """Whether the file already at ``dest`` is the one requested (then skip the fetch)."""
        remote = resolved.file
        expected = remote.sha256 or remote.blob_id
        if expected is None:
            return False
        with self._lock:
            self._set_state(handle, DownloadState.VERIFYING)
        self._emit(handle, force=True)
        git_size = None if remote.is_lfs else remote.size
        hasher = _Hasher(dest, remote.size, git_blob_size=git_size)
        same = hasher.hexdigest() == expected
        with self._lock:
            self._set_state(handle, DownloadState.RUNNING)
        return same

    def _check_space(self, handle: DownloadHandle, needed: int) -> None:
        free = self.disk_free(handle.dest.parent)
        if free < needed:
            raise InsufficientSpaceError(
                translate(
                    "Errors",
                    "{file} needs {need} of free space in {folder}, but only {free} is free; "
                    "free up space or choose another models folder in Settings, then try again.",
                ).format(
                    file=handle.dest.name,
                    need=_size_text(needed),
                    folder=handle.dest.parent,
                    free=_size_text(free),
                )
            )

    def _disk_error(self, handle: DownloadHandle, exc: OSError) -> HearthError:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return InsufficientSpaceError(
                translate(
                    "Errors",
                    "The disk filled up while downloading {file} ({done} of {total} done); "
                    "free up space and resume: it continues from where it stopped.",
                ).format(
                    file=handle.dest.name,
                    done=_size_text(handle._done),
                    total=_size_text(handle._total or 0),
                )
            )
        return DownloadError(
            translate(
                "Errors",
                "Hearth cannot write {path} ({error}); choose a models folder you can write to "
                "in Settings.",
            ).format(path=handle.part_path, error=exc.strerror or exc)
        )

    def _discard_partial(self, handle: DownloadHandle) -> None:
        handle.part_path.unlink(missing_ok=True)
        handle.sidecar_path.unlink(missing_ok=True)


def _is_file_of_size(path: Path, size: int) -> bool:
    """Whether ``path`` itself (not a link's target) is a regular file of ``size`` bytes."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == size


def _move_into_place(part: Path, dest: Path, written: os.stat_result) -> None:
    """Rename the verified ``part`` to ``dest``, checking both names are that very file.

    ``os.replace`` renames the name ``part`` (a link put there would be moved, not
    followed) and replaces whatever ``dest`` is, a link included, without touching a
    link's target; the checks make sure what lands in the library is the file written.
    """
    identity = (written.st_dev, written.st_ino)
    named = os.lstat(part)
    if (named.st_dev, named.st_ino) != identity:
        raise DownloadError(
            translate(
                "Errors",
                "{part} was replaced by another file after it was verified, so it was "
                "not moved into the library; download it again.",
            ).format(part=part)
        )
    os.replace(part, dest)
    placed = os.lstat(dest)
    if (placed.st_dev, placed.st_ino) != identity:  # a rename race, or a broken file system
        raise DownloadError(
            translate(
                "Errors",
                "{dest} is not the file Hearth just verified after moving it into place; "
                "delete it and download it again.",
            ).format(dest=dest)
        )


def _range_starts_at(response: urllib3.BaseHTTPResponse, offset: int) -> bool:
    content_range = response.headers.get("Content-Range", "")
    try:
        start = int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return False
    return start == offset


def _is_disk_errno(code: int) -> bool:
    return code in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS, errno.EIO)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
