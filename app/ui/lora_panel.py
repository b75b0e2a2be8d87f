"""The conversation's LoRA adapters: a checkbox and a scale for each installed adapter
that fits the loaded model. Shown inside the conversation settings; what the rows mean
(which adapters fit, what is stored) is app/services/lora_service.py's."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QWidget,
)

from app.services.lora_service import MAX_SCALE, MIN_SCALE, LoraChoice


class LoraPanel(QWidget):
    """One row per adapter: tick it to use it from the next message, at a scale from 0 to 2."""

    def __init__(self, choices: Sequence[LoraChoice], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices = list(choices)
        self.setAccessibleName(self.tr("LoRA adapters"))
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.boxes: list[QCheckBox] = []
        self.scales: list[QDoubleSpinBox] = []
        if not self._choices:
            self.empty = QLabel(
                self.tr(
                    "No installed LoRA adapter fits this model; find one under Models › Discover."
                ),
                self,
            )
            self.empty.setWordWrap(True)
            layout.addWidget(self.empty, 0, 0)
            return
        for row, choice in enumerate(self._choices):
            box = QCheckBox(choice.name, self)
            box.setChecked(choice.enabled)
            box.setAccessibleName(self.tr("Use LoRA adapter %s") % choice.name)
            box.setToolTip(
                self.tr("Apply %s to this conversation's replies from the next message")
                % choice.path
            )
            scale = QDoubleSpinBox(self)
            scale.setRange(MIN_SCALE, MAX_SCALE)
            scale.setSingleStep(0.1)
            scale.setDecimals(2)
            scale.setValue(choice.scale)
            scale.setEnabled(choice.enabled)
            scale.setAccessibleName(self.tr("Scale of %s") % choice.name)
            scale.setToolTip(
                self.tr("How strongly the adapter changes the model: 0 not at all, 1 as trained")
            )
            box.toggled.connect(scale.setEnabled)
            layout.addWidget(box, row, 0)
            layout.addWidget(scale, row, 1)
            self.boxes.append(box)
            self.scales.append(scale)
        layout.setColumnStretch(0, 1)

    def choices(self) -> list[LoraChoice]:
        """The rows as entered."""
        return [
            dataclasses.replace(choice, enabled=box.isChecked(), scale=scale.value())
            for choice, box, scale in zip(self._choices, self.boxes, self.scales, strict=True)
        ]
