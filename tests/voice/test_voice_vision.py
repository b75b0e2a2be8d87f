"""``hearth voice --image``: a spoken question about a picture, on the virtual devices, with
the tiny vision pair (random weights: the words mean nothing; what must hold is checked),
and the voice loop's user message carrying the images (a fast test without audio)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.generation import Message
from app.engine import protocol as p
from app.engine.client import EngineClient
from app.voice.conversation import MemoryConversation
from app.voice.loop import TurnResult, VoiceLoop
from tests.fixtures.vision_gguf import VisionPair
from tests.voice.audio_env import PulseServer
from tests.voice.conftest import word_overlap
from tests.voice.test_voice_e2e import app_env, finish, start_app

QUESTION = "What is in this picture?"
SYSTEM = "You look at pictures and answer in one short sentence."


def write_photo(path: Path, seed: int, size: int = 512) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def prompt_tokens(model: Path, messages: list[Message]) -> int:
    """The prompt length Hearth's engine gives ``messages`` for ``model`` (text only)."""
    client = EngineClient()
    try:
        loaded = client.load(str(model), n_ctx=2048, n_gpu_layers=0, n_threads=1).wait(120)
        assert isinstance(loaded, p.ModelLoaded), loaded
        handle = client.generate(messages)
        for event in handle.events(timeout=120):
            if isinstance(event, p.PromptPrepared):
                client.cancel(handle)
                return event.prompt_tokens
            if isinstance(event, p.ErrorEvent):
                raise AssertionError(event.message)
        raise AssertionError("no PromptPrepared")
    finally:
        client.shutdown()


@pytest.mark.slow
def test_a_spoken_question_about_an_image(
    pulse: PulseServer,
    speech_wav: Callable[[str], Path],
    vision_pair: VisionPair,
    tmp_path: Path,
) -> None:
    photo = write_photo(tmp_path / "photo.png", 7)
    app = start_app(
        app_env(pulse, tmp_path / "home"),
        "--once",
        "--json",
        "--timeout",
        "60",
        "--model",
        str(vision_pair.model),
        "--image",
        str(photo),
        "--system",
        SYSTEM,
        "--temperature",
        "0",
        "--seed",
        "1",
        "--max-tokens",
        "16",
    )
    assert app.listening.wait(180), app.stderr
    player = pulse.play(speech_wav(QUESTION))
    code, out = finish(app)
    assert player.wait(10) == 0
    assert code == 0, app.stderr
    result = json.loads(out)

    assert word_overlap(QUESTION, result["transcript"]) >= 0.8, result["transcript"]
    # The projector beside the model read the picture: its tokens are in the prompt,
    # on top of what the same question takes without it (the image goes before the
    # text, which then starts on a line of its own).
    assert result["mmproj"] == str(vision_pair.mmproj)
    assert result["image_tokens"] == vision_pair.image_tokens
    asked = "\n" + result["question"]
    text_only = prompt_tokens(
        vision_pair.model,
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": asked}],
    )
    assert result["prompt_tokens"] == text_only + vision_pair.image_tokens
    assert result["finish_reason"] in {"stop", "length"}


@pytest.mark.slow
def test_a_model_that_reads_text_only_is_refused_before_listening(
    pulse: PulseServer, smol_model: Path, tmp_path: Path
) -> None:
    photo = write_photo(tmp_path / "photo.png", 8)
    app = start_app(
        app_env(pulse, tmp_path / "home"),
        "--once",
        "--model",
        str(smol_model),
        "--image",
        str(photo),
    )
    code, out = finish(app)
    assert code == 1 and out == ""
    assert not app.listening.is_set()
    (line,) = app.stderr.strip().splitlines()[-1:]
    assert line.startswith("hearth: ") and "reads text only" in line, app.stderr


# -- the loop's user message, without audio ---------------------------------------------
def _result(question: str, spoken: str) -> TurnResult:
    return TurnResult(
        transcript=question,
        language="en",
        reply=spoken,
        spoken=spoken,
        sentences=(spoken,),
        finish_reason="stop",
        interrupted=False,
        speculative=False,
        ended_early=False,
        timings={},
        stages={},
        question=question,
    )


def test_the_images_go_with_the_first_question_and_stay_in_the_history() -> None:
    conversation = MemoryConversation()
    conversation.attach([b"first", b"second"])
    loop = VoiceLoop.__new__(VoiceLoop)  # only _user_message is exercised
    loop.conversation = conversation
    assert loop._user_message("What is this?") == {
        "role": "user",
        "content": "What is this?",
        "images": [b"first", b"second"],
    }

    # A turn nothing of which was heard keeps them for the question asked again.
    conversation.turn_heard("What is this?")
    conversation.turn_finished(_result("What is this?", ""))
    assert conversation.images() == [b"first", b"second"]
    assert conversation.history() == []

    conversation.turn_heard("What is this?")
    conversation.turn_finished(_result("What is this?", "A picture."))
    # Stored with the question: the next prompt starts as this one did (the engine keeps
    # the encoded images in its cache), and the next question carries none of its own.
    assert conversation.history() == [
        {"role": "user", "content": "What is this?", "images": [b"first", b"second"]},
        {"role": "assistant", "content": "A picture."},
    ]
    assert conversation.images() == []
    assert loop._user_message("And the colours?") == {
        "role": "user",
        "content": "And the colours?",
    }
