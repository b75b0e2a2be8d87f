"""GGUF header reading and validation, on real and deliberately broken files."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from app.catalog.gguf_meta import read_gguf
from app.core.errors import InvalidModelError, ModelNotFoundError
from tests.fixtures.models import (
    write_absurd_header,
    write_empty,
    write_random,
    write_tiny_gguf,
    write_truncated,
)


def test_reads_the_starter_model_without_loading_weights(smol_model: Path) -> None:
    started = time.perf_counter()
    info = read_gguf(smol_model)
    elapsed = time.perf_counter() - started
    assert info.architecture == "llama" and info.block_count == 30
    assert info.quantization == "Q4_1" and info.context_length == 8192
    assert info.vocab_size == 49152 and info.chat_template and "im_start" in info.chat_template
    assert 130e6 < info.parameter_count < 140e6
    assert len(info.tensors) == 272 and len(info.layer_bytes()) == 30
    assert sum(info.layer_bytes()) + sum(info.non_layer_bytes().values()) == info.tensor_bytes
    assert info.data_offset + info.tensor_bytes <= info.file_size
    assert info.token_text(int(info.metadata["tokenizer.ggml.eos_token_id"])) == "<|im_end|>"
    assert info.has_token("<|im_start|>") and not info.has_token("<start_of_turn>")
    assert elapsed < 5, "header reading must not touch the weights"


def test_gemma_metadata(gemma_model: Path) -> None:
    info = read_gguf(gemma_model)
    assert info.architecture == "gemma3" and info.quantization == "Q4_K_M"
    assert info.chat_template is None and info.vocab_size == 262144
    assert info.arch_value("attention.sliding_window") == 512


def test_synthetic_file_round_trip(tmp_path: Path) -> None:
    info = read_gguf(write_tiny_gguf(tmp_path / "t.gguf", n_layers=3, template="{{ x }}"))
    assert info.block_count == 3 and info.chat_template == "{{ x }}"
    assert [t.layer for t in info.tensors if t.name.startswith("blk.2")] == [2, 2]
    assert info.layer_bytes() == [(32 * 32 + 64 * 32) * 4] * 3


@pytest.mark.parametrize(
    ("maker", "phrase"),
    [
        (lambda d, s: write_empty(d / "e.gguf"), "empty"),
        (lambda d, s: write_random(d / "r.gguf"), "not a GGUF"),
        (lambda d, s: write_truncated(s, d / "t.gguf", 0.9), "truncated"),
        (lambda d, s: write_truncated(s, d / "h.gguf", 0.001), "truncated or corrupt"),
        (lambda d, s: write_absurd_header(d / "a.gguf"), "corrupt header"),
    ],
)
def test_broken_files_raise_clear_errors(
    tmp_path: Path, smol_model: Path, maker: object, phrase: str
) -> None:
    path = maker(tmp_path, smol_model)  # type: ignore[operator]
    with pytest.raises(InvalidModelError, match=phrase) as caught:
        read_gguf(path)
    assert path.name in str(caught.value)


def test_wrong_version(tmp_path: Path) -> None:
    path = tmp_path / "v9.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 9, 0, 0) + b"\0" * 64)
    with pytest.raises(InvalidModelError, match="version 9"):
        read_gguf(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        read_gguf(tmp_path / "nope.gguf")
    with pytest.raises(InvalidModelError, match="folder"):
        read_gguf(tmp_path)
