"""In the 简体中文 window, errors made below the widgets read Chinese where the user meets
them: the MCP servers page refusing a server (made in app.tools.mcp.config), a pasted
configuration that is not JSON, the Documents page when the chosen embedding model is
gone (made in app.docs.embedding_models), a tool card whose arguments break the tool's
schema (jsonschema's reason), while the model still reads jsonschema's English, and the
notice of a salvaged history (English again for the command line), and an indexing
report on the Documents page.
Without the translator the same sentences stay English."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core import i18n
from app.core.errors import ConfigError
from app.core.generation import GenerationParams
from app.core.settings import Settings
from app.docs.documents import Documents
from app.docs.embedding_models import (
    EmbeddingChoice,
    embedding_spec,
    make_embedder,
    set_configured_model,
)
from app.docs.indexer import ERROR, INDEXED, FileOutcome, IndexReport
from app.docs.store import DocStore
from app.services.document_service import DocumentService
from app.storage import notice
from app.storage.salvage_docs import SalvagedDocuments
from app.tools.agent import ToolTurn, run_turn
from app.tools.builtin.calculator import calculator_tool
from app.tools.registry import ToolContext
from app.ui.documents_page import DocumentsPage, report_text
from app.ui.mcp_settings import AddServerDialog, McpSettingsPanel, PasteConfigDialog
from app.ui.tool_card import ToolCard
from tests.gui.zh import HAN, chinese_translator
from tests.tools.test_agent import ScriptedEngine, hermes, registry_of


@pytest.fixture
def chinese(qapp: Any) -> Iterator[None]:
    """The window's translator, as launch.configure_application installs it."""
    with chinese_translator(seam=True):
        yield


@pytest.fixture
def panel(qtbot: QtBot, tmp_path: Path) -> Iterator[McpSettingsPanel]:
    page = McpSettingsPanel(tmp_path / "mcp.json")
    qtbot.addWidget(page)
    yield page
    page.manager.close()


def test_the_mcp_page_refuses_a_server_in_chinese(
    chinese: None, qtbot: QtBot, panel: McpSettingsPanel
) -> None:
    dialog = AddServerDialog(panel)
    qtbot.addWidget(dialog)
    dialog.name.setText("remote")
    dialog.target.setText("http://192.168.1.9:8000/mcp")
    dialog.save()
    assert dialog.error.text() == (
        "MCP 服务器 'remote'：192.168.1.9 不是本机，而 Hearth 离线工作；"
        "请在本地运行该服务器并使用 http://127.0.0.1:PORT/..."
    )
    assert not panel.path.exists()  # nothing was written

    dialog.name.setText("two")
    dialog.target.setText("prog")
    dialog.env.setPlainText("JUSTTEXT\n")
    dialog.save()
    assert dialog.error.text() == "'JUSTTEXT' 不是 KEY=VALUE 格式；请每行写一个变量。"

    paste = PasteConfigDialog(panel)
    qtbot.addWidget(paste)
    paste.text.setPlainText('{"mcpServers": {"x": {"command": "a",}}}')
    paste.save()
    shown = paste.error.text()
    assert shown.startswith("粘贴的配置 不是有效的 JSON（第 1 行，第 "), shown
    assert "valid" not in shown

    # A pasted server that cannot be used is listed as a problem, in Chinese.
    assert panel.paste_config(
        json.dumps({"mcpServers": {"ok": {"command": "prog"}, "bad": {"args": "x"}}})
    ) == ["ok"]
    assert panel.problems.text() == (
        'MCP 服务器 \'bad\' 需要一个 "command"（由 Hearth 启动的程序）或一个 "url"'
        "（本机上已在运行的服务器），但两者都没有。"
    )
    # The server's state in the list is Chinese too (it was made from a table of words).
    assert panel.state_of("ok") == "已停止"


def test_without_the_translator_the_mcp_page_stays_english(
    qtbot: QtBot, panel: McpSettingsPanel
) -> None:
    assert not i18n.installed()
    with pytest.raises(ConfigError) as refused:
        panel.paste_config('{"mcpServers": {"bad": {"args": "x"}}}')
    assert str(refused.value) == (
        "The pasted configuration has no MCP server Hearth can use: MCP server 'bad' needs "
        'either a "command" (a program Hearth starts) or a "url" (a server already running '
        "on this machine), and has neither."
    )


