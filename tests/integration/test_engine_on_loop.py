"""The engine's events read on an asyncio event loop (``EngineClient.deliver_on``), as
``hearth serve`` reads them: a real worker on the starter model, handing over from its
reader thread mid-reply, crashing, shutting down and going back to a thread."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from app.core.errors import EngineCrashedError
from app.core.generation import GenerationParams
from app.engine import protocol as p
from app.engine.client import EngineClient
from tests.fixtures.reference import Reference

pytestmark = pytest.mark.slow

TIMEOUT = 120
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
STORY = [{"role": "user", "content": "Write a long poem about the moon."}]
GREEDY = GenerationParams(max_tokens=48, temperature=0.0, seed=7)
T = TypeVar("T")


class LoopThread:
    """An asyncio loop running on a thread of its own, like the API server's."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-loop")
        self.thread.start()

    @property
    def ident(self) -> int | None:
        return self.thread.ident

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the loop's thread and return what it returns."""

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(TIMEOUT)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    running = LoopThread()
    yield running
    if running.thread.is_alive():
        running.stop()


class Recorder:
    """A listener that keeps each event with the thread it arrived on."""

    def __init__(self) -> None:
        self.events: list[tuple[int, p.Event]] = []
        self.done = threading.Event()
        self.first_delta = threading.Event()

    def __call__(self, event: p.Event) -> None:
        self.events.append((threading.get_ident(), event))
        if isinstance(event, p.Delta):
            self.first_delta.set()
        if isinstance(event, p.FINAL_EVENTS):
            self.done.set()

    def final(self) -> p.Event:
        assert self.done.wait(TIMEOUT), "the request never ended"
        return self.events[-1][1]

    def text(self) -> str:
        return "".join(e.text for _, e in self.events if isinstance(e, p.Delta))

    def threads(self) -> set[int]:
        return {ident for ident, _ in self.events}


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "engine-events" and t.is_alive()]


def load(engine: EngineClient, path: Path) -> p.LoadModel:
    final = engine.load(str(path), n_ctx=512).wait(TIMEOUT)
    assert isinstance(final, p.ModelLoaded), final
    return p.LoadModel(0, str(path), n_ctx=512)


def test_a_running_worker_hands_over_mid_reply_and_nothing_is_lost(
    engine: EngineClient, smol_model: Path, reference: Reference, loop_thread: LoopThread
) -> None:
    loaded = load(engine, smol_model)  # read by the reader thread
    (reader,) = reader_threads()
    story = GenerationParams(max_tokens=64, temperature=0.0, seed=7)
    recorder = Recorder()
    handle = engine.generate(STORY, story, listener=recorder)
    assert recorder.first_delta.wait(TIMEOUT)
    loop_thread.call(lambda: engine.deliver_on(loop_thread.loop))
    done = recorder.final()
    assert isinstance(done, p.GenerationDone), done
    # Every token once, in order: the reply is llama-cpp-python's own.
    expected = reference.answer(loaded, STORY, story)
    assert recorder.text() == done.text == expected.text
    # Its first tokens came on the reader thread, its last on the loop; the thread is gone.
    assert recorder.events[0][0] == reader.ident
    assert recorder.events[-1][0] == loop_thread.ident
    reader.join(TIMEOUT)
    assert not reader.is_alive() and not reader_threads()
    assert handle.done

    # The next reply is read on the loop from its first event.
    again = Recorder()
    engine.generate(QUESTION, GREEDY, listener=again)
    replied = again.final()
    assert isinstance(replied, p.GenerationDone)
    assert again.threads() == {loop_thread.ident}
    # Code that waits on a handle (the bridge, the CLI) is woken from the loop as well.
    # (A fresh load first: a reply that reuses a cached prefix may differ in the last bits
    # of its logits, llama.cpp not being batch-invariant.)
    load(engine, smol_model)
    waited = engine.generate(QUESTION, GREEDY).wait(TIMEOUT)
    expected = reference.answer(loaded, QUESTION, GREEDY)
    assert isinstance(waited, p.GenerationDone) and waited.text == expected.text


