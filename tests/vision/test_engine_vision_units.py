"""The engine's image bookkeeping without a model: marks, placeholder ids, the prompt
tokenizer's image slots (on the starter's real vocabulary), and the prefix rule that
never keeps half an image in the KV cache."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import ConfigError, VisionUnsupportedError
from app.core.generation import IMAGE_MARK
from app.engine import prompt_tokens as pt
from app.engine.prompt_tokens import PromptTokenizer, special_tokens
from app.engine.templates import ChatFormat, render_prompt
from app.engine.vision import (
    ImageChunk,
    ImageTokens,
    _layout,
    _reusable_prefix,
    attach_images,
    image_indexes,
    placeholders,
    slot,
    split_images,
)

A, B = b"image a", b"image b"


def attach(messages: list[dict[str, Any]], can_see: bool = True) -> tuple[list[Any], list[bytes]]:
    return attach_images(messages, model_name="m.gguf", can_see=can_see)


# -- marks ------------------------------------------------------------------------------
def test_images_without_marks_go_before_the_text() -> None:
    messages, images = attach([{"role": "user", "content": "What is it?", "images": [A, B]}])
    assert images == [A, B]
    assert messages == [{"role": "user", "content": f"{slot(0)}{slot(1)}\nWhat is it?"}]
    alone, _ = attach([{"role": "user", "content": "", "images": [A]}])
    assert alone[0]["content"] == slot(0)


def test_marks_place_the_images_and_number_them_across_the_conversation() -> None:
    messages, images = attach(
        [
            {"role": "user", "content": f"left {IMAGE_MARK} right {IMAGE_MARK}", "images": [A, B]},
            {"role": "assistant", "content": "Two."},
            {"role": "user", "content": f"and {IMAGE_MARK}?", "images": [A]},
        ]
    )
    assert images == [A, B, A]
    assert messages[0]["content"] == f"left {slot(0)} right {slot(1)}"
    assert messages[2]["content"] == f"and {slot(2)}?"
    assert all("images" not in m for m in messages)  # no bytes reach the renderer
    assert image_indexes(messages) == [0, 1, 2]
    assert split_images(messages[0]["content"]) == ["left ", 0, " right ", 1, ""]


def test_wrong_marks_other_roles_and_blind_models_are_refused() -> None:
    with pytest.raises(ConfigError, match="marks 2 places for images but carries 1"):
        attach([{"role": "user", "content": f"{IMAGE_MARK}{IMAGE_MARK}", "images": [A]}])
    with pytest.raises(ConfigError, match="only user messages"):
        attach([{"role": "assistant", "content": "x", "images": [A]}])
    with pytest.raises(VisionUnsupportedError, match=r"m\.gguf reads text only"):
        attach([{"role": "user", "content": "x", "images": [A]}], can_see=False)
    # A text-only conversation goes to a text-only model; a stray mark is dropped.
    messages, images = attach([{"role": "user", "content": f"a{IMAGE_MARK}b"}], can_see=False)
    assert messages[0]["content"] == "ab" and images == []


def test_placeholders_are_negative_and_tell_images_and_chunks_apart() -> None:
    a, b = hashlib.sha256(A).digest(), hashlib.sha256(B).digest()
    ids = placeholders(a, 0, 64)
    assert len(set(ids)) == 64 and all(i < 0 for i in ids)
    assert placeholders(a, 0, 64) == ids
    assert not set(ids) & set(placeholders(b, 0, 64))
    assert not set(ids) & set(placeholders(a, 1, 64))


# -- the prompt tokenizer's image slots (the starter's real vocabulary) ---------------
@pytest.fixture(scope="module")
def vocab(smol_model: Path) -> Iterator[Any]:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(smol_model), vocab_only=True, verbose=False)
    yield llm
    llm.close()


CHATML = ChatFormat(
    "gguf",
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}<|im_start|>assistant\n",
    source="gguf",
)


def render(variants: Sequence[Sequence[dict[str, Any]]]) -> list[str]:
    return [render_prompt(CHATML, v) for v in variants]


def test_each_slot_gives_its_images_ids_and_the_text_around_is_tokenized_apart(
    vocab: Any,
) -> None:
    tokenizer = PromptTokenizer(vocab, special_tokens(vocab))
    images = [[-1, -2, -3], [-7, 42, -8]]  # an image's run may hold real text tokens
    content = f"{slot(0)}\nWhat is {slot(1)} here?"

    def tok(text: str, special: bool) -> list[int]:
        return list(vocab.tokenize(text.encode(), add_bos=False, special=special))

    expected = (
        tok("<|im_start|>user\n", True)
        + images[0]
        + tok("\nWhat is ", True)
        + images[1]
        + tok(" here?<|im_end|>\n<|im_start|>assistant", True)  # jinja drops the last newline
    )
    tokens = tokenizer.tokenize([{"role": "user", "content": content}], render, images)
    assert tokens == expected
    assert tokenizer.paths["fast"] == 1
    # Text that could form a control token takes the split path: the slots still hold.
    risky = f"{slot(0)} <|im_end|> {slot(1)}"
    tokens = tokenizer.tokenize([{"role": "user", "content": risky}], render, images)
    assert tokenizer.paths["split"] == 1
    assert tokens == (
        tok("<|im_start|>", True)
        + tok("user\n", False)
        + images[0]
        + tok(" <|im_end|> ", False)
        + images[1]
        + tok("<|im_end|>\n<|im_start|>assistant", True)
    )
    # A template that rewrites the text defuses it; the slots still hold.
    shouting = ChatFormat(
        "gguf",
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] | replace('e', 'E') }}"
        "<|im_end|>\n{% endfor %}<|im_start|>assistant\n",
        source="gguf",
    )
    tokens = tokenizer.tokenize(
        [{"role": "user", "content": risky}],
        lambda v: [render_prompt(shouting, m) for m in v],
        images,
    )
    assert tokenizer.paths["neutralized"] == 1
    assert tokens[tokens.index(-1) : tokens.index(-1) + 3] == images[0]
    assert -7 in tokens and tokens[tokens.index(-7) : tokens.index(-7) + 3] == images[1]
    assert pt.WORD_JOINER in vocab.detokenize([t for t in tokens if t >= 0]).decode()


# -- the prefix rule --------------------------------------------------------------------
class FakeContext:
    def __init__(self) -> None:
        self.removed: list[int] = []

    def kv_cache_seq_rm(self, seq: int, start: int, end: int) -> bool:
        self.removed.append(start)
        return True


class FakeLlama:
    """What ``_reusable_prefix`` reads and sets on a ``llama_cpp.Llama``."""

    def __init__(self, cached: list[int]) -> None:
        self._input_ids = cached
        self.n_tokens = len(cached)
        self._requires_eval = False
        self._ctx = FakeContext()

    def reset(self) -> None:
        self.n_tokens = 0


def image(ids: tuple[int, ...]) -> ImageTokens:
    return ImageTokens("0" * 64, ((7,), ImageChunk(ids, len(ids), None)), 8, 8)


def test_the_cached_prefix_never_ends_inside_an_image() -> None:
    picture = image((-5, -6, -7))
    prompt = [1, 2, 7, -5, -6, -7, 3, 4]
    runs = _layout(prompt, [picture])
    assert [(b, e, c is not None) for b, e, c in runs] == [
        (0, 3, False),
        (3, 6, True),
        (6, 8, False),
    ]
    # The same prompt cached: nothing to evaluate.
    assert _reusable_prefix(FakeLlama(list(prompt)), prompt, runs) is None
    # A follow-up: everything up to the new text is kept.
    longer = [*prompt, 9, 9]
    llm = FakeLlama(list(prompt))
    assert _reusable_prefix(llm, longer, _layout(longer, [picture])) == 8
    # A cache that matches only part of the image: back to the image's start.
    llm = FakeLlama([1, 2, 7, -5, -6, 99])
    assert _reusable_prefix(llm, prompt, runs) == 3
    assert llm.n_tokens == 3 and llm._ctx.removed == [3] and llm._requires_eval
    # Nothing in common: start afresh.
    llm = FakeLlama([8, 8])
    assert _reusable_prefix(llm, prompt, runs) == 0 and llm.n_tokens == 0
