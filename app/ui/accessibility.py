"""Names for screen readers on every control of a window.

Widgets name their controls where they make them; this pass names the rest from what a
sighted user reads next to them: a button's text, the form label or label in front of a
field, its placeholder, its tooltip. ``unnamed_controls`` lists what is still nameless
(the accessibility test asserts it is empty).
"""

from __future__ import annotations

from PySide6.QtCore import QChildEvent, QEvent, QObject
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QBoxLayout,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTabBar,
    QTextEdit,
    QWidget,
)

INTERACTIVE: tuple[type[QWidget], ...] = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractSlider,
    QAbstractItemView,
    QPlainTextEdit,
    QTextEdit,
)
# Parts of a compound control: the control itself carries the name.
_COMPOUND: tuple[type[QWidget], ...] = (
    QComboBox,
    QAbstractSpinBox,
    QTabBar,
    QLineEdit,
    QAbstractItemView,
    QScrollBar,
)


def is_control(widget: QWidget) -> bool:
    """Whether ``widget`` is one a user operates (not a part of another control)."""
    if not isinstance(widget, INTERACTIVE) or isinstance(widget, QScrollBar | QHeaderView):
        return False
    # Walked past windows too: a combo box's popup list is a window of its own.
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, _COMPOUND):
            return False
        parent = parent.parentWidget()
    return True


def controls(root: QWidget) -> list[QWidget]:
    """``root`` and the controls under it (visible or not: every tab and page)."""
    found = [root] if is_control(root) else []
    return found + [w for w in root.findChildren(QWidget) if is_control(w)]


def _clean(text: str) -> str:
    """A label's words: no mnemonic "&", no trailing colon, one line."""
    words = " ".join(text.replace("&&", "\0").replace("&", "").replace("\0", "&").split())
    return words.rstrip(":：").strip()


def _label_before(widget: QWidget) -> str:
    """The text of the label a layout puts in front of ``widget`` (form row, grid cell to
    the left, or the item before it in a row)."""
    parent = widget.parentWidget()
    layout = parent.layout() if parent is not None else None
    for found in _layouts(layout):
        if isinstance(found, QFormLayout):
            label = _form_label(found, widget)
            if label:
                return label
        index = found.indexOf(widget)
        if index < 0:
            continue
        if isinstance(found, QGridLayout):
            position: tuple[int, int, int, int] = found.getItemPosition(index)  # type: ignore[assignment]
            row, column = position[0], position[1]
            item = found.itemAtPosition(row, column - 1) if column > 0 else None
        elif isinstance(found, QBoxLayout) and index > 0:
            item = found.itemAt(index - 1)
        else:
            item = None
        before = item.widget() if item is not None else None
        if isinstance(before, QLabel) and before.text():
            return before.text()
    return ""


def _form_label(form: QFormLayout, widget: QWidget) -> str:
    """The label of the form row whose field is ``widget``, or a row of widgets that
    ``widget`` leads (a path box followed by its Browse button)."""
    for row in range(form.rowCount()):
        field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
        label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        shown = label.widget() if label is not None else None
        if field is None or not isinstance(shown, QLabel):
            continue
        if field.widget() is widget:
            return shown.text()
        nested = field.layout()
        if nested is not None:
            first = [
                item.widget()
                for inner in _layouts(nested)
                for item in (inner.itemAt(i) for i in range(inner.count()))
                if item is not None and isinstance(item.widget(), INTERACTIVE)
            ]
            if first and first[0] is widget:
                return shown.text()
    return ""


def _layouts(layout: QLayout | None) -> list[QLayout]:
    if layout is None:
        return []
    found = [layout]
    for index in range(layout.count()):
        item = layout.itemAt(index)
        child = item.layout() if item is not None else None
        found.extend(_layouts(child))
    return found


def _buddies(root: QWidget) -> dict[int, str]:
    return {
        id(label.buddy()): label.text()
        for label in root.findChildren(QLabel)
        if label.buddy() is not None
    }


def derived_name(widget: QWidget, buddies: dict[int, str] | None = None) -> str:
    """What a sighted user reads as this control's name ("" when nothing)."""
    if isinstance(widget, QAbstractButton) and _clean(widget.text()):
        return _clean(widget.text())
    label = (buddies or {}).get(id(widget)) or _label_before(widget)
    if _clean(label):
        return _clean(label)
    placeholder = ""
    if isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit | QComboBox):
        placeholder = widget.placeholderText()
    if _clean(placeholder):
        return _clean(placeholder)
    return _clean(widget.toolTip())


def name_controls(root: QWidget) -> int:
    """Give every nameless control under ``root`` the name it shows; returns how many."""
    buddies = _buddies(root)
    named = 0
    for widget in controls(root):
        if widget.accessibleName():
            continue
        name = derived_name(widget, buddies)
        if name:
            widget.setAccessibleName(name)
            named += 1
    return named


def unnamed_controls(root: QWidget) -> list[QWidget]:
    """The controls under ``root`` a screen reader could not name."""
    return [widget for widget in controls(root) if not widget.accessibleName().strip()]


class _Namer(QObject):
    """Names a window's controls when it is first shown, and those of the dialogs it
    opens (a dialog's parent hears of it as a polished child)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow():
            name_controls(watched)
        elif kind == QEvent.Type.ChildPolished and isinstance(event, QChildEvent):
            child = event.child()
            if isinstance(child, QWidget) and child.isWindow():
                watch_names(child)
                name_controls(child)
        return False


def watch_names(window: QWidget) -> None:
    """Name ``window``'s controls when it shows, and those of the windows it opens."""
    if window.property("hearthNamer"):
        return
    namer = _Namer(window)
    window.setProperty("hearthNamer", True)
    window.installEventFilter(namer)