def test_back_to_a_thread_before_the_loop_stops(
    engine: EngineClient, smol_model: Path, reference: Reference, loop_thread: LoopThread
) -> None:
    engine.deliver_on(None)  # nothing to hand back yet: a no-op
    loaded = load(engine, smol_model)
    expected = reference.answer(loaded, QUESTION, GREEDY)
    loop_thread.call(lambda: engine.deliver_on(loop_thread.loop))
    on_loop = Recorder()
    engine.generate(QUESTION, GREEDY, listener=on_loop)
    replied = on_loop.final()
    assert isinstance(replied, p.GenerationDone) and replied.text == expected.text
    assert on_loop.threads() == {loop_thread.ident}

    loop_thread.call(lambda: engine.deliver_on(None))
    loop_thread.stop()
    load(engine, smol_model)  # fresh, as the reference (see the test above)
    after = Recorder()
    engine.generate(QUESTION, GREEDY, listener=after)
    done = after.final()
    assert isinstance(done, p.GenerationDone) and done.text == expected.text
    assert after.threads() == {reader_threads()[0].ident}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGABRT], ids=["kill", "abort"])
def test_a_worker_dying_while_the_loop_reads(
    engine: EngineClient,
    smol_model: Path,
    reference: Reference,
    loop_thread: LoopThread,
    sig: signal.Signals,
) -> None:
    (reader,) = reader_threads()
    loop_thread.call(lambda: engine.deliver_on(loop_thread.loop))
    loaded = load(engine, smol_model)
    reader.join(TIMEOUT)  # it handed over before the load's first event
    old_pid = engine.worker_pid
    assert old_pid is not None and not reader_threads()
    recorder = Recorder()
    engine.generate(STORY, GenerationParams(max_tokens=300, seed=5), listener=recorder)
    assert recorder.first_delta.wait(TIMEOUT)
    os.kill(old_pid, sig)
    final = recorder.final()
    assert isinstance(final, p.ErrorEvent) and final.kind == EngineCrashedError.__name__
    assert "fresh engine" in final.message
    # The loop carries on (it neither spins on the closed pipe nor stopped) ...
    assert loop_thread.call(lambda: 42) == 42
    # ... and the fresh worker, which reloads the model by itself, is read on it too.
    again = Recorder()
    engine.generate(QUESTION, GREEDY, listener=again)
    done = again.final()
    assert isinstance(done, p.GenerationDone)
    assert done.text == reference.answer(loaded, QUESTION, GREEDY).text
    assert again.threads() == {loop_thread.ident}
    assert engine.worker_pid not in (None, old_pid) and engine.restarts == 1


def test_shutdown_from_another_thread_while_the_loop_reads(
    engine: EngineClient, smol_model: Path, loop_thread: LoopThread
) -> None:
    def watched() -> int:
        """Descriptors the loop watches (its own wake-up pipe included)."""
        selector = loop_thread.loop._selector  # type: ignore[attr-defined]
        return loop_thread.call(lambda: len(selector.get_map()))

    alone = watched()
    loop_thread.call(lambda: engine.deliver_on(loop_thread.loop))
    load(engine, smol_model)
    assert watched() == alone + 1  # the worker's pipe
    recorder = Recorder()
    engine.generate(STORY, GenerationParams(max_tokens=300, seed=5), listener=recorder)
    assert recorder.first_delta.wait(TIMEOUT)
    engine.shutdown()
    final = recorder.final()  # stopped by the worker on its way out, or failed after it
    assert (isinstance(final, p.GenerationDone) and final.finish_reason == "cancelled") or (
        isinstance(final, p.ErrorEvent) and "shut down" in final.message
    ), final
    assert engine.worker_pid is None and engine.restarts == 0  # meant: not a crash
    assert watched() == alone  # the pipe is no longer watched (and closed)
    # A request after it starts a worker that is read on the loop again.
    load(engine, smol_model)
    again = Recorder()
    engine.generate(QUESTION, GREEDY, listener=again)
    assert isinstance(again.final(), p.GenerationDone)
    assert again.threads() == {loop_thread.ident}
