"""Images in the real window (fake engine: fast): attach, drop, paste, thumbnails, the
viewer, sending them with a model that sees, and the refusal of one that reads text only."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from app.ui.launch import Window
from app.vision.images import prepare_image
from tests.gui.conftest import MakeWindow
from tests.gui.vision_helpers import (
    WAIT,
    SeeingFakeEngine,
    drop_files,
    load_fake,
    wait_images,
    wait_thumbnails,
    write_picture,
)

SEEING = "/models/seeing-model.gguf"


@pytest.fixture
def pictures(tmp_path: Path) -> list[Path]:
    return [
        write_picture(tmp_path / "red.png", (120, 80), (200, 30, 30)),
        write_picture(tmp_path / "photo.jpg", (90, 140), (30, 120, 200)),
    ]


def seeing_window(make_window: MakeWindow, **options: object) -> tuple[Window, SeeingFakeEngine]:
    """The window over the fake engine that sees when loaded with ``SEEING``."""
    win = make_window(backend_factory=partial(SeeingFakeEngine, seeing=(SEEING,), **options))
    engine = win.chat.engine.local
    assert isinstance(engine, SeeingFakeEngine)
    return win, engine


def names(win: Window) -> list[str | None]:
    return [image.name for image in win.window.composer.attachments.images()]


def test_attach_button_adds_thumbnails_and_each_can_be_removed(
    qtbot: QtBot, make_window: MakeWindow, pictures: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    win = make_window()
    composer = win.window.composer
    assert "Ctrl+Shift+A" in composer.attach_button.toolTip()
    monkeypatch.setattr(
        QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(p) for p in pictures], "")
    )
    qtbot.mouseClick(composer.attach_button, Qt.MouseButton.LeftButton)
    wait_images(qtbot, win, 2)
    assert names(win) == ["red.png", "photo.jpg"]  # in the order chosen
    strip = composer.image_strip
    assert strip.isVisible() and len(strip.thumbs) == 2
    assert all(thumb.isVisible() and thumb.remove_button for thumb in strip.thumbs)
    # Each thumbnail is the picture, small: it fits the strip and keeps its shape.
    wait_thumbnails(qtbot, win)
    first = strip.thumbs[0].label.pixmap()
    assert first.height() <= 64 and first.width() > first.height()
    remove = strip.thumbs[0].remove_button
    assert remove is not None
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    assert names(win) == ["photo.jpg"] and len(strip.thumbs) == 1
    # The shortcut opens the same dialog.
    composer.edit.setFocus()
    qtbot.keyClick(
        composer.edit,
        Qt.Key.Key_A,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    wait_images(qtbot, win, 2)
    assert names(win) == ["photo.jpg", "red.png"]  # the photo once: no duplicates


def test_dropping_image_files_onto_the_chat_puts_them_in_the_message_box(
    qtbot: QtBot, make_window: MakeWindow, pictures: list[Path]
) -> None:
    win = make_window()
    drop_files(win.window.chat_view.viewport(), pictures)
    wait_images(qtbot, win, 2)
    assert names(win) == ["red.png", "photo.jpg"]
    # Images are not documents: nothing was indexed for the conversation.
    assert win.chat.docs.attached(win.chat.current_id) == []
    # Onto the message box itself: taken as an image, not as text.
    third = write_picture(pictures[0].parent / "green.png", (50, 50), (20, 160, 40))
    drop_files(win.window.composer.edit, [third])
    wait_images(qtbot, win, 3)
    assert win.window.composer.text() == ""
    # Anywhere on the window (the header here): the window takes it for the box.
    fourth = write_picture(pictures[0].parent / "blue.png", (50, 50), (20, 40, 200))
    drop_files(win.window.header, [fourth])
    wait_images(qtbot, win, 4)
    assert names(win)[-1] == "blue.png"


def test_pasting_an_image_from_the_clipboard(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    win = make_window()
    picture = QImage(40, 30, QImage.Format.Format_RGB32)
    picture.fill(QColor("#3366cc"))
    QGuiApplication.clipboard().setImage(picture)
    edit = win.window.composer.edit
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    wait_images(qtbot, win, 1)
    [image] = win.window.composer.attachments.images()
    assert (image.width, image.height, image.name) == (40, 30, "Pasted image")
    assert win.window.composer.text() == ""
    # Image files copied in a file manager paste as images too.
    from PySide6.QtCore import QMimeData, QUrl

    copied = QMimeData()
    copied.setUrls(
        [QUrl.fromLocalFile(str(write_picture(tmp_path / "copied.png", (30, 30), (9, 9, 9))))]
    )
    QGuiApplication.clipboard().setMimeData(copied)
    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    wait_images(qtbot, win, 2)
    assert names(win) == ["Pasted image", "copied.png"] and win.window.composer.text() == ""
    # Text still pastes as text.
    QGuiApplication.clipboard().setText("what colour is this?")
    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert win.window.composer.text() == "what colour is this?"


def test_a_damaged_image_says_why_and_the_window_keeps_working(
    qtbot: QtBot, make_window: MakeWindow, pictures: list[Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(pictures[0].read_bytes()[:60])  # a truncated download
    win = make_window()
    load_fake(qtbot, win, "fake-model", "/models/fake-model.gguf", vision=False)
    composer = win.window.composer
    drop_files(win.window.chat_view.viewport(), [broken, pictures[1]])
    wait_images(qtbot, win, 1)  # the good one arrives, the broken one is explained
    qtbot.waitUntil(composer.image_status.isVisible, timeout=WAIT)
    sentence = composer.image_status.text()
    try:
        prepare_image(broken, name="broken.png")
    except Exception as exc:  # the same sentence the image reader gives
        assert str(exc) == sentence
    else:
        raise AssertionError("a truncated PNG was read")
    assert names(win) == ["photo.jpg"]
    # The window answers: a text message goes as usual.
    remove = composer.image_strip.thumbs[0].remove_button
    assert remove is not None
    remove.click()
    qtbot.keyClicks(composer.edit, "still here?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.chat.busy and len(win.chat.messages()) == 2, timeout=WAIT)


def test_a_large_photo_is_prepared_off_the_gui_thread(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    """A 20 MP photo: the window keeps answering while it is read and scaled."""
    photo = write_picture(tmp_path / "big.jpg", (5472, 3648), (90, 110, 60))
    win = make_window()
    ticks: list[int] = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    drop_files(win.window.chat_view.viewport(), [photo])
    assert win.window.composer.attachments.pending == 1  # the drop returned at once
    assert win.window.composer.image_status.text() == "Preparing the image…"
    wait_images(qtbot, win, 1)
    timer.stop()
    [image] = win.window.composer.attachments.images()
    assert max(image.width, image.height) == 2048
    assert len(ticks) >= 3, "the event loop ran while the photo was prepared"


def test_sending_images_to_a_model_that_sees_stores_and_shows_them(
    qtbot: QtBot, make_window: MakeWindow, pictures: list[Path]
) -> None:
    win, engine = seeing_window(make_window)
    load_fake(qtbot, win, "seeing-model", SEEING, vision=True)
    composer = win.window.composer
    drop_files(win.window.chat_view.viewport(), pictures)
    wait_images(qtbot, win, 2)
    sent = composer.attachments.images()
    qtbot.keyClicks(composer.edit, "What is in these?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert composer.text() == "" and len(composer.attachments) == 0
    assert not composer.image_strip.isVisible()
    qtbot.waitUntil(lambda: not win.chat.busy and len(win.chat.messages()) == 2, timeout=WAIT)
    question = win.chat.messages()[0]
    assert question.content == "What is in these?"
    assert question.images == tuple(image.sha256 for image in sent)
    # The engine got the bytes, in order, with the text.
    asked = engine.requests[-1][-1]
    assert asked["content"] == "What is in these?"
    assert asked["images"] == [image.data for image in sent]
    # The question shows its thumbnails.
    widget = win.window.chat_view.widgets[question.id]
    assert [t.image.name for t in widget.images.thumbs] == ["red.png", "photo.jpg"]
    assert widget.images.isVisible()
    # A follow-up: the earlier images go with their question (the model still sees them).
    qtbot.keyClicks(composer.edit, "And the second one?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.chat.busy and len(win.chat.messages()) == 4, timeout=WAIT)
    history = engine.requests[-1]
    assert history[0]["images"] == [image.data for image in sent]
    assert "images" not in history[-1]
    # Reopened in a new window: the thumbnails come from the store.
    conversation = win.chat.current_id
    again, _engine = seeing_window(make_window)
    again.chat.select(conversation)
    widget = again.window.chat_view.widgets[question.id]
    assert [t.image.data for t in widget.images.thumbs] == [image.data for image in sent]
    wait_thumbnails(qtbot, again)
    # Both fit the 160-pixel square as they are: shown at their own size, never enlarged.
    assert [t.label.pixmap().size().toTuple() for t in widget.images.thumbs] == [
        (120, 80),
        (90, 140),
    ]


def test_images_alone_can_be_sent(
    qtbot: QtBot, make_window: MakeWindow, pictures: list[Path]
) -> None:
    win, engine = seeing_window(make_window)
    load_fake(qtbot, win, "seeing-model", SEEING, vision=True)
    drop_files(win.window.chat_view.viewport(), pictures[:1])
    wait_images(qtbot, win, 1)
    qtbot.mouseClick(win.window.composer.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not win.chat.busy and len(win.chat.messages()) == 2, timeout=WAIT)
    assert len(win.chat.messages()[0].images) == 1
    assert engine.requests[-1][-1]["images"]


def test_clicking_a_thumbnail_opens_the_viewer_and_esc_closes_it(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    tall = write_picture(tmp_path / "tall.png", (600, 3000), (120, 60, 160))
    win = make_window()
    drop_files(win.window.chat_view.viewport(), [tall])
    wait_images(qtbot, win, 1)
    strip = win.window.composer.image_strip
    qtbot.mouseClick(strip.thumbs[0], Qt.MouseButton.LeftButton)
    viewer = strip.viewer
    assert viewer is not None
    qtbot.waitExposed(viewer)
    screen = viewer.screen().availableGeometry()
    picture = viewer.picture.pixmap()
    assert picture.height() <= screen.height() and picture.width() <= screen.width()
    # Shown whole (the image was scaled to 2048 tall when prepared), in its shape.
    assert picture.width() / picture.height() == pytest.approx(600 / 3000, rel=0.05)
    assert "tall.png" in viewer.caption.text() and "× 2048" in viewer.caption.text()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not viewer.isVisible(), timeout=WAIT)


def test_a_text_only_model_keeps_text_and_images_and_offers_the_seeing_ones(
    qtbot: QtBot, make_window: MakeWindow, pictures: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.catalog.library import ModelEntry

    win, engine = seeing_window(make_window)
    seeing = ModelEntry(name="seeing-model", kind="chat", path=SEEING, size_bytes=1)
    seeing.vision, seeing.mmproj = True, "/models/mmproj-seeing.gguf"
    text_only = ModelEntry(name="text-model", kind="chat", path="/models/text.gguf", size_bytes=1)
    monkeypatch.setattr(win.models, "chat_models", lambda: [text_only, seeing])
    load_fake(qtbot, win, "text-model", "/models/text.gguf", vision=False)
    composer = win.window.composer
    drop_files(win.window.chat_view.viewport(), pictures)
    wait_images(qtbot, win, 2)
    qtbot.keyClicks(composer.edit, "Describe them")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    # Nothing sent, nothing lost.
    assert win.chat.messages() == [] and engine.requests == []
    assert composer.text() == "Describe them" and names(win) == ["red.png", "photo.jpg"]
    offer = win.window.vision_offer
    assert offer.isVisible()
    assert "text-model reads text only" in offer.label.text()
    assert [b.text() for b in offer.buttons] == ["seeing-model"]
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT):
        qtbot.mouseClick(offer.buttons[0], Qt.MouseButton.LeftButton)
    assert not offer.isVisible() and engine.loaded_vision
    qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not win.chat.busy and len(win.chat.messages()) == 2, timeout=WAIT)
    assert len(win.chat.messages()[0].images) == 2


def test_no_seeing_model_installed_offers_the_model_manager(
    qtbot: QtBot, make_window: MakeWindow, pictures: list[Path]
) -> None:
    win = make_window()
    load_fake(qtbot, win, "fake-model", "/models/fake-model.gguf", vision=False)
    drop_files(win.window.chat_view.viewport(), pictures[:1])
    wait_images(qtbot, win, 1)
    qtbot.keyClicks(win.window.composer.edit, "hi")
    qtbot.keyClick(win.window.composer.edit, Qt.Key.Key_Return)
    offer = win.window.vision_offer
    assert offer.isVisible() and "No model that can see images" in offer.label.text()
    opened: list[bool] = []
    offer.models_requested.connect(lambda: opened.append(True))
    offer.buttons[0].click()
    assert opened == [True]
    for widget in QApplication.topLevelWidgets():  # the model manager it opened
        if widget.windowTitle() == "Models":
            widget.close()


def test_the_engine_turning_images_down_gives_them_back(
    qtbot: QtBot, make_window: MakeWindow, pictures: list[Path]
) -> None:
    """The engine has the last word (a projector that failed to load, say): the question
    leaves the conversation and returns to the box, with the same offer."""
    win, _engine = seeing_window(make_window, refuse=True)
    load_fake(qtbot, win, "seeing-model", SEEING, vision=True)
    drop_files(win.window.chat_view.viewport(), pictures[:1])
    wait_images(qtbot, win, 1)
    qtbot.keyClicks(win.window.composer.edit, "What is it?")
    qtbot.keyClick(win.window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(win.window.vision_offer.isVisible, timeout=WAIT)
    assert not win.chat.busy and win.chat.messages() == []
    assert win.window.composer.text() == "What is it?" and names(win) == ["red.png"]
    assert "reads text only" in win.window.vision_offer.label.text()
    assert win.window.chat_view.widgets == {}


def test_a_conversation_with_images_goes_on_in_text_with_a_text_only_model(
    qtbot: QtBot, make_window: MakeWindow, pictures: list[Path]
) -> None:
    """Switching to a model that reads text only: earlier images stay in the conversation
    (shown) but are left out of what that model reads, so text questions still work; an
    edited question keeps its images."""
    win, engine = seeing_window(make_window)
    load_fake(qtbot, win, "seeing-model", SEEING, vision=True)
    drop_files(win.window.chat_view.viewport(), pictures)
    wait_images(qtbot, win, 2)
    composer = win.window.composer
    qtbot.keyClicks(composer.edit, "Compare them")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.chat.busy and len(win.chat.messages()) == 2, timeout=WAIT)
    question = win.chat.messages()[0]
    # Edit and resend: the question keeps its images.
    qtbot.mouseClick(
        win.window.chat_view.widgets[question.id].edit_button, Qt.MouseButton.LeftButton
    )
    composer.edit.selectAll()
    qtbot.keyClicks(composer.edit, "Compare their colours")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.chat.busy and len(win.chat.messages()) == 2, timeout=WAIT)
    edited = win.chat.messages()[0]
    assert edited.content == "Compare their colours" and edited.images == question.images
    assert len(engine.requests[-1][-1]["images"]) == 2
    load_fake(qtbot, win, "text-model", "/models/text.gguf", vision=False)
    qtbot.keyClicks(composer.edit, "Summarise what you said")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.chat.busy and len(win.chat.messages()) == 4, timeout=WAIT)
    assert not any("images" in message for message in engine.requests[-1])
    assert win.chat.messages()[-1].status == "complete"
    assert not win.window.vision_offer.isVisible()
    assert len(win.window.chat_view.widgets[edited.id].images.thumbs) == 2
