"""Images on screen: thumbnails (in the message box, removable; in a message, to click)
and the large viewer (Esc closes, arrows step through a message's images)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import shiboken6
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QKeyEvent, QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import HearthError
from app.core.i18n import translate
from app.services.background import run_in_background

COMPOSER_THUMB = 64  # the message box's strip
MESSAGE_THUMB = 160  # a sent message's images
VIEWER_FRACTION = 0.9  # of the screen the viewer may take
THUMB_CACHE = 256  # scaled thumbnails kept, so reopening a conversation decodes nothing
_thumbs: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()


@dataclass(frozen=True)
class ShownImage:
    """What the window needs of an image to show it (a PreparedImage, or a stored one)."""

    data: bytes
    width: int
    height: int
    name: str | None = None
    sha256: str = ""  # names the image for the thumbnail cache ("" : not cached)

    @property
    def title(self) -> str:
        return f"{self.name or 'Image'} · {self.width} × {self.height}"


def shown(image: object) -> ShownImage:
    """A ShownImage of anything with ``data``, ``width``, ``height`` (and ``name``)."""
    return ShownImage(
        data=bytes(getattr(image, "data", b"")),
        width=int(getattr(image, "width", 0)),
        height=int(getattr(image, "height", 0)),
        name=getattr(image, "name", None),
        sha256=str(getattr(image, "sha256", "") or ""),
    )


def thumb_box(image: ShownImage, size: int) -> QSize:
    """The size of ``image``'s thumbnail within a ``size`` square (known before decoding)."""
    if image.width <= 0 or image.height <= 0:
        return QSize(size, size)
    scale = min(1.0, size / image.width, size / image.height)
    return QSize(max(1, round(image.width * scale)), max(1, round(image.height * scale)))


