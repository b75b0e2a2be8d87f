"""The tray icon and its menu: the loaded model, voice on/off, quick ask, open, quit.

It only shows and forwards: what each action does is wired by ``app.ui.background``.
The icon exists only where the desktop has a tray (``QSystemTrayIcon
.isSystemTrayAvailable``); without one Hearth behaves as a plain window.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.ui.icons import icon as themed_icon
from app.ui.resources import asset_path

# How long a notification stays up (the desktop may choose otherwise).
MESSAGE_MS = 8000


def hearth_icon() -> QIcon:
    icon = asset_path("icons", "hearth.svg")
    return QIcon(str(icon)) if icon is not None else QIcon()


class HearthTray(QObject):
    """The tray icon; its actions are public so tests (and the shortcuts sheet) reach them."""

    open_requested = Signal()
    quick_ask_requested = Signal()
    voice_toggled = Signal(bool)
    wake_toggled = Signal(bool)  # "Listen for “Hey Hearth”" checked or unchecked
    quit_requested = Signal()
    notified = Signal(str, str)  # title, text: what was shown

    def __init__(self, *, voice: bool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        self.menu.setAccessibleName(self.tr("Hearth"))
        self.model_action = QAction(self.tr("No model loaded"), self.menu)
        self.model_action.setEnabled(False)  # a label: the model in use
        self.model_action.setToolTip(self.tr("The model Hearth answers with"))
        self.model_action.setIcon(themed_icon("models"))
        self.voice_action = QAction(self.tr("Voice conversation"), self.menu)
        self.voice_action.setCheckable(True)
        self.voice_action.setVisible(voice)
        self.voice_action.setIcon(themed_icon("talk"))
        self.voice_action.setToolTip(self.tr("Talk with Hearth: it listens and answers aloud"))
        self.wake_action = QAction(self.tr("Listen for “Hey Hearth”"), self.menu)
        self.wake_action.setCheckable(True)
        self.wake_action.setVisible(voice)
        self.wake_action.setToolTip(
            self.tr("Listen in the background and answer only after “Hey Hearth”")
        )
        self.quick_action = QAction(self.tr("Quick ask…"), self.menu)
        self.quick_action.setToolTip(self.tr("Ask a question without opening the window"))
        self.quick_action.setIcon(themed_icon("search"))
        self.open_action = QAction(self.tr("Open Hearth"), self.menu)
        self.open_action.setIcon(hearth_icon())
        self.open_action.setToolTip(self.tr("Show the Hearth window"))
        self.quit_action = QAction(self.tr("Quit Hearth"), self.menu)
        self.quit_action.setToolTip(self.tr("Stop Hearth and its model"))
        self.menu.addAction(self.model_action)
        self.menu.addSeparator()
        for action in (self.voice_action, self.wake_action, self.quick_action, self.open_action):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.voice_action.triggered.connect(
            lambda: self.voice_toggled.emit(self.voice_action.isChecked())
        )
        self.wake_action.triggered.connect(
            lambda: self.wake_toggled.emit(self.wake_action.isChecked())
        )
        self.quick_action.triggered.connect(self.quick_ask_requested.emit)
        self.open_action.triggered.connect(self.open_requested.emit)
        self.quit_action.triggered.connect(self.quit_requested.emit)

        self.icon = QSystemTrayIcon(hearth_icon(), self)
        self.icon.setToolTip("Hearth")
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def set_model(self, name: str | None) -> None:
        """Show the model in use (None: none is loaded)."""
        text = name if name else self.tr("No model loaded")
        self.model_action.setText(text)
        self.icon.setToolTip(f"Hearth · {name}" if name else "Hearth")

    def set_loading(self, name: str) -> None:
        self.model_action.setText(self.tr("Loading %s…") % name)

    def set_voice_on(self, on: bool) -> None:
        """Follow the voice conversation's state without asking for a change."""
        self.voice_action.setChecked(on)

    def set_wake_on(self, on: bool) -> None:
        """Follow whether Hearth listens for the wake word, without asking for a change."""
        self.wake_action.setChecked(on)

    def notify(self, title: str, text: str) -> None:
        """A message from the tray (a download or an index that finished)."""
        self.icon.showMessage(title, text, hearth_icon(), MESSAGE_MS)
        self.notified.emit(title, text)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # A click opens the window; the menu comes with the context click.
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_requested.emit()

    def shutdown(self) -> None:
        self.icon.hide()
        self.menu.deleteLater()
