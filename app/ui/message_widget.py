"""One message in the chat view: Markdown body, figures, and its actions."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.services.types import StoredMessage
from app.ui.image_view import MESSAGE_THUMB, ShownImage, ThumbnailRow
from app.ui.markdown import COPY_SCHEME, code_blocks, render_markdown
from app.ui.sources_view import SOURCE_SCHEME, SourcesView, link_citations
from app.ui.thinking_block import ThinkingBlock
from app.ui.tool_card import ToolCards

RENDER_INTERVAL_MS = 40  # at most 25 re-renders a second while a reply streams


class _AutoHeightBrowser(QTextBrowser):
    """A QTextBrowser as tall as its content, so the chat view scrolls, not each message."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setOpenLinks(False)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.viewport().setAutoFillBackground(False)

    def _fit(self) -> None:
        height = int(self.document().size().height()) + 4
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.document().setTextWidth(self.viewport().width())
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(400, int(self.document().size().height()) + 4)


def _thinking_s(message: StoredMessage) -> float | None:
    """How long the reply thought, as stored with its figures."""
    value = (message.stats or {}).get("thinking_s")
    return float(value) if isinstance(value, int | float) else None


class MessageWidget(QFrame):
    """A user or assistant message; assistant replies can stream into it."""

    regenerate_requested = Signal()
    edit_requested = Signal(int, str)  # message id, current text
    code_copied = Signal(int)
    tool_action = Signal(str, str)  # "allow" | "deny" | "stop", call id

    def __init__(
        self,
        message: StoredMessage,
        *,
        dark: bool,
        parent: QWidget | None = None,
        images: Sequence[ShownImage] = (),
    ) -> None:
        super().__init__(parent)
        self.message_id = message.id
        self.role = message.role
        self.text = message.content
        self.dark = dark
        self.setObjectName("userMessage" if message.role == "user" else "assistantMessage")
        self.setFrameShape(QFrame.Shape.StyledPanel)

        header = QLabel(self.tr("You") if message.role == "user" else self._model_label(message))
        header.setObjectName("messageHeader")
        # A reasoning model's thinking, above the answer and apart from it.
        self.thinking = ThinkingBlock(dark=dark, parent=self)
        self.thinking.set_text(message.reasoning or "", _thinking_s(message))
        # The tool calls made on the way to the answer, one collapsed card each.
        self.tools = ToolCards(dark=dark, parent=self)
        self.tools.set_records(message.tools or [])
        self.tools.action.connect(self.tool_action.emit)
        # The images a user message carried: click one to see it large.
        self.images = ThumbnailRow(MESSAGE_THUMB, removable=False, parent=self)
        self.images.setObjectName("messageImages")
        self.images.set_images(images)
        self.body = _AutoHeightBrowser(self)
        self.body.anchorClicked.connect(self._on_link)
        self.body.setAccessibleName(
            self.tr("Your message") if message.role == "user" else self.tr("Reply")
        )
        self.body.setVisible(bool(message.content) or not images)
        # An answer from documents: its numbered references (or that none was relevant).
        self.sources = SourcesView(self)
        self.sources.set_sources(message.sources if message.role == "assistant" else None)
        self.footer = QLabel()
        self.footer.setObjectName("messageFooter")
        self.footer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.footer.setWordWrap(True)  # long figures wrap, never widen the chat

        self.copy_button = self._button(self.tr("Copy"), self.copy_all)
        self.regenerate_button = self._button(self.tr("Regenerate"), self.regenerate_requested.emit)
        self.edit_button = self._button(
            self.tr("Edit"), lambda: self.edit_requested.emit(self.message_id, self.text)
        )
        self.regenerate_button.setVisible(message.role == "assistant")
        self.edit_button.setVisible(message.role == "user")

        actions = QHBoxLayout()
        actions.addWidget(self.footer, 1)
        for button in (self.copy_button, self.edit_button, self.regenerate_button):
            actions.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 6)
        layout.setSpacing(4)
        layout.addWidget(header)
        layout.addWidget(self.thinking)
        layout.addWidget(self.tools)
        layout.addWidget(self.images)
        layout.addWidget(self.body)
        layout.addWidget(self.sources)
        layout.addLayout(actions)

        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        self._render_timer.timeout.connect(self._render)
        self._render()
        self.set_status(message)

    @staticmethod
    def _model_label(message: StoredMessage) -> str:
        return message.model or "Assistant"

    def _button(self, text: str, slot: object) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    # -- streaming -----------------------------------------------------------------------
    def append(self, delta: str) -> None:
        """Add streamed text; the body re-renders on a short timer, not per token."""
        self.thinking.finish()  # the answer began: the thinking folds away
        self.text += delta
        if not self._render_timer.isActive():
            self._render_timer.start()

    def append_reasoning(self, delta: str) -> None:
        """Add streamed thinking to the Thinking block (open while it streams)."""
        self.thinking.append(delta)

    def set_status(self, message: StoredMessage) -> None:
        """Show the final text, status and figures (tokens/s, time to first token)."""
        if message.status != "streaming":
            self.thinking.finish()
            reasoning = message.reasoning or ""
            if reasoning.strip() != self.thinking.text.strip() or _thinking_s(message):
                self.thinking.set_text(reasoning, _thinking_s(message))
        if message.tools:
            self.tools.set_records(message.tools)
        if message.sources is not None or message.status != "streaming":
            self.sources.set_sources(message.sources if message.role == "assistant" else None)
        if message.content != self.text or self._render_timer.isActive():
            self._render_timer.stop()
            self.text = message.content
            self._render()
        parts: list[str] = []
        stats = message.stats or {}
        if message.status == "streaming":
            parts.append(self.tr("generating…"))
        elif message.status == "stopped":
            parts.append(self.tr("stopped"))
        elif message.status == "error":
            parts.append(self.tr("failed: %s") % stats.get("error", ""))
        if stats.get("voice"):
            parts.append(self.tr("spoken"))
        if isinstance(stats.get("documents_s"), int | float):
            parts.append(self.tr("searched in %s s") % f"{stats['documents_s']:.1f}")
        if "tokens_per_s" in stats:
            parts.append(
                self.tr("%1 tokens · %2 tok/s · first token %3 ms")
                .replace("%1", str(stats.get("completion_tokens", 0)))
                .replace("%2", f"{stats['tokens_per_s']:.1f}")
                .replace("%3", f"{stats.get('ttft_s', 0) * 1000:.0f}")
            )
        if message.role == "assistant" and message.model:
            parts.insert(0, message.model)
        self.footer.setText("  ·  ".join(p for p in parts if p))
        self.regenerate_button.setEnabled(message.status != "streaming")

    def _render(self) -> None:
        if self.role == "user":
            # The user's own words are shown as typed, not interpreted as Markdown.
            self.body.setPlainText(self.text)
        else:
            html = render_markdown(self.text, dark=self.dark)
            numbers = self.sources.numbers()
            if numbers:  # "[1]" in the answer opens the passage it cites
                html = link_citations(html, numbers, "#8ab4f8" if self.dark else "#1a5fb4")
            self.body.setHtml(html)

    # -- actions -------------------------------------------------------------------------
    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self.text)

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() == SOURCE_SCHEME and url.path().isdigit():
            self.sources.show_number(int(url.path()))
            return
        if url.scheme() == COPY_SCHEME:
            index = int(url.path() or 0)
            blocks = code_blocks(self.text)
            if 0 <= index < len(blocks):
                QGuiApplication.clipboard().setText(blocks[index])
                self.code_copied.emit(index)
