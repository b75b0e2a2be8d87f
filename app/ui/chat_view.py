"""The scrolling list of messages of the current conversation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.core.errors import HearthError
from app.services.types import StoredMessage
from app.ui.accessibility import name_controls
from app.ui.image_view import ShownImage, shown
from app.ui.message_widget import MessageWidget

log = logging.getLogger(__name__)

IMAGE_CACHE = 64  # stored images kept decoded-ready while conversations are switched


class ChatView(QScrollArea):
    """Shows messages; follows a streaming reply unless the user scrolled up."""

    regenerate_requested = Signal()
    edit_requested = Signal(int, str)
    tool_action = Signal(str, str)  # "allow" | "deny" | "stop", call id

    def __init__(self, *, dark: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dark = dark
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._container = QWidget()
        self._container.setObjectName("chatContainer")
        self._layout = QVBoxLayout(self._container)
        self._layout.setContentsMargins(16, 16, 16, 16)
        self._layout.setSpacing(10)
        self._placeholder = QLabel(
            self.tr("Ask anything. Your conversation stays on this computer.")
        )
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setObjectName("placeholder")
        self._layout.addWidget(self._placeholder)
        self._layout.addStretch(1)
        self.setWidget(self._container)
        self.widgets: dict[int, MessageWidget] = {}
        # A stored image by its SHA-256 (the conversation store's ``image``), set by the
        # window; the images of a message come from there when it is shown.
        self.image_source: Callable[[str], object] | None = None
        self._images: dict[str, ShownImage] = {}
        self._follow = True
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.verticalScrollBar().rangeChanged.connect(self._on_range)

    def set_messages(self, messages: list[StoredMessage]) -> None:
        for widget in self.widgets.values():
            widget.setParent(None)
            widget.deleteLater()
        self.widgets.clear()
        for message in messages:
            self.add_message(message)
        self._placeholder.setVisible(not messages)
        self._follow = True

    def images_of(self, message: StoredMessage) -> list[ShownImage]:
        """The images a message carries, read from the store (one that cannot be read
        shows as a tile saying so)."""
        hashes = message.images
        if not hashes or self.image_source is None:
            return []
        images = []
        for sha in hashes:
            image = self._images.get(sha)
            if image is None:
                try:
                    image = shown(self.image_source(sha))
                except HearthError as exc:
                    log.warning("image %s of message %s: %s", sha[:12], message.id, exc)
                    image = ShownImage(b"", 0, 0, "Missing image")
                else:
                    if len(self._images) >= IMAGE_CACHE:
                        self._images.pop(next(iter(self._images)))
                    self._images[sha] = image
            images.append(image)
        return images

    def add_message(self, message: StoredMessage) -> MessageWidget:
        widget = MessageWidget(
            message, dark=self.dark, parent=self._container, images=self.images_of(message)
        )
        widget.regenerate_requested.connect(self.regenerate_requested.emit)
        widget.edit_requested.connect(self.edit_requested.emit)
        widget.tool_action.connect(self.tool_action.emit)
        name_controls(widget)  # its buttons and text, for screen readers
        self._layout.insertWidget(self._layout.count() - 1, widget)
        self.widgets[message.id] = widget
        self._placeholder.setVisible(False)
        self._follow = True
        QTimer.singleShot(0, self._scroll_to_end)
        return widget

    def append_delta(self, message_id: int, text: str) -> None:
        widget = self.widgets.get(message_id)
        if widget is not None:
            widget.append(text)

    def append_reasoning(self, message_id: int, text: str) -> None:
        widget = self.widgets.get(message_id)
        if widget is not None:
            widget.append_reasoning(text)

    def set_tools(self, message_id: int, records: list[dict[str, Any]]) -> None:
        """The tool calls of a reply as they are now (asking, running, done)."""
        widget = self.widgets.get(message_id)
        if widget is not None:
            widget.tools.set_records(records)

    def set_searching(self, message_id: int) -> None:
        """The reply's question is being looked up in the conversation's documents."""
        widget = self.widgets.get(message_id)
        if widget is not None:
            widget.sources.set_searching()

    def set_sources(self, message_id: int, sources: list[dict[str, Any]] | None) -> None:
        """The passages the reply was given (shown as numbered references under it)."""
        widget = self.widgets.get(message_id)
        if widget is not None:
            widget.sources.set_sources(sources)

    def finish(self, message: StoredMessage) -> None:
        widget = self.widgets.get(message.id)
        if widget is not None:
            widget.set_status(message)

    def _on_scrolled(self, value: int) -> None:
        # Following stops when the user scrolls up to read, resumes at the bottom.
        self._follow = value >= self.verticalScrollBar().maximum() - 24

    def _on_range(self, _minimum: int, _maximum: int) -> None:
        if self._follow:
            self._scroll_to_end()

    def _scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
