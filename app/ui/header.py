"""The bar above the chat: model picker with load progress and plan, presets, settings."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.i18n import english, localize
from app.core.units import format_bytes as format_size
from app.services.types import ModelEntry, Preset
from app.ui.icons import apply_icon
from app.ui.vision_badge import VISION_TIP, can_see, vision_icon

# The chip's words; shown through ChatHeader.tr (their Chinese is in the zh_CN catalog).
_CHIP_WORDS = (
    "CPU only",
    "GPU · experts in RAM",
    "GPU · all layers",
    "GPU · %1/%2 layers",
    "GPU",
)


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


def plan_chip_label(plan: str, gpu_layers: int | None = None) -> str:
    """The chip's few words for a load plan (untranslated; the chip translates them).

    Where the model runs, from the layer count when known, else from the plan's own
    opening words; never a sentence cut in the middle (the whole plan is the tooltip)."""
    text = plan.strip()
    if gpu_layers == 0 or text.startswith("CPU only"):
        return "CPU only"
    if text.startswith("experts of"):
        return "GPU · experts in RAM"
    if re.match(r"all \d+ layers on the GPU", text):
        return "GPU · all layers"
    partial = re.match(r"(\d+) of (\d+) layers on the GPU", text)
    if partial:
        return f"GPU · {partial.group(1)}/{partial.group(2)} layers"
    if gpu_layers:
        return "GPU"
    return _first_words(text)


def _first_words(text: str, limit: int = 28) -> str:
    """The opening clause of ``text``, whole words only, with "…" when more follows."""
    clause = re.split(r"[:;,(]", text, maxsplit=1)[0].strip()
    words: list[str] = []
    for word in clause.split():
        if len(" ".join([*words, word])) > limit:
            break
        words.append(word)
    shown = " ".join(words) or clause[:limit]
    return shown if shown == text else shown + "…"


class PlanChip(QPushButton):
    """Where the model runs, as a small chip: a few words, the whole plan in its tooltip
    and in a popover on click (or Enter/Space). ``text()`` is the whole plan; the words
    shown are ``label()``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("planChip")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._full = ""
        self._popover: QFrame | None = None
        self.clicked.connect(self.show_popover)
        self.setAccessibleName(self.tr("Where the model runs"))
        self.setVisible(False)

    def set_plan(self, full: str, label: str, role: str | None = None) -> None:
        self._full = full
        super().setText(label)
        self.setToolTip(full)
        self.setAccessibleDescription(full)
        if role:
            apply_icon(self, role)
        else:
            self.setIcon(QIcon())
        self.setVisible(bool(full))

    def text(self) -> str:
        return self._full

    def label(self) -> str:
        return super().text()

    def show_popover(self) -> QFrame:
        """The whole plan, wrapped, under the chip; Esc or a click elsewhere closes it."""
        if self._popover is None:
            self._popover = QFrame(self, Qt.WindowType.Popup)
            self._popover.setObjectName("planPopover")
            label = QLabel(self._popover)
            label.setObjectName("planPopoverText")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout = QVBoxLayout(self._popover)
            layout.setContentsMargins(10, 8, 10, 8)
            layout.addWidget(label)
        text = self._popover.findChild(QLabel, "planPopoverText")
        assert isinstance(text, QLabel)
        text.setText(self._full)
        # One line when short, else wrapped at a readable width.
        width = min(text.fontMetrics().horizontalAdvance(self._full) + 4, 420)
        text.setFixedWidth(width)
        text.setFixedHeight(text.heightForWidth(width))
        self._popover.adjustSize()
        self._popover.move(self.mapToGlobal(QPoint(0, self.height() + 2)))
        self._popover.show()
        return self._popover


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
        self.models.setAccessibleName(self.tr("Chat model"))
        self.progress.setAccessibleName(self.tr("Loading progress"))
        # Where the model runs: a short chip; the whole plan is its tooltip and popover.
        self.plan = PlanChip(self)
        self.presets = QComboBox(self)
        self.presets.setToolTip(self.tr("System prompt preset"))
        self.presets.setAccessibleName(self.tr("System prompt preset"))
        self.presets.setMinimumWidth(170)
        self.settings_button = QPushButton(self.tr("Chat settings"), self)
        self.settings_button.setToolTip(self.tr("This conversation's settings: sampling, context"))
        self.models_button = QPushButton(self.tr("Models"), self)
        self.models_button.setToolTip(self.tr("Installed models, discover and download"))
        self.app_settings_button = QPushButton(self.tr("Preferences"), self)
        self.app_settings_button.setToolTip(self.tr("Hearth's preferences"))
        # Their words, kept: a narrow window shows the icons only (names stay for readers).
        self._labels: list[tuple[QPushButton, str]] = []
        self._wide: dict[str, int] = {}  # each button's width hint with its words
        for button, role in (
            (self.settings_button, "chat_settings"),
            (self.models_button, "models"),
            (self.app_settings_button, "settings"),
        ):
            apply_icon(button, role)
            button.setAccessibleName(button.text())
            # The header may get narrower than the words need: then they go (see _fit).
            button.setMinimumWidth(button.iconSize().width() + 18)
            self._labels.append((button, button.text()))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.models)
        layout.addWidget(self.progress)
        layout.addWidget(self.plan)
        layout.addStretch(1)
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

    def label(self, button: QPushButton) -> str:
        """A header button's words, whether or not it shows them now."""
        return next((text for b, text in self._labels if b is button), button.text())

    def compact(self) -> bool:
        """Whether the buttons show their icons only (the header is too narrow)."""
        return any(not button.text() for button, _text in self._labels)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def event(self, event: QEvent) -> bool:
        # A child's size hint changed (a longer model name once the list is filled, the
        # chip's words, a language's wider words): what fits is measured again, not only
        # when the window is resized.
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return handled

    def _fit(self) -> None:
        compact = self.width() < self._width_with_words()
        for button, text in self._labels:
            wanted = "" if compact else text
            if button.text() != wanted:
                button.setText(wanted)

    def _width_with_words(self) -> int:
        """The width the header needs with every button's words shown."""
        layout = self.layout()
        assert layout is not None
        margins = layout.contentsMargins()
        shown = [
            w for w in (self.models, self.progress, self.plan, self.presets) if w.isVisibleTo(self)
        ]
        width = sum(max(w.sizeHint().width(), w.minimumWidth()) for w in shown)
        for button, text in self._labels:
            if button.text():
                self._wide[text] = button.sizeHint().width()
            # Measured while the words showed: the style's own minimum for a button with
            # words (Fusion's 80 px) and its padding are in it; an estimate from the
            # words' width alone fell short and let the header flip back and forth.
            width += self._wide.get(text, button.sizeHint().width())
        gaps = len(shown) + len(self._labels) - 1
        return width + gaps * layout.spacing() + margins.left() + margins.right()

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
        self.plan.set_plan(self.tr("Loading %s…") % name, self.tr("Loading…"))

    def show_progress(self, fraction: float) -> None:
        self.progress.setValue(int(fraction * 100))

    def show_loaded(self, plan: str, gpu_layers: int | None = None) -> None:
        """The model is loaded: the chip says where it runs, its tooltip the whole plan."""
        self.progress.setVisible(False)
        # The engine worker's plan comes in English (app.core.i18n): its words pick the
        # chip's label, and the whole plan is shown in the window's language.
        words = plan_chip_label(english(plan), gpu_layers)
        numbers = re.match(r"GPU · (\d+)/(\d+) layers", words)
        if numbers:
            label = self.tr("GPU · %1/%2 layers").replace("%1", numbers.group(1))
            label = label.replace("%2", numbers.group(2))
        elif words in _CHIP_WORDS:
            label = self.tr(words)
        else:
            label = words
        self.plan.set_plan(localize(plan), label, "cpu" if words == "CPU only" else "gpu")
        self._fit()

    def show_load_failed(self) -> None:
        self.progress.setVisible(False)
        failed = self.tr("No model loaded")
        self.plan.set_plan(failed, failed)

    def _on_model(self, index: int) -> None:
        if 0 <= index < len(self._entries):
            self.model_chosen.emit(self._entries[index])

    def _on_preset(self, index: int) -> None:
        if index == 0:
            self.preset_chosen.emit(None)
        elif 1 <= index <= len(self._presets):
            self.preset_chosen.emit(self._presets[index - 1])
