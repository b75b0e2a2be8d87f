"""Images in the window over the real engine: the tiny vision pair (random weights) and
the starter model, which reads text only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.engine.client import EngineClient
from app.services.types import ModelEntry
from app.ui.launch import Window
from tests.fixtures.vision_gguf import VisionPair
from tests.gui.conftest import MakeWindow
from tests.gui.vision_helpers import drop_files, wait_images, write_picture

pytestmark = pytest.mark.slow

LOAD_MS = 120_000


def installed_pair(win: Window, pair: VisionPair, folder: Path) -> ModelEntry:
    folder.mkdir(parents=True, exist_ok=True)
    model = Path(shutil.copy2(pair.model, folder / pair.model.name))
    shutil.copy2(pair.mmproj, folder / pair.mmproj.name)
    assert win.models.import_file(model) is not None
    entry = next(e for e in win.models.chat_models() if e.path == str(model))
    assert entry.vision
    return entry


def load(qtbot: QtBot, win: Window, entry: ModelEntry) -> None:
    with qtbot.waitSignal(win.models.model_ready, timeout=LOAD_MS):
        win.window.load_model(entry)


def ask(qtbot: QtBot, win: Window, text: str) -> None:
    count = len(win.chat.messages())
    composer = win.window.composer
    qtbot.keyClicks(composer.edit, text)
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: not win.chat.busy and len(win.chat.messages()) == count + 2, timeout=LOAD_MS
    )


def test_an_image_goes_to_the_vision_model_and_the_prompt_grows_by_its_tokens(
    qtbot: QtBot, make_window: MakeWindow, vision_pair: VisionPair, tmp_path: Path
) -> None:
    win = make_window(backend_factory=EngineClient)
    entry = installed_pair(win, vision_pair, tmp_path / "models")
    win.chat.new_conversation()
    win.chat.update_settings({"max_tokens": 4, "temperature": 0.0, "n_ctx": 1024})
    load(qtbot, win, entry)
    assert win.models.loaded is not None and win.models.loaded.vision
    assert win.chat.model_vision is True
    # The same question without, then with, a 512x512 picture.
    ask(qtbot, win, "What is in this picture?")
    plain = win.chat.messages()[-1]
    assert plain.status == "complete", plain.stats
    win.chat.new_conversation()
    win.chat.update_settings({"max_tokens": 4, "temperature": 0.0, "n_ctx": 1024})
    picture = write_picture(tmp_path / "square.png", (512, 512), (200, 60, 20))
    drop_files(win.window.chat_view.viewport(), [picture])
    wait_images(qtbot, win, 1)
    ask(qtbot, win, "What is in this picture?")
    question, reply = win.chat.messages()
    assert reply.status == "complete", reply.stats
    grown = reply.stats["prompt_tokens"] - plain.stats["prompt_tokens"]
    # The projector's image tokens, and at most the line break that follows an image.
    assert vision_pair.image_tokens <= grown <= vision_pair.image_tokens + 2
    [sha] = question.images
    assert win.chat.store.image(sha).width == 512
    widget = win.window.chat_view.widgets[question.id]
    assert len(widget.images.thumbs) == 1
    # A follow-up about it: the image goes again with its question.
    ask(qtbot, win, "And its colour?")
    follow = win.chat.messages()[-1]
    assert follow.status == "complete", follow.stats
    # The whole earlier prompt, its image tokens included, and the reply come first in
    # the new one (without the image it would hold 64 tokens fewer than that).
    earlier = reply.stats["prompt_tokens"] + reply.stats["completion_tokens"]
    assert follow.stats["prompt_tokens"] > earlier


def test_the_starter_reads_text_only_and_the_window_switches_to_the_model_that_sees(
    qtbot: QtBot,
    make_window: MakeWindow,
    vision_pair: VisionPair,
    smol_model: Path,
    tmp_path: Path,
) -> None:
    win = make_window(backend_factory=EngineClient)
    seeing = installed_pair(win, vision_pair, tmp_path / "models")
    starter = next(e for e in win.models.chat_models() if e.path == str(smol_model))
    win.chat.new_conversation()
    win.chat.update_settings({"max_tokens": 4, "temperature": 0.0, "n_ctx": 1024})
    load(qtbot, win, starter)
    assert win.chat.model_vision is False
    picture = write_picture(tmp_path / "square.png", (300, 200), (20, 60, 200))
    drop_files(win.window.chat_view.viewport(), [picture])
    wait_images(qtbot, win, 1)
    composer = win.window.composer
    qtbot.keyClicks(composer.edit, "What is this?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    offer = win.window.vision_offer
    assert offer.isVisible() and "reads text only" in offer.label.text()
    assert [b.text() for b in offer.buttons] == [seeing.name]
    assert composer.text() == "What is this?" and len(composer.attachments) == 1
    assert win.chat.messages() == []
    with qtbot.waitSignal(win.models.model_ready, timeout=LOAD_MS):
        offer.buttons[0].click()
    assert win.chat.model_vision is True and not offer.isVisible()
    qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not win.chat.busy and len(win.chat.messages()) == 2, timeout=LOAD_MS)
    question, reply = win.chat.messages()
    assert reply.status == "complete" and len(question.images) == 1
    assert reply.model == seeing.name
