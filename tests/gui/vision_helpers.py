"""For the window's image tests: picture files, a fake engine that can see, and the steps
a user takes (attach, drop, paste)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.engine import protocol as p
from app.ui.launch import Window
from tests.fakes.fake_engine import FakeEngineClient, FakeHandle

WAIT = 10_000


def write_picture(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> Path:
    """A real image file: a coloured square with a white diagonal (PNG or JPEG by name)."""
    image = Image.new("RGB", size, color)
    for i in range(min(size)):
        image.putpixel((i, i), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG")
    path.write_bytes(buffer.getvalue())
    return path


@dataclass
class SeeingFakeEngine(FakeEngineClient):
    """The fake engine, loaded with a projector when ``mmproj`` is given or its path is in
    ``seeing``; with ``refuse`` it answers images as a text-only engine does."""

    seeing: tuple[str, ...] = ()
    refuse: bool = False
    loaded_vision: bool = False
    load_options: list[dict[str, Any]] = field(default_factory=list)

    def load(self, path: str, **options: object) -> FakeHandle:
        self.load_options.append(dict(options))
        vision = bool(options.get("mmproj")) or path in self.seeing
        self.loaded_vision = vision
        rid = next(self._ids)

        def run() -> None:
            self._emit(
                p.ModelLoaded(
                    rid,
                    path,
                    4096,
                    0,
                    "cpu",
                    "gguf",
                    "gguf",
                    0.01,
                    f"CPU only: fake plan for {Path(path).name}",
                    vision=vision,
                    mmproj=str(options.get("mmproj") or "") or None,
                )
            )

        self._spawn(run)
        return FakeHandle(rid)

    def generate(self, messages: Any, params: Any = None) -> FakeHandle:
        if self.refuse and any(m.get("images") for m in messages):
            rid = next(self._ids)
            self.requests.append(list(messages))
            name = "fake-model"
            self._spawn(
                lambda: self._emit(
                    p.ErrorEvent(
                        rid,
                        "VisionUnsupportedError",
                        f"{name} reads text only; choose a model that can see images.",
                    )
                )
            )
            return FakeHandle(rid)
        return super().generate(messages, params)


def load_fake(qtbot: QtBot, win: Window, name: str, path: str, *, vision: bool) -> None:
    """Load a (fake) model through the window, as the picker does."""
    from app.catalog.library import ModelEntry

    entry = ModelEntry(name=name, kind="chat", path=path, size_bytes=1)
    entry.vision = vision
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT):
        win.window.load_model(entry)


def drop_files(target: QWidget, paths: list[Path]) -> None:
    """A real drag of local files onto ``target``, entered then dropped (Qt delivers a
    drop only to a widget that accepted the drag's entry)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    point = target.rect().center()
    with warnings.catch_warnings():  # PySide marks the only constructor (QPoint) deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(
            point,
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(point),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, drop)
    assert drop.isAccepted()


def wait_images(qtbot: QtBot, win: Window, count: int) -> None:
    composer = win.window.composer
    qtbot.waitUntil(
        lambda: len(composer.attachments) == count and composer.attachments.pending == 0,
        timeout=WAIT,
    )


def wait_thumbnails(qtbot: QtBot, win: Window) -> None:
    """Every thumbnail on screen decoded (they are, off the GUI thread)."""
    rows = [win.window.composer.image_strip]
    rows += [w.images for w in win.window.chat_view.widgets.values()]
    qtbot.waitUntil(lambda: all(t.shown for row in rows for t in row.thumbs), timeout=WAIT)
