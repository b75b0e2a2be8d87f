"""The Discover tab's model card, against the local Hub: the README rendered (front matter
as fields, hostile HTML as text, no remote image fetched), licence, parameters, context,
languages, badges, downloads and last update; a repo without a README; sorting; the
cache; a newer pick winning over a card still on its way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from app.catalog.hub import HubClient
from app.catalog.model_card import CardCache, split_front_matter, template_renders_tools
from app.ui.model_manager import DiscoverTab
from tests.hubserver import HubServer

WAIT = 20_000
CARD_REPO = "hearth-test/Card-GGUF"
BARE_REPO = "hearth-test/Bare-GGUF"
NEW_REPO = "hearth-test/New-GGUF"
TOOLS_TEMPLATE = (
    "{% if tools %}<|im_start|>system\n{{ tools | tojson }}<|im_end|>{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}"
)
HOSTILE = '<script>alert("card")</script><img src="{endpoint}/tracker.png">'


def readme(endpoint: str) -> bytes:
    return (
        "---\n"
        "license: mit\n"
        "language:\n- en\n- fr\n"
        "base_model: hearth-test/Card\n"
        "model-index:\n- name: Card\n  results: []\n"
        "---\n"
        "# Card model\n\n"
        "A **small** model for tests.\n\n"
        "```bash\nhearth models pull hearth-test/Card-GGUF Q4_K_M\n```\n\n"
        f"{HOSTILE.format(endpoint=endpoint)}\n\n"
        f"![a pixel]({endpoint}/pixel.png)\n"
    ).encode()


@pytest.fixture
def hub(tmp_path: Path, online_env: None) -> Iterator[HubServer]:
    server = HubServer().start()
    weights = {
        "Card-Q4_K_M.gguf": b"GGUF" + bytes(64),
        "mmproj-Card-f16.gguf": b"GGUF" + bytes(32),
    }
    server.add_repo(
        CARD_REPO,
        {**weights, "README.md": readme(server.endpoint)},
        workdir=tmp_path,
        tags=["gguf"],
        license="mit",
        card={"language": ["en", "fr"]},
        downloads=12_345,
        likes=67,
        last_modified="2025-10-02T08:00:00.000Z",
        gguf={
            "total": 1_235_814_432,
            "architecture": "llama",
            "context_length": 8192,
            "chat_template": TOOLS_TEMPLATE,
        },
    )
    server.add_repo(
        BARE_REPO,
        {"Bare-Q8_0.gguf": b"GGUF" + bytes(16)},
        workdir=tmp_path,
        tags=["gguf"],
        license=None,
        downloads=50_000,
        likes=1,
        last_modified="2024-01-01T00:00:00.000Z",
    )
    server.add_repo(
        NEW_REPO,
        {"New-Q4_0.gguf": b"GGUF" + bytes(16), "README.md": b"# New\n"},
        workdir=tmp_path,
        tags=["gguf"],
        downloads=3,
        likes=900,
        last_modified="2026-11-01T00:00:00.000Z",
    )
    yield server
    server.stop()


def discover(qtbot: QtBot, hub: HubServer) -> DiscoverTab:
    tab = DiscoverTab(HubClient(endpoint=hub.endpoint, token=False, offline=False), None)
    tab.card.cache = CardCache()  # each test starts with nothing cached
    qtbot.addWidget(tab)
    tab.resize(1100, 700)
    tab.show()
    qtbot.waitExposed(tab)
    return tab


def search(qtbot: QtBot, tab: DiscoverTab, sort: str) -> list[str]:
    tab.sort.setCurrentIndex(tab.sort.findData(sort))
    tab.repos.setRowCount(0)
    tab.search()
    qtbot.waitUntil(lambda: tab.repos.rowCount() == 3, timeout=WAIT)
    return [tab.repos.item(r, 0).text() for r in range(3)]  # type: ignore[union-attr]


def pick(qtbot: QtBot, tab: DiscoverTab, repo_id: str) -> None:
    rows = range(tab.repos.rowCount())
    row = next(r for r in rows if tab.repos.item(r, 0).text() == repo_id)  # type: ignore[union-attr]
    tab.repos.clearSelection()
    tab.repos.selectRow(row)
    qtbot.waitUntil(
        lambda: tab.card.card is not None and tab.card.card.repo_id == repo_id, timeout=WAIT
    )


def test_sorting_by_downloads_likes_and_recent_update(qtbot: QtBot, hub: HubServer) -> None:
    tab = discover(qtbot, hub)
    assert search(qtbot, tab, "downloads") == [BARE_REPO, CARD_REPO, NEW_REPO]
    assert search(qtbot, tab, "likes") == [NEW_REPO, CARD_REPO, BARE_REPO]
    assert search(qtbot, tab, "recent") == [NEW_REPO, CARD_REPO, BARE_REPO]
    sorts = [r.query.get("sort") for r in hub.requests if r.path == "/api/models"]
    assert sorts[-3:] == [["downloads"], ["likes"], ["lastModified"]]


def test_the_card_shows_the_readme_and_the_facts(qtbot: QtBot, hub: HubServer) -> None:
    tab = discover(qtbot, hub)
    search(qtbot, tab, "downloads")
    pick(qtbot, tab, CARD_REPO)
    view = tab.card
    facts = {key: label.text() for key, label in view.facts.items()}
    assert facts == {
        "license": "mit",
        "parameters": "1.2B",
        "context": "8,192 tokens",
        "languages": "en, fr",
        "downloads": "12,345 (67 likes)",
        "updated": "2025-10-02",
    }
    assert not view.vision_badge.isHidden()  # the mmproj file
    assert not view.tools_badge.isHidden()  # the template renders tools
    from app.ui.accessibility import unnamed_controls

    assert unnamed_controls(view) == []
    text = view.browser.toPlainText()
    assert "Card model" in text and "A small model for tests." in text
    # The front matter is fields, not text at the top; nested model-index is left out.
    assert text.index("base_model") < text.index("Card model")
    assert "hearth-test/Card" in text and "model-index" not in text and "---" not in text
    # Hostile HTML is shown as the text it is: nothing of it is rendered.
    assert '<script>alert("card")</script>' in text
    assert "<script" not in view.browser.toHtml().replace("&lt;script", "")
    # The Markdown image was asked for by the layout, refused, and never reached the net.
    qtbot.waitUntil(lambda: any("pixel.png" in u.toString() for u in view.browser.refused))
    assert not [r for r in hub.requests if "pixel" in r.path or "tracker" in r.path]
    # A code block's Copy link copies it, as in the chat.
    view.browser.anchorClicked.emit(QUrl("copy:0"))
    clipboard = QGuiApplication.clipboard().text()
    assert clipboard == "hearth models pull hearth-test/Card-GGUF Q4_K_M\n"


def test_a_repo_without_a_readme(qtbot: QtBot, hub: HubServer) -> None:
    tab = discover(qtbot, hub)
    search(qtbot, tab, "downloads")
    pick(qtbot, tab, BARE_REPO)
    view = tab.card
    assert view.card is not None and view.card.body is None
    assert "has no model card" in view.browser.toPlainText()
    assert view.facts["license"].text() == "unknown"
    assert view.facts["parameters"].text() == "unknown"
    assert view.vision_badge.isHidden() and view.tools_badge.isHidden()
    assert not [r for r in hub.requests if r.path.endswith("/README.md")]


def test_cards_are_cached_and_a_newer_pick_wins(qtbot: QtBot, hub: HubServer) -> None:
    tab = discover(qtbot, hub)
    search(qtbot, tab, "downloads")
    pick(qtbot, tab, CARD_REPO)
    infos = [r for r in hub.requests if r.path == f"/api/models/{CARD_REPO}"]
    # Two picks in a row: the first card, still on its way, is dropped.
    tab.card.show_repo(NEW_REPO)
    tab.card.show_repo(BARE_REPO)
    qtbot.waitUntil(lambda: not tab.card.loading, timeout=WAIT)
    assert tab.card.card is not None and tab.card.card.repo_id == BARE_REPO
    pick(qtbot, tab, CARD_REPO)  # from the cache: no second model_info
    assert [r for r in hub.requests if r.path == f"/api/models/{CARD_REPO}"] == infos
    assert tab.card.facts["license"].text() == "mit"


def test_front_matter_and_tools_detection() -> None:
    meta, body = split_front_matter("---\nlicense: mit\ntags: [a, b]\n---\n# Hi\n")
    assert meta == {"license": "mit", "tags": ["a", "b"]} and body == "# Hi\n"
    assert split_front_matter("# No front matter\n---\n") == ({}, "# No front matter\n---\n")
    assert split_front_matter("---\n: [\n---\nbody") == ({}, "body")  # broken YAML
    assert template_renders_tools(TOOLS_TEMPLATE)
    assert template_renders_tools([{"name": "tool_use", "template": TOOLS_TEMPLATE}])
    assert not template_renders_tools("{% for m in messages %}{{ m.content }}{% endfor %}")
    assert not template_renders_tools(None)
