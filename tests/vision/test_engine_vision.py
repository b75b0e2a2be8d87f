"""The engine sees images: the tiny vision pair (random weights) through the real worker.

The words of a random model mean nothing; what must hold does: an image adds the
projector's image tokens to the prompt, different images give different first-token
log-probabilities and the same image the same ones, a prompt the KV cache holds is not
encoded again, Hearth's prompt gives what llama-cpp-python's own ``MTMDChatHandler``
gives, and every refusal (no projector, the wrong projector, damaged bytes, no room in
the context) is a clear error that leaves the model usable.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.errors import ContextOverflowError, ImageError, VisionUnsupportedError
from app.core.generation import IMAGE_MARK, GenerationParams, Message
from app.engine import protocol as p
from app.engine.client import EngineClient
from tests.fixtures.vision_gguf import IMAGE_TOKENS, VisionPair

pytestmark = pytest.mark.slow

TIMEOUT = 120
FIRST_TOKEN = GenerationParams(max_tokens=1, temperature=0.0, logprobs=5, n_threads=1)


def noise_png(seed: int, size: int = 512) -> bytes:
    """A ``size`` x ``size`` RGB PNG of random pixels (opaque: stb and Pillow agree)."""
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG")
    return out.getvalue()


RED, BLUE = noise_png(1), noise_png(2)


def ask(images: Sequence[bytes], text: str = "Describe.") -> list[Message]:
    return [{"role": "user", "content": text, "images": list(images)}]


def load(engine: EngineClient, model: Path, mmproj: Path | None, n_ctx: int = 1024) -> Any:
    event = engine.load(
        str(model), n_ctx=n_ctx, n_threads=1, mmproj=str(mmproj) if mmproj else None
    ).wait(TIMEOUT)
    assert isinstance(event, p.ModelLoaded)
    return event


class Reply:
    """One generation's events."""

    def __init__(self, engine: EngineClient, messages: list[Message], params: GenerationParams):
        handle = engine.generate(messages, params)
        self.events = list(handle.events(TIMEOUT))
        handle.wait(0)  # raises the error an ErrorEvent stands for
        self.prepared = next(e for e in self.events if isinstance(e, p.PromptPrepared))
        self.done = self.events[-1]
        assert isinstance(self.done, p.GenerationDone)

    @property
    def first_top(self) -> list[tuple[bytes, float]]:
        """The first reply token's likeliest alternatives, as (bytes, log-probability)."""
        assert isinstance(self.done, p.GenerationDone) and self.done.logprobs
        return [(t.data, t.logprob) for t in self.done.logprobs[0].top]


def images_encoded(engine: EngineClient) -> int:
    event = engine.stats().wait(TIMEOUT)
    assert isinstance(event, p.StatsReport)
    return int(event.stats["images_encoded"])


@pytest.fixture(scope="module")
def seeing(vision_pair: VisionPair) -> Iterator[EngineClient]:
    """A worker with the tiny vision model and its projector loaded."""
    engine = EngineClient()
    engine.start()
    loaded = load(engine, vision_pair.model, vision_pair.mmproj)
    assert loaded.vision and loaded.mmproj == str(vision_pair.mmproj)
    yield engine
    engine.shutdown()


def test_an_image_adds_the_projectors_tokens_to_the_prompt(seeing: EngineClient) -> None:
    text_only = Reply(seeing, [{"role": "user", "content": "Describe."}], FIRST_TOKEN)
    # The mark in place, before the text: the text tokens are the text-only prompt's.
    one = Reply(seeing, ask([RED], f"{IMAGE_MARK}Describe."), FIRST_TOKEN)
    two = Reply(seeing, ask([RED, BLUE], f"{IMAGE_MARK}{IMAGE_MARK}Describe."), FIRST_TOKEN)
    base = text_only.prepared.prompt_tokens
    assert text_only.prepared.image_tokens == 0
    assert (one.prepared.image_tokens, two.prepared.image_tokens) == (64, 128)
    assert one.prepared.prompt_tokens == base + IMAGE_TOKENS
    assert two.prepared.prompt_tokens == base + 2 * IMAGE_TOKENS
    assert isinstance(two.done, p.GenerationDone)
    assert two.done.stats.prompt_tokens == base + 2 * IMAGE_TOKENS
    # Without a mark the images go first, on a line of their own: one token more.
    before = Reply(seeing, ask([RED, BLUE]), FIRST_TOKEN)
    assert before.prepared.prompt_tokens == two.prepared.prompt_tokens + 1


