"""Preferences > Documents: choosing the embedding model in the real window (offscreen).

The tiny random-weight BERT GGUF (tests/fixtures/embedding_gguf.py) sits in the models
folder beside the starter ONNX model; a collection indexed with the starter model
becomes stale once the GGUF is chosen, and the Documents page is told to refresh."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.paths import app_paths
from app.core.settings import Settings, load_settings
from app.docs.documents import Documents
from app.docs.e5_embedder import E5_MODEL_ID
from app.docs.embedding_models import (
    STARTER_EMBEDDING_ID,
    EmbeddingChoice,
    configured_model_id,
    current_embedding_model_id,
)
from app.storage import default_database_path
from app.ui.documents_settings import DocumentsSettingsPanel
from tests.fixtures.embedding_gguf import write_tiny_bert
from tests.gui.conftest import MakeWindow

TINY_ID = "tiny-bert-embed"


def test_panel_lists_the_models_and_records_the_choice(qtbot: QtBot, tmp_path: Path) -> None:
    tiny = write_tiny_bert(tmp_path / f"{TINY_ID}.gguf")
    choices = [
        EmbeddingChoice(STARTER_EMBEDDING_ID, "starter", "/x/model.onnx", "onnx"),
        EmbeddingChoice(TINY_ID, "tiny", str(tiny), "gguf"),
    ]
    settings = Settings()
    panel = DocumentsSettingsPanel(settings, choices, stale=2)
    qtbot.addWidget(panel)
    assert panel.model.currentData() == STARTER_EMBEDDING_ID and not panel.changed()
    assert "2 collection(s)" in panel.note.text()
    panel.model.setCurrentIndex(1)
    assert panel.changed() and "Re-index" in panel.note.text()
    panel.apply(settings)
    assert configured_model_id(settings) == TINY_ID
    assert settings.extra["documents"]["embedding_path"] == str(tiny)

    # A chosen model whose file is gone stays selected, marked, and is not overwritten.
    gone = DocumentsSettingsPanel(settings, choices[:1])
    qtbot.addWidget(gone)
    assert "not installed" in gone.model.currentText() and gone.selected() is None
    gone.apply(settings)
    assert configured_model_id(settings) == TINY_ID


def test_choosing_a_gguf_model_in_preferences_marks_older_collections(
    make_window: MakeWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    paths = app_paths().ensure()
    models = paths.default_models_dir / "test"
    models.mkdir(parents=True, exist_ok=True)
    write_tiny_bert(models / f"{TINY_ID}.gguf")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "pets.md").write_text("# Pets\n\nOne cat is allowed.\n", encoding="utf-8")
    with Documents.open(default_database_path(paths), threads=2) as docs:
        docs.add("notes", [notes])

    window = make_window().window
    service = window.documents
    assert service is not None
    summary = next(s for s in service.summaries() if s.collection.name == "notes")
    assert not service.is_stale(summary)

    dialog = window.open_preferences()
    assert dialog is not None
    panel = dialog.documents_panel  # type: ignore[attr-defined]
    assert panel is not None
    ids = [panel.model.itemData(i) for i in range(panel.model.count())]
    # The multilingual model sits between them when its extra is installed.
    assert ids[0] == STARTER_EMBEDDING_ID and ids[-1] == TINY_ID
    assert set(ids[1:-1]) <= {E5_MODEL_ID}
    panel.model.setCurrentIndex(ids.index(TINY_ID))
    with qtbot.waitSignal(service.collections_changed, timeout=5000):
        dialog.accept()

    assert configured_model_id(load_settings(paths)) == TINY_ID
    assert current_embedding_model_id() == TINY_ID
    summary = next(s for s in service.summaries() if s.collection.name == "notes")
    assert service.is_stale(summary)