def test_a_missing_embedding_model_reads_chinese_on_the_documents_page(
    chinese: None, qtbot: QtBot, tmp_path: Path
) -> None:
    # Preferences chose a GGUF embedding model whose file has since been deleted.
    settings = Settings()
    gone = tmp_path / "models" / "bge-small-en-v1.5-q8_0.gguf"
    set_configured_model(
        settings, EmbeddingChoice("bge-small-en-v1.5", "bge-small", str(gone), "gguf")
    )
    documents = Documents(
        DocStore(tmp_path / "docs.sqlite3"),
        lambda: make_embedder(embedding_spec(settings)),
        model_id="bge-small-en-v1.5",
    )
    service = DocumentService(documents)
    page = DocumentsPage(service)
    qtbot.addWidget(page)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boiler.md").write_text("# Boiler\n\nService it every autumn.\n", encoding="utf-8")
    try:
        with qtbot.waitSignal(service.failed, timeout=60_000) as failed:
            service.add("notes", [folder])
        name, message = failed.args
        assert name == "notes"
        assert message == (
            "为文档选择的嵌入模型 'bge-small-en-v1.5' 已不再安装；请重新下载，"
            "或在“首选项 > 文档”中选择其他模型。"
        )
        assert page.error_label.text() == message
        assert "Preferences" not in message and "installed" not in message
    finally:
        service.shutdown()
        documents.close()


def test_a_schema_refusal_reads_chinese_on_the_tool_card_while_the_model_reads_english(
    chinese: None, qtbot: QtBot
) -> None:
    engine = ScriptedEngine([hermes("calculator", {"expresion": "1+1"}), "Sorry."])
    calc = calculator_tool()
    turn = ToolTurn([{"role": "user", "content": "1+1?"}], [calc], GenerationParams())
    [record] = run_turn(engine, turn, ToolContext(), registry=registry_of(calc)).records
    assert record["ok"] is False and record["status"] == "refused"

    # The model reads jsonschema's own English reason, whatever the window's language.
    second, _params = engine.requests[1]
    told = second[-1]["content"]
    assert told == (
        "Error: the arguments do not fit calculator's schema: 'expression' is a required property"
    )
    assert not HAN.search(json.dumps(record, ensure_ascii=False))

    card = ToolCard(record, dark=False)
    qtbot.addWidget(card)
    assert (
        "错误：参数不符合 calculator 的 schema：缺少必需的属性 'expression'" in card.result.text()
    )
    assert "required" not in card.result.text()


def test_a_salvaged_history_s_notice_reads_chinese_and_is_english_again_for_the_cli(
    chinese: None,
) -> None:
    found = SalvagedDocuments(collections=3, files=1, to_reindex=2, lost_collections=1)
    made = notice.salvaged(Path("/home/ann/hearth-damaged.sqlite3"), 12, 1, found)
    assert str(made) == (
        "对话数据库已损坏：Hearth 将 12 个对话和 1 条消息恢复到了新的数据库中，并将损坏的文件"
        "保存为 /home/ann/hearth-damaged.sqlite3。 文档：保留了 3 个集合，共 1 个文件；"
        "2 个文件将在下次更新时重新读取；1 个集合无法读回：请重新添加其文件。"
    )
    assert i18n.english(made.message) == (
        "The conversation database was damaged: Hearth recovered 12 conversations and 1 "
        "message into a new database and kept the damaged file as "
        "/home/ann/hearth-damaged.sqlite3. Documents: 3 collections with 1 file were kept; "
        "2 files are read again at the next update; 1 collection could not be read back: "
        "add their files again."
    )


def test_an_indexing_report_reads_chinese_on_the_documents_page(chinese: None) -> None:
    report = IndexReport(
        "notes",
        [
            FileOutcome("/n/a.md", INDEXED, pages=2),
            FileOutcome("/n/b.md", INDEXED, pages=1),
            FileOutcome("/n/c.pdf", ERROR, "c.pdf is not a readable PDF"),
        ],
        elapsed_s=3.0,
    )
    shown = report_text(report)
    assert shown.startswith("notes：已索引 2 个，1 个失败；3 页，用时 "), shown
    assert not re.search(r"indexed|failed|pages", shown), shown
