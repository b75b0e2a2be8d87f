"""The real Hearth window, offscreen, driven as a user would (fake engine: fast)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from pytestqt.qtbot import QtBot

from app.ui.launch import Window
from tests.fakes.fake_engine import DEFAULT_REPLY, FakeEngineClient
from tests.fixtures.models import write_random, write_tiny_gguf
from tests.gui.conftest import MakeWindow

WAIT = 10_000


def ready(qtbot: QtBot, win: Window, path: str = "/models/fake-model.gguf") -> None:
    """Load a (fake) model through the window and wait for its plan to show."""
    from app.catalog.library import ModelEntry

    entry = ModelEntry(name="fake-model", kind="chat", path=path, size_bytes=1)
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT):
        win.window.load_model(entry)
    assert "fake plan" in win.window.header.plan.text()


def type_and_send(qtbot: QtBot, win: Window, text: str) -> None:
    composer = win.window.composer.edit
    composer.setFocus()
    qtbot.keyClicks(composer, text)
    qtbot.keyClick(composer, Qt.Key.Key_Return)


def wait_reply(qtbot: QtBot, win: Window) -> None:
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT)


def test_send_streams_a_reply_and_stores_it(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window(token_delay=0.01)
    ready(qtbot, win)
    deltas: list[str] = []
    win.chat.reply_delta.connect(lambda _mid, text: deltas.append(text))
    type_and_send(qtbot, win, "Show me code")
    assert win.window.composer.text() == "", "the box empties on send"
    qtbot.waitUntil(win.window.composer.stop_button.isVisible, timeout=WAIT)
    wait_reply(qtbot, win)
    assert len(deltas) >= 3
    messages = win.chat.messages()
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].content == "Show me code" and messages[1].content == DEFAULT_REPLY
    assert messages[1].status == "complete" and messages[1].stats["tokens_per_s"] == 42.0
    widget = win.window.chat_view.widgets[messages[1].id]
    assert "print" in widget.body.toPlainText() and "Copy" in widget.body.toPlainText()
    assert "tok/s" in widget.footer.text() and "first token" in widget.footer.text()
    assert win.window.composer.send_button.isVisible()
    # The conversation got its title from the first message.
    assert win.chat.store.get_conversation(win.chat.current_id).title == "Show me code"


def test_shift_enter_adds_a_line_instead_of_sending(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    ready(qtbot, win)
    composer = win.window.composer.edit
    qtbot.keyClicks(composer, "line one")
    qtbot.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer, "line two")
    assert win.window.composer.text() == "line one\nline two"
    assert win.chat.messages() == []


def test_copy_button_copies_the_code_block(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    ready(qtbot, win)
    type_and_send(qtbot, win, "code please")
    wait_reply(qtbot, win)
    reply = win.chat.messages()[-1]
    widget = win.window.chat_view.widgets[reply.id]
    with qtbot.waitSignal(widget.code_copied, timeout=WAIT):
        widget.body.anchorClicked.emit(QUrl("copy:0"))
    assert QGuiApplication.clipboard().text() == "print('hello')\n"


def test_escape_stops_the_reply_and_keeps_what_was_said(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    win = make_window(reply=" ".join(f"word{i}" for i in range(400)), token_delay=0.02)
    ready(qtbot, win)
    type_and_send(qtbot, win, "Talk a lot")
    qtbot.waitUntil(
        lambda: len(win.chat.store.get_messages(win.chat.current_id)) == 2, timeout=WAIT
    )
    seen: list[str] = []
    win.chat.reply_delta.connect(lambda _mid, text: seen.append(text))
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=WAIT)
    qtbot.keyClick(win.window.composer.edit, Qt.Key.Key_Escape)
    wait_reply(qtbot, win)
    reply = win.chat.messages()[-1]
    assert reply.status == "stopped"
    assert reply.content.startswith("word0 word1 word2")
    assert len(reply.content.split()) < 400
    assert "stopped" in win.window.chat_view.widgets[reply.id].footer.text()


def test_regenerate_replaces_the_last_reply(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    ready(qtbot, win)
    type_and_send(qtbot, win, "Hi")
    wait_reply(qtbot, win)
    first = win.chat.messages()[-1]
    widget = win.window.chat_view.widgets[first.id]
    qtbot.mouseClick(widget.regenerate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.chat.busy or win.chat.messages()[-1].id != first.id, timeout=WAIT)
    wait_reply(qtbot, win)
    messages = win.chat.messages()
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[-1].id != first.id and "(take 2)" in messages[-1].content


def test_edit_and_resend_drops_what_followed(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    ready(qtbot, win)
    type_and_send(qtbot, win, "First question")
    wait_reply(qtbot, win)
    type_and_send(qtbot, win, "Second question")
    wait_reply(qtbot, win)
    first_user = win.chat.messages()[0]
    widget = win.window.chat_view.widgets[first_user.id]
    qtbot.mouseClick(widget.edit_button, Qt.MouseButton.LeftButton)
    composer = win.window.composer
    assert composer.text() == "First question" and composer.editing_label.isVisible()
    composer.edit.selectAll()
    qtbot.keyClicks(composer.edit, "Edited question")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not composer.editing_label.isVisible(), timeout=WAIT)
    wait_reply(qtbot, win)
    messages = win.chat.messages()
    assert [(m.role, m.content.split(" (")[0]) for m in messages][:1] == [
        ("user", "Edited question")
    ]
    assert len(messages) == 2
    engine = win.engine.backend
    assert isinstance(engine, FakeEngineClient)
    assert engine.requests[-1] == [{"role": "user", "content": "Edited question"}]


def test_search_finds_messages_across_conversations(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    ready(qtbot, win)
    type_and_send(qtbot, win, "Tell me about pelicans")
    wait_reply(qtbot, win)
    pelican_id = win.chat.current_id
    qtbot.keyClick(win.window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert win.chat.current_id != pelican_id
    type_and_send(qtbot, win, "Tell me about volcanoes")
    wait_reply(qtbot, win)
    qtbot.keyClicks(win.window.sidebar.search, "pelican")
    results = win.window.sidebar.list
    assert results.count() == 1 and "pelicans" in results.item(0).text()
    results.itemClicked.emit(results.item(0))
    assert win.chat.current_id == pelican_id
    win.window.sidebar.search.clear()
    assert len(win.window.sidebar.conversation_ids()) == 2


def test_preset_sets_the_system_prompt_sent_to_the_model(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    win = make_window()
    ready(qtbot, win)
    header = win.window.header
    win.chat.new_conversation()
    presets = win.chat.store.list_presets()
    assert presets, "built-in presets exist"
    header.presets.setCurrentIndex(1)
    header.presets.activated.emit(1)
    type_and_send(qtbot, win, "Hello")
    wait_reply(qtbot, win)
    engine = win.engine.backend
    assert isinstance(engine, FakeEngineClient)
    assert engine.requests[-1][0] == {"role": "system", "content": presets[0].system_prompt}
    assert win.chat.settings()["preset"] == presets[0].name


def test_delete_conversation(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    ready(qtbot, win)
    type_and_send(qtbot, win, "Keep me")
    wait_reply(qtbot, win)
    keep = win.chat.current_id
    win.chat.new_conversation()
    type_and_send(qtbot, win, "Delete me")
    wait_reply(qtbot, win)
    doomed = win.chat.current_id
    win.window.sidebar.delete_requested.emit(doomed)
    ids = [c.id for c in win.chat.store.list_conversations()]
    assert ids == [keep] and win.chat.current_id == keep
    assert win.window.sidebar.conversation_ids() == [keep]


def drop_file(win: Window, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    win.window.dropEvent(event)


def test_drag_and_drop_imports_a_gguf(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    win = make_window()
    model = write_tiny_gguf(tmp_path / "dropped-model.gguf")
    drop_file(win, model)
    names = [e.name for e in win.models.chat_models()]
    assert "dropped-model" in names
    combo = win.window.header.models
    assert any("dropped-model" in combo.itemText(i) for i in range(combo.count()))
    assert "Added dropped-model" in win.window.notice_banner.label.text()
    assert model.exists(), "imported in place, never moved"


def test_dropping_a_broken_file_shows_an_error(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    win = make_window()
    drop_file(win, write_random(tmp_path / "broken.gguf"))
    assert win.window.error_banner.isVisible()
    assert "not a GGUF" in win.window.error_banner.label.text()
    assert "broken" not in [e.name for e in win.models.chat_models()]


def test_engine_crash_is_shown_and_the_window_keeps_working(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    win = make_window(crash_after=2, token_delay=0.01)
    ready(qtbot, win)
    type_and_send(qtbot, win, "Crash please")
    wait_reply(qtbot, win)
    assert win.window.error_banner.isVisible()
    assert "stopped unexpectedly" in win.window.error_banner.label.text()
    crashed = win.chat.messages()[-1]
    assert crashed.status == "error" and crashed.content, "the partial reply is kept"
    type_and_send(qtbot, win, "Again")
    wait_reply(qtbot, win)
    assert win.chat.messages()[-1].status == "complete"
    assert not win.window.error_banner.isVisible()


def test_sending_without_a_model_says_what_to_do(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    type_and_send(qtbot, win, "Hello?")
    assert "No model is loaded" in win.window.error_banner.label.text()
    assert win.window.composer.text() == "Hello?", "the text is not lost"
    assert win.chat.messages() == []


def test_conversation_settings_are_remembered(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    ready(qtbot, win)
    win.chat.new_conversation()
    dialog = win.window.open_conversation_settings()
    dialog.temperature.setValue(0.3)  # type: ignore[attr-defined]
    dialog.seed.setText("77")  # type: ignore[attr-defined]
    dialog.system.setPlainText("Answer in French.")  # type: ignore[attr-defined]
    dialog.accept()
    settings = win.chat.settings()
    assert settings["temperature"] == 0.3 and settings["seed"] == 77
    assert win.chat.system_prompt() == "Answer in French."
    other = win.chat.current_id
    win.chat.new_conversation()
    assert win.chat.settings()["temperature"] == 0.8
    win.chat.select(other)
    assert win.chat.settings()["temperature"] == 0.3


def test_simplified_chinese_interface(qtbot: QtBot, make_window: MakeWindow) -> None:
    from app.core.paths import app_paths
    from app.core.settings import load_settings, save_settings

    paths = app_paths().ensure()
    settings = load_settings(paths)
    settings.extra["language"] = "zh_CN"
    save_settings(paths, settings)
    win = make_window()
    try:
        assert win.window.sidebar.new_button.text() == "新对话"
        assert win.window.composer.send_button.text() == "发送"
        assert win.window.header.models_button.text() == "模型"
    finally:
        from PySide6.QtCore import QCoreApplication, QTranslator

        for translator in QCoreApplication.instance().findChildren(QTranslator):
            QCoreApplication.removeTranslator(translator)
            translator.deleteLater()


def test_first_run_guide_downloads_a_model_that_fits(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path, tmp_path: Path, online_env: None
) -> None:
    from app.catalog.catalog import for_machine
    from app.catalog.hub import HubClient
    from app.engine.hardware import probe_hardware
    from tests.hubserver import HubServer

    first = for_machine(probe_hardware()).chat[0]
    with HubServer() as hub:
        hub.add_repo(
            first.repo,
            {first.file: smol_model, "README.md": b"# model\n"},
            workdir=tmp_path,
            tags=["gguf"],
        )
        client = HubClient(endpoint=hub.endpoint, token=False, offline=False)
        win = make_window(hub=client)
        # A machine without the starter set: remove it from the library.
        for entry in win.models.chat_models():
            win.models.delete(entry)
        guide = win.window.first_run
        assert guide.isVisible() and not win.window.chat_view.isVisible()
        qtbot.waitUntil(lambda: len(guide.buttons) > 0, timeout=WAIT)
        with qtbot.waitSignal(win.models.model_ready, timeout=60_000):
            qtbot.mouseClick(guide.buttons[0], Qt.MouseButton.LeftButton)
        assert not guide.isVisible() and win.window.chat_view.isVisible()
        names = [Path(e.path).name for e in win.models.chat_models()]
        assert first.file in names
        assert win.models.current is not None and Path(win.models.current.path).name == first.file


def test_export_conversation(qtbot: QtBot, make_window: MakeWindow, tmp_path: Path) -> None:
    import json

    win = make_window()
    ready(qtbot, win)
    type_and_send(qtbot, win, "Export me")
    wait_reply(qtbot, win)
    win.window.export_conversation(win.chat.current_id, str(tmp_path / "chat.md"))
    win.window.export_conversation(win.chat.current_id, str(tmp_path / "chat.json"))
    markdown = (tmp_path / "chat.md").read_text()
    assert "Export me" in markdown and "print('hello')" in markdown
    data = json.loads((tmp_path / "chat.json").read_text())
    assert data["format"] == "hearth.conversation"
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]


def test_system_prompt_saved_as_a_preset(qtbot: QtBot, make_window: MakeWindow) -> None:
    win = make_window()
    win.chat.new_conversation()
    dialog = win.window.open_conversation_settings()
    dialog.system.setPlainText("Answer like a pirate.")  # type: ignore[attr-defined]
    dialog.preset_name.setText("Pirate")  # type: ignore[attr-defined]
    dialog.accept()
    presets = {p.name: p.system_prompt for p in win.chat.store.list_presets()}
    assert presets["Pirate"] == "Answer like a pirate."
    combo = win.window.header.presets
    assert combo.currentText() == "Pirate"