def test_different_images_differ_and_the_same_image_gives_the_same(seeing: EngineClient) -> None:
    red = Reply(seeing, ask([RED]), FIRST_TOKEN).first_top
    blue = Reply(seeing, ask([BLUE]), FIRST_TOKEN).first_top
    red_again = Reply(seeing, ask([RED]), FIRST_TOKEN).first_top
    text_only = Reply(seeing, [{"role": "user", "content": "\nDescribe."}], FIRST_TOKEN).first_top
    assert red != blue
    assert red != text_only
    assert red_again == red
    # Two images in one message: their order matters.
    both = Reply(seeing, ask([RED, BLUE]), FIRST_TOKEN).first_top
    swapped = Reply(seeing, ask([BLUE, RED]), FIRST_TOKEN).first_top
    assert both != swapped


def test_a_second_turn_reuses_the_encoded_image(
    seeing: EngineClient, vision_pair: VisionPair
) -> None:
    greedy = GenerationParams(max_tokens=4, temperature=0.0, logprobs=5, n_threads=1)
    green = noise_png(3)
    first = Reply(seeing, ask([green]), greedy)
    before = images_encoded(seeing)
    assert isinstance(first.done, p.GenerationDone)
    follow_up = [
        *ask([green]),
        {"role": "assistant", "content": first.done.text},
        {"role": "user", "content": "And the colours?"},
    ]
    second = Reply(seeing, follow_up, greedy)
    assert images_encoded(seeing) == before  # the image came from the KV cache
    assert second.prepared.image_tokens == IMAGE_TOKENS

    fresh = EngineClient()  # the same conversation in a fresh context
    fresh.start()
    try:
        load(fresh, vision_pair.model, vision_pair.mmproj)
        again = Reply(fresh, follow_up, greedy)
        assert images_encoded(fresh) == 1
    finally:
        fresh.shutdown()
    assert isinstance(second.done, p.GenerationDone) and isinstance(again.done, p.GenerationDone)
    assert again.done.text == second.done.text
    assert again.prepared.prompt_tokens == second.prepared.prompt_tokens
    # llama.cpp is not batch-invariant: a prompt evaluated in other batches may differ
    # in the last bits of its logits, never in its tokens.
    for (token, logprob), (token2, logprob2) in zip(again.first_top, second.first_top, strict=True):
        assert token == token2
        assert logprob == pytest.approx(logprob2, abs=1e-3)


def test_an_image_after_changed_text_is_decoded_from_kept_embeddings(
    seeing: EngineClient, vision_pair: VisionPair
) -> None:
    purple = noise_png(4)
    Reply(seeing, ask([purple]), FIRST_TOKEN)
    before = images_encoded(seeing)
    # A system prompt before it: the image must go into the KV cache again, at another
    # place, from the embeddings kept since the first reply.
    moved = [{"role": "system", "content": "Answer in French."}, *ask([purple])]
    ours = Reply(seeing, moved, FIRST_TOKEN)
    assert images_encoded(seeing) == before
    fresh = EngineClient()
    fresh.start()
    try:
        load(fresh, vision_pair.model, vision_pair.mmproj)
        again = Reply(fresh, moved, FIRST_TOKEN)
        assert images_encoded(fresh) == 1
    finally:
        fresh.shutdown()
    assert [t for t, _ in ours.first_top] == [t for t, _ in again.first_top]
    for (_, logprob), (_, fresh_logprob) in zip(ours.first_top, again.first_top, strict=True):
        assert logprob == pytest.approx(fresh_logprob, abs=1e-3)


