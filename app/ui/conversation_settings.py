"""Per-conversation settings: system prompt, sampling, context length, GPU layers,
reasoning on or off where the model's chat template can switch it, and the LoRA
adapters applied to the loaded model (app/ui/lora_panel.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from app.services.lora_service import SETTING as LORA_SETTING
from app.services.lora_service import LoraChoice, settings_value
from app.ui.lora_panel import LoraPanel


class ConversationSettingsDialog(QDialog):
    """Edits the values ChatService keeps per conversation."""

    def __init__(
        self,
        settings: dict[str, Any],
        system_prompt: str,
        parent: QWidget | None = None,
        *,
        thinking_switch: bool = False,
        loras: Sequence[LoraChoice] | None = None,
    ) -> None:
        """``thinking_switch``: the model's template reads ``enable_thinking`` (Qwen3), so
        reasoning can be switched off for this conversation. ``loras``: the installed
        adapters that fit the loaded model (None: no model is loaded, no adapter row)."""
        super().__init__(parent)
        self.setWindowTitle(self.tr("Conversation settings"))
        self.system = QPlainTextEdit(system_prompt, self)
        self.system.setFixedHeight(90)
        self.temperature = self._double(0.0, 2.0, 0.05, settings["temperature"])
        self.top_p = self._double(0.0, 1.0, 0.01, settings["top_p"])
        self.min_p = self._double(0.0, 1.0, 0.01, settings["min_p"])
        self.repeat_penalty = self._double(0.5, 2.0, 0.01, settings["repeat_penalty"])
        self.top_k = self._int(0, 1000, settings["top_k"])
        self.max_tokens = self._int(1, 32768, settings["max_tokens"] or 1024)
        self.n_ctx = self._int(256, 262144, settings["n_ctx"])
        self.n_ctx.setSingleStep(1024)
        self.seed = QLineEdit("" if settings["seed"] is None else str(settings["seed"]), self)
        self.seed.setPlaceholderText(self.tr("random"))
        self.preset_name = QLineEdit(self)
        self.preset_name.setPlaceholderText(self.tr("optional: a name to keep this prompt"))
        self.gpu_layers = QLineEdit(
            "auto" if settings["gpu_layers"] is None else str(settings["gpu_layers"]), self
        )
        # Shown only where the template can switch reasoning; None (never set): on, as the
        # templates that have the switch default to thinking.
        self.thinking: QCheckBox | None = None
        if thinking_switch:
            self.thinking = QCheckBox(self.tr("Think before answering"), self)
            self.thinking.setChecked(settings.get("thinking") is not False)
            self.thinking.setToolTip(
                self.tr("Off: the model answers at once, without a Thinking block.")
            )
        form = QFormLayout(self)
        form.addRow(self.tr("System prompt"), self.system)
        form.addRow(self.tr("Save as preset"), self.preset_name)
        form.addRow(self.tr("Temperature"), self.temperature)
        form.addRow(self.tr("Top-p"), self.top_p)
        form.addRow(self.tr("Top-k"), self.top_k)
        form.addRow(self.tr("Min-p"), self.min_p)
        form.addRow(self.tr("Repeat penalty"), self.repeat_penalty)
        form.addRow(self.tr("Max tokens"), self.max_tokens)
        form.addRow(self.tr("Seed"), self.seed)
        form.addRow(self.tr("Context length"), self.n_ctx)
        form.addRow(self.tr("GPU layers (auto or a number)"), self.gpu_layers)
        if self.thinking is not None:
            form.addRow(self.tr("Reasoning"), self.thinking)
        self.loras: LoraPanel | None = None
        if loras is not None:  # applied from the next message, without reloading the model
            self.loras = LoraPanel(loras, self)
            form.addRow(self.tr("LoRA adapters"), self.loras)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _double(self, low: float, high: float, step: float, value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox(self)
        box.setRange(low, high)
        box.setSingleStep(step)
        box.setDecimals(2)
        box.setValue(float(value))
        return box

    def _int(self, low: int, high: int, value: int) -> QSpinBox:
        box = QSpinBox(self)
        box.setRange(low, high)
        box.setValue(int(value))
        return box

    def values(self) -> tuple[dict[str, Any], str]:
        """``(settings changes, system prompt)`` as entered."""
        seed_text = self.seed.text().strip()
        gpu_text = self.gpu_layers.text().strip().lower()
        settings: dict[str, Any] = {
            "temperature": self.temperature.value(),
            "top_p": self.top_p.value(),
            "top_k": self.top_k.value(),
            "min_p": self.min_p.value(),
            "repeat_penalty": self.repeat_penalty.value(),
            "max_tokens": self.max_tokens.value(),
            "seed": int(seed_text) if seed_text.lstrip("-").isdigit() else None,
            "n_ctx": self.n_ctx.value(),
            "gpu_layers": int(gpu_text) if gpu_text.lstrip("-").isdigit() else None,
        }
        if self.thinking is not None:
            settings["thinking"] = self.thinking.isChecked()
        if self.loras is not None:  # None removes the key: no adapters
            settings[LORA_SETTING] = settings_value(self.loras.choices())
        return settings, self.system.toPlainText()
