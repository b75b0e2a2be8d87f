"""The quick-ask panel: a small floating window to type or say one question and read
the answer as it streams. Esc closes it; "Open in Hearth" continues in the window.

It only shows and forwards: asking, listening and storing are QuickAskService's.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.services.quick_ask_service import QuickAskService
from app.ui.icons import apply_icon
from app.ui.markdown import render_markdown

PANEL_WIDTH = 520
ANSWER_MIN, ANSWER_MAX = 48, 360  # the answer's height in pixels


class QuickAskPanel(QWidget):
    """Frameless, on top, without a taskbar entry (a tool window)."""

    open_requested = Signal(int)  # the quick conversation's id: show it in the window

    def __init__(self, service: QuickAskService, parent: QWidget | None = None) -> None:
        super().__init__(
            parent,
            Qt.WindowType.Tool
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint,
        )
        self.service = service
        self._answer = ""
        self.setObjectName("quickAskPanel")
        self.setWindowTitle(self.tr("Quick ask"))
        self.setAccessibleName(self.tr("Quick ask"))
        # Only the rounded card is painted: its corners show what is behind.
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground, True)
        self.setFixedWidth(PANEL_WIDTH)

        frame = QFrame(self)
        frame.setObjectName("quickAskFrame")
        title = QLabel(self.tr("Quick ask"), frame)
        title.setObjectName("quickAskTitle")
        self.model_label = QLabel(frame)
        self.model_label.setObjectName("planLabel")
        self.close_button = QToolButton(frame)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        apply_icon(self.close_button, "close")
        self.close_button.setToolTip(self.tr("Close (Esc)"))
        self.close_button.setAccessibleName(self.tr("Close quick ask"))
        self.close_button.clicked.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addWidget(self.model_label, 1)
        top.addWidget(self.close_button)

        self.edit = QLineEdit(frame)
        self.edit.setObjectName("quickAskEdit")
        self.edit.setPlaceholderText(self.tr("Ask anything…"))
        self.edit.setAccessibleName(self.tr("Question"))
        self.edit.setToolTip(self.tr("Type a question and press Enter"))
        self.edit.returnPressed.connect(self._ask)
        self.ask_button = QPushButton(self.tr("Ask"), frame)
        self.ask_button.setObjectName("sendButton")
        apply_icon(self.ask_button, "send", "#ffffff")  # white on the accent
        self.ask_button.setToolTip(self.tr("Ask the question (Enter)"))
        self.ask_button.setAccessibleName(self.tr("Ask"))
        self.ask_button.clicked.connect(self._ask)
        self.talk_button = QPushButton(self.tr("Say it"), frame)
        apply_icon(self.talk_button, "talk")
        self.talk_button.setToolTip(self.tr("Say the question; Hearth answers aloud"))
        self.talk_button.setAccessibleName(self.tr("Say the question"))
        self.talk_button.clicked.connect(self._talk)
        self.talk_button.setVisible(service.voice is not None)
        self.stop_button = QPushButton(self.tr("Stop"), frame)
        apply_icon(self.stop_button, "stop")
        self.stop_button.setToolTip(self.tr("Stop the answer"))
        self.stop_button.setAccessibleName(self.tr("Stop the answer"))
        self.stop_button.clicked.connect(service.stop)
        self.stop_button.hide()
        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        row.addWidget(self.ask_button)
        row.addWidget(self.talk_button)
        row.addWidget(self.stop_button)

        self.question = QLabel(frame)
        self.question.setObjectName("quickAskQuestion")
        self.question.setWordWrap(True)
        self.question.setAccessibleName(self.tr("Your question"))
        self.question.hide()
        self.answer = QTextBrowser(frame)
        self.answer.setObjectName("quickAskAnswer")
        self.answer.setAccessibleName(self.tr("Answer"))
        self.answer.setOpenExternalLinks(False)
        self.answer.hide()
        # A tool call waiting for the user's word (tools enabled in Preferences).
        self.permission = QWidget(frame)
        self.permission_text = QLabel(self.permission)
        self.permission_text.setWordWrap(True)
        self.allow_button = QPushButton(self.tr("Allow"), self.permission)
        self.allow_button.setToolTip(self.tr("Let this tool run once"))
        self.allow_button.setAccessibleName(self.tr("Allow the tool"))
        self.deny_button = QPushButton(self.tr("Deny"), self.permission)
        self.deny_button.setToolTip(self.tr("Do not run this tool"))
        self.deny_button.setAccessibleName(self.tr("Deny the tool"))
        self.allow_button.clicked.connect(lambda: self._answer_tool(True))
        self.deny_button.clicked.connect(lambda: self._answer_tool(False))
        asking = QHBoxLayout(self.permission)
        asking.setContentsMargins(0, 0, 0, 0)
        asking.addWidget(self.permission_text, 1)
        asking.addWidget(self.allow_button)
        asking.addWidget(self.deny_button)
        self.permission.hide()
        self._asking = ""  # the call id waiting for Allow or Deny
        self.status = QLabel(frame)
        self.status.setObjectName("quickAskStatus")
        self.status.setWordWrap(True)
        self.open_button = QPushButton(self.tr("Open in Hearth"), frame)
        self.open_button.setToolTip(self.tr("Continue this conversation in the Hearth window"))
        self.open_button.setAccessibleName(self.tr("Open in Hearth"))
        self.open_button.clicked.connect(self._open)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.open_button)

        inner = QVBoxLayout(frame)
        inner.setContentsMargins(14, 10, 14, 12)
        inner.setSpacing(8)
        inner.addLayout(top)
        inner.addLayout(row)
        inner.addWidget(self.question)
        inner.addWidget(self.answer)
        inner.addWidget(self.permission)
        inner.addLayout(bottom)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)

        service.question_asked.connect(self._show_question)
        service.answer_delta.connect(self._append)
        service.answer_finished.connect(self._finished)
        service.busy_changed.connect(self._busy)
        service.listening_changed.connect(self._busy)
        service.failed.connect(self._failed)
        service.tool_asking.connect(self._tool_asking)
        if service.voice is not None:
            service.voice.state_changed.connect(self._voice_state)
            service.voice.transcript_partial.connect(self._heard_partial)
            service.voice.not_heard.connect(self._not_heard)
        self._style()

    # -- showing -------------------------------------------------------------------------
    def _style(self) -> None:
        """A framed card in the theme's colours (the panel has no title bar)."""
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Window).name()
        border = palette.color(QPalette.ColorRole.Mid).name()
        muted = palette.color(QPalette.ColorRole.PlaceholderText).name()
        error = "#f87171" if self._dark() else "#b91c1c"  # the theme's error colours
        self.setStyleSheet(
            f"#quickAskFrame {{ background: {base}; border: 1px solid {border};"
            " border-radius: 12px; }"
            " #quickAskTitle { font-weight: bold; }"
            f" #quickAskQuestion, #quickAskStatus {{ color: {muted}; }}"
            f' #quickAskStatus[error="true"] {{ color: {error}; }}'
            " #quickAskAnswer { border: none; background: transparent; }"
        )

    def _dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Window).lightness() < 128

    def present(self) -> None:
        """Show the panel near the top of the screen, ready to type."""
        self._style()
        name = self.service.main.model_name
        self.model_label.setText(name or self.tr("No model loaded"))
        self.adjustSize()
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            self.move(area.center().x() - self.width() // 2, area.top() + area.height() // 5)
        self.show()
        self.raise_()
        self.activateWindow()
        self.edit.setFocus()
        self._busy()

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        if bool(self.status.property("error")) != error:
            self.status.setProperty("error", error)
            self.status.style().unpolish(self.status)  # the error colour follows
            self.status.style().polish(self.status)

    def _show_question(self, text: str) -> None:
        self._answer = ""
        self.question.setText(text)
        self.question.show()
        self.answer.clear()
        self.answer.show()
        self._set_status(self.tr("Thinking…"))
        self._fit_answer()

    def _append(self, text: str) -> None:
        self._answer += text
        self.answer.setHtml(render_markdown(self._answer, dark=self._dark()))
        self._fit_answer()
        bar = self.answer.verticalScrollBar()
        bar.setValue(bar.maximum())
        self._set_status(self.tr("Answering…"))

    def _finished(self, message: object) -> None:
        content = str(getattr(message, "content", "") or self._answer)
        self._answer = content
        self.answer.setHtml(render_markdown(content, dark=self._dark()))
        self._fit_answer()
        status = getattr(message, "status", "complete")
        self._set_status(
            self.tr("Saved in Quick questions.")
            if status == "complete"
            else self.tr("Stopped; what was said is saved in Quick questions.")
        )

    def _fit_answer(self) -> None:
        """As tall as the answer, up to a limit (then it scrolls): a short answer
        leaves no empty card, a long one does not run off the screen."""
        document = self.answer.document()
        document.setTextWidth(self.answer.viewport().width())
        height = int(document.size().height()) + 2 * self.answer.frameWidth() + 4
        self.answer.setFixedHeight(max(ANSWER_MIN, min(height, ANSWER_MAX)))
        self.adjustSize()

    def _busy(self, _on: bool = False) -> None:
        busy = self.service.busy
        self.ask_button.setVisible(not busy)
        self.talk_button.setVisible(not busy and self.service.voice is not None)
        self.stop_button.setVisible(busy)
        self.edit.setEnabled(not busy)
        if not busy:
            self.edit.setFocus()

    def _tool_asking(self, call_id: str, name: str) -> None:
        self._asking = call_id
        if call_id:
            self.permission_text.setText(self.tr("Hearth wants to use the tool %s.") % name)
        self.permission.setVisible(bool(call_id))
        self.adjustSize()

    def _answer_tool(self, allowed: bool) -> None:
        if self._asking:
            self.service.answer_tool(self._asking, allowed)

    def _failed(self, message: str) -> None:
        self._set_status(message, error=True)

    def _voice_state(self, state: str) -> None:
        if not self.service.listening:
            return
        text = {
            "starting": self.tr("Getting the microphone ready…"),
            "listening": self.tr("Listening… say your question."),
            "transcribing": self.tr("Transcribing…"),
            "thinking": self.tr("Thinking…"),
            "speaking": self.tr("Answering aloud…"),
        }.get(state)
        if text:
            self._set_status(text)

    def _heard_partial(self, text: str) -> None:
        if self.service.listening and text:
            self.question.setText(text)
            self.question.show()

    def _not_heard(self, _said: str) -> None:
        # Hearth says so and listens on: the question is still to come.
        if self.service.listening:
            self.question.setText(self.tr("Didn’t catch that — say it again."))
            self.question.show()

    # -- actions -------------------------------------------------------------------------
    def _ask(self) -> None:
        text = self.edit.text().strip()
        if text and self.service.ask(text):
            self.edit.clear()

    def _talk(self) -> None:
        if self.service.listen():
            self._set_status(self.tr("Getting the microphone ready…"))

    def _open(self) -> None:
        self.open_requested.emit(self.service.conversation_id())
        self.close()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        # A spoken question stops with the panel; a typed answer goes on being stored.
        if self.service.listening and self.service.voice is not None:
            self.service.voice.stop()
        super().closeEvent(event)
