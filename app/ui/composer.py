"""The message box: Enter sends, Shift+Enter adds a line, Esc stops the reply.

While a spoken question may be corrected (the voice bar's grace period), an empty box is
a place to type the correction: Enter there replaces the question heard, Esc answers it
as heard.

Images go with the message: the Attach button (Ctrl+Shift+A), a paste (Ctrl+V) or a drop
puts them in the strip above the box, each removable; sending takes them along.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QMimeData, QObject, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.image_attachments import ImageAttachments, is_image_path
from app.ui.icons import apply_icon
from app.ui.image_view import COMPOSER_THUMB, ThumbnailRow, shown

IMAGE_FILTER = (
    "Images (*.png *.jpg *.jpeg *.webp *.heic *.heif *.gif *.bmp *.tif *.tiff);;All files (*)"
)
PASTED_NAME = "Pasted image"


def image_files(mime: QMimeData) -> list[Path]:
    """The local image files a drop or paste carries (by name; their bytes are checked
    when they are prepared)."""
    if not mime.hasUrls():
        return []
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    return [path for path in paths if is_image_path(path) and path.is_file()]


def png_bytes(image: QImage) -> bytes:
    """A pasted picture as PNG (lossless: a screenshot keeps its text sharp). QImage is
    reentrant, so this runs on the pool thread with the image's own copy."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide takes the format as str (its stubs say bytes, which it then refuses).
    image.save(buffer, "PNG")  # type: ignore[call-overload]
    buffer.close()
    return bytes(data.data())


