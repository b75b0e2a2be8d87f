"""A fake engine client with EngineClient's interface, for fast window tests.

Replies stream word by word from a thread, exactly as the real client delivers events
(on a non-GUI thread, through ``on_event``). It can be told to crash mid-reply.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.core.generation import GenerationParams, GenerationStats, Message
from app.engine import protocol as p

DEFAULT_REPLY = "Here is code:\n\n```python\nprint('hello')\n```\n\nDone."


@dataclass
class FakeHandle:
    request_id: int


@dataclass
class FakeEngineClient:
    on_event: Callable[[p.Event], None] | None = None
    reply: str = DEFAULT_REPLY
    token_delay: float = 0.005
    crash_after: int | None = None  # deltas before a simulated worker crash
    requests: list[list[Message]] = field(default_factory=list)
    generations: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._cancelled: set[int] = set()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def _emit(self, event: p.Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        self._threads.append(thread)
        thread.start()

    def load(self, path: str, **_options: object) -> FakeHandle:
        rid = next(self._ids)

        def run() -> None:
            for fraction in (0.25, 0.5, 1.0):
                self._emit(p.LoadProgress(rid, fraction))
            self._emit(
                p.ModelLoaded(
                    rid,
                    path,
                    4096,
                    0,
                    "cpu",
                    "gguf",
                    "gguf",
                    0.01,
                    f"CPU only: fake plan for {Path(path).name}",
                )
            )

        self._spawn(run)
        return FakeHandle(rid)

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> FakeHandle:
        rid = next(self._ids)
        self.requests.append(list(messages))
        self.generations += 1
        text = self.reply if self.generations == 1 else f"{self.reply} (take {self.generations})"
        words = text.split(" ")

        def run() -> None:
            self._emit(p.PromptPrepared(rid, 10 * len(messages), 0, None))
            sent: list[str] = []
            for index, word in enumerate(words):
                if self.crash_after is not None and index == self.crash_after:
                    self.crash_after = None
                    self._emit(
                        p.ErrorEvent(
                            rid,
                            "EngineCrashedError",
                            "The engine stopped unexpectedly (llama.cpp crashed).",
                        )
                    )
                    return
                if rid in self._cancelled or self._stop.wait(self.token_delay):
                    break
                piece = word if index == 0 else " " + word
                sent.append(piece)
                self._emit(p.Delta(rid, piece))
            reason = "cancelled" if rid in self._cancelled else "stop"
            stats = GenerationStats(10, len(sent), 0.05, 42.0, 0.2, 0, 4096, "cpu")
            self._emit(p.GenerationDone(rid, "".join(sent), reason, stats))

        self._spawn(run)
        return FakeHandle(rid)

    def cancel(self, target: FakeHandle | int) -> None:
        self._cancelled.add(target if isinstance(target, int) else target.request_id)

    def shutdown(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
