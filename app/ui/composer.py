"""The message box: Enter sends, Shift+Enter adds a line, Esc stops the reply."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget


class _MessageEdit(QPlainTextEdit):
    submitted = Signal()
    stop_requested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submitted.emit()
            return
        if key == Qt.Key.Key_Escape:
            self.stop_requested.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    """Emits ``submitted(text)`` or ``edit_submitted(message_id, text)``; ``stop_requested``."""

    submitted = Signal(str)
    edit_submitted = Signal(int, str)
    stop_requested = Signal()
    voice_toggled = Signal(bool)  # the mic button: start or end voice conversation

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = _MessageEdit(self)
        self.edit.setObjectName("composer")
        self.edit.setPlaceholderText(
            self.tr("Message Hearth (Enter to send, Shift+Enter for a new line)")
        )
        self.edit.setFixedHeight(84)
        self.send_button = QPushButton(self.tr("Send"), self)
        self.send_button.setObjectName("sendButton")
        self.stop_button = QPushButton(self.tr("Stop"), self)
        self.stop_button.setVisible(False)
        self.voice_button = QPushButton(self.tr("Talk"), self)
        self.voice_button.setObjectName("voiceButton")
        self.voice_button.setCheckable(True)
        self.voice_button.setToolTip(self.tr("Talk with Hearth: it listens, answers and speaks"))
        self.voice_button.toggled.connect(self.voice_toggled.emit)
        self.editing_label = QLabel(self)
        self.editing_label.setVisible(False)
        self.editing_id = 0

        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.voice_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 4, 16, 12)
        layout.addWidget(self.editing_label)
        layout.addLayout(row)

        self.edit.submitted.connect(self._submit)
        self.send_button.clicked.connect(self._submit)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self.edit.stop_requested.connect(self._escape)

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_busy(self, busy: bool) -> None:
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)

    def set_voice_on(self, on: bool) -> None:
        """Reflect voice mode in the mic button without emitting ``voice_toggled``."""
        self.voice_button.blockSignals(True)
        self.voice_button.setChecked(on)
        self.voice_button.blockSignals(False)

    def begin_edit(self, message_id: int, text: str) -> None:
        """Put a sent message back in the box; sending replaces it and what follows."""
        self.editing_id = message_id
        self.editing_label.setText(self.tr("Editing a message. Send to resend it; Esc cancels."))
        self.editing_label.setVisible(True)
        self.edit.setPlainText(text)
        self.edit.setFocus()

    def cancel_edit(self) -> None:
        self.editing_id = 0
        self.editing_label.setVisible(False)
        self.edit.clear()

    def _escape(self) -> None:
        if self.editing_id:
            self.cancel_edit()
        else:
            self.stop_requested.emit()

    def _submit(self) -> None:
        text = self.text().strip()
        if not text or self.stop_button.isVisible():
            return
        if self.editing_id:
            message_id = self.editing_id
            self.cancel_edit()
            self.edit_submitted.emit(message_id, text)
        else:
            self.edit.clear()
            self.submitted.emit(text)