class _MessageEdit(QPlainTextEdit):
    submitted = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Pasted or dropped images go to the strip, not into the text (set by Composer).
        self.take_images: Callable[[QMimeData], bool] = lambda _mime: False

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return bool(source.hasImage() or image_files(source)) or super().canInsertFromMimeData(
            source
        )

    def insertFromMimeData(self, source: QMimeData) -> None:
        if not self.take_images(source):
            super().insertFromMimeData(source)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submitted.emit()
            return
        if key == Qt.Key.Key_Escape:
            self.stop_requested.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    """Emits ``submitted(text)`` or ``edit_submitted(message_id, text)``; ``stop_requested``.

    ``submitted`` leaves the images in ``attachments``: whoever sends takes them
    (``attachments.take()``), or leaves them there when the message could not go.

    Between :meth:`begin_correction` and :meth:`end_correction` (a spoken question's grace
    period) it emits ``correction_started`` at the first edit, then
    ``correction_submitted(text)`` for Enter or ``correction_dropped`` for Esc.
    """

    submitted = Signal(str)
    edit_submitted = Signal(int, str)
    stop_requested = Signal()
    voice_toggled = Signal(bool)  # the mic button: start or end voice conversation
    correction_started = Signal()
    correction_submitted = Signal(str)
    correction_dropped = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = _MessageEdit(self)
        self.edit.setObjectName("composer")
        self.edit.setPlaceholderText(
            self.tr("Message Hearth (Enter to send, Shift+Enter for a new line)")
        )
        self.edit.setFixedHeight(84)
        # Tab leaves the box for the buttons (keyboard users); Ctrl+Tab would be the escape
        # hatch otherwise, which few know.
        self.edit.setTabChangesFocus(True)
        self.send_button = QPushButton(self.tr("Send"), self)
        self.send_button.setObjectName("sendButton")
        self.stop_button = QPushButton(self.tr("Stop"), self)
        self.stop_button.setVisible(False)
        self.voice_button = QPushButton(self.tr("Talk"), self)
        self.voice_button.setObjectName("voiceButton")
        self.voice_button.setCheckable(True)
        self.voice_button.toggled.connect(self.voice_toggled.emit)
        self.attach_button = QPushButton(self.tr("Attach"), self)
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setToolTip(self.tr("Attach images (Ctrl+Shift+A)"))
        self.attach_button.clicked.connect(self.choose_images)
        attach = QShortcut(QKeySequence("Ctrl+Shift+A"), self, self.choose_images)
        attach.setWhatsThis(self.tr("Attach images"))
        # Send, Stop and Talk by keyboard too (Enter and Esc work in the box already).
        self.send_button.setToolTip(self.tr("Send the message (Enter)"))
        self.stop_button.setToolTip(self.tr("Stop the reply (Esc)"))
        self.voice_button.setShortcut(QKeySequence("Ctrl+Shift+T"))
        self.voice_button.setToolTip(
            self.tr("Talk with Hearth: it listens, answers and speaks (Ctrl+Shift+T)")
        )
        for button, role, name in (
            (self.send_button, "send", self.tr("Send")),
            (self.stop_button, "stop", self.tr("Stop")),
            (self.voice_button, "talk", self.tr("Talk")),
            (self.attach_button, "attach", self.tr("Attach images")),
        ):
            apply_icon(button, role, "#ffffff" if button is self.send_button else None)
            button.setAccessibleName(name)
        self.edit.setAccessibleName(self.tr("Message"))
        self._placeholder = self.edit.placeholderText()
        # A spoken question's grace period: the box takes a correction (begin_correction).
        self.correcting = False
        self._correction_typed = False
        self.edit.textChanged.connect(self._on_text_changed)
        self.editing_label = QLabel(self)
        self.editing_label.setVisible(False)
        self.editing_id = 0
        # The images this message carries: prepared off the GUI thread, shown in the strip.
        self.attachments = ImageAttachments(self)
        self.image_strip = ThumbnailRow(COMPOSER_THUMB, removable=True, parent=self)
        self.image_strip.setObjectName("imageStrip")
        self.image_strip.setVisible(False)
        self.image_strip.remove_requested.connect(self.attachments.remove)
        self.image_status = QLabel(self)
        self.image_status.setObjectName("imageStatus")
        self.image_status.setWordWrap(True)
        self.image_status.setVisible(False)
        self.attachments.changed.connect(self._show_images)
        self.attachments.pending_changed.connect(self._show_pending)
        self.attachments.failed.connect(self.show_image_error)
        self.edit.take_images = self.take_images

        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.attach_button)
        buttons.addWidget(self.voice_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        # Tab goes down the buttons as they are shown, not in the order they were made.
        chain = (self.edit, self.send_button, self.stop_button, self.attach_button)
        for first, second in zip(chain, (*chain[1:], self.voice_button), strict=True):
            QWidget.setTabOrder(first, second)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 4, 16, 12)
        layout.addWidget(self.editing_label)
        layout.addWidget(self.image_strip)
        layout.addWidget(self.image_status)
        layout.addLayout(row)

        self.edit.submitted.connect(self._submit)
        self.send_button.clicked.connect(self._submit)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self.edit.stop_requested.connect(self._escape)

    def text(self) -> str:
        return self.edit.toPlainText()

    # -- images --------------------------------------------------------------------------
    def choose_images(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, self.tr("Attach images"), "", self.tr(IMAGE_FILTER)
        )
        if files:
            self.add_image_files([Path(f) for f in files])

    def add_image_files(self, paths: list[Path]) -> None:
        self.image_status.setVisible(False)
        self.attachments.add_paths(paths)

    def take_images(self, mime: QMimeData) -> bool:
        """Take the images a paste or drop carries; False when it carries none."""
        files = image_files(mime)
        if files:
            self.add_image_files(files)
            return True
        if mime.hasImage() and not mime.hasUrls():
            image = QImage(mime.imageData())
            if image.isNull():
                return False
            self.image_status.setVisible(False)
            self.attachments.add_data(lambda: png_bytes(image), PASTED_NAME)
            return True
        return False

    def images_sent(self) -> None:
        """The message went with its images: an empty strip, no old sentence under it."""
        self.attachments.clear()
        self.image_status.setProperty("error", False)
        self.image_status.setVisible(False)

    def show_image_error(self, message: str) -> None:
        """An image could not be used: say why under the strip (the rest stay)."""
        self.image_status.setProperty("error", True)
        self.image_status.setText(message)
        self.image_status.setVisible(True)
        self._restyle(self.image_status)

    def _show_pending(self, count: int) -> None:
        if count:
            self.image_status.setProperty("error", False)
            self.image_status.setText(
                self.tr("Preparing the image…")
                if count == 1
                else self.tr("Preparing %s images…") % count
            )
            self.image_status.setVisible(True)
            self._restyle(self.image_status)
        elif not self.image_status.property("error"):
            self.image_status.setVisible(False)

    def _show_images(self) -> None:
        self.image_strip.set_images([shown(image) for image in self.attachments.images()])

    @staticmethod
    def _restyle(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)

    def watch_drops(self, widget: QWidget) -> None:
        """Images dropped onto ``widget`` come here (other files go on to its other
        handlers: documents)."""
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragEnterEvent | QDropEvent)
            if image_files(event.mimeData()) or event.mimeData().hasImage():
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            mime = event.mimeData()
            if self.take_images(mime):
                event.acceptProposedAction()
                # A drop of images and documents: the documents' handler takes the rest.
                others = [u for u in mime.urls() if u.isLocalFile()]
                return len(others) == len(image_files(mime))
        return super().eventFilter(watched, event)

    def set_busy(self, busy: bool) -> None:
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)

    def set_voice_on(self, on: bool) -> None:
        """Reflect voice mode in the mic button without emitting ``voice_toggled``."""
        self.voice_button.blockSignals(True)
        self.voice_button.setChecked(on)
        self.voice_button.blockSignals(False)

    def begin_edit(self, message_id: int, text: str) -> None:
        """Put a sent message back in the box; sending replaces it and what follows."""
        self.editing_id = message_id
        self.editing_label.setText(self.tr("Editing a message. Send to resend it; Esc cancels."))
        self.editing_label.setVisible(True)
        self.edit.setPlainText(text)
        self.edit.setFocus()

    def cancel_edit(self) -> None:
        self.editing_id = 0
        self.editing_label.setVisible(False)
        self.edit.clear()

    # -- correcting a spoken question ----------------------------------------------------
    def begin_correction(self) -> None:
        """The question just heard may be corrected: an empty box takes the correction
        (one holding a message being written is left to it)."""
        if self.editing_id or self.text().strip():
            return
        self.correcting = True
        self._correction_typed = False
        self.edit.setPlaceholderText(
            self.tr("Heard wrong? Type the question here and press Enter (Esc: answer as heard)")
        )

    def end_correction(self) -> None:
        """The grace period is over (or the correction was sent): Enter sends again."""
        self.correcting = False
        self._correction_typed = False
        self.edit.setPlaceholderText(self._placeholder)

    def _on_text_changed(self) -> None:
        if self.correcting and not self._correction_typed and self.text():
            self._correction_typed = True  # the answer waits for it from now on
            self.correction_started.emit()

    def _escape(self) -> None:
        if self.correcting and self._correction_typed:
            self.end_correction()
            self.correction_dropped.emit()  # answer what was heard; the text stays
            return
        if self.editing_id:
            self.cancel_edit()
        else:
            self.stop_requested.emit()

    def _submit(self) -> None:
        text = self.text().strip()
        if self.correcting:
            # Sent as the question instead of the one heard (the voice turn is busy, so
            # the Send button is hidden): whoever takes it clears the box.
            if text:
                self.correction_submitted.emit(text)
            return
        if (not text and not len(self.attachments)) or self.stop_button.isVisible():
            return
        if self.editing_id:
            message_id = self.editing_id
            self.cancel_edit()
            self.edit_submitted.emit(message_id, text)
        else:
            self.edit.clear()
            self.submitted.emit(text)
