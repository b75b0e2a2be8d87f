"""Screenshots of a conversation with images, light and dark, written to
assets/screenshots/: the real window and the real engine with the tiny vision pair. No
real vision model can be downloaded where these are taken, so the reply is the tiny
pair's: random weights, words that mean nothing; everything around it is real."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QLinearGradient, QPainter, QPolygonF
from pytestqt.qtbot import QtBot

from app.core.paths import app_paths
from app.core.settings import load_settings, save_settings
from app.engine.client import EngineClient
from tests.fixtures.vision_gguf import VisionPair
from tests.gui.conftest import MakeWindow
from tests.gui.vision_helpers import WAIT, drop_files, wait_images, wait_thumbnails

LOAD_MS = 120_000

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "screenshots"
SHOTS = Path(os.environ.get("HEARTH_SHOTS") or ASSETS)


def sunset(path: Path) -> Path:
    """A photo-like picture: a sky gradient, the sun and a ridge."""
    image = QImage(1600, 1000, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    sky = QLinearGradient(0, 0, 0, 1000)
    sky.setColorAt(0.0, QColor("#2b1e5c"))
    sky.setColorAt(0.55, QColor("#e8743b"))
    sky.setColorAt(1.0, QColor("#f9c66b"))
    painter.fillRect(image.rect(), sky)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#ffe29a"))
    painter.drawEllipse(QPointF(480, 640), 110, 110)
    painter.setBrush(QColor("#1d1a2b"))
    ridge = [(0, 1000), (0, 720), (260, 600), (520, 760), (820, 540), (1120, 700)]
    ridge += [(1380, 580), (1600, 690), (1600, 1000)]
    painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in ridge]))
    painter.end()
    assert image.save(str(path), "JPEG", 90)
    return path


def error_dialog(path: Path) -> Path:
    """A screenshot-like picture: an error dialog with its text."""
    image = QImage(900, 380, QImage.Format.Format_RGB32)
    image.fill(QColor("#f3f4f6"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.fillRect(QRectF(0, 0, 900, 56), QColor("#d1d5db"))
    font = QFont("DejaVu Sans")
    font.setPixelSize(24)
    painter.setFont(font)
    painter.setPen(QColor("#111827"))
    painter.drawText(QRectF(24, 0, 800, 56), Qt.AlignmentFlag.AlignVCenter, "Open file")
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#dc2626"))
    painter.drawEllipse(QPointF(80, 150), 36, 36)
    painter.setPen(QColor("white"))
    font.setPixelSize(44)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(QRectF(44, 114, 72, 72), Qt.AlignmentFlag.AlignCenter, "!")
    font.setPixelSize(26)
    painter.setFont(font)
    painter.setPen(QColor("#111827"))
    painter.drawText(QRectF(140, 112, 740, 40), Qt.AlignmentFlag.AlignLeft, "Permission denied")
    font.setBold(False)
    font.setPixelSize(22)
    painter.setFont(font)
    painter.drawText(
        QRectF(140, 160, 720, 90),
        int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap),
        "Could not open 'report.pdf': you do not have permission to read this file.",
    )
    painter.setBrush(QColor("#2563eb"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(QRectF(740, 290, 120, 50), 8, 8)
    painter.setPen(QColor("white"))
    painter.drawText(QRectF(740, 290, 120, 50), Qt.AlignmentFlag.AlignCenter, "OK")
    painter.end()
    assert image.save(str(path), "PNG")
    return path


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshot_of_a_conversation_with_images(
    qtbot: QtBot, make_window: MakeWindow, vision_pair: VisionPair, tmp_path: Path, theme: str
) -> None:
    paths = app_paths()
    settings = load_settings(paths)
    settings.extra["theme"] = theme
    save_settings(paths, settings)
    folder = tmp_path / "models"
    folder.mkdir()
    model = Path(shutil.copy2(vision_pair.model, folder / vision_pair.model.name))
    shutil.copy2(vision_pair.mmproj, folder / vision_pair.mmproj.name)
    win = make_window(backend_factory=EngineClient)
    win.window.resize(1180, 820)
    assert win.models.import_file(model) is not None
    entry = next(e for e in win.models.chat_models() if e.path == str(model))
    assert entry.vision
    win.chat.new_conversation()
    win.chat.update_settings({"max_tokens": 24, "temperature": 0.0, "n_ctx": 1024})
    with qtbot.waitSignal(win.models.model_ready, timeout=LOAD_MS):
        win.window.load_model(entry)
    win.window.refresh_models()
    pictures = [error_dialog(tmp_path / "error.png"), sunset(tmp_path / "sunset.jpg")]
    drop_files(win.window.chat_view.viewport(), pictures)
    wait_images(qtbot, win, 2)
    composer = win.window.composer
    qtbot.keyClicks(composer.edit, "What does this error say? And where was the photo taken?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.chat.busy and len(win.chat.messages()) == 2, timeout=LOAD_MS)
    assert win.chat.messages()[1].status == "complete"
    # The next question being written, with a picture attached.
    drop_files(composer.edit, [sunset(tmp_path / "ridge.jpg")])
    wait_images(qtbot, win, 1)
    qtbot.keyClicks(composer.edit, "Is this the same ridge?")
    wait_thumbnails(qtbot, win)
    qtbot.wait(300)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"vision-{theme}.png"
    assert win.window.grab().save(str(path))
    assert path.stat().st_size > 20_000
    # The viewer, to look at (not kept in the assets).
    question = win.chat.messages()[0]
    row = win.window.chat_view.widgets[question.id].images
    viewer = row.open_viewer(1)
    qtbot.waitExposed(viewer)
    scratch = Path(os.environ.get("HEARTH_SHOTS") or tmp_path)
    assert viewer.grab().save(str(scratch / f"vision-viewer-{theme}.png"))
    viewer.close()


def test_screenshot_of_the_refusal_and_a_damaged_image(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    """A text-only model, an image it cannot take and one that cannot be read: the offer
    above the box and the sentence under the strip (to look at; not kept in the assets)."""
    from tests.gui.vision_helpers import load_fake

    win = make_window()
    win.window.resize(1180, 820)
    load_fake(qtbot, win, "SmolLM2-360M-Instruct", "/models/smol.gguf", vision=False)
    broken = tmp_path / "scan.png"
    broken.write_bytes(error_dialog(tmp_path / "whole.png").read_bytes()[:200])
    drop_files(win.window.chat_view.viewport(), [error_dialog(tmp_path / "error.png"), broken])
    wait_images(qtbot, win, 1)
    composer = win.window.composer
    qtbot.waitUntil(composer.image_status.isVisible, timeout=WAIT)
    qtbot.keyClicks(composer.edit, "What does this error say?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert win.window.vision_offer.isVisible()
    wait_thumbnails(qtbot, win)
    qtbot.wait(300)
    scratch = Path(os.environ.get("HEARTH_SHOTS") or tmp_path)
    scratch.mkdir(parents=True, exist_ok=True)
    assert win.window.grab().save(str(scratch / "vision-refusal.png"))
