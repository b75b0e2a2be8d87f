"""In the 简体中文 window, errors made below the widgets read Chinese where they are shown,
while what is stored or given to the model stays English: a document that cannot be
parsed (its index record keeps the English reason), and a tool's error (the model reads
``Error: …`` in English, the tool card shows it in Chinese)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from pytestqt.qtbot import QtBot

from app.core import i18n
from app.core.generation import GenerationParams
from app.docs.indexer import ERROR, Indexer
from app.docs.problems import STORED, shown_problem
from app.docs.store import DocStore
from app.services.doc_chat import ConversationDocuments
from app.services.document_service import DocumentService
from app.tools.agent import ToolTurn, run_turn
from app.tools.builtin.calculator import calculator_tool
from app.tools.registry import ToolContext
from app.ui.tool_card import ToolCard
from tests.gui.zh import HAN, chinese_translator
from tests.tools.test_agent import ScriptedEngine, hermes, registry_of

APP = Path(__file__).resolve().parents[2] / "app"


@pytest.fixture
def chinese(qapp: Any) -> Iterator[None]:
    """The window's translator, as launch.configure_application installs it."""
    with chinese_translator(seam=True):
        yield


class NoEmbedder:
    """Enough of an embedder for files that never reach embedding."""

    model_id = "test-embedder"
    dimensions = 4
    max_tokens = 512

    def embed(self, texts: Sequence[str], purpose: str = "document") -> NDArray[np.float32]:
        rows = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        rows[:, 0] = 1.0
        return rows

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


def test_a_document_that_fails_to_parse_reads_chinese_while_its_index_keeps_english(
    chinese: None, qtbot: QtBot, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    broken = folder / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a PDF\n")
    with DocStore(tmp_path / "docs.sqlite3") as store:
        report = Indexer(store, NoEmbedder()).add("notes", [folder])
        [problem] = [o for o in report.outcomes if o.status == ERROR]
        collection = store.get_collection("notes")
        assert collection is not None
        record = store.file(collection.id, str(broken))
        assert record is not None and record.error is not None
        # The index stores the English reason, whatever the window's language.
        assert record.error.startswith("broken.pdf is not a readable PDF"), record.error
        assert not HAN.search(record.error), record.error
        # The Documents page reads it back in the window's language.
        shown = DocumentService.shown_problem(record.error)
        assert shown == (
            "broken.pdf 不是可读取的 PDF（已损坏或不完整）；请用 PDF 阅读器打开检查，或重新导出。"
        )

    chat = ConversationDocuments(store=None)  # type: ignore[arg-type]  # index_finished needs no store
    chat._indexing["notes"] = 7  # a conversation's dropped files were being indexed
    with qtbot.waitSignal(chat.failed, timeout=5000) as shown:
        chat.index_finished("notes", report)
    [message] = shown.args
    assert message.startswith("broken.pdf：") and "PDF" in message, message
    assert "不是可读取的 PDF" in message, message
    assert not re.search(r"readable|damaged", message), message
    assert HAN.search(str(problem.message))


def test_every_stored_problem_is_a_translated_sentence_of_app_docs(chinese: None) -> None:
    from tests.gui.test_below_widgets_translations import seam_calls

    made = {
        source
        for path in (APP / "docs").glob("*.py")
        for context, source in seam_calls(path)
        if context == "Documents"
    }
    assert set(STORED) <= made, set(STORED) - made
    stored = (
        "notes.txt is 40.0 MB, more than the 30.0 MB Hearth reads for a text file; split it "
        "into smaller files."
    )
    assert shown_problem(stored) == (
        "notes.txt 大小为 40.0 MB，超过了 Hearth 对 text 文件读取的上限 30.0 MB；"
        "请将其拆分成较小的文件。"
    )
    assert shown_problem("something else happened") == "something else happened"


def test_a_tool_error_reads_chinese_in_its_card_while_the_model_reads_english(
    chinese: None, qtbot: QtBot
) -> None:
    engine = ScriptedEngine([hermes("calculator", {"expression": "1/0"}), "It cannot."])
    calc = calculator_tool()
    turn = ToolTurn([{"role": "user", "content": "1/0?"}], [calc], GenerationParams())
    outcome = run_turn(engine, turn, ToolContext(), registry=registry_of(calc))
    [record] = outcome.records
    assert record["ok"] is False and record["status"] == "error"

    # What the model reads next, and what is stored with the message: English.
    second, _params = engine.requests[1]
    assert second[-1]["role"] == "tool"
    assert second[-1]["content"] == "Error: division by zero."
    stored = json.dumps(record, ensure_ascii=False)
    assert "Error: division by zero." in stored and not HAN.search(stored), stored

    card = ToolCard(record, dark=False)
    qtbot.addWidget(card)
    assert "错误：除以零。" in card.result.text(), card.result.text()
    assert "division" not in card.result.text()
    assert "失败" in card.toggle.text(), card.toggle.text()


def test_without_the_window_s_translator_the_tool_card_and_the_document_stay_english(
    qtbot: QtBot,
) -> None:
    assert not i18n.installed()
    engine = ScriptedEngine([hermes("calculator", {"expression": "1/0"}), "It cannot."])
    calc = calculator_tool()
    turn = ToolTurn([{"role": "user", "content": "1/0?"}], [calc], GenerationParams())
    [record] = run_turn(engine, turn, ToolContext(), registry=registry_of(calc)).records
    card = ToolCard(record, dark=False)
    qtbot.addWidget(card)
    assert "Error: division by zero." in card.result.text()
