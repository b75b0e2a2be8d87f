"""The library: folder scans, split GGUFs, projectors, starter registration, lookup."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.catalog.library import CHAT, PROJECTOR, Library, split_parts
from app.catalog.starter import register_starter_models
from app.core.errors import ModelNotFoundError
from tests.fixtures.models import write_random, write_tiny_gguf


def make_library(tmp_path: Path) -> tuple[Library, Path]:
    models = tmp_path / "models"
    models.mkdir()
    return Library(tmp_path / "library.json", [models]), models


def test_scan_finds_models_recursively_and_flags_bad_ones(tmp_path: Path) -> None:
    library, models = make_library(tmp_path)
    (models / "org" / "repo").mkdir(parents=True)
    write_tiny_gguf(models / "org" / "repo" / "tiny-Q8_0.gguf")
    write_random(models / "broken.gguf")
    (models / "notes.txt").write_text("not a model")
    entries = {e.name: e for e in library.entries()}
    assert set(entries) == {"tiny-Q8_0", "broken"}
    assert entries["tiny-Q8_0"].error is None and entries["tiny-Q8_0"].architecture == "llama"
    assert entries["broken"].error and "not a GGUF" in entries["broken"].error


def test_split_gguf_is_one_entry_loaded_by_its_first_part(tmp_path: Path) -> None:
    library, models = make_library(tmp_path)
    first = write_tiny_gguf(models / "big-00001-of-00002.gguf")
    shutil.copy(first, models / "big-00002-of-00002.gguf")
    entries = library.entries()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.name == "big" and entry.path.endswith("-00001-of-00002.gguf")
    assert entry.size_bytes == 2 * first.stat().st_size and len(entry.files) == 2
    assert split_parts(Path(entry.files[1])) == [Path(f) for f in entry.files]


def test_vision_projector_is_not_a_chat_model(tmp_path: Path) -> None:
    library, models = make_library(tmp_path)
    write_tiny_gguf(models / "mmproj-model-f16.gguf")
    write_tiny_gguf(models / "model.gguf")
    assert [e.name for e in library.entries(PROJECTOR)] == ["mmproj-model-f16"]
    assert [e.name for e in library.entries(CHAT)] == ["model"]


def test_starter_models_registered_in_place_and_idempotently(
    tmp_path: Path, smol_model: Path
) -> None:
    library, _ = make_library(tmp_path)
    first = register_starter_models(library)
    again = register_starter_models(library)
    assert {e.kind for e in first} == {"chat", "stt", "tts"}
    assert len(library.registered()) == len(first) == len(again)
    chat = library.resolve("SmolLM2-135M-Instruct")
    assert Path(chat.path) == smol_model, "registered where pip installed it, not copied"


def test_resolve_by_partial_name_path_and_ambiguity(tmp_path: Path) -> None:
    library, models = make_library(tmp_path)
    write_tiny_gguf(models / "alpha-7b.gguf")
    write_tiny_gguf(models / "alpha-13b.gguf")
    assert library.resolve("alpha-7b").name == "alpha-7b"
    assert library.resolve("7B").name == "alpha-7b"
    assert library.resolve(str(models / "alpha-13b.gguf")).name == "alpha-13b"
    with pytest.raises(ModelNotFoundError, match="several"):
        library.resolve("alpha")
    with pytest.raises(ModelNotFoundError, match="hearth models ls"):
        library.resolve("gamma")


def test_vanished_registered_file_is_listed_with_an_error(tmp_path: Path) -> None:
    library, _models = make_library(tmp_path)
    elsewhere = write_tiny_gguf(tmp_path / "elsewhere.gguf")
    from app.catalog.library import describe_gguf

    library.register([describe_gguf(elsewhere, source="import")])
    elsewhere.unlink()
    [entry] = library.entries()
    assert entry.error and "no longer exists" in entry.error
