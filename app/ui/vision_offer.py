"""Above the message box when images met a model that reads text only: why, and the
installed models that can see (one click switches), or the way to get one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from app.ui.vision_badge import VISION_TIP, vision_icon

if TYPE_CHECKING:
    from app.services.types import ModelEntry


class VisionOffer(QWidget):
    """``model_chosen(entry)`` switches to a vision model; ``models_requested`` opens the
    model manager. The message and its images stay in the box meanwhile."""

    model_chosen = Signal(object)  # ModelEntry
    models_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("visionOffer")
        self.label = QLabel(self)
        self.label.setObjectName("visionOfferText")
        self.label.setWordWrap(True)
        self.buttons: list[QPushButton] = []
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(16, 4, 16, 0)
        self._row.addWidget(self.label, 1)
        self._row.addWidget(close)
        self.hide()

    def offer(self, sentence: str, models: Sequence[ModelEntry]) -> None:
        """Say ``sentence`` (the engine's or the chat's) and offer ``models``."""
        for button in self.buttons:
            button.setParent(None)
            button.deleteLater()
        self.buttons = []
        if models:
            text = sentence + " " + self.tr("Your models that can:")
            for entry in models:
                button = QPushButton(vision_icon(), entry.name, self)
                button.setToolTip(self.tr("Switch to %s (%s)") % (entry.name, self.tr(VISION_TIP)))
                button.clicked.connect(lambda _=False, e=entry: self._choose(e))
                self.buttons.append(button)
        else:
            text = sentence + " " + self.tr("No model that can see images is installed yet.")
            button = QPushButton(self.tr("Get one in Models…"), self)
            button.clicked.connect(self._models)
            self.buttons.append(button)
        for index, button in enumerate(self.buttons):
            self._row.insertWidget(1 + index, button)
        self.label.setText(text)
        self.show()

    def _choose(self, entry: ModelEntry) -> None:
        self.hide()
        self.model_chosen.emit(entry)

    def _models(self) -> None:
        self.hide()
        self.models_requested.emit()
