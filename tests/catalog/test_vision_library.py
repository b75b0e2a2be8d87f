"""Vision models in the library: projectors found beside a model, paired by hand,
gone missing, deleted with their model, and passed on to the engine's load."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.catalog.library import CHAT, PROJECTOR, Library, ModelEntry
from app.composition.options import LoadOverrides, load_options
from app.core.errors import ProjectorError
from app.core.settings import Settings
from app.engine import protocol as p
from app.engine.client import EngineClient
from tests.fixtures.vision_gguf import VisionPair, write_tiny_projector


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def library(models: Path, tmp_path: Path) -> Library:
    return Library(tmp_path / "library.json", [models], external_roots=[])


def place(pair: VisionPair, folder: Path, *, projector: bool = True) -> VisionPair:
    """Copy the tiny pair (or only its model) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    model = Path(shutil.copy2(pair.model, folder / pair.model.name))
    mmproj = folder / pair.mmproj.name
    if projector:
        shutil.copy2(pair.mmproj, mmproj)
    return VisionPair(model, mmproj)


def chat(library: Library, model: Path) -> ModelEntry:
    return next(e for e in library.entries(CHAT) if Path(e.path) == model)


def test_projector_beside_the_model_makes_it_a_vision_model(
    library: Library, models: Path, vision_pair: VisionPair, smol_model: Path
) -> None:
    pair = place(vision_pair, models / "tiny")
    shutil.copy2(smol_model, models / smol_model.name)
    entry = chat(library, pair.model)
    assert entry.vision and entry.mmproj == str(pair.mmproj) and entry.mmproj_problem is None
    text_only = chat(library, models / smol_model.name)
    assert not text_only.vision and text_only.mmproj is None
    # The projector is listed, but never as a chat model.
    assert [e.path for e in library.entries(PROJECTOR)] == [str(pair.mmproj)]
    assert str(pair.mmproj) not in {e.path for e in library.entries(CHAT)}


def test_a_projector_for_another_embedding_size_is_not_paired(
    library: Library, models: Path, vision_pair: VisionPair
) -> None:
    pair = place(vision_pair, models / "tiny", projector=False)
    write_tiny_projector(pair.model.parent / "mmproj-wide-F16.gguf", projection_dim=96)
    entry = chat(library, pair.model)
    assert not entry.vision and entry.mmproj is None


def test_hand_pairing_is_kept_checked_and_undone(
    library: Library, models: Path, tmp_path: Path, vision_pair: VisionPair
) -> None:
    pair = place(vision_pair, models / "tiny", projector=False)
    elsewhere = place(vision_pair, tmp_path / "projectors").mmproj
    wrong = write_tiny_projector(
        tmp_path / "projectors" / "mmproj-wide-F16.gguf", projection_dim=96
    )
    with pytest.raises(ProjectorError, match="96-wide"):
        library.pair(pair.model, wrong)
    assert not chat(library, pair.model).vision

    paired = library.pair(pair.model, elsewhere)
    assert paired.vision and paired.mmproj == str(elsewhere)
    # Kept in library.json: a new Library object (a restart) sees it.
    again = Library(library.library_file, library.model_dirs, external_roots=[])
    assert chat(again, pair.model).mmproj == str(elsewhere)

    # Unpaired: text only, even with the right projector beside it.
    shutil.copy2(vision_pair.mmproj, pair.mmproj)
    library.unpair(pair.model)
    entry = chat(library, pair.model)
    assert not entry.vision and entry.mmproj is None
    library.pair(pair.model, pair.mmproj)
    assert chat(library, pair.model).mmproj == str(pair.mmproj)


def test_a_projector_moved_away_says_why_the_model_reads_text_only(
    library: Library, models: Path, tmp_path: Path, vision_pair: VisionPair
) -> None:
    pair = place(vision_pair, models / "tiny")
    library.import_path(pair.model)  # registered with its projector
    shutil.move(pair.mmproj, tmp_path / pair.mmproj.name)
    entry = chat(library, pair.model)
    assert not entry.vision and entry.mmproj is None
    assert entry.mmproj_problem is not None
    assert pair.mmproj.name in entry.mmproj_problem and "no longer" in entry.mmproj_problem
    # A hand pairing whose projector went away says so too.
    library.pair(pair.model, tmp_path / pair.mmproj.name)
    (tmp_path / pair.mmproj.name).unlink()
    problem = chat(library, pair.model).mmproj_problem
    assert problem is not None and "missing" in problem


def test_a_model_moved_without_its_projector_says_where_the_projector_stayed(
    library: Library, models: Path, vision_pair: VisionPair
) -> None:
    pair = place(vision_pair, models / "old")
    library.import_path(pair.model)
    (models / "new").mkdir()
    moved = Path(shutil.move(pair.model, models / "new" / pair.model.name))
    entry = chat(library, moved)
    assert not entry.vision and entry.mmproj is None
    assert entry.mmproj_problem is not None
    assert "moved without its vision projector" in entry.mmproj_problem
    assert str(pair.mmproj) in entry.mmproj_problem
    # Moving the projector beside it again: it sees, and the sentence goes.
    shutil.move(pair.mmproj, moved.parent / pair.mmproj.name)
    entry = chat(library, moved)
    assert entry.vision and entry.mmproj_problem is None


