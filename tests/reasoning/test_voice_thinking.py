"""Voice never speaks a reasoning model's thinking, nor hands it on as the reply."""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from app.core.generation import GenerationParams, GenerationStats, Message
from app.engine import protocol as p
from app.engine.client import RequestHandle
from app.voice.conversation import MemoryConversation
from app.voice.loop import VoiceCallbacks, VoiceConfig, VoiceLoop, _Reply, _Turn
from app.voice.sentences import Sentence, SentenceSplitter

THINKING = "Pelican zeppelin marmalade. The capital of France is Paris."
ANSWER = "Paris is the capital of France."


class ScriptedEngine:
    """A ChatEngine whose reply is ``pieces``, streamed from a thread as the worker does."""

    def __init__(self, pieces: Sequence[str], *, thinking_open: bool = False) -> None:
        self.pieces = list(pieces)
        self.thinking_open = thinking_open

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> RequestHandle:
        handle = RequestHandle(1, "generate")

        def run() -> None:
            handle._push(p.PromptPrepared(1, 10, 0, None, self.thinking_open))
            for piece in self.pieces:
                handle._push(p.Delta(1, piece))
            stats = GenerationStats(10, len(self.pieces), 0.01, 50.0, 0.1, 0, 2048, "cpu")
            handle._push(p.GenerationDone(1, "".join(self.pieces), "stop", stats))

        threading.Thread(target=run, daemon=True).start()
        return handle

    def cancel(self, target: Any) -> None: ...
    def hold(self, target: Any, seconds: float) -> None: ...
    def release(self, target: Any) -> None: ...


def stream_turn(engine: ScriptedEngine) -> tuple[list[Sentence], list[str], _Reply]:
    """Run the loop's reply stream for one confirmed turn: the pieces handed to the
    speaker, the text handed to the conversation, and the reply."""
    delivered: list[str] = []
    loop = VoiceLoop.__new__(VoiceLoop)  # no devices: only the reply's stream is run
    loop.config = VoiceConfig()
    loop.conversation = MemoryConversation()
    loop.callbacks = VoiceCallbacks(reply_delta=delivered.append)
    loop._stop = threading.Event()
    vad_event: Any = SimpleNamespace(
        audio=np.zeros(160, np.float32), speech_start=0.0, speech_end=0.0, first_sample=0
    )
    turn = _Turn(1, vad_event, vad_event.audio, False, 1, max_samples=30 * 16000)
    attempt = _Reply(1, "What is the capital of France?", "en")
    attempt.confirmed.set()
    attempt.handle = engine.generate([])
    turn.reply = attempt
    pieces: queue.Queue[Sentence | None] = queue.Queue()
    loop._stream_reply(turn, attempt, SentenceSplitter(), pieces)
    spoken: list[Sentence] = []
    while not pieces.empty():
        item = pieces.get()
        if item is not None:
            spoken.append(item)
    return spoken, delivered, attempt


def every_two(text: str) -> list[str]:
    return [text[i : i + 2] for i in range(0, len(text), 2)]  # tags cut across deltas


@pytest.mark.parametrize(
    ("reply", "opened"),
    [
        (f"<think>\n{THINKING}\n</think>\n\n{ANSWER}", False),
        (f"{THINKING}\n</think>\n\n{ANSWER}", True),  # the prompt opened the block
        (f"[THINK]{THINKING}[/THINK]{ANSWER}", False),
    ],
    ids=["think tags", "opened by the template", "magistral"],
)
def test_only_the_answer_reaches_the_speaker(reply: str, opened: bool) -> None:
    spoken, delivered, attempt = stream_turn(ScriptedEngine(every_two(reply), thinking_open=opened))
    said = " ".join(s.spoken for s in spoken)
    assert said == ANSWER
    assert "".join(delivered).strip() == ANSWER
    assert attempt.text.strip() == ANSWER
    assert "zeppelin" not in said.lower() and "think" not in said.lower()


def test_a_reply_still_thinking_when_cut_says_nothing() -> None:
    spoken, delivered, attempt = stream_turn(ScriptedEngine(every_two(f"<think>{THINKING}")))
    assert spoken == [] and "".join(delivered) == "" and attempt.text == ""


def test_a_plain_reply_is_spoken_as_before() -> None:
    spoken, delivered, attempt = stream_turn(ScriptedEngine(every_two(ANSWER)))
    assert " ".join(s.spoken for s in spoken) == ANSWER
    assert "".join(delivered) == ANSWER and attempt.text == ANSWER
