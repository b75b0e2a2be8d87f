"""The window's look: the plan chip, the grouped conversation list, the Installed
tab's origins, icons that follow the theme."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pytestqt.qtbot import QtBot

from app.services.types import Conversation
from app.ui.header import ChatHeader, plan_chip_label
from app.ui.sidebar import Sidebar
from tests.gui.conftest import MakeWindow

CPU_PLAN = "CPU only: no GPU offload in this build of llama.cpp; needs 180 MB of 12.1 GB free RAM"


def test_plan_chip_words() -> None:
    assert plan_chip_label(CPU_PLAN) == "CPU only"
    assert plan_chip_label("anything", gpu_layers=0) == "CPU only"
    assert plan_chip_label("all 30 layers on the GPU (H200), 1 GB of 140 GB free", 30) == (
        "GPU · all layers"
    )
    assert plan_chip_label("12 of 30 layers on the GPU (RTX), 4 GB of 4 GB free", 12) == (
        "GPU · 12/30 layers"
    )
    assert plan_chip_label("experts of 20 of 48 layers in RAM: 9 GB", 48) == (
        "GPU · experts in RAM"
    )
    # Something else: its opening words, whole, with an ellipsis when more follows.
    words = plan_chip_label("remote endpoint at http://localhost:8080, streaming")
    assert words == "remote endpoint at http…" or words.endswith("…")
    assert all(part in "remote endpoint at http://localhost:8080" for part in words[:-1].split())


def test_the_chip_shows_few_words_and_the_whole_plan_on_hover_and_click(qtbot: QtBot) -> None:
    header = ChatHeader()
    qtbot.addWidget(header)
    header.resize(900, 48)
    header.show()
    header.show_loaded(CPU_PLAN, 0)
    chip = header.plan
    assert chip.label() == "CPU only"
    assert chip.text() == CPU_PLAN and chip.toolTip() == CPU_PLAN
    # Never cut: the chip is as wide as its words need.
    assert chip.width() >= chip.sizeHint().width()
    popover = chip.show_popover()
    assert popover.isVisible()
    from PySide6.QtWidgets import QLabel

    shown = popover.findChild(QLabel, "planPopoverText")
    assert shown is not None and shown.text() == CPU_PLAN
    popover.close()
    header.show_loading("SmolLM2")
    assert chip.label() == "Loading…" and "SmolLM2" in chip.toolTip()
    header.show_load_failed()
    assert chip.label() == chip.text() == "No model loaded"


def conversation(
    cid: int, title: str, when: datetime, model: str | None, pinned: bool = False
) -> Any:
    return Conversation(
        id=cid,
        title=title,
        created_at=when.timestamp(),
        updated_at=when.timestamp(),
        pinned=pinned,
        model=model,
        system_prompt=None,
    )


def test_sidebar_groups_and_models(qtbot: QtBot) -> None:
    now = datetime(2026, 11, 30, 15, 0)
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    sidebar.show_conversations(
        [
            conversation(1, "Pinned plan", now - timedelta(days=40), "SmolLM2-135M-Instruct", True),
            conversation(2, "Soup", now - timedelta(hours=1), "qwen2.5-0.5b-instruct-q4_k_m.gguf"),
            conversation(3, "Trip", now - timedelta(days=1), None),
            conversation(4, "Taxes", now - timedelta(days=4), "SmolLM2-135M-Instruct"),
            conversation(5, "Old", now - timedelta(days=60), "SmolLM2-135M-Instruct"),
        ],
        current=2,
        now=now,
    )
    assert sidebar.group_titles() == ["Pinned", "Today", "Yesterday", "Previous 7 days", "Older"]
    assert sidebar.conversation_ids() == [1, 2, 3, 4, 5]
    rows = {sidebar.list.item(i).text(): sidebar.list.item(i) for i in range(sidebar.list.count())}
    from app.ui.sidebar import MODEL_ROLE

    assert rows["Soup"].data(MODEL_ROLE) == "qwen2.5-0.5b-instruct"
    assert rows["Trip"].data(MODEL_ROLE) == ""
    assert rows["Soup"].isSelected()
    # Headings cannot be selected or clicked.
    heading = rows["Today"]
    assert not heading.flags() & heading.flags().ItemIsSelectable
    # A row with a model is taller than one without (the model's line under the title).
    delegate = sidebar.list.itemDelegate()
    from PySide6.QtWidgets import QStyleOptionViewItem

    option = QStyleOptionViewItem()
    option.initFrom(sidebar.list)
    index_of = sidebar.list.indexFromItem
    with_model = delegate.sizeHint(option, index_of(rows["Soup"])).height()
    without = delegate.sizeHint(option, index_of(rows["Trip"])).height()
    assert with_model > without


def test_header_icons_follow_the_theme(qtbot: QtBot, make_window: MakeWindow) -> None:
    from PySide6.QtWidgets import QApplication

    from app.ui.icons import refresh_icons
    from app.ui.theme import apply_theme

    win = make_window()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    button = win.window.header.models_button

    def ink() -> tuple[int, int, int]:
        image = button.icon().pixmap(32, 32).toImage()
        dark = [
            image.pixelColor(x, y)
            for x in range(image.width())
            for y in range(image.height())
            if image.pixelColor(x, y).alpha() > 200
        ]
        assert dark, "the icon draws something"
        colour = dark[len(dark) // 2]
        return colour.red(), colour.green(), colour.blue()

    try:
        apply_theme(app, "light")  # redraws the icons itself
        light = ink()
        apply_theme(app, "dark")
        dark = ink()
        assert sum(light) < 200 < sum(dark), (light, dark)  # dark ink on light, light on dark
    finally:
        apply_theme(app, "light")
    assert refresh_icons(win.window) >= 8  # header, composer and sidebar buttons


def test_installed_tab_says_where_models_came_from(make_window: MakeWindow) -> None:
    from app.ui.model_manager import origin_label

    assert origin_label("starter") == "Starter set"
    assert origin_label("download") == "Downloaded"
    assert origin_label("something new") == "Models folder"
    win = make_window()
    manager = win.window.open_model_manager()
    assert manager is not None
    try:
        table = manager.installed.table  # type: ignore[attr-defined]
        headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
        column = headers.index("Origin")
        starters = [e for e in win.models.library.entries() if e.source == "starter"]
        assert starters, "the starter set is installed in the test environment"
        rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
        for entry in starters:
            cell = table.item(rows[entry.name], column)
            assert cell.text() == "Starter set"
            assert cell.toolTip() == entry.path and "site-packages" not in cell.text()
    finally:
        manager.close()


def test_a_narrow_header_shows_the_buttons_icons_only(qtbot: QtBot) -> None:
    header = ChatHeader()
    qtbot.addWidget(header)
    header.show_loaded(CPU_PLAN, 0)
    header.resize(1400, 48)
    header.show()
    qtbot.waitExposed(header)
    assert not header.compact()
    assert header.models_button.text() == "Models"
    header.resize(600, 48)
    qtbot.waitUntil(header.compact, timeout=5000)
    button = header.models_button
    assert button.text() == "" and not button.icon().isNull()
    assert button.accessibleName() == "Models" and button.toolTip()
    assert header.label(button) == "Models"
    assert header.plan.label() == "CPU only"  # the chip keeps its words
    header.resize(1400, 48)
    qtbot.waitUntil(lambda: not header.compact(), timeout=5000)
    assert button.text() == "Models"


def test_the_list_shows_the_model_a_conversation_talks_to(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    from app.ui.sidebar import MODEL_ROLE
    from tests.gui.test_window import ready, type_and_send, wait_reply

    win = make_window()
    early = win.chat.new_conversation()  # before any model is loaded: none recorded
    assert win.chat.store.get_conversation(early).model is None
    ready(qtbot, win)  # "fake-model"
    type_and_send(qtbot, win, "Hello")
    wait_reply(qtbot, win)
    assert win.chat.current_id == early
    assert win.chat.store.get_conversation(early).model == "fake-model"
    sidebar = win.window.sidebar
    rows = [sidebar.list.item(i) for i in range(sidebar.list.count())]
    [row] = [r for r in rows if r.data(MODEL_ROLE)]
    assert row.data(MODEL_ROLE) == "fake-model" and "fake-model" in row.toolTip()
    assert sidebar.group_titles() == ["Today"]
