"""The window's indexing queue, in plain Python: one worker thread runs the collections'
jobs (add, update, re-index, remove) one after another, so indexing never runs on the
GUI thread and two jobs never fight over the two cores or the embedding model.

A job can be paused (the indexer waits before its next file or batch of passages) and
cancelled (the files indexed so far are kept). Every change is
reported through ``on_event`` on the worker thread; :class:`DocumentService` carries the
events to the GUI thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from app.core.errors import CancelledError, HearthError
from app.core.i18n import translate

if TYPE_CHECKING:
    from app.docs.documents import Documents
    from app.docs.indexer import IndexProgress, IndexReport

JobKind = Literal["add", "update", "reindex", "remove"]
QUEUED, RUNNING, PAUSED = "queued", "indexing", "paused"


@dataclass
class IndexJob:
    """One piece of work on one collection, and where it stands."""

    name: str
    kind: JobKind
    paths: tuple[Path, ...] = ()
    cancel: threading.Event = field(default_factory=threading.Event)
    # Set while paused: the indexer waits before its next file or batch (cancel wakes it).
    pause_event: threading.Event = field(default_factory=threading.Event)
    progress: IndexProgress | None = None
    started_at: float | None = None
    ended: bool = False  # finished, failed or cancelled: no longer the collection's job

    @property
    def state(self) -> str:
        if self.started_at is None:
            return QUEUED
        return PAUSED if self.paused else RUNNING

    @property
    def paused(self) -> bool:
        return self.pause_event.is_set()

    def pause(self) -> None:
        self.pause_event.set()

    def resume(self) -> None:
        self.pause_event.clear()

    def stop(self) -> None:
        self.cancel.set()

    def time_left_s(self) -> float | None:
        """Seconds until the job is done at the pace so far (None until a file is done)."""
        return time_left(self.progress)


def time_left(progress: IndexProgress | None) -> float | None:
    """The remaining files at the average pace of the files done so far (the progress'
    elapsed time leaves pauses out)."""
    if progress is None or progress.files_done <= 0:
        return None
    remaining = progress.files_total - progress.files_done
    if remaining <= 0:
        return 0.0
    return progress.elapsed_s / progress.files_done * remaining


# -- events (sent from the worker thread) ----------------------------------------------


@dataclass(frozen=True)
class JobStarted:
    job: IndexJob


@dataclass(frozen=True)
class JobProgress:
    job: IndexJob
    progress: IndexProgress


@dataclass(frozen=True)
class JobFinished:
    job: IndexJob
    report: IndexReport | None  # None for a removal


@dataclass(frozen=True)
class JobFailed:
    job: IndexJob
    message: str
    cancelled: bool = False


JobEvent = JobStarted | JobProgress | JobFinished | JobFailed


class IndexQueue:
    """Runs jobs on ``documents`` in one worker thread, in the order they came."""

    def __init__(
        self, documents: Callable[[], Documents], on_event: Callable[[JobEvent], None]
    ) -> None:
        self.documents = documents  # opened on first use, on the worker thread
        self.on_event = on_event
        self._jobs: deque[IndexJob] = deque()
        self._current: IndexJob | None = None
        self._lock = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="hearth-indexing", daemon=True)
        self._thread.start()

    # -- asking ------------------------------------------------------------------------

    def submit(self, name: str, kind: JobKind, paths: Sequence[Path] = ()) -> IndexJob:
        """Queue a job; an update already waiting for the same collection is reused.
        A removal first stops the collection's other jobs."""
        if kind == "remove":  # nothing else needs doing for a collection that goes
            self.cancel(name)
        with self._lock:
            if kind == "update":
                for waiting in self._jobs:
                    if waiting.name == name and waiting.kind in ("update", "add"):
                        return waiting  # it reads every change anyway
            job = IndexJob(name, kind, tuple(paths))
            self._jobs.append(job)
            self._lock.notify_all()
            return job

    def current(self) -> IndexJob | None:
        return self._current

    def jobs(self) -> list[IndexJob]:
        """The running job first, then the queued ones."""
        with self._lock:
            running = [self._current] if self._current is not None else []
            return [j for j in running + list(self._jobs) if not j.ended]

    def job(self, name: str) -> IndexJob | None:
        """The running or first queued job of the collection ``name``."""
        return next((j for j in self.jobs() if j.name == name and j.kind != "remove"), None)

    def pause(self, name: str) -> bool:
        job = self.job(name)
        if job is None:
            return False
        job.pause()
        return True

    def resume(self, name: str) -> bool:
        job = self.job(name)
        if job is None:
            return False
        job.resume()
        return True

    def cancel(self, name: str) -> list[IndexJob]:
        """Stop the collection's running job and drop its queued ones."""
        with self._lock:
            dropped = self._drop(name)
            if self._current is not None and self._current.name == name:
                self._current.stop()
        for job in dropped:
            job.ended = True
            self.on_event(JobFailed(job, _stopped_message(job.name), cancelled=True))
        return dropped

    def idle(self) -> bool:
        with self._lock:
            return self._current is None and not self._jobs

    def close(self, timeout: float = 10.0) -> bool:
        """Stop every job and the worker; True when the worker ended within ``timeout``."""
        with self._lock:
            self._closed = True
            self._jobs.clear()
            if self._current is not None:
                self._current.stop()
            self._lock.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _drop(self, name: str) -> list[IndexJob]:
        dropped = [j for j in self._jobs if j.name == name and j.kind != "remove"]
        for job in dropped:
            self._jobs.remove(job)
        return dropped

    # -- the worker ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._jobs and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self._jobs.popleft()
                self._current = job
            try:
                self._execute(job)
            finally:
                with self._lock:
                    self._current = None

    def _execute(self, job: IndexJob) -> None:
        job.started_at = time.perf_counter()
        self.on_event(JobStarted(job))

        def progress(event: IndexProgress) -> None:
            job.progress = event
            self.on_event(JobProgress(job, event))

        cancel, pause = job.cancel, job.pause_event
        try:
            docs = self.documents()
            report: IndexReport | None = None
            if job.kind == "add":
                report = docs.add(
                    job.name, job.paths, on_progress=progress, cancel=cancel, pause=pause
                )
            elif job.kind == "update":
                report = docs.update(job.name, on_progress=progress, cancel=cancel, pause=pause)
            elif job.kind == "reindex":
                report = docs.reindex(job.name, on_progress=progress, cancel=cancel, pause=pause)
            else:
                docs.remove(job.name)
        except CancelledError:
            job.ended = True
            self.on_event(JobFailed(job, _stopped_message(job.name), cancelled=True))
        except HearthError as exc:
            job.ended = True
            self.on_event(JobFailed(job, str(exc)))
        except Exception as exc:  # a bug: shown as an error, the queue goes on
            job.ended = True
            said = translate("Documents", "Indexing {name!r} failed unexpectedly: {error}")
            self.on_event(JobFailed(job, said.format(name=job.name, error=exc)))
        else:
            job.ended = True
            self.on_event(JobFinished(job, report))


def _stopped_message(name: str) -> str:
    return translate(
        "Documents", "Indexing {name!r} was stopped; the files indexed so far are kept."
    ).format(name=name)
