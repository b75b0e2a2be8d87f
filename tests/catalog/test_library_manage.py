"""Library management: delete (owned files only), import, reveal, and other apps' folders."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from app.catalog.external import HF_CACHE, LMSTUDIO, default_roots, hf_cache_dir
from app.catalog.library import (
    CHAT,
    STT,
    TTS,
    Library,
    describe_gguf,
    reveal,
    reveal_command,
)
from app.catalog.starter import register_starter_models
from app.core.errors import ConfigError, InvalidModelError, ModelNotFoundError
from tests.fixtures.models import write_random, write_tiny_gguf


@pytest.fixture
def library(tmp_path: Path) -> Library:
    models = tmp_path / "models"
    extra = tmp_path / "extra"
    models.mkdir()
    extra.mkdir()
    return Library(tmp_path / "library.json", [models, extra], external_roots=[])


def owned(library: Library) -> Path:
    assert library.owned_dir is not None
    return library.owned_dir


def write_voice(folder: Path, name: str = "de_DE-thorsten-medium", language: str = "de_DE") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    onnx = write_random(folder / f"{name}.onnx", 4096)
    config = {"language": {"code": language}, "audio": {"quality": "medium"}}
    (folder / f"{name}.onnx.json").write_text(json.dumps(config))
    return onnx


def write_whisper(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_random(folder / "model.bin", 8192)
    (folder / "config.json").write_text("{}")
    (folder / "vocabulary.txt").write_text("a\n")
    return folder


def test_delete_removes_owned_files_and_empty_folders(library: Library) -> None:
    repo_dir = owned(library) / "org" / "repo"
    repo_dir.mkdir(parents=True)
    first = write_tiny_gguf(repo_dir / "big-00001-of-00002.gguf")
    shutil.copy(first, repo_dir / "big-00002-of-00002.gguf")
    write_tiny_gguf(owned(library) / "org" / "other.gguf")
    library.register([describe_gguf(first, source="download")])
    entry = library.find("big")
    removed = library.delete(entry)
    assert sorted(p.name for p in removed) == ["big-00001-of-00002.gguf", "big-00002-of-00002.gguf"]
    assert not repo_dir.exists(), "the emptied repo folder goes"
    assert (owned(library) / "org" / "other.gguf").exists(), "its non-empty parent stays"
    assert library.registered() == [] and [e.name for e in library.entries()] == ["other"]


def test_delete_never_touches_files_hearth_does_not_own(library: Library, tmp_path: Path) -> None:
    outside = write_tiny_gguf(tmp_path / "mine.gguf")
    (imported,) = library.import_path(outside)
    assert library.delete(imported) == [] and outside.exists()
    assert library.registered() == []

    in_extra = write_tiny_gguf(tmp_path / "extra" / "shared.gguf")
    scanned = library.find("shared")
    with pytest.raises(ConfigError, match="only reads"):
        library.delete(scanned)
    assert in_extra.exists()

    # A link in the models folder to a file elsewhere: the link is Hearth's, the file not.
    target = write_tiny_gguf(tmp_path / "target.gguf")
    link = owned(library) / "linked.gguf"
    link.symlink_to(target)
    assert library.delete(library.find("linked")) == [link]
    assert target.exists() and not link.exists()


def test_removed_starter_model_stays_removed(library: Library, smol_model: Path) -> None:
    register_starter_models(library)
    starter = library.find("SmolLM2-135M-Instruct")
    assert not library.owns(starter)
    assert library.delete(starter) == [] and smol_model.exists()
    register_starter_models(library)  # what every start-up does
    names = [e.name for e in library.entries()]
    assert "SmolLM2-135M-Instruct" not in names and "whisper-base" in names
    library.import_path(smol_model)  # importing it on purpose brings it back
    assert str(smol_model) in {e.path for e in library.entries(CHAT)}
    assert library.hidden() == set()


def test_import_file_folder_voice_and_whisper(library: Library, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_tiny_gguf(drop / "chat-a.gguf")
    part = write_tiny_gguf(drop / "split-00001-of-00002.gguf")
    shutil.copy(part, drop / "split-00002-of-00002.gguf")
    voice = write_voice(drop / "voices")
    whisper = write_whisper(drop / "whisper-small")
    write_random(drop / "broken.gguf")
    (drop / "notes.txt").write_text("hi")

    imported = {e.name: e for e in library.import_path(drop)}
    assert set(imported) == {"chat-a", "split", "de_DE-thorsten-medium", "whisper-small"}
    assert imported["split"].path.endswith("-00001-of-00002.gguf")
    assert imported["de_DE-thorsten-medium"].kind == TTS
    assert imported["de_DE-thorsten-medium"].language == "de_DE"
    assert imported["whisper-small"].kind == STT and len(imported["whisper-small"].files) == 3
    assert all(e.source == "import" for e in imported.values())
    again = library.import_path(voice.with_name(voice.name + ".json"))  # by its config
    assert [e.path for e in again] == [str(voice)]
    assert len([e for e in library.registered() if e.path == str(voice)]) == 1
    assert library.import_path(whisper / "model.bin")[0].path == str(whisper)
    # Importing the second part of a split model registers it by its first part.
    assert library.import_path(drop / "split-00002-of-00002.gguf")[0].path == str(part)


def test_import_refuses_what_is_not_a_model(library: Library, tmp_path: Path) -> None:
    with pytest.raises(InvalidModelError, match="not a GGUF"):
        library.import_path(write_random(tmp_path / "junk.gguf"))
    (tmp_path / "lonely").mkdir()
    lonely = write_random(tmp_path / "lonely" / "x.onnx", 100)
    with pytest.raises(InvalidModelError, match=r"\.onnx\.json"):
        library.import_path(lonely)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidModelError, match="holds no model"):
        library.import_path(tmp_path / "empty")
    with pytest.raises(ModelNotFoundError):
        library.import_path(tmp_path / "missing")
    assert library.registered() == []


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("darwin", ["open", "-R", "{file}"]),
        ("win32", ["explorer", "/select,{file}"]),
        ("linux", ["xdg-open", "{folder}"]),
    ],
)
def test_reveal_commands(tmp_path: Path, platform: str, expected: list[str]) -> None:
    file = write_tiny_gguf(tmp_path / "m.gguf")
    wanted = [part.format(file=file, folder=tmp_path) for part in expected]
    assert reveal_command(file, platform=platform) == wanted
    assert reveal_command(tmp_path, platform="linux") == ["xdg-open", str(tmp_path)]
    assert reveal(file)[0] in ("open", "explorer", "xdg-open")  # not run unless asked


def test_hf_cache_and_lmstudio_models_are_listed_not_owned(tmp_path: Path) -> None:
    cache = tmp_path / "hf" / "hub"
    repo = cache / "models--Qwen--Tiny-GGUF"
    (repo / "blobs").mkdir(parents=True)
    blob = write_tiny_gguf(repo / "blobs" / "abc123")
    for commit in ("old", "new"):
        snapshot = repo / "snapshots" / commit
        snapshot.mkdir(parents=True)
        (snapshot / "tiny-q4_k_m.gguf").symlink_to(blob)
    lmstudio = tmp_path / "lms" / "models"
    (lmstudio / "publisher" / "Model-GGUF").mkdir(parents=True)
    write_tiny_gguf(lmstudio / "publisher" / "Model-GGUF" / "model-Q8_0.gguf")
    models = tmp_path / "models"
    models.mkdir()
    library = Library(
        tmp_path / "library.json",
        [models],
        external_roots=[(HF_CACHE, cache), (LMSTUDIO, lmstudio)],
    )
    assert library.entries() == []
    found = {e.name: e for e in library.entries(external=True)}
    assert set(found) == {"tiny-q4_k_m (Qwen/Tiny-GGUF)", "model-Q8_0"}, "one per blob"
    assert found["tiny-q4_k_m (Qwen/Tiny-GGUF)"].source == HF_CACHE
    assert found["model-Q8_0"].source == LMSTUDIO and found["model-Q8_0"].error is None
    with pytest.raises(ConfigError):
        library.delete(found["model-Q8_0"])
    assert blob.exists()


def test_default_external_roots_follow_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    assert hf_cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hf_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HOME", str(tmp_path))
    roots = default_roots()
    assert (LMSTUDIO, tmp_path / ".lmstudio" / "models") in roots
    assert (LMSTUDIO, tmp_path / ".cache" / "lm-studio" / "models") in roots
    assert os.fspath(roots[0][1]).startswith(str(tmp_path))
