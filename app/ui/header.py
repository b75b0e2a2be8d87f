"""The bar above the chat: model picker with load progress and plan, presets, settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from app.core.units import format_bytes as format_size
from app.services.types import ModelEntry, Preset
from app.ui.vision_badge import VISION_TIP, can_see, vision_icon


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when squeezed; ``text()`` is the whole text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""

    def setText(self, text: str) -> None:
        self._full = text
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        super().setText(metrics.elidedText(self._full, Qt.TextElideMode.ElideRight, self.width()))


def _blank_icon() -> QIcon:
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    return QIcon(pixmap)


class ChatHeader(QWidget):
    model_chosen = Signal(object)  # ModelEntry
    preset_chosen = Signal(object)  # Preset or None
    settings_requested = Signal()
    models_requested = Signal()
    app_settings_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.models = QComboBox(self)
        self.models.setMinimumWidth(240)
        self.models.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.models.setToolTip(self.tr("The chat model"))
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(140)
        self.progress.setVisible(False)
        self.plan = ElidedLabel(self)
        self.plan.setObjectName("planLabel")
        # The plan may be long: it gives way (its full text is the tooltip), the picker does not.
        self.plan.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.presets = QComboBox(self)
        self.presets.setToolTip(self.tr("System prompt preset"))
        self.presets.setMinimumWidth(170)
        self.settings_button = QPushButton(self.tr("Chat settings"), self)
        self.models_button = QPushButton(self.tr("Models"), self)
        self.app_settings_button = QPushButton(self.tr("Preferences"), self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.models)
        layout.addWidget(self.progress)
        layout.addWidget(self.plan, 1)
        layout.addWidget(self.presets)
        layout.addWidget(self.settings_button)
        layout.addWidget(self.models_button)
        layout.addWidget(self.app_settings_button)
        self._entries: list[ModelEntry] = []
        self._presets: list[Preset] = []
        self.models.activated.connect(self._on_model)
        self.presets.activated.connect(self._on_preset)
        self.settings_button.clicked.connect(self.settings_requested.emit)
        self.models_button.clicked.connect(self.models_requested.emit)
        self.app_settings_button.clicked.connect(self.app_settings_requested.emit)

    def set_models(self, entries: list[ModelEntry], current_path: str | None) -> None:
        self._entries = [e for e in entries if e.error is None]
        self.models.clear()
        # Models that see images carry the eye; the others a blank of its size, so every
        # name starts at the same place.
        seeing = any(can_see(entry) for entry in self._entries)
        for entry in self._entries:
            details = " · ".join(
                x for x in (entry.quantization, format_size(entry.size_bytes)) if x
            )
            label = f"{entry.name}  ({details})"
            if can_see(entry):
                self.models.addItem(vision_icon(), label)
                self.models.setItemData(
                    self.models.count() - 1, self.tr(VISION_TIP), Qt.ItemDataRole.ToolTipRole
                )
            elif seeing:
                self.models.addItem(_blank_icon(), label)
            else:
                self.models.addItem(label)
            if entry.path == current_path:
                self.models.setCurrentIndex(self.models.count() - 1)
        if not self._entries:
            self.models.addItem(self.tr("No models installed"))

    def set_presets(self, presets: list[Preset], current_prompt: str) -> None:
        self._presets = presets
        self.presets.clear()
        self.presets.addItem(self.tr("No system prompt"))
        selected = 0
        for index, preset in enumerate(presets, start=1):
            self.presets.addItem(preset.name)
            if current_prompt and preset.system_prompt == current_prompt:
                selected = index
        if current_prompt and not selected:
            self.presets.addItem(self.tr("Custom"))
            selected = self.presets.count() - 1
        self.presets.setCurrentIndex(selected)

    def show_loading(self, name: str) -> None:
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.plan.setText(self.tr("Loading %s…") % name)

    def show_progress(self, fraction: float) -> None:
        self.progress.setValue(int(fraction * 100))

    def show_loaded(self, plan: str) -> None:
        self.progress.setVisible(False)
        self.plan.setText(plan)
        self.plan.setToolTip(plan)

    def show_load_failed(self) -> None:
        self.progress.setVisible(False)
        self.plan.setText(self.tr("No model loaded"))

    def _on_model(self, index: int) -> None:
        if 0 <= index < len(self._entries):
            self.model_chosen.emit(self._entries[index])

    def _on_preset(self, index: int) -> None:
        if index == 0:
            self.preset_chosen.emit(None)
        elif 1 <= index <= len(self._presets):
            self.preset_chosen.emit(self._presets[index - 1])
