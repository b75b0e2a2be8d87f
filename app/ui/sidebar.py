"""The conversation list: new, search, rename, pin, delete."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.types import Conversation, SearchHit

ID_ROLE = Qt.ItemDataRole.UserRole
MESSAGE_ROLE = Qt.ItemDataRole.UserRole + 1


class Sidebar(QWidget):
    new_requested = Signal()
    selected = Signal(int)
    search_changed = Signal(str)
    rename_requested = Signal(int, str)
    pin_requested = Signal(int, bool)
    delete_requested = Signal(int)
    export_requested = Signal(int)
    documents_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMinimumWidth(220)
        self.new_button = QPushButton(self.tr("New chat"), self)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(self.tr("Search all messages"))
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setWordWrap(False)
        self.documents_button = QPushButton(self.tr("Documents"), self)
        self.documents_button.setToolTip(self.tr("Your document collections"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.documents_button)
        self.new_button.clicked.connect(self.new_requested.emit)
        self.documents_button.clicked.connect(self.documents_requested.emit)
        self.search.textChanged.connect(self.search_changed.emit)
        self.list.itemClicked.connect(self._on_clicked)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self._conversations: dict[int, Conversation] = {}
        self._current = 0

    def show_conversations(self, conversations: list[Conversation], current: int) -> None:
        self._conversations = {c.id: c for c in conversations}
        self._current = current
        self.list.clear()
        for conversation in conversations:
            title = conversation.title or self.tr("New conversation")
            item = QListWidgetItem(("📌 " if conversation.pinned else "") + title)
            item.setData(ID_ROLE, conversation.id)
            item.setToolTip(title)
            self.list.addItem(item)
            if conversation.id == current:
                item.setSelected(True)
                self.list.setCurrentItem(item)

    def show_documents_activity(self, text: str) -> None:
        """What indexing is doing, on the Documents button ("" when nothing runs)."""
        label = self.tr("Documents")
        self.documents_button.setText(f"{label} · {text}" if text else label)

    def show_search_results(self, hits: list[SearchHit]) -> None:
        self.list.clear()
        if not hits:
            self.list.addItem(QListWidgetItem(self.tr("No messages match.")))
            return
        for hit in hits:
            item = QListWidgetItem(f"{hit.conversation_title}\n    {hit.plain_snippet}")
            item.setData(ID_ROLE, hit.conversation_id)
            item.setData(MESSAGE_ROLE, hit.message_id)
            self.list.addItem(item)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        conversation_id = item.data(ID_ROLE)
        if conversation_id:
            self.selected.emit(int(conversation_id))

    def _context_menu(self, position: QPoint) -> None:
        item = self.list.itemAt(position)
        if item is None or not item.data(ID_ROLE):
            return
        conversation_id = int(item.data(ID_ROLE))
        conversation = self._conversations.get(conversation_id)
        menu = QMenu(self)
        rename = menu.addAction(self.tr("Rename…"))
        pinned = bool(conversation and conversation.pinned)
        pin = menu.addAction(self.tr("Unpin") if pinned else self.tr("Pin"))
        export = menu.addAction(self.tr("Export…"))
        delete = menu.addAction(self.tr("Delete…"))
        chosen = menu.exec(self.list.mapToGlobal(position))
        if chosen is rename:
            title, ok = QInputDialog.getText(
                self,
                self.tr("Rename conversation"),
                self.tr("Title:"),
                text=conversation.title if conversation else "",
            )
            if ok and title.strip():
                self.rename_requested.emit(conversation_id, title.strip())
        elif chosen is export:
            self.export_requested.emit(conversation_id)
        elif chosen is pin:
            self.pin_requested.emit(conversation_id, not pinned)
        elif chosen is delete and self.confirm_delete():
            self.delete_requested.emit(conversation_id)

    def confirm_delete(self) -> bool:
        answer = QMessageBox.question(
            self,
            self.tr("Delete conversation"),
            self.tr("Delete this conversation and all its messages? This cannot be undone."),
        )
        return answer == QMessageBox.StandardButton.Yes
