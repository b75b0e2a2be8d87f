"""Hearth in the background: the tray, closing to it, quick ask, start at login and
notifications, wired around the window without changing how it works.

Closing the window is caught by an event filter: with "keep running in the tray" on
(asked once, the first time the window closes while a tray is there) the window only
hides; otherwise it closes as it always did. While the window is hidden, Qt must not
quit when another window (the quick-ask panel) closes; Quit in the tray closes the
window for real and quits.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

from app.core.autostart import set_start_at_login
from app.services.quick_ask_service import QuickAskService
from app.ui.tray import HearthTray

if TYPE_CHECKING:
    from app.core.settings import Settings
    from app.ui.main_window import MainWindow
    from app.ui.quick_ask import QuickAskPanel

log = logging.getLogger(__name__)

QUICK_ASK_KEYS = "Ctrl+Shift+Space"


def tray_available() -> bool:
    """Whether the desktop shows tray icons (a test may say so where it does not)."""
    return bool(QSystemTrayIcon.isSystemTrayAvailable())


def tray_settings(settings: Settings) -> dict[str, Any]:
    """The ``tray`` group of the settings (close_to_tray, start_at_login)."""
    group = settings.extra.get("tray")
    return dict(group) if isinstance(group, dict) else {}


class Background(QObject):
    """The tray, close-to-tray, quick ask and notifications of one window."""

    def __init__(self, window: MainWindow, *, with_tray: bool | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.quick = QuickAskService(window.chat, window.models, window.voice, self)
        self.panel: QuickAskPanel | None = None
        self.question: QMessageBox | None = None  # the one-time close-to-tray question
        self.quitting = False
        self._restart_voice = False  # voice stops to start again with the wake word
        available = tray_available() if with_tray is None else with_tray
        self.tray = HearthTray(voice=window.voice is not None, parent=self) if available else None
        self._login = bool(self._tray_value("start_at_login"))
        if self.tray is not None:
            self._wire_tray(self.tray)
            self.tray.show()
        self.quick_action = QAction(self.tr("Quick ask…"), window)
        self.quick_action.setShortcut(QKeySequence(QUICK_ASK_KEYS))
        self.quick_action.setToolTip(self.tr("Ask a question in the quick-ask panel"))
        self.quick_action.triggered.connect(self.show_quick_ask)
        window.addAction(self.quick_action)
        window.installEventFilter(self)
        if window.preferences is not None:
            window.preferences.changed.connect(self._preferences_saved)
        self._wire_notifications()
        # System-wide push-to-talk and quick-ask keys (off until set in Preferences).
        from app.ui.global_keys import GlobalKeys

        self.global_keys = GlobalKeys(self)

    # -- settings ------------------------------------------------------------------------
    def _tray_value(self, key: str) -> Any:
        preferences = self.window.preferences
        return tray_settings(preferences.settings).get(key) if preferences else None

    def _save_tray_value(self, key: str, value: bool) -> None:
        preferences = self.window.preferences
        if preferences is None:
            return
        settings = preferences.settings
        settings.extra["tray"] = {**tray_settings(settings), key: value}
        preferences.save(settings)

    def _preferences_saved(self, settings: Settings) -> None:
        """Start at login follows its setting (written only when it changes)."""
        wanted = bool(tray_settings(settings).get("start_at_login"))
        if wanted == self._login:
            return
        try:
            set_start_at_login(wanted)
        except OSError as exc:
            log.warning("cannot change start at login: %s", exc)
            self.window.show_error(
                self.tr("Could not change starting at login (%s); try again in Settings.") % exc
            )
            return
        self._login = wanted

    # -- the tray ------------------------------------------------------------------------
    def _wire_tray(self, tray: HearthTray) -> None:
        window, models = self.window, self.window.models
        tray.open_requested.connect(self.show_window)
        tray.quick_ask_requested.connect(self.show_quick_ask)
        tray.quit_requested.connect(self.quit)
        tray.voice_toggled.connect(self._toggle_voice)
        models.load_started.connect(tray.set_loading)
        models.model_ready.connect(lambda _event: tray.set_model(self._model_name()))
        models.load_failed.connect(lambda _message: tray.set_model(self._model_name()))
        tray.set_model(self._model_name())
        if window.voice is not None:
            window.voice.state_changed.connect(lambda state: tray.set_voice_on(state != "off"))
            tray.wake_toggled.connect(self.set_wake_listening)
            window.voice.state_changed.connect(self._voice_state)
            tray.set_wake_on(False)

    def _model_name(self) -> str | None:
        models = self.window.models
        return models.current.name if models.loaded is not None and models.current else None

    def _toggle_voice(self, on: bool) -> None:
        window = self.window
        window.set_voice_mode(on)
        voice = window.voice
        if self.tray is not None and voice is not None:
            self.tray.set_voice_on(voice.active)
            if on and not voice.active and not window.isVisible():
                # Refused (no model): the window says why; hidden, the tray says it.
                self.tray.notify("Hearth", window.error_banner.label.text())

    # -- the wake word -------------------------------------------------------------------
    def wake_listening(self) -> bool:
        """Whether voice runs hands-free with the wake word on (the tray's check)."""
        voice = self.window.voice
        if voice is None or not voice.active:
            return False
        values = voice.settings()
        return bool(values.get("wake_word")) and not values.get("push_to_talk")

    def set_wake_listening(self, on: bool) -> None:
        """The tray's "Listen for “Hey Hearth”": on saves the wake word (hands-free)
        and starts voice with it (again, if it ran without: the loop reads its settings
        when it starts); off saves it off and ends voice mode."""
        window, voice = self.window, self.window.voice
        if voice is None:
            return
        values = voice.settings()
        values["wake_word"] = on
        if on:
            values["push_to_talk"] = False  # the wake word listens hands-free only
        preferences = window.preferences
        if preferences is not None:
            settings = preferences.settings
            settings.extra["voice"] = values
            preferences.save(settings)
        window.voice_bar.follow_settings(values)
        if voice.active:
            self._restart_voice = on
            window.set_voice_mode(False)
        elif on:
            window.set_voice_mode(True)
        if self.tray is not None:
            self.tray.set_wake_on(self.wake_listening())
            if on and not voice.active and not window.isVisible():
                self.tray.notify("Hearth", window.error_banner.label.text())

    def _voice_state(self, state: str) -> None:
        if state == "off" and self._restart_voice:
            self._restart_voice = False
            self.window.set_voice_mode(True)
        if self.tray is not None:
            self.tray.set_wake_on(self.wake_listening() or self._restart_voice)

    def show_window(self) -> None:
        window = self.window
        QApplication.setQuitOnLastWindowClosed(True)
        window.showNormal()
        window.raise_()
        window.activateWindow()

    def hide_to_tray(self) -> None:
        # Hidden, the window is no longer the last one: closing the panel must not quit.
        QApplication.setQuitOnLastWindowClosed(False)
        self.window.hide()

    def quit(self) -> None:
        """Close the window for real (its services stop) and leave Hearth."""
        self.quitting = True
        if self.panel is not None:
            self.panel.close()
        self.window.close()
        QApplication.quit()

    # -- quick ask -----------------------------------------------------------------------
    def show_quick_ask(self) -> QuickAskPanel:
        if self.panel is None:
            from app.ui.quick_ask import QuickAskPanel

            self.panel = QuickAskPanel(self.quick)
            self.panel.open_requested.connect(self.open_conversation)
        self.panel.present()
        return self.panel

    def open_conversation(self, conversation_id: int) -> None:
        """Show the window on ``conversation_id`` (the quick one: continue it there)."""
        window = self.window
        window.chat.select(conversation_id)
        window.show_chat()
        window.refresh_conversations()
        self.show_window()

    # -- notifications -------------------------------------------------------------------
    def _wire_notifications(self) -> None:
        window = self.window
        if window.downloads is not None:
            window.downloads.finished.connect(self._download_finished)
        if window.documents is not None:
            window.documents.finished.connect(self._index_finished)

    def _notify(self, text: str) -> None:
        """A tray message, only while the window is hidden (else the window shows it)."""
        if self.tray is not None and not self.window.isVisible():
            self.tray.notify("Hearth", text)

    def _download_finished(self, progress: Any) -> None:
        self._notify(self.tr("%s has downloaded and is ready to use.") % progress.filename)

    def _index_finished(self, name: str, report: Any) -> None:
        if report is not None:  # None: a collection was removed
            self._notify(self.tr("The documents of %s are indexed.") % name)

    # -- closing -------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            return self._closing(event)
        return False

    def _closing(self, event: QEvent) -> bool:
        """True: the close was turned into hiding (or waits for the question)."""
        if self.tray is not None and not self.quitting:
            choice = self._tray_value("close_to_tray")
            if choice is None:
                event.ignore()
                self.ask_close_to_tray()
                return True
            if choice:
                event.ignore()
                self.hide_to_tray()
                return True
        # Closing for real: the quick conversation's answer stops and is stored.
        if self.panel is not None:
            self.panel.close()
        self.quick.shutdown()
        self.global_keys.shutdown()  # the keys go back to the desktop
        if self.tray is not None:
            self.tray.shutdown()
        return False

    def ask_close_to_tray(self) -> QMessageBox:
        """The one-time question; the answer is kept and applied to this close."""
        if self.question is not None:
            return self.question
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("Keep Hearth running?"))
        box.setText(self.tr("Keep Hearth running in the tray when its window closes?"))
        box.setInformativeText(
            self.tr(
                "Quick ask and voice stay one click away in the tray. You can change this "
                "later in Settings."
            )
        )
        keep = box.addButton(self.tr("Keep running"), QMessageBox.ButtonRole.AcceptRole)
        leave = box.addButton(self.tr("Quit Hearth"), QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)  # the window stays open
        box.setDefaultButton(keep)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self.question = box
        self.keep_button, self.quit_button = keep, leave

        def answered() -> None:
            self.question = None
            clicked = box.clickedButton()
            if clicked not in (keep, leave):
                return  # Cancel or Esc: nothing is decided, the window stays
            stay = clicked is keep
            self._save_tray_value("close_to_tray", stay)
            if stay:
                self.hide_to_tray()
            else:
                self.window.close()

        box.finished.connect(lambda _result: answered())
        box.open()
        return box
