"""One tool call in a reply: a compact card (tool, arguments, result, time).

Collapsed by default to one line: the tool, its state and how long it took; opened, it
shows the arguments and the result. While the call waits for the user's permission the
card holds Allow and Deny; while it runs, Stop. The result is the model's input, so it
is shown as plain text, never as markup.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.i18n import localize, translate

_STYLE = {
    False: ("#f6f8fa", "#d0d7de", "#57606a"),
    True: ("#25272b", "#3a3b40", "#a1a7b0"),
}


def _state(status: str) -> str:
    """The call's state in the window's language (``card_title`` is also used outside a widget)."""
    states = {
        "asking": translate("ToolCard", "waiting for your permission"),
        "running": translate("ToolCard", "running…"),
        "complete": translate("ToolCard", "done"),
        "error": translate("ToolCard", "failed"),
        "timeout": translate("ToolCard", "timed out"),
        "cancelled": translate("ToolCard", "stopped"),
        "refused": translate("ToolCard", "refused"),
    }
    return states.get(status, status)


MAX_SHOWN_CHARS = 4000  # the card shows the start of a long result


def card_title(record: dict[str, Any]) -> str:
    """``calculator · done · 0.002 s`` (no time while it runs or asks)."""
    status = str(record.get("status", "complete"))
    parts = [str(record.get("name", "?")), _state(status)]
    elapsed = record.get("elapsed_s")
    if status not in ("asking", "running") and isinstance(elapsed, int | float):
        parts.append(f"{elapsed:.3f} s" if elapsed < 10 else f"{elapsed:.1f} s")
    return " · ".join(parts)


class ToolCard(QFrame):
    """The card of one call; ``update_record`` follows it from asking to its result."""

    allow_clicked = Signal(str)  # call id
    deny_clicked = Signal(str)
    stop_clicked = Signal(str)

    def __init__(
        self, record: dict[str, Any], *, dark: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("toolCard")
        background, border, muted = _STYLE[dark]
        self.setStyleSheet(
            f"#toolCard {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 8px; }}"
            f" #toolCard QToolButton#toolToggle {{ color: {muted}; border: none; }}"
            f" #toolCard QLabel {{ color: {muted}; }}"
        )
        self.call_id = str(record.get("id", ""))
        self.record: dict[str, Any] = {}
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("toolToggle")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.clicked.connect(self.set_expanded)
        self.allow = QPushButton(self.tr("Allow"), self)
        self.deny = QPushButton(self.tr("Deny"), self)
        self.stop = QPushButton(self.tr("Stop"), self)
        self.allow.clicked.connect(lambda: self.allow_clicked.emit(self.call_id))
        self.deny.clicked.connect(lambda: self.deny_clicked.emit(self.call_id))
        self.stop.clicked.connect(lambda: self.stop_clicked.emit(self.call_id))
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.toggle)  # left-aligned: a stretched tool button centres its text
        row.addStretch(1)
        for button in (self.allow, self.deny, self.stop):
            row.addWidget(button)
        self.arguments = self._label("toolArguments")
        self.result = self._label("toolResult")
        self.details = QWidget(self)
        details = QVBoxLayout(self.details)
        details.setContentsMargins(18, 0, 0, 2)
        details.setSpacing(2)
        details.addWidget(self.arguments)
        details.addWidget(self.result)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 4)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.details)
        self.update_record(record)
        self.set_expanded(False)

    def _label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setTextFormat(Qt.TextFormat.PlainText)  # tool output is data, never markup
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()

    @property
    def status(self) -> str:
        return str(self.record.get("status", "complete"))

    def set_expanded(self, expanded: bool) -> None:
        self.toggle.setChecked(expanded)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.details.setVisible(expanded)

    def update_record(self, record: dict[str, Any]) -> None:
        """Show the call as it is now (asking, running, or finished with its result)."""
        self.record = dict(record)
        self.toggle.setText(card_title(self.record))
        arguments = json.dumps(self.record.get("arguments", {}), ensure_ascii=False)
        self.arguments.setText(self.tr("Arguments: %1").replace("%1", arguments))
        # The model's English; a sentence made here (an error) in the window's language.
        result = str(localize(self.record.get("result", "")))
        if len(result) > MAX_SHOWN_CHARS:
            result = result[:MAX_SHOWN_CHARS] + "…"
        self.result.setText(self.tr("Result: %1").replace("%1", result) if result else "")
        self.result.setVisible(bool(result))
        self.allow.setVisible(self.status == "asking")
        self.deny.setVisible(self.status == "asking")
        self.stop.setVisible(self.status == "running")


class ToolCards(QWidget):
    """The cards of one reply's calls, in order; hidden while there are none."""

    action = Signal(str, str)  # "allow" | "deny" | "stop", call id

    def __init__(self, *, dark: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dark = dark
        self.cards: dict[str, ToolCard] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.setVisible(False)

    def set_records(self, records: list[dict[str, Any]]) -> None:
        """Add a card per new call and bring the others up to date."""
        for record in records:
            call_id = str(record.get("id", ""))
            card = self.cards.get(call_id)
            if card is None:
                card = ToolCard(record, dark=self.dark, parent=self)
                card.allow_clicked.connect(lambda cid: self.action.emit("allow", cid))
                card.deny_clicked.connect(lambda cid: self.action.emit("deny", cid))
                card.stop_clicked.connect(lambda cid: self.action.emit("stop", cid))
                self._layout.addWidget(card)
                self.cards[call_id] = card
            else:
                card.update_record(record)
        self.setVisible(bool(self.cards))
