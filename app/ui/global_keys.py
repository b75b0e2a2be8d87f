"""Global keys in the window: the Preferences fields that pick them, and the wiring that
makes the quick-ask key open the panel and the push-to-talk key talk while it is held, with
the window shown, hidden in the tray or started with ``hearth --background``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFormLayout, QKeySequenceEdit, QLabel, QWidget

from app.services.global_keys import PUSH_TO_TALK, QUICK_ASK
from app.services.hotkey_service import SETTINGS_GROUP, HotkeyService, hotkey_settings

if TYPE_CHECKING:
    from app.core.settings import Settings
    from app.ui.background import Background


def _portable(edit: QKeySequenceEdit) -> str:
    return edit.keySequence().toString(QKeySequence.SequenceFormat.PortableText)


class HotkeyFields(QWidget):
    """Preferences: a key field for push-to-talk and for quick ask (empty: off), and what
    the desktop made of them. One key for both is refused as it is typed."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        keys = hotkey_settings(settings)
        self.talk = self._field(
            keys[PUSH_TO_TALK],
            self.tr("Push-to-talk key"),
            self.tr(
                "Hold this key in any application to speak to Hearth; release it when you "
                "are done. Empty: off"
            ),
        )
        self.quick = self._field(
            keys[QUICK_ASK],
            self.tr("Quick-ask key"),
            self.tr("Press this key in any application to open the quick-ask panel. Empty: off"),
        )
        self.status = QLabel(self)
        self.status.setObjectName("planLabel")
        self.status.setWordWrap(True)
        self.status.setAccessibleName(self.tr("Global keys status"))
        self.status.setToolTip(self.tr("Whether the global keys work on this desktop"))
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.tr("Push to talk"), self.talk)
        form.addRow(self.tr("Quick ask"), self.quick)
        form.addRow(self.status)
        self.talk.keySequenceChanged.connect(lambda _keys: self._refuse_same(self.talk))
        self.quick.keySequenceChanged.connect(lambda _keys: self._refuse_same(self.quick))
        live = self._live()
        self.status.setText(live.status() if live is not None else "")

    def _field(self, keys: str, name: str, tip: str) -> QKeySequenceEdit:
        edit = QKeySequenceEdit(QKeySequence(keys), self)
        edit.setMaximumSequenceLength(1)  # one chord: a global key cannot be a sequence
        edit.setClearButtonEnabled(True)
        edit.setAccessibleName(name)
        edit.setToolTip(tip)
        return edit

    def _live(self) -> HotkeyService | None:
        """The window's running service (Preferences' parent is the window), for status."""
        owner = self.window().parentWidget()
        return owner.findChild(HotkeyService) if owner is not None else None

    def _refuse_same(self, changed: QKeySequenceEdit) -> None:
        other = self.quick if changed is self.talk else self.talk
        keys = _portable(changed)
        if keys and keys == _portable(other):
            changed.clear()
            self.status.setText(
                self.tr("%1 is already the other global key; give each its own key.").replace(
                    "%1", QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)
                )
            )

    def values(self) -> dict[str, str]:
        return {PUSH_TO_TALK: _portable(self.talk), QUICK_ASK: _portable(self.quick)}

    def apply(self, settings: Settings) -> None:
        settings.extra[SETTINGS_GROUP] = self.values()


class GlobalKeys(QObject):
    """The window's global keys: bound from the settings, rebound when they change."""

    def __init__(self, background: Background, service: HotkeyService | None = None) -> None:
        super().__init__(background)
        self.background = background
        self.window = background.window
        self.service = service or HotkeyService(self)
        self._held = False  # the push-to-talk key is down
        self._pressed = False  # ... and the voice loop was told so
        self._waiting = False  # voice mode is starting for this press
        service = self.service
        service.quick_ask.connect(background.show_quick_ask)
        service.talk_pressed.connect(self.talk_pressed)
        service.talk_released.connect(self.talk_released)
        service.problem.connect(self._show_problem)
        service.notice.connect(self._show_notice)
        voice = self.window.voice
        if voice is not None:
            voice.state_changed.connect(self._voice_state)
        preferences = self.window.preferences
        if preferences is not None:
            preferences.changed.connect(self.apply)
            self.apply(preferences.settings)

    def apply(self, settings: Settings) -> None:
        keys = hotkey_settings(settings)
        if any(keys.values()) or any(self.service.keys().values()):
            self.service.apply(keys)  # nothing imported while no key was ever set

    def _show_problem(self, sentence: str) -> None:
        """In the window's banner; while it is hidden, in a tray message too."""
        self.window.show_error(sentence)
        tray = self.background.tray
        if tray is not None and not self.window.isVisible():
            tray.notify("Hearth", sentence)

    def _show_notice(self, sentence: str) -> None:
        self.window.notice_banner.show_text(sentence)
        tray = self.background.tray
        if tray is not None and not self.window.isVisible():
            tray.notify("Hearth", sentence)

    # -- push to talk --------------------------------------------------------------------
    @property
    def talking(self) -> bool:
        """The push-to-talk key is held and the voice loop is recording for it."""
        return self._pressed

    def talk_pressed(self) -> None:
        voice = self.window.voice
        if voice is None:
            self._show_problem(
                self.tr("Voice is not available in this Hearth, so push-to-talk is off.")
            )
            return
        self._held = True
        if voice.active and voice.state != "starting":
            voice.press()
            self._pressed = True
            return
        self._waiting = True
        if not voice.active:
            self.window.set_voice_mode(True)  # refused without a model: the window says why
            if not voice.active:
                self._waiting = False
                if not self.window.isVisible() and self.background.tray is not None:
                    self.background.tray.notify("Hearth", self.window.error_banner.label.text())

    def talk_released(self) -> None:
        self._held = False
        self._waiting = False
        voice = self.window.voice
        if self._pressed and voice is not None:
            voice.release()
        self._pressed = False

    def _voice_state(self, state: str) -> None:
        """Voice mode came up for a press: the key still held, the recording starts now."""
        if state == "off":
            self._waiting = self._pressed = False
            return
        voice = self.window.voice
        if self._waiting and state != "starting" and voice is not None:
            self._waiting = False
            if self._held:
                voice.press()
                self._pressed = True

    def shutdown(self) -> None:
        self.service.shutdown()