def scaled_image(data: bytes, box: QSize) -> QImage:
    """The image decoded and scaled to ``box`` (QImage is reentrant: on a pool thread)."""
    image = QImage.fromData(data)
    if image.isNull():
        raise HearthError(translate("Errors", "This image cannot be shown."))
    if image.width() <= box.width() and image.height() <= box.height():
        return image
    return image.scaled(
        box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def pixmap_of(data: bytes) -> QPixmap:
    """The decoded image (null when Qt cannot read it)."""
    pixmap = QPixmap()
    pixmap.loadFromData(data)
    return pixmap


def fitted(pixmap: QPixmap, box: QSize) -> QPixmap:
    """``pixmap`` scaled down (never up) to fit ``box``, keeping its shape."""
    if pixmap.isNull() or (pixmap.width() <= box.width() and pixmap.height() <= box.height()):
        return pixmap
    return pixmap.scaled(
        box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


class Thumbnail(QFrame):
    """One image, small; a click opens it large, the ✕ (when removable) takes it away.

    It takes its final size at once and is decoded on a pool thread (``ready`` then), so a
    conversation full of photos opens without decoding them on the GUI thread.
    """

    clicked = Signal()
    remove_requested = Signal()
    ready = Signal()

    def __init__(
        self, image: ShownImage, size: int, *, removable: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.image = image
        self.setObjectName("imageThumb")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(image.title)
        self.label = QLabel(self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.shown = False  # the picture is on screen
        box = thumb_box(image, size)
        self.label.setFixedSize(box)
        key = (image.sha256, size)
        cached = _thumbs.get(key) if image.sha256 else None
        if cached is not None:
            _thumbs.move_to_end(key)
            self._show(cached)
        elif image.data:
            run_in_background(
                partial(scaled_image, image.data, box),
                lambda picture: self._decoded(key, picture),
                lambda _exc: self._unreadable(),
            )
        else:
            self._unreadable()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.label)
        self.remove_button: QToolButton | None = None
        if removable:
            button = QToolButton(self)
            button.setObjectName("thumbRemove")
            button.setText("✕")
            button.setToolTip(self.tr("Remove this image"))
            button.setFixedSize(18, 18)
            button.clicked.connect(self.remove_requested.emit)
            self.remove_button = button
        self.setFixedSize(self.sizeHint())
        self._place_remove()

    def _decoded(self, key: tuple[str, int], picture: QImage) -> None:
        pixmap = QPixmap.fromImage(picture)
        if key[0]:
            _thumbs[key] = pixmap
            while len(_thumbs) > THUMB_CACHE:
                _thumbs.popitem(last=False)
        if shiboken6.isValid(self):  # not removed meanwhile
            self._show(pixmap)

    def _show(self, pixmap: QPixmap) -> None:
        self.label.setPixmap(pixmap)
        self.shown = True
        self.ready.emit()

    def _unreadable(self) -> None:
        if shiboken6.isValid(self):
            self.label.setText(self.tr("Cannot show this image"))
            self.ready.emit()

    def _place_remove(self) -> None:
        if self.remove_button is not None:
            self.remove_button.move(self.width() - self.remove_button.width() - 1, 1)
            self.remove_button.raise_()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class ThumbnailRow(QWidget):
    """A row of thumbnails; in the message box each has a ✕ (``remove_requested(index)``)."""

    remove_requested = Signal(int)

    def __init__(self, size: int, *, removable: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb_size = size
        self.removable = removable
        self.thumbs: list[Thumbnail] = []
        self.viewer: ImageViewer | None = None
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(6)
        self._row.addStretch(1)

    def set_images(self, images: Sequence[ShownImage]) -> None:
        for thumb in self.thumbs:
            thumb.setParent(None)
            thumb.deleteLater()
        self.thumbs = []
        for index, image in enumerate(images):
            thumb = Thumbnail(image, self.thumb_size, removable=self.removable, parent=self)
            thumb.clicked.connect(lambda i=index: self.open_viewer(i))
            thumb.remove_requested.connect(lambda i=index: self.remove_requested.emit(i))
            self._row.insertWidget(index, thumb)
            thumb.show()  # now, not on the layout's next turn
            self.thumbs.append(thumb)
        self.setVisible(bool(images))

    def images(self) -> list[ShownImage]:
        return [thumb.image for thumb in self.thumbs]

    def open_viewer(self, index: int) -> ImageViewer:
        """The images large, from ``index``."""
        self.viewer = ImageViewer(self.images(), index, self.window())
        self.viewer.open()
        return self.viewer


class ImageViewer(QDialog):
    """One image as large as the screen allows (never enlarged); Left/Right step, Esc closes."""

    def __init__(
        self, images: Sequence[ShownImage], index: int = 0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("imageViewer")
        self.images = list(images)
        self.index = max(0, min(index, len(self.images) - 1))
        self.picture = QLabel(self)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        scroll = QScrollArea(self)  # a tall screenshot on a short screen still shows whole
        scroll.setWidget(self.picture)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.caption = QLabel(self)
        self.caption.setObjectName("viewerCaption")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.caption)
        self.show_index(self.index)

    def available(self) -> QSize:
        """The room for the picture: most of the screen the window is on."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        area = screen.availableGeometry().size()
        return QSize(
            int(area.width() * VIEWER_FRACTION) - 16, int(area.height() * VIEWER_FRACTION) - 48
        )

    def show_index(self, index: int) -> None:
        if not self.images:
            return
        self.index = index % len(self.images)
        image = self.images[self.index]
        picture = fitted(pixmap_of(image.data), self.available())
        self.picture.setPixmap(picture)
        count = f"  ({self.index + 1} of {len(self.images)})" if len(self.images) > 1 else ""
        self.caption.setText(image.title + count)
        self.setWindowTitle(image.name or self.tr("Image"))
        self.resize(max(picture.width() + 16, 320), picture.height() + 48)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Right:
            self.show_index(self.index + 1)
        elif event.key() == Qt.Key.Key_Left:
            self.show_index(self.index - 1)
        else:
            super().keyPressEvent(event)  # Esc closes
