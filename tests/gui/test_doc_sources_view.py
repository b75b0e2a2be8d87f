"""The references under an answer, on their own (no model): their states, a citation
in the answer that opens its passage, a passage whose file is gone, and labels."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

from app.services.types import StoredMessage
from app.ui.message_widget import MessageWidget
from app.ui.sources_view import SourcesView, link_citations, source_label


def answer(sources: list[dict[str, Any]] | None, content: str = "Yes [1].") -> StoredMessage:
    return StoredMessage(
        id=7,
        conversation_id=1,
        role="assistant",
        content=content,
        created_at=0.0,
        status="complete",
        model="m",
        stats=None,
        params=None,
        sources=sources,
    )


def source(path: Path, n: int = 1, page: int | None = 2) -> dict[str, Any]:
    return {
        "n": n,
        "path": str(path),
        "page": page,
        "heading": "Pets",
        "text": "The tenant may keep one cat or one small dog in the flat.",
        "collection": "Lease",
    }


def test_states_searching_found_nothing_hidden(qtbot: QtBot, tmp_path: Path) -> None:
    view = SourcesView()
    qtbot.addWidget(view)
    assert view.state == "hidden" and view.isHidden()
    view.set_searching()
    assert view.state == "searching" and "Searching your documents" in view.title.text()
    view.set_sources([source(tmp_path / "lease.pdf"), source(tmp_path / "notes.md", 2, None)])
    assert view.state == "found" and view.numbers() == [1, 2]
    assert [b.text() for b in view.buttons] == [
        "[1]  lease.pdf, page 2 — Pets",
        "[2]  notes.md — Pets",
    ]
    assert "one small dog" in view.buttons[0].toolTip()
    view.set_sources([])
    assert view.state == "nothing" and view.buttons == []
    assert "Nothing relevant was found" in view.title.text()
    view.set_sources(None)
    assert view.state == "hidden"


def test_a_citation_in_the_answer_opens_its_passage(qtbot: QtBot, tmp_path: Path) -> None:
    lease = tmp_path / "lease.pdf"
    lease.write_bytes(b"%PDF-1.4\n")
    widget = MessageWidget(answer([source(lease)], "One small dog [1], not [4]."), dark=False)
    qtbot.addWidget(widget)
    html = widget.body.toHtml()
    assert 'href="source:1"' in html and "source:4" not in html
    widget.body.anchorClicked.emit(QUrl("source:1"))
    dialog = widget.sources.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.passage.toPlainText().startswith("The tenant may keep")
    assert dialog.open_button.isEnabled() and dialog.status.text() == ""
    dialog.close()


def test_a_passage_whose_file_is_gone_says_so(qtbot: QtBot, tmp_path: Path) -> None:
    view = SourcesView()
    qtbot.addWidget(view)
    view.set_sources([source(tmp_path / "moved.pdf")])
    dialog = view.show_passage(view.sources[0])  # type: ignore[index]
    assert not dialog.open_button.isEnabled()
    assert "no longer there" in dialog.status.text()
    assert "one small dog" in dialog.passage.toPlainText()  # still readable
    dialog.close()


def test_a_user_message_or_a_plain_answer_has_no_references(qtbot: QtBot) -> None:
    widget = MessageWidget(answer(None), dark=True)
    qtbot.addWidget(widget)
    assert widget.sources.state == "hidden"
    assert "source:" not in widget.body.toHtml()


def test_citations_are_linked_outside_code_only() -> None:
    html = "<p>Yes [1], see [2] and [9].</p><pre>x = a[1]</pre>"
    linked = link_citations(html, [1, 2], "#00f")
    assert linked.count('href="source:1"') == 1 and linked.count('href="source:2"') == 1
    assert "[9]" in linked and "source:9" not in linked
    assert "<pre>x = a[1]</pre>" in linked
    assert source_label({"path": "/x/a.md", "page": None, "heading": ""}) == "a.md"
