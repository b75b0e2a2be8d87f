"""Documents in a conversation, in the window, over the real engine, the starter chat
model and the real starter embedding model: a collection attached from the Documents
menu, the question grounded off the GUI thread, numbered references under the answer,
a reference's passage with "Open file", "nothing relevant" on the message, a file
dropped onto the conversation, the references after a reload, and a spoken turn's
question grounded in the history the voice loop reads."""

from __future__ import annotations

import os
import stat
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QObject, QPointF, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.engine.client import EngineClient
from app.ui.launch import Window, default_chat_model
from app.ui.sources_view import PassageDialog
from tests.docs.documents import write_lease_pdf, write_markdown
from tests.gui.conftest import MakeWindow

pytestmark = pytest.mark.slow

# Screenshots to look at: $HEARTH_SHOTS, else a folder in the temporary directory.
SHOTS = Path(os.environ.get("HEARTH_SHOTS") or Path(tempfile.gettempdir()) / "hearth-shots")
WAIT_MS = 180_000
LEASE = "Lease"


def loaded_window(qtbot: QtBot, make_window: MakeWindow) -> Window:
    from app.context import open_app_context

    win = make_window(backend_factory=EngineClient)
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    win.chat.new_conversation()
    win.chat.update_settings({"max_tokens": 40, "temperature": 0.0, "n_ctx": 2048})
    with qtbot.waitSignal(win.models.model_ready, timeout=WAIT_MS):
        win.window.load_model(entry)
    win.window.resize(1000, 760)
    return win


