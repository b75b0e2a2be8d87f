"""A reasoning model's thinking above its answer: streams open, folds away when done."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QToolButton, QVBoxLayout, QWidget

# Muted text on a faint band, so the thinking never reads as the answer.
_STYLE = {
    False: ("#f4f5f7", "#e5e7eb", "#6b7280"),
    True: ("#2b2d31", "#3a3b40", "#9ca3af"),
}


def thought_for(seconds: float) -> str:
    """The folded block's title, e.g. "Thought for 3.2 s"."""
    if seconds >= 60:
        minutes, rest = divmod(round(seconds), 60)
        return f"Thought for {minutes} min {rest} s"
    return f"Thought for {seconds:.1f} s"


class ThinkingBlock(QFrame):
    """The "Thinking" block of one reply: a toggle with its duration, and the text.

    Live: open while the model thinks, the title counting up on each delta; ``finish``
    (the answer began, or the reply ended) gives it its duration and folds it.
    """

    toggled = Signal(bool)  # expanded

    def __init__(self, *, dark: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thinkingBlock")
        background, border, muted = _STYLE[dark]
        self.setStyleSheet(
            f"#thinkingBlock {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 8px; }}"
            f" #thinkingBlock QToolButton {{ color: {muted}; border: none; }}"
            f" #thinkingBody {{ color: {muted}; }}"
        )
        self.text = ""
        self.duration_s: float | None = None
        self._started: float | None = None
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("thinkingToggle")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.clicked.connect(self.set_expanded)
        self.body = QLabel(self)
        self.body.setObjectName("thinkingBody")
        self.body.setTextFormat(Qt.TextFormat.PlainText)  # model text, never markup
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 4)
        layout.setSpacing(2)
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)
        self.set_expanded(False)
        self._title()

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()

    @property
    def live(self) -> bool:
        """Thinking is streaming into it now."""
        return self._started is not None and self.duration_s is None

    def append(self, delta: str) -> None:
        """Streamed thinking: shown at once, the block open while it lasts."""
        if self._started is None:
            self._started = time.perf_counter()
            self.duration_s = None
            self.set_expanded(True)
        self.text += delta
        self.body.setText(self.text)
        self.setVisible(True)
        self._title()

    def set_text(self, text: str, duration_s: float | None) -> None:
        """A stored reply's thinking (folded); hidden when there is none."""
        changed = text != self.text
        self.text = text
        self.duration_s = duration_s
        self._started = None
        self.body.setText(text)
        self.setVisible(bool(text.strip()))
        if changed:
            self.set_expanded(False)
        self._title()

    def finish(self) -> float | None:
        """The thinking is over: fold it and keep its duration (returned)."""
        if self.live:
            assert self._started is not None
            self.duration_s = time.perf_counter() - self._started
            self.set_expanded(False)
            self._title()
        return self.duration_s

    def set_expanded(self, expanded: bool) -> None:
        self.toggle.setChecked(expanded)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.body.setVisible(expanded)
        self.toggled.emit(expanded)

    def _title(self) -> None:
        if self.live:
            assert self._started is not None
            elapsed = time.perf_counter() - self._started
            self.toggle.setText(self.tr("Thinking… %1 s").replace("%1", f"{elapsed:.0f}"))
        elif self.duration_s is not None:
            self.toggle.setText(thought_for(self.duration_s))
        else:
            self.toggle.setText(self.tr("Thinking"))
