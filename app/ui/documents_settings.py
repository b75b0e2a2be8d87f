"""Preferences, Documents tab: which embedding model indexes documents.

The starter model (all-MiniLM-L6-v2, English, offline) or any GGUF embedding model in
the library (pulled from the catalog in the Models window or with ``hearth models
pull``). A collection indexed with another model than the chosen one is marked on the
Documents page with a Re-index button; until then it keeps answering with its own model.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from app.core.settings import Settings
from app.docs.embedding_models import (
    STARTER_EMBEDDING_ID,
    EmbeddingChoice,
    configured_model_id,
    set_configured_model,
)


class DocumentsSettingsPanel(QWidget):
    """The Documents tab; ``apply`` writes the choice into the settings (caller saves)."""

    def __init__(
        self,
        settings: Settings,
        choices: Sequence[EmbeddingChoice],
        parent: QWidget | None = None,
        *,
        stale: int = 0,
    ) -> None:
        """``choices``: the installed embedding models; ``stale``: how many collections
        are indexed with another model than the chosen one now."""
        super().__init__(parent)
        self.choices = list(choices)
        self.initial = configured_model_id(settings) or STARTER_EMBEDDING_ID
        self.model = QComboBox(self)
        self.model.setObjectName("embeddingModel")
        # Not as wide as its longest entry: that squeezed the row's label away to nothing.
        self.model.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model.setMinimumContentsLength(20)
        for choice in self.choices:
            self.model.addItem(choice.label, choice.model_id)
        index = self.model.findData(self.initial)
        if index < 0:  # the chosen model's file is gone: say so, keep it selected
            self.model.addItem(self.tr("%1 (not installed)").replace("%1", self.initial), None)
            index = self.model.count() - 1
        self.model.setCurrentIndex(index)
        intro = QLabel(
            self.tr(
                "The embedding model turns your documents into vectors for search. "
                "Get more in the Models window (catalog: bge-small-en-v1.5, "
                "nomic-embed-text-v1.5, bge-m3, multilingual-e5-large)."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.note = QLabel(self)
        self.note.setObjectName("planLabel")
        self.note.setWordWrap(True)
        self.stale = stale
        self.model.currentIndexChanged.connect(self._explain)
        self._explain()
        form = QFormLayout()
        form.addRow(self.tr("Embedding model"), self.model)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addStretch(1)

    def selected(self) -> EmbeddingChoice | None:
        """The model chosen in the box (None: an uninstalled one left as it was)."""
        model_id = self.model.currentData()
        return next((c for c in self.choices if c.model_id == model_id), None)

    def changed(self) -> bool:
        choice = self.selected()
        return choice is not None and choice.model_id != self.initial

    def _explain(self) -> None:
        if self.changed():
            text = self.tr(
                "Collections indexed with another model are marked on the Documents page "
                "with a Re-index button; until they are re-indexed they keep answering "
                "with the model they were made with."
            )
        elif self.stale:
            text = self.tr(
                "%n collection(s) still wait for a re-index with this model.", "", self.stale
            )
        else:
            text = ""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def apply(self, settings: Settings) -> None:
        choice = self.selected()
        if choice is not None:
            set_configured_model(settings, choice)
