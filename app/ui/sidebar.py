"""The conversation list: new, search, rename, pin, delete.

Conversations are shown in groups (pinned, Today, Yesterday, Previous 7 days, Older:
app.services.conversation_groups decides), each row with the model it was started with.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPalette
from PySide6.QtWidgets import (
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.services.conversation_groups import (
    OLDER,
    PINNED,
    TODAY,
    WEEK,
    YESTERDAY,
    group_conversations,
    short_model_name,
)
from app.services.types import Conversation, SearchHit
from app.ui.icons import apply_icon

ID_ROLE = Qt.ItemDataRole.UserRole
MESSAGE_ROLE = Qt.ItemDataRole.UserRole + 1
GROUP_ROLE = Qt.ItemDataRole.UserRole + 2  # a group's heading row carries its key
MODEL_ROLE = Qt.ItemDataRole.UserRole + 3  # the short model name under the title
# The headings, marked for translation here and translated where they are shown.
GROUP_TITLES = {
    PINNED: "Pinned",
    TODAY: "Today",
    YESTERDAY: "Yesterday",
    WEEK: "Previous 7 days",
    OLDER: "Older",
}


class _RowDelegate(QStyledItemDelegate):
    """A conversation row: its title, and under it the model in smaller, muted type."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        model = index.data(MODEL_ROLE)
        if not model:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        title = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is None:
            super().paint(painter, option, index)
            return
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        rect = rect.adjusted(4, 2, -4, -2)
        font = QFont(opt.font)
        small = _small(font)
        line = QFontMetricsF(font).height()
        painter.save()
        painter.setFont(font)
        painter.setPen(opt.palette.color(QPalette.ColorRole.Text))
        top = rect.adjusted(0, 0, 0, -int(rect.height() - line))
        painter.drawText(
            top,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, top.width()),
        )
        painter.setFont(small)
        painter.setPen(opt.palette.color(QPalette.ColorRole.PlaceholderText))
        bottom = rect.adjusted(0, int(line), 0, 0)
        painter.drawText(
            bottom,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
            painter.fontMetrics().elidedText(
                str(model), Qt.TextElideMode.ElideRight, bottom.width()
            ),
        )
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        if index.data(MODEL_ROLE):
            extra = QFontMetricsF(_small(QFont(option.font))).height()
            size.setHeight(size.height() + int(extra) + 2)
        return size


def _small(font: QFont) -> QFont:
    small = QFont(font)
    small.setPointSizeF(max(font.pointSizeF() * 0.85, 7.0))
    return small


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
        self.new_button.setToolTip(self.tr("Start a new conversation (Ctrl+N)"))
        self.new_button.setAccessibleName(self.tr("New chat"))
        apply_icon(self.new_button, "new_chat")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(self.tr("Search all messages"))
        self.search.setToolTip(self.tr("Search all messages (Ctrl+F)"))
        self.search.setAccessibleName(self.tr("Search all messages"))
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setAccessibleName(self.tr("Conversations"))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setWordWrap(False)
        self.list.setItemDelegate(_RowDelegate(self.list))
        self.documents_button = QPushButton(self.tr("Documents"), self)
        self.documents_button.setToolTip(self.tr("Your document collections"))
        self.documents_button.setAccessibleName(self.tr("Documents"))
        apply_icon(self.documents_button, "documents")
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

    def show_conversations(
        self, conversations: list[Conversation], current: int, now: datetime | None = None
    ) -> None:
        """The conversations in their groups, under a heading each; ``now`` for tests."""
        self._conversations = {c.id: c for c in conversations}
        self._current = current
        self.list.clear()
        for group in group_conversations(conversations, now):
            self.list.addItem(self._heading(group.key))
            for conversation in group.items:
                item = self._row(conversation)
                self.list.addItem(item)
                if conversation.id == current:
                    item.setSelected(True)
                    self.list.setCurrentItem(item)

    def conversation_ids(self) -> list[int]:
        """The conversations listed, top to bottom (headings left out)."""
        items = (self.list.item(i) for i in range(self.list.count()))
        return [int(item.data(ID_ROLE)) for item in items if item.data(ID_ROLE)]

    def group_titles(self) -> list[str]:
        """The headings shown, in order (for tests and screen readers)."""
        return [
            self.list.item(i).text()
            for i in range(self.list.count())
            if self.list.item(i).data(GROUP_ROLE)
        ]

    def _heading(self, key: str) -> QListWidgetItem:
        item = QListWidgetItem(self.tr(GROUP_TITLES[key]))
        item.setData(GROUP_ROLE, key)
        # A heading is not a conversation: it cannot be selected or clicked.
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        font = _small(self.font())
        font.setBold(True)
        item.setFont(font)
        item.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))
        return item

    def _row(self, conversation: Conversation) -> QListWidgetItem:
        title = conversation.title or self.tr("New conversation")
        model = short_model_name(conversation.model)
        item = QListWidgetItem(title)
        item.setData(ID_ROLE, conversation.id)
        when = datetime.fromtimestamp(conversation.updated_at).strftime("%Y-%m-%d %H:%M")
        tip = [title, conversation.model or "", when]
        item.setToolTip("\n".join(line for line in tip if line))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{title}, {model}" if model else title)
        item.setData(MODEL_ROLE, model)
        return item

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