def test_damaged_image_bytes_are_an_image_error_and_the_model_stays(seeing: EngineClient) -> None:
    damaged = RED[: len(RED) // 3]
    for bad in (damaged, b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 64):
        with pytest.raises(ImageError):
            Reply(seeing, ask([bad]), FIRST_TOKEN)
    after = Reply(seeing, ask([RED]), FIRST_TOKEN)
    assert after.prepared.image_tokens == IMAGE_TOKENS
    assert after.first_top


def test_marks_that_do_not_match_the_images_are_refused(seeing: EngineClient) -> None:
    from app.core.errors import ConfigError

    refusals: list[tuple[list[Message], type[Exception]]] = [
        (ask([RED], f"{IMAGE_MARK}a{IMAGE_MARK}b"), ConfigError),
        ([{"role": "assistant", "content": "x", "images": [RED]}, *ask([], "hi")], ConfigError),
    ]
    for messages, error in refusals:
        with pytest.raises(error):
            Reply(seeing, messages, FIRST_TOKEN)


def test_images_that_cannot_fit_the_context_are_refused_before_generating(
    vision_pair: VisionPair, engine: EngineClient
) -> None:
    loaded = load(engine, vision_pair.model, vision_pair.mmproj, n_ctx=256)
    count = loaded.n_ctx // IMAGE_TOKENS + 1
    handle = engine.generate(ask([noise_png(10 + i) for i in range(count)]), FIRST_TOKEN)
    events = list(handle.events(TIMEOUT))
    assert not any(isinstance(e, p.PromptPrepared | p.Delta) for e in events)
    with pytest.raises(ContextOverflowError, match=f"take {count * IMAGE_TOKENS} tokens"):
        handle.wait(0)
    assert Reply(engine, ask([RED]), FIRST_TOKEN).prepared.image_tokens == IMAGE_TOKENS


def test_a_text_only_model_refuses_images_and_still_answers(
    smol_model: Path, engine: EngineClient
) -> None:
    loaded = load(engine, smol_model, None)
    assert not loaded.vision and loaded.mmproj is None
    with pytest.raises(VisionUnsupportedError, match=f"{smol_model.name} reads text only"):
        Reply(engine, ask([RED]), FIRST_TOKEN)
    answer = Reply(engine, [{"role": "user", "content": "Hello"}], FIRST_TOKEN)
    assert answer.first_top


def test_a_projector_for_another_model_loads_the_model_text_only(
    smol_model: Path, vision_pair: VisionPair, engine: EngineClient
) -> None:
    loaded = load(engine, smol_model, vision_pair.mmproj)
    assert not loaded.vision and loaded.mmproj is None
    assert loaded.notice == (
        f"{vision_pair.mmproj.name} is not a vision projector for {smol_model.name} (it "
        "projects to 64 values, the model takes 576); images cannot be read: pair the "
        "model with its own projector in the model manager."
    )
    with pytest.raises(VisionUnsupportedError):
        Reply(engine, ask([RED]), FIRST_TOKEN)
    assert Reply(engine, [{"role": "user", "content": "Hello"}], FIRST_TOKEN).first_top


def test_a_missing_projector_loads_the_model_text_only(
    vision_pair: VisionPair, engine: EngineClient, tmp_path: Path
) -> None:
    gone = tmp_path / "mmproj-moved-away.gguf"
    loaded = load(engine, vision_pair.model, gone)
    assert not loaded.vision
    assert loaded.notice is not None and loaded.notice.startswith(
        "mmproj-moved-away.gguf is missing (moved or deleted); images cannot be read"
    )


def test_a_file_that_is_no_projector_or_a_damaged_one_loads_the_model_text_only(
    vision_pair: VisionPair, smol_model: Path, engine: EngineClient, tmp_path: Path
) -> None:
    loaded = load(engine, vision_pair.model, smol_model)
    assert not loaded.vision
    assert loaded.notice is not None
    assert loaded.notice.startswith(f"{smol_model.name} is not a vision projector")
    cut = tmp_path / "mmproj-cut.gguf"
    data = vision_pair.mmproj.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    loaded = load(engine, vision_pair.model, cut)
    assert not loaded.vision
    assert loaded.notice is not None and "truncated" in loaded.notice
    with pytest.raises(VisionUnsupportedError):
        Reply(engine, ask([RED]), FIRST_TOKEN)
    assert Reply(engine, [{"role": "user", "content": "Hello"}], FIRST_TOKEN).first_top


def test_the_first_token_equals_llama_cpp_pythons_mtmd_handler(
    seeing: EngineClient, vision_pair: VisionPair
) -> None:
    """Hearth's prompt (its own template rendering, tokenizer and token loop) against
    ``MTMDChatHandler`` called directly on a ``Llama``: the same first-token
    log-probabilities for one image and a question."""
    import llama_cpp
    from llama_cpp.llama_chat_format import MTMDChatHandler

    ours = Reply(seeing, ask([RED], f"{IMAGE_MARK}Describe."), FIRST_TOKEN)
    handler = MTMDChatHandler(str(vision_pair.mmproj), verbose=False, use_gpu=False)
    llm = llama_cpp.Llama(
        model_path=str(vision_pair.model),
        n_ctx=1024,
        n_threads=1,
        n_threads_batch=1,
        n_gpu_layers=0,
        chat_handler=handler,
        logits_all=True,  # llama-cpp-python gives log-probabilities only so
        verbose=False,
    )
    try:
        url = "data:image/png;base64," + base64.b64encode(RED).decode("ascii")
        theirs = llm.create_chat_completion(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": url}},
                        {"type": "text", "text": "Describe."},
                    ],
                }
            ],
            max_tokens=1,
            temperature=0.0,
            logprobs=True,
            top_logprobs=5,
        )
        answer: Any = theirs  # a dict (no stream); its TypedDicts allow None everywhere
        prompt_tokens = answer["usage"]["prompt_tokens"]
        content = answer["choices"][0]["logprobs"]["content"]
    finally:
        llm.close()
    assert ours.prepared.prompt_tokens == prompt_tokens
    expected = [(t["token"], t["logprob"]) for t in content[0]["top_logprobs"]]
    assert isinstance(ours.done, p.GenerationDone) and ours.done.logprobs
    top = [(t.token, t.logprob) for t in ours.done.logprobs[0].top]
    assert [token for token, _ in top] == [token for token, _ in expected]
    for (_, logprob), (_, theirs_logprob) in zip(top, expected, strict=True):
        assert logprob == pytest.approx(theirs_logprob, abs=1e-4)


