"""The first-run guide: when no chat model is installed, pick one that fits this machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.units import format_bytes

if TYPE_CHECKING:
    from app.services.types import ChatModel, DownloadProgress, WhisperPick

SHOWN = 5


class FirstRunGuide(QFrame):
    """A short list of catalog models for this machine, each with a Download button."""

    download_requested = Signal(str, str)  # repo id, file

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRun")
        title = QLabel(self.tr("Welcome to Hearth"), self)
        title.setObjectName("firstRunTitle")
        intro = QLabel(
            self.tr(
                "No chat model is installed yet. These fit this computer; pick one to "
                "download. After that, Hearth works without a network."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.grid = QGridLayout()
        # The speech recognition suggested for this machine (app.catalog.whisper_pick).
        self.speech = QLabel(self)
        self.speech.setObjectName("planLabel")
        self.speech.setWordWrap(True)
        self.speech.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.speech.setVisible(False)
        self.status = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(self.grid)
        layout.addWidget(self.speech)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.buttons: list[QPushButton] = []

    def show_models(self, models: list[ChatModel]) -> None:
        for row, model in enumerate(models[:SHOWN]):
            name = QLabel(f"<b>{model.name}</b> · {model.parameters} · {model.quant}", self)
            details = QLabel(
                f"{model.description} ({format_bytes(model.approx_size_gb * 1e9)}, "
                f"{', '.join(model.languages)}, {model.license})",
                self,
            )
            details.setWordWrap(True)
            details.setObjectName("planLabel")
            button = QPushButton(self.tr("Download"), self)
            button.clicked.connect(
                lambda _checked=False, m=model: self.download_requested.emit(m.repo, m.file)
            )
            self.buttons.append(button)
            self.grid.addWidget(name, row * 2, 0)
            self.grid.addWidget(button, row * 2, 1, Qt.AlignmentFlag.AlignRight)
            self.grid.addWidget(details, row * 2 + 1, 0, 1, 2)

    def show_speech(self, pick: WhisperPick) -> None:
        """Which Whisper model suits this computer for talking to Hearth, and its cost."""
        from app.services.whisper_advice import suggestion_text

        self.speech.setText(self.tr("Speech recognition: ") + suggestion_text(pick))
        self.speech.setVisible(True)

    def show_error(self, message: str) -> None:
        self.status.setText(message)

    def show_progress(self, progress: DownloadProgress) -> None:
        self.progress.setVisible(True)
        self.progress.setValue(int((progress.fraction or 0) * 1000))
        for button in self.buttons:
            button.setEnabled(False)
        state = progress.error or progress.state.value
        self.status.setText(f"{progress.filename}: {state}")
        if progress.error:
            for button in self.buttons:
                button.setEnabled(True)
