"""Which documents a conversation reads, above the message box: a Documents menu to
attach the user's collections (and add files to this conversation alone), the ones
attached, indexing of dropped files; and files dropped onto the chat or the box.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QWidget,
)

from app.services.chat_service import ChatService
from app.services.doc_chat import DocumentSource
from app.services.image_attachments import is_image_path
from app.ui.chat_view import ChatView
from app.ui.composer import Composer

FILE_FILTER = "Documents (*.pdf *.docx *.md *.markdown *.txt *.html *.htm *.epub);;All files (*)"
PRIVATE_LABEL = "Files dropped here"


class DocumentsBar(QWidget):
    """The conversation's documents: a menu to choose them and a line saying which."""

    def __init__(self, chat: ChatService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chat = chat
        self.setObjectName("documentsBar")
        # A push button with a menu: its style keeps room for the arrow, which a tool
        # button's drew over the last letter ("文档▾" in Chinese).
        self.button = QPushButton(self)
        self.button.setObjectName("documentsButton")
        self.button.setText(self.tr("Documents"))
        self.button.setToolTip(
            self.tr("Answer from your documents: choose the collections this conversation reads")
        )
        self.menu = QMenu(self.button)
        self.menu.aboutToShow.connect(self.fill_menu)
        self.button.setMenu(self.menu)
        self.summary = QLabel(self)
        self.summary.setObjectName("documentsSummary")
        self.progress = QLabel(self)
        self.progress.setObjectName("documentsProgress")
        self.progress.setVisible(False)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 2)
        row.addWidget(self.button)
        row.addWidget(self.summary, 1)
        row.addWidget(self.progress)
        chat.current_changed.connect(lambda _cid: self.refresh())
        chat.docs.changed.connect(self._changed)
        chat.docs.indexing.connect(self._indexing)
        self._progress: dict[int, str] = {}
        self.refresh()

    def refresh(self) -> None:
        """Say which collections the current conversation reads."""
        attached = self.chat.docs.attached(self.chat.current_id)
        names = [PRIVATE_LABEL if c.private else c.name for c in attached]
        if names:
            self.summary.setText(self.tr("Answers from: %s") % ", ".join(names))
            self.button.setText(self.tr("Documents (%d)") % len(names))
        else:
            self.summary.setText("")
            self.button.setText(self.tr("Documents"))
        line = self._progress.get(self.chat.current_id, "")
        self.progress.setText(line)
        self.progress.setVisible(bool(line))

    def fill_menu(self) -> None:
        """The user's collections, checked when this conversation reads them."""
        self.menu.clear()
        conversation_id = self.chat.current_id
        attached = {c.id: c for c in self.chat.docs.attached(conversation_id)}
        choices = self.chat.docs.choices()
        for choice in choices:
            action = QAction(choice.name, self.menu)
            action.setCheckable(True)
            action.setChecked(choice.id in attached)
            action.toggled.connect(lambda on, cid=choice.id: self.toggle(cid, on))
            self.menu.addAction(action)
        for own in (c for c in attached.values() if c.private):
            action = QAction(PRIVATE_LABEL, self.menu)
            action.setCheckable(True)
            action.setChecked(True)
            action.toggled.connect(lambda on, cid=own.id: self.toggle(cid, on))
            self.menu.addAction(action)
        if not choices and not attached:
            empty = QAction(self.tr("No collections yet: make one on the Documents page"))
            empty.setEnabled(False)
            self.menu.addAction(empty)
        self.menu.addSeparator()
        add = QAction(self.tr("Add files to this conversation…"), self.menu)
        add.triggered.connect(self.choose_files)
        self.menu.addAction(add)

    def toggle(self, collection_id: int, on: bool) -> None:
        if not self.chat.current_id:
            self.chat.new_conversation()
        if on:
            self.chat.docs.attach(self.chat.current_id, collection_id)
        else:
            self.chat.docs.detach(self.chat.current_id, collection_id)

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, self.tr("Add files to this conversation"), "", FILE_FILTER
        )
        if files:
            add_files(self.chat, [Path(f) for f in files])

    def _changed(self, conversation_id: int) -> None:
        if conversation_id == self.chat.current_id:
            self.refresh()

    def _indexing(self, conversation_id: int, line: str) -> None:
        if line:
            self._progress[conversation_id] = line
        else:
            self._progress.pop(conversation_id, None)
        self.refresh()


def add_files(chat: ChatService, paths: list[Path]) -> None:
    """Index ``paths`` for the current conversation alone (one is made if none is open)."""
    if not chat.current_id:
        chat.new_conversation()
    chat.docs.drop_files(chat.current_id, paths)


def dropped_files(event: QDropEvent | QDragEnterEvent) -> list[Path]:
    """The local files (not folders) an event carries, images left out (they go with
    the next message: the composer takes them)."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [
        Path(u.toLocalFile())
        for u in mime.urls()
        if u.isLocalFile()
        and Path(u.toLocalFile()).is_file()
        and not is_image_path(u.toLocalFile())
    ]


class FileDrops(QObject):
    """Files dropped onto the widgets it watches go into the conversation's documents."""

    def __init__(self, chat: ChatService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.chat = chat

    def watch(self, widget: QWidget) -> None:
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragEnterEvent | QDropEvent)
            if dropped_files(event):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            files = dropped_files(event)
            if files:
                event.acceptProposedAction()
                add_files(self.chat, files)
                return True
        return False


def wire_documents(
    chat: ChatService,
    chat_view: ChatView,
    composer: Composer,
    documents: DocumentSource | None,
    show_error: Callable[[str], None],
) -> DocumentsBar:
    """Give the conversation its documents: the bar above the message box, drops onto
    the chat and the box, references under answers, and the window's document service
    for search and indexing (its ``finished``/``failed`` signals end a drop's indexing)."""
    bar = DocumentsBar(chat, composer)
    layout = composer.layout()
    if isinstance(layout, QBoxLayout):
        layout.insertWidget(0, bar)
    if documents is not None:
        chat.docs.use(documents)
        for name, slot in (
            ("finished", chat.docs.index_finished),
            ("failed", chat.docs.index_failed),
            ("progress", chat.docs.index_progress),
            ("collections_changed", bar.refresh),
        ):
            signal = getattr(documents, name, None)
            if signal is not None:
                signal.connect(slot)
    drops = FileDrops(chat, bar)
    for widget in (chat_view, chat_view.viewport(), composer.edit):
        drops.watch(widget)
    chat.searching.connect(chat_view.set_searching)
    chat.sources_changed.connect(chat_view.set_sources)
    chat.docs.failed.connect(show_error)
    return bar