class _Events:
    """Stands in for the worker's pipe."""

    def __init__(self) -> None:
        self.sent: list[p.Event] = []

    def send(self, event: p.Event) -> None:
        self.sent.append(event)


def test_a_cancel_stops_before_the_image_and_the_model_goes_on(vision_pair: VisionPair) -> None:
    """The prompt's runs are evaluated one by one, a cancel checked between them: a
    reply cancelled before its first run encodes no image and samples nothing."""
    from app.engine.worker import _Worker

    events = _Events()
    worker = _Worker(events)  # type: ignore[arg-type]
    try:
        worker.load(
            p.LoadModel(
                0, str(vision_pair.model), n_ctx=1024, n_threads=1, mmproj=str(vision_pair.mmproj)
            )
        )
        assert worker.vision is not None
        worker.cancelled.add(1)
        worker.generate(p.Generate(1, tuple(ask([RED])), FIRST_TOKEN))
        done = events.sent[-1]
        assert isinstance(done, p.GenerationDone)
        assert (done.finish_reason, done.text, done.stats.completion_tokens) == ("cancelled", "", 0)
        assert worker.vision.encoded == 0
        worker.cancelled.clear()
        greedy = GenerationParams(max_tokens=3, temperature=0.0, n_threads=1)
        worker.generate(p.Generate(2, tuple(ask([RED])), greedy))
        done = events.sent[-1]
        assert isinstance(done, p.GenerationDone)
        assert done.finish_reason == "length" and done.stats.completion_tokens == 3
        assert worker.vision.encoded == 1
    finally:
        worker.unload()
        if worker.renderer is not None:
            worker.renderer.close()
