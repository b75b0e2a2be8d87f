"""The voice bar above the message box: state, microphone level, what was heard, controls.

Shown while voice mode is on. It only displays what VoiceService reports and forwards
the user's clicks; holding "Hold to talk" (or the F2 key) is push-to-talk.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

PTT_KEY = Qt.Key.Key_F2
LEVEL_FLOOR_DB = -60.0


class VoiceBar(QWidget):
    """Emits ``stop_requested`` (end voice), ``interrupt_requested`` (stop speaking),
    ``talk_pressed``/``talk_released`` (push-to-talk) and ``settings_requested``."""

    stop_requested = Signal()
    interrupt_requested = Signal()
    talk_pressed = Signal()
    talk_released = Signal()
    settings_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("voiceBar")
        self._labels = {
            "off": self.tr("Voice is off"),
            "starting": self.tr("Starting voice…"),
            "idle": self.tr("Ready"),
            "listening": self.tr("Listening…"),
            "transcribing": self.tr("Transcribing…"),
            "thinking": self.tr("Thinking…"),
            "speaking": self.tr("Speaking…"),
        }
        self.state = "off"
        self.push_to_talk = False
        self.state_label = QLabel(self._labels["off"], self)
        self.state_label.setObjectName("voiceState")
        self.state_label.setMinimumWidth(120)
        self.level = QProgressBar(self)
        self.level.setObjectName("voiceLevel")
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.level.setFixedSize(90, 8)
        self.level.setToolTip(self.tr("Microphone level"))
        self.heard = QLabel(self)
        self.heard.setObjectName("voiceHeard")
        self.heard.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.talk_button = QPushButton(self.tr("Hold to talk (F2)"), self)
        self.talk_button.pressed.connect(self.talk_pressed.emit)
        self.talk_button.released.connect(self.talk_released.emit)
        self.interrupt_button = QPushButton(self.tr("Stop speaking"), self)
        self.interrupt_button.clicked.connect(self.interrupt_requested.emit)
        self.settings_button = QPushButton(self.tr("Voice settings"), self)
        self.settings_button.clicked.connect(self.settings_requested.emit)
        self.end_button = QPushButton(self.tr("End voice"), self)
        self.end_button.setObjectName("endVoiceButton")
        self.end_button.clicked.connect(self.stop_requested.emit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 6, 16, 0)
        layout.addWidget(self.state_label)
        layout.addWidget(self.level)
        layout.addWidget(self.heard, 1)
        for button in (
            self.talk_button,
            self.interrupt_button,
            self.settings_button,
            self.end_button,
        ):
            layout.addWidget(button)
        self.set_state("off")

    def set_push_to_talk(self, enabled: bool) -> None:
        self.push_to_talk = enabled
        self.set_state(self.state)

    def set_state(self, state: str) -> None:
        self.state = state
        self.state_label.setText(self._labels.get(state, state))
        self.state_label.setProperty("voiceState", state)
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)
        running = state not in ("off", "starting")
        self.talk_button.setVisible(self.push_to_talk and running)
        self.interrupt_button.setVisible(state in ("thinking", "speaking"))
        self.level.setVisible(running)
        if state == "off":
            self.level.setValue(0)

    def set_status(self, text: str) -> None:
        """What starting voice is doing (opening the microphone, loading Whisper…)."""
        if self.state == "starting":
            self.heard.setText(text)

    def set_level(self, dbfs: float) -> None:
        fraction = (max(LEVEL_FLOOR_DB, min(0.0, dbfs)) - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB
        self.level.setValue(round(fraction * 100))

    def show_heard(self, text: str) -> None:
        self.heard.setText(self.tr("You said: “%s”") % text)

    # -- push-to-talk key ----------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """F2 held anywhere in the window is push-to-talk (key repeats ignored)."""
        if (
            self.push_to_talk
            and event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
            and isinstance(event, QKeyEvent)
            and event.key() == PTT_KEY
        ):
            if not event.isAutoRepeat():
                if event.type() == QEvent.Type.KeyPress:
                    self.talk_pressed.emit()
                else:
                    self.talk_released.emit()
            return True
        return super().eventFilter(watched, event)