def test_delete_removes_the_projector_unless_another_model_uses_it(
    library: Library, models: Path, vision_pair: VisionPair
) -> None:
    folder = models / "tiny"
    pair = place(vision_pair, folder)
    twin = Path(shutil.copy2(pair.model, folder / "tiny-vision-copy-F16.gguf"))
    removed = library.delete(chat(library, pair.model))
    assert removed == [pair.model] and pair.mmproj.exists()  # the twin still uses it
    removed = library.delete(chat(library, twin))
    assert set(removed) == {twin, pair.mmproj}
    assert not folder.exists()  # the emptied folder goes too


def test_delete_leaves_a_projector_hearth_does_not_own(
    library: Library, models: Path, tmp_path: Path, vision_pair: VisionPair
) -> None:
    pair = place(vision_pair, models / "tiny", projector=False)
    outside = place(vision_pair, tmp_path / "mine").mmproj
    library.pair(pair.model, outside)
    assert library.delete(chat(library, pair.model)) == [pair.model]
    assert outside.exists()
    assert library.pairs() == {}


def test_load_options_carry_the_projector(
    library: Library, models: Path, tmp_path: Path, vision_pair: VisionPair, smol_model: Path
) -> None:
    pair = place(vision_pair, models / "tiny")
    settings = Settings()
    options = load_options(chat(library, pair.model), settings)
    assert options.mmproj == str(pair.mmproj)
    assert options.load_kwargs()["mmproj"] == str(pair.mmproj)
    assert options.request(7).mmproj == str(pair.mmproj)
    chosen = str(place(vision_pair, tmp_path / "other").mmproj)
    overridden = load_options(chat(library, pair.model), settings, LoadOverrides(mmproj=chosen))
    assert overridden.mmproj == chosen
    starter = ModelEntry(name="starter", kind=CHAT, path=str(smol_model))
    assert load_options(starter, settings).mmproj is None


def test_models_ls_json_gives_vision_and_mmproj(
    hearth_home: Path, vision_pair: VisionPair, smol_model: Path
) -> None:
    models = hearth_home / "data" / "models"
    pair = place(vision_pair, models / "tiny")
    shutil.copy2(smol_model, models / smol_model.name)
    result = subprocess.run(
        [sys.executable, "-m", "app", "models", "ls", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    listed = {Path(e["path"]).name: e for e in json.loads(result.stdout)}
    assert listed[pair.model.name]["vision"] is True
    assert listed[pair.model.name]["mmproj"] == str(pair.mmproj)
    assert listed[smol_model.name]["vision"] is False
    assert listed[smol_model.name]["mmproj"] is None
    assert listed[pair.mmproj.name]["kind"] == PROJECTOR
    text = subprocess.run(
        [sys.executable, "-m", "app", "models", "ls"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    line = next(row for row in text.splitlines() if row.split()[0] == pair.model.stem)
    assert "chat+vision" in line and f"projector: {pair.mmproj.name}" in line


def test_the_resolved_projector_reaches_the_engine(
    library: Library, models: Path, vision_pair: VisionPair, engine: EngineClient
) -> None:
    """The library's pairing, through load_options, loads the model with its projector."""
    pair = place(vision_pair, models / "tiny")
    options = load_options(chat(library, pair.model), Settings(), LoadOverrides(n_ctx=512))
    loaded = engine.load(options.path, **options.load_kwargs()).wait(120)
    assert isinstance(loaded, p.ModelLoaded), loaded
    assert loaded.vision and loaded.mmproj == str(pair.mmproj)


def test_models_pair_and_unpair_from_the_terminal(
    hearth_home: Path, tmp_path: Path, vision_pair: VisionPair
) -> None:
    models = hearth_home / "data" / "models"
    pair = place(vision_pair, models / "tiny", projector=False)
    projector = place(vision_pair, tmp_path / "elsewhere").mmproj
    wrong = write_tiny_projector(tmp_path / "mmproj-wide-F16.gguf", projection_dim=96)

    def hearth(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "models", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    refused = hearth("pair", pair.model.stem, str(wrong))
    assert refused.returncode != 0 and "96-wide" in refused.stderr
    done = hearth("pair", pair.model.stem, str(projector))
    assert done.returncode == 0 and str(projector) in done.stdout
    listed = {Path(e["path"]).name: e for e in json.loads(hearth("ls", "--json").stdout)}
    assert listed[pair.model.name]["mmproj"] == str(projector)
    assert hearth("unpair", pair.model.stem).returncode == 0
    listed = {Path(e["path"]).name: e for e in json.loads(hearth("ls", "--json").stdout)}
    assert listed[pair.model.name]["vision"] is False
