"""The keyboard shortcuts sheet (Ctrl+/): every key the window answers to, read from the
window itself (its actions, buttons and shortcuts) plus the keys the message box and the
voice bar handle themselves."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

SHEET_KEYS = "Ctrl+/"
# Keys handled inside widgets (no QAction to read them from), in the sheet's context.
_BUILT_IN = (
    ("Enter", "Send the message"),
    ("Shift+Enter", "New line in the message"),
    ("Esc", "Stop the reply, or cancel editing a message"),
    ("F2", "Hold to talk (in voice mode)"),
)


def _tr(text: str) -> str:
    return QCoreApplication.translate("ShortcutsSheet", text)


translate = QCoreApplication.translate  # spelt out with its context, for pyside6-lupdate


def global_shortcuts(window: QWidget) -> list[tuple[str, str]]:
    """(keys, what they do) for the global keys set in Preferences (Background's
    GlobalKeys): as the desktop shows them once bound, else as chosen, marked not
    working yet; none when none is set."""
    from app.services.global_keys import PUSH_TO_TALK
    from app.services.hotkey_service import hotkey_settings, native_keys
    from app.ui.global_keys import GlobalKeys

    keys = window.findChild(GlobalKeys)
    preferences = getattr(window, "preferences", None)
    if keys is None or preferences is None:
        return []
    rows: list[tuple[str, str]] = []
    for action, chosen in hotkey_settings(preferences.settings).items():
        if not chosen:
            continue
        if action == PUSH_TO_TALK:
            what = translate("ShortcutsSheet", "Hold to talk, in any application (global key)")
        else:
            what = translate("ShortcutsSheet", "Quick ask, in any application (global key)")
        bound = keys.service.bound.get(action)
        if bound is None:
            mark = translate("ShortcutsSheet", "%1 (not working yet: see Preferences)")
            what = mark.replace("%1", what)
        rows.append((bound or native_keys(chosen), what))
    return rows


def _keys(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.NativeText)


def window_shortcuts(window: QWidget) -> list[tuple[str, str]]:
    """(keys, what they do) for ``window``: its actions, its buttons' shortcuts, its
    QShortcuts (described by their whatsThis), then the built-in keys; no duplicates."""
    rows: list[tuple[str, str]] = []
    for action in window.findChildren(QAction) + list(window.actions()):
        if not action.shortcut().isEmpty() and action.text():
            rows.append((_keys(action.shortcut()), action.text().replace("&", "")))
    for button in window.findChildren(QAbstractButton):
        if not button.shortcut().isEmpty():
            name = button.accessibleName() or button.text().replace("&", "")
            rows.append((_keys(button.shortcut()), name))
    for shortcut in window.findChildren(QShortcut):
        if not shortcut.key().isEmpty() and shortcut.whatsThis():
            rows.append((_keys(shortcut.key()), shortcut.whatsThis()))
    rows.extend((_keys(QKeySequence(keys)), _tr(what)) for keys, what in _BUILT_IN)
    seen: set[str] = set()
    unique: list[tuple[str, str]] = []
    for keys, what in rows:
        if keys and keys not in seen:
            seen.add(keys)
            unique.append((keys, what))
    # Listed even when a window key is the same: they work where the window has no focus.
    return unique + global_shortcuts(window)


class ShortcutsSheet(QDialog):
    """A read-only table of the window's shortcuts; Esc or Close dismisses it."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsSheet")
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        rows = window_shortcuts(window)
        intro = QLabel(
            self.tr(
                "Everything in the window works from the keyboard: Tab moves "
                "between controls, Space or Enter presses a button."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setAccessibleName(self.tr("Keyboard shortcuts"))
        self.table.setHorizontalHeaderLabels([self.tr("Keys"), self.tr("Action")])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        for row, (keys, what) in enumerate(rows):
            key_item = QTableWidgetItem(keys)
            key_item.setFont(self._bold())
            self.table.setItem(row, 0, key_item)
            self.table.setItem(row, 1, QTableWidgetItem(what))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        # Tall enough for every row without scrolling (up to a screenful).
        rows_shown = min(len(rows), 18)
        row_height = self.table.verticalHeader().defaultSectionSize()
        self.resize(540, 150 + rows_shown * row_height)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _bold(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def shortcuts(self) -> list[tuple[str, str]]:
        """What the sheet lists, row by row (for tests)."""
        rows = []
        for row in range(self.table.rowCount()):
            keys, what = self.table.item(row, 0), self.table.item(row, 1)
            rows.append((keys.text() if keys else "", what.text() if what else ""))
        return rows
