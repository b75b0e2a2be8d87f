"""Reading vision projectors and matching them with text models (real GGUF headers)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.errors import ProjectorError
from app.core.gguf_meta import read_gguf
from app.vision.projector import (
    _preference,
    base_name,
    find_projector,
    mismatch,
    projector_fits,
    read_projector,
)
from tests.fixtures.vision_gguf import (
    IMAGE_SIZE,
    IMAGE_TOKENS,
    PATCH_SIZE,
    TEXT_EMBD,
    VisionPair,
    write_tiny_projector,
)


@pytest.fixture
def pair(vision_pair: VisionPair, tmp_path: Path) -> VisionPair:
    """A private copy of the tiny pair, free to change."""
    model = Path(shutil.copy2(vision_pair.model, tmp_path / vision_pair.model.name))
    mmproj = Path(shutil.copy2(vision_pair.mmproj, tmp_path / vision_pair.mmproj.name))
    return VisionPair(model, mmproj)


def test_read_projector_gives_type_sizes_and_bytes(vision_pair: VisionPair) -> None:
    info = read_projector(vision_pair.mmproj)
    assert info.projector_type == "mlp"
    assert info.projection_dim == TEXT_EMBD  # from mm.2.weight's shape, as clip.cpp reads it
    assert (info.image_size, info.patch_size) == (IMAGE_SIZE, PATCH_SIZE)
    assert info.image_tokens == IMAGE_TOKENS
    assert info.n_bytes == vision_pair.mmproj.stat().st_size
    assert 0 < info.weights_bytes < info.n_bytes
    assert info.has_vision and not info.has_audio
    assert info.quantization == "F16"


def test_projection_dim_comes_from_the_tensor_not_the_declared_key(tmp_path: Path) -> None:
    # LLaVA files made by the old surgery script declare CLIP's own projection_dim (768)
    # while mm.2 projects to the text model's width; libmtmd goes by the tensor.
    path = write_tiny_projector(tmp_path / "mmproj-x-F16.gguf", projection_dim=96)
    info = read_projector(path)
    assert info.projection_dim == 96


def test_fits_only_the_model_with_the_same_embedding_size(
    vision_pair: VisionPair, tmp_path: Path
) -> None:
    model = read_gguf(vision_pair.model)
    assert projector_fits(read_projector(vision_pair.mmproj), model)
    other = read_projector(
        write_tiny_projector(tmp_path / "mmproj-big-F16.gguf", projection_dim=96)
    )
    assert not projector_fits(other, model)
    reason = mismatch(other, model)
    assert reason is not None and "96" in reason and str(TEXT_EMBD) in reason


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("missing", "missing"),
        ("empty", "empty"),
        ("truncated", "truncated"),
        ("not-gguf", "not a GGUF"),
    ],
)
def test_bad_projector_files_are_one_sentence(
    vision_pair: VisionPair, tmp_path: Path, damage: str, words: str
) -> None:
    path = tmp_path / "mmproj-bad.gguf"
    data = vision_pair.mmproj.read_bytes()
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "not-gguf":
        path.write_bytes(b"PNG" + data[3:])
    with pytest.raises(ProjectorError) as caught:
        read_projector(path)
    message = str(caught.value)
    assert words in message and message.count(". ") <= 1 and "\n" not in message


def test_a_text_model_is_not_a_projector(vision_pair: VisionPair) -> None:
    with pytest.raises(ProjectorError, match="not a vision projector"):
        read_projector(vision_pair.model)


def test_find_projector_beside_the_model_picks_the_one_that_fits(pair: VisionPair) -> None:
    folder = pair.model.parent
    # A projector for another model, sorted first by name: never chosen.
    write_tiny_projector(folder / "mmproj-aaa-F16.gguf", projection_dim=96)
    assert find_projector(pair.model) == pair.mmproj
    pair.mmproj.unlink()
    assert find_projector(pair.model) is None


def test_find_projector_prefers_the_models_own_name_then_f16(pair: VisionPair) -> None:
    folder = pair.model.parent
    stranger = shutil.copy2(pair.mmproj, folder / "mmproj-another-model-F16.gguf")
    assert find_projector(pair.model) == pair.mmproj  # same base name as the model
    pair.mmproj.unlink()
    assert find_projector(pair.model) == Path(stranger)
    assert find_projector(pair.model, candidates=[]) is None


def test_base_name_drops_prefix_and_quantisation() -> None:
    assert base_name("mmproj-SmolVLM2-500M-Video-Instruct-f16.gguf") == (
        "smolvlm2-500m-video-instruct"
    )
    assert base_name("SmolVLM2-500M-Video-Instruct-Q8_0.gguf") == "smolvlm2-500m-video-instruct"
    assert base_name("mmproj-model-f16.gguf") == ""


def test_among_projectors_of_one_model_full_precision_then_q8_0_wins(pair: VisionPair) -> None:
    info = read_projector(pair.mmproj)
    ranks = {
        quant: _preference(pair.mmproj, pair.model, replace(info, quantization=quant))
        for quant in ("Q4_K_M", "Q8_0", "F16", "BF16")
    }
    assert ranks["F16"] < ranks["Q8_0"] < ranks["Q4_K_M"]
    assert ranks["BF16"] == ranks["F16"]