def index_lease(qtbot: QtBot, win: Window, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    write_lease_pdf(folder / "lease.pdf")
    with qtbot.waitSignal(
        win.documents.finished, timeout=WAIT_MS, check_params_cb=lambda name, _r: name == LEASE
    ):
        win.documents.add(LEASE, [folder])


def attach_from_menu(win: Window, name: str) -> None:
    """Tick ``name`` in the Documents menu, as the user does."""
    bar = win.window.documents_bar
    bar.fill_menu()
    action = next(a for a in bar.menu.actions() if a.text() == name)
    assert not action.isChecked()
    action.setChecked(True)  # toggled -> attach


def ask(qtbot: QtBot, win: Window, question: str) -> Any:
    searched: list[int] = []
    win.chat.searching.connect(searched.append)
    assert win.chat.send(question)
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    reply = win.chat.messages()[-1]
    assert reply.role == "assistant" and reply.status == "complete", reply.stats
    assert searched == [reply.id]  # the reply waited for the documents' search
    return reply


class UrlCatcher(QObject):
    """Stands in for the desktop's file opener (QDesktopServices' own handler hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def fake_viewer(folder: Path, name: str) -> Path:
    """A PDF viewer on PATH that records how it was started."""
    folder.mkdir(exist_ok=True)
    log = folder / f"{name}.args"
    script = folder / name
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{log}"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


def test_an_answer_from_an_attached_collection_shows_numbered_sources(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    win = loaded_window(qtbot, make_window)
    index_lease(qtbot, win, tmp_path / "papers")
    conversation = win.chat.current_id
    attach_from_menu(win, LEASE)
    bar = win.window.documents_bar
    assert [c.name for c in win.chat.docs.attached(conversation)] == [LEASE]
    assert LEASE in bar.summary.text() and bar.button.text() == "Documents (1)"

    # The search runs on a pool thread, never the GUI's.
    gui = threading.get_ident()
    searched_on: list[int] = []
    real_ground = win.chat.docs.ground_now

    def ground_now(question: str, names: Any) -> Any:
        searched_on.append(threading.get_ident())
        return real_ground(question, names)

    monkeypatch.setattr(win.chat.docs, "ground_now", ground_now)
    reply = ask(qtbot, win, "May I keep a cat or a dog in the flat?")
    assert searched_on and gui not in searched_on

    sources = reply.sources
    assert sources, "the lease's Pets page is relevant to the question"
    assert [s["n"] for s in sources] == list(range(1, len(sources) + 1))
    first = sources[0]
    assert (Path(first["path"]).name, first["page"], first["heading"]) == ("lease.pdf", 2, "Pets")
    assert first["collection"] == LEASE and "one small dog" in first["text"]
    # The model read the passages: the question it was given is the grounded one.
    history = win.chat.history()
    question = history[-2]
    assert question["role"] == "user"
    assert question["content"].startswith(f"Passages from the user's documents ('{LEASE}')")
    assert "[1] lease.pdf, page 2 — Pets" in question["content"]
    assert question["content"].endswith("Question: May I keep a cat or a dog in the flat?")
    assert int(reply.stats["prompt_tokens"]) > 100  # the passages went into the prompt
    assert reply.stats["documents_s"] > 0  # how long the search took, shown in the footer
    assert "searched in" in win.window.chat_view.widgets[reply.id].footer.text()
    # The stored question stays as the user typed it.
    assert win.chat.messages()[-2].content == "May I keep a cat or a dog in the flat?"

    # Numbered references under the answer.
    widget = win.window.chat_view.widgets[reply.id]
    view = widget.sources
    assert view.state == "found" and view.isVisible()
    labels = [b.text() for b in view.buttons]
    assert labels[0] == "[1]  lease.pdf, page 2 — Pets"
    assert len(labels) == len(sources)
    SHOTS.mkdir(parents=True, exist_ok=True)

    # Clicking one shows the passage, with "Open file".
    view.buttons[0].click()
    dialog = view.dialog
    assert isinstance(dialog, PassageDialog) and dialog.isVisible()
    assert "one small dog" in dialog.passage.toPlainText()
    assert dialog.open_button.isEnabled()
    assert dialog.grab().save(str(SHOTS / "docs-passage.png"))

    # A PDF opens at its page in a viewer that can do so ...
    bin_dir = tmp_path / "bin"
    args_log = fake_viewer(bin_dir, "evince")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    dialog.open_button.click()
    qtbot.waitUntil(args_log.exists, timeout=10_000)
    qtbot.waitUntil(lambda: len(args_log.read_text().splitlines()) == 2, timeout=10_000)
    assert args_log.read_text().splitlines() == ["--page-index=2", first["path"]]
    # ... else the desktop's own viewer gets the file.
    monkeypatch.setenv("PATH", "/nonexistent")
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")  # type: ignore[arg-type]
    try:
        dialog.open_button.click()
        assert [u.toLocalFile() for u in catcher.urls] == [first["path"]]
    finally:
        QDesktopServices.unsetUrlHandler("file")
    dialog.close()

    # Nothing relevant: the model is told, and the message says so.
    nothing = ask(qtbot, win, "Who won the football world cup in 1998?")
    assert nothing.sources == []
    told = win.chat.history()[-2]["content"]
    assert "nothing in them is relevant" in told and "cite no document" in told
    nothing_view = win.window.chat_view.widgets[nothing.id].sources
    assert nothing_view.state == "nothing" and nothing_view.isVisible()
    assert "Nothing relevant was found" in nothing_view.title.text()
    # Both kinds of answer, as the user sees them.
    qtbot.waitUntil(nothing_view.isVisible, timeout=5_000)
    # The references and figures fit the chat's width (nothing scrolls sideways).
    assert not win.window.chat_view.horizontalScrollBar().isVisible()
    assert win.window.grab().save(str(SHOTS / "docs-answer.png"))

    # Back from another conversation: the references come from the database.
    win.chat.new_conversation()
    assert win.window.documents_bar.summary.text() == ""  # the new one reads nothing
    win.chat.select(conversation)
    reloaded = win.window.chat_view.widgets
    assert [b.text() for b in reloaded[reply.id].sources.buttons] == labels
    assert reloaded[nothing.id].sources.state == "nothing"
    question_widget = reloaded[win.chat.messages()[-4].id]
    assert question_widget.sources.state == "hidden"  # the user's message has none

    # Detached: the next question is not grounded.
    bar.fill_menu()
    next(a for a in bar.menu.actions() if a.text() == LEASE).setChecked(False)
    assert win.chat.docs.attached(conversation) == []
    assert win.chat.send("Thanks!")
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    assert win.chat.messages()[-1].sources is None
    assert win.chat.history()[-2]["content"] == "Thanks!"


def drop_files(widget: Any, paths: list[Path]) -> None:
    """Files dragged from the file manager and dropped onto ``widget`` (Qt takes a drop
    only where the drag entered)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = widget.rect().center()
    with warnings.catch_warnings():  # PySide marks the only constructor (QPoint) deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(
            point,
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier(0),
        )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(point),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier(0),
    )
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def test_a_file_dropped_onto_the_conversation_is_read_by_it_alone(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    win = loaded_window(qtbot, make_window)
    conversation = win.chat.current_id
    notes = write_markdown(tmp_path / "travel.md")
    with qtbot.waitSignal(
        win.chat.docs.indexing, timeout=WAIT_MS, check_params_cb=lambda _c, line: line == ""
    ):
        drop_files(win.window.chat_view.viewport(), [notes])
        assert "Indexing 1 file" in win.window.documents_bar.progress.text()
    own = win.chat.docs.attached(conversation)
    assert len(own) == 1 and own[0].private
    assert "Files dropped here" in win.window.documents_bar.summary.text()
    # Not one of the user's collections: other conversations cannot attach it.
    assert own[0].id not in [c.id for c in win.chat.docs.choices()]
    assert own[0].name not in [s.collection.name for s in win.documents.summaries()]

    reply = ask(qtbot, win, "When does the night train to Vienna leave?")
    assert reply.sources
    first = reply.sources[0]
    assert (Path(first["path"]).name, first["collection"]) == ("travel.md", own[0].name)
    assert "21:40" in first["text"]
    assert (
        win.window.chat_view.widgets[reply.id]
        .sources.buttons[0]
        .text()
        .startswith("[1]  travel.md")
    )

    # The private collection goes with the conversation.
    win.chat.delete(conversation)
    assert win.documents.documents.store.get_collection(own[0].name) is None


def test_a_spoken_question_is_grounded_and_its_answer_keeps_the_sources(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    """The voice loop asks its conversation for the question's prompt on its own thread,
    then hands the turn over; the history it reads next holds that question grounded.
    (The fake engine: the turn's text is handed in as the loop would.)"""
    from app.services.voice_service import ChatConversation
    from app.voice.loop import TurnResult

    win = make_window()
    index_lease(qtbot, win, tmp_path / "papers")
    win.chat.new_conversation()
    attach_from_menu(win, LEASE)
    conversation = ChatConversation(win.chat)
    question = "May I keep a small dog?"
    spoken = "Yes, one small dog is allowed."
    result = TurnResult(
        transcript=question,
        language="en",
        reply=spoken + " [1]",
        spoken=spoken,
        sentences=(spoken,),
        finish_reason="stop",
        interrupted=False,
        speculative=False,
        ended_early=False,
        timings={},
        stages={},
        question=question,
    )
    gui = threading.get_ident()
    seen: dict[str, Any] = {}

    def loop_thread() -> None:
        seen["thread"] = threading.get_ident()
        seen["prompt"] = conversation.prompt(question)  # the loop's _begin_reply
        conversation.turn_heard(question)
        conversation.reply_delta(spoken)
        conversation.turn_finished(result)
        seen["history"] = conversation.history()  # before the next turn

    thread = threading.Thread(target=loop_thread)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=WAIT_MS)
    assert seen["thread"] != gui
    prompt = seen["prompt"]
    assert prompt.startswith("Passages from the user's documents")
    assert "[1] lease.pdf, page 2 — Pets" in prompt and prompt.endswith(question)

    answer = win.chat.messages()[-1]
    assert answer.content == spoken and answer.sources
    assert answer.sources[0]["page"] == 2
    assert win.window.chat_view.widgets[answer.id].sources.state == "found"
    assert win.chat.messages()[-2].content == question  # stored as it was said
    # What the loop reads before the next turn: the last question as the model read it.
    assert seen["history"][-2:] == [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": spoken},
    ]
    # A conversation that reads no documents: the question goes as it is.
    win.chat.new_conversation()
    assert conversation.prompt("Hello there") == "Hello there"


def test_stop_while_the_documents_are_searched_ends_the_reply_there(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    win = make_window()  # the fake engine: nothing may reach it
    index_lease(qtbot, win, tmp_path / "papers")
    win.chat.new_conversation()
    attach_from_menu(win, LEASE)
    generated: list[object] = []
    win.chat.engine.delta_received.connect(lambda *args: generated.append(args))
    delivered: list[str] = []
    real_ground = win.chat.docs.ground

    def ground(question: str, names: Any, on_done: Any, on_error: Any) -> None:
        def done(grounded: Any) -> None:
            on_done(grounded)
            delivered.append("done")

        real_ground(question, names, done, on_error)

    monkeypatch.setattr(win.chat.docs, "ground", ground)
    assert win.chat.send("May I keep a cat?")
    reply_id = win.chat.messages()[-1].id
    assert win.chat.busy
    assert win.window.chat_view.widgets[reply_id].sources.state == "searching"
    win.chat.stop()  # before the search's result reaches the window
    assert not win.chat.busy
    # The search ends on its pool thread; its result reaches the window and is dropped.
    qtbot.waitUntil(lambda: delivered == ["done"], timeout=WAIT_MS)
    reply = win.chat.messages()[-1]
    assert (reply.id, reply.status, reply.sources) == (reply_id, "stopped", None)
    assert win.window.chat_view.widgets[reply_id].sources.state == "hidden"
    assert generated == [] and not win.chat.busy


def test_the_search_documents_tool_uses_the_windows_documents(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool-capable turn's search_documents reads the window's index (its embedding
    model in the document service's process), not a second copy of it."""
    import app.tools.builtin.documents as tool_module
    from tests.gui.test_tool_cards import choose_tools

    choose_tools(["search_documents"])
    win = loaded_window(qtbot, make_window)
    index_lease(qtbot, win, tmp_path / "papers")
    win.chat.tools.choice = "required"  # the model is made to call it
    given: list[Any] = []
    real = tool_module._documents

    def documents_of(context: Any) -> Any:
        given.append(context.documents)
        return real(context)

    monkeypatch.setattr(tool_module, "_documents", documents_of)
    assert win.chat.send("What does my lease say about pets?")
    qtbot.waitUntil(lambda: not win.chat.busy, timeout=WAIT_MS)
    reply = win.chat.messages()[-1]
    assert reply.tools and reply.tools[0]["name"] == "search_documents", reply.tools
    assert given and all(d is win.documents.documents for d in given)
    assert reply.sources is None  # no collection attached: the tool searched, not the turn
