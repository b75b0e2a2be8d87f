"""The vision badge in the picker, the model manager and Hub search results, and pairing
a projector by hand (the real library, the tiny vision pair; the fake engine)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.catalog.hub import QuantVariant, RemoteFile, RepoFiles, RepoSummary
from app.core.units import format_bytes
from app.ui.launch import Window
from app.ui.model_manager import DiscoverTab, ModelManager
from app.ui.vision_badge import VISION_TIP, repo_sees
from tests.fixtures.vision_gguf import VisionPair
from tests.gui.conftest import MakeWindow

WAIT = 10_000


def copy_pair(pair: VisionPair, folder: Path, *, projector: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model = Path(shutil.copy2(pair.model, folder / pair.model.name))
    if projector:
        shutil.copy2(pair.mmproj, folder / pair.mmproj.name)
    return model


def picker_row(win: Window, name: str) -> int:
    combo = win.window.header.models
    rows = [i for i in range(combo.count()) if combo.itemText(i).startswith(name + "  (")]
    assert len(rows) == 1, [combo.itemText(i) for i in range(combo.count())]
    return rows[0]


def manager(qtbot: QtBot, win: Window) -> ModelManager:
    dialog = win.window.open_model_manager()
    assert isinstance(dialog, ModelManager)
    qtbot.addWidget(dialog)
    return dialog


def installed_row(dialog: ModelManager, path: Path) -> int:
    table = dialog.installed.table
    for row in range(table.rowCount()):
        # The Origin column shows where it came from; the path is the model's own.
        entry = table.item(row, 0).data(Qt.ItemDataRole.UserRole)  # type: ignore[union-attr]
        if entry.path == str(path):
            return row
    raise AssertionError(f"{path} not listed")


def test_the_model_that_sees_carries_the_badge_and_the_starter_does_not(
    qtbot: QtBot, make_window: MakeWindow, vision_pair: VisionPair, smol_model: Path, tmp_path: Path
) -> None:
    model = copy_pair(vision_pair, tmp_path / "seeing")
    win = make_window()
    assert win.models.import_file(model) is not None
    entry = next(e for e in win.models.chat_models() if e.path == str(model))
    assert entry.vision and entry.mmproj
    starter = next(e for e in win.models.chat_models() if e.path == str(smol_model))
    assert not starter.vision
    win.window.refresh_models()
    combo = win.window.header.models
    seeing, plain = picker_row(win, entry.name), picker_row(win, starter.name)
    assert not combo.itemIcon(seeing).isNull()
    assert combo.itemData(seeing, Qt.ItemDataRole.ToolTipRole) == VISION_TIP
    assert combo.itemData(plain, Qt.ItemDataRole.ToolTipRole) is None
    # The starter's blank icon keeps the names aligned, and is blank.
    blank = combo.itemIcon(plain).pixmap(16, 16).toImage()
    assert all(blank.pixelColor(x, y).alpha() == 0 for x in range(16) for y in range(16))
    # The model manager's installed list.
    dialog = manager(qtbot, win)
    table = dialog.installed.table
    vision_name = table.item(installed_row(dialog, model), 0)
    starter_name = table.item(installed_row(dialog, smol_model), 0)
    assert vision_name is not None and starter_name is not None
    assert not vision_name.icon().isNull() and VISION_TIP in vision_name.toolTip()
    assert starter_name.icon().isNull()
    dialog.close()


def test_pairing_a_projector_by_hand_in_the_model_manager(
    qtbot: QtBot,
    make_window: MakeWindow,
    vision_pair: VisionPair,
    smol_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = copy_pair(vision_pair, tmp_path / "alone", projector=False)
    projector = Path(shutil.copy2(vision_pair.mmproj, tmp_path / vision_pair.mmproj.name))
    win = make_window()
    assert win.models.import_file(model) is not None
    dialog = manager(qtbot, win)
    installed = dialog.installed
    table = installed.table
    row = installed_row(dialog, model)
    assert table.item(row, 0).icon().isNull()  # type: ignore[union-attr]
    # The starter and the tiny projector do not go together: the reason, no badge.
    installed.table.selectRow(installed_row(dialog, smol_model))
    monkeypatch.setattr(
        "app.ui.model_manager.QFileDialog.getOpenFileName", lambda *a, **k: (str(projector), "")
    )
    installed.pair_button.click()
    assert "projector" in installed.status.text().lower()
    assert table.item(installed_row(dialog, smol_model), 0).icon().isNull()  # type: ignore[union-attr]
    # The tiny model and its own projector: paired, the badge appears.
    installed.table.selectRow(installed_row(dialog, model))
    with qtbot.waitSignal(win.models.models_changed, timeout=WAIT):
        installed.pair_button.click()
    assert "can see images now" in installed.status.text()
    assert not table.item(installed_row(dialog, model), 0).icon().isNull()  # type: ignore[union-attr]
    entry = next(e for e in win.models.chat_models() if e.path == str(model))
    assert entry.vision and entry.mmproj == str(projector)
    assert not win.window.header.models.itemIcon(picker_row(win, entry.name)).isNull()
    dialog.close()


class _Hub:
    """A Hub with two repos: one with a projector among its files, one without."""

    def search(self, query: str, **_kwargs: Any) -> list[RepoSummary]:
        now = datetime.now(UTC)
        return [
            RepoSummary("org/Seeing-GGUF", "org", 10, 1, now, False, ("gguf",), None),
            RepoSummary(
                "org/Tagged-VL-GGUF", "org", 9, 1, now, False, ("gguf",), "image-text-to-text"
            ),
            RepoSummary("org/Text-GGUF", "org", 8, 1, now, False, ("gguf",), "text-generation"),
        ]

    def list_files(self, repo_id: str) -> RepoFiles:
        def variant(path: str, projector: bool) -> QuantVariant:
            return QuantVariant(path, "Q8_0", (RemoteFile(path, 100, None, None),), projector, 1)

        variants = [variant("model-Q8_0.gguf", False)]
        if "Seeing" in repo_id:
            variants.append(variant("mmproj-model-f16.gguf", True))
        return RepoFiles(repo_id, "abc", False, "mit", None, tuple(variants))


def test_search_results_carry_the_badge(qtbot: QtBot) -> None:
    tab = DiscoverTab(_Hub(), None)  # type: ignore[arg-type]
    qtbot.addWidget(tab)
    tab.search()
    qtbot.waitUntil(lambda: tab.repos.rowCount() == 3, timeout=WAIT)

    def badged(row: int) -> bool:
        item = tab.repos.item(row, 0)
        assert item is not None
        return not item.icon().isNull()

    # Tagged as taking images: the badge before its files are listed.
    assert [badged(r) for r in range(3)] == [False, True, False]
    # Its files hold a projector: the badge, now that they are known.
    tab.repos.selectRow(0)
    qtbot.waitUntil(lambda: badged(0), timeout=WAIT)
    tab.repos.selectRow(2)
    qtbot.waitUntil(lambda: tab.current is not None and "Text" in tab.current.repo_id, timeout=WAIT)
    assert not badged(2)


def test_repo_sees_reads_projectors_first() -> None:
    hub = _Hub()
    assert repo_sees(hub.list_files("org/Seeing-GGUF"))
    assert not repo_sees(hub.list_files("org/Text-GGUF"))
    assert repo_sees(hub.search("")[1]) and not repo_sees(hub.search("")[2])


def test_downloading_a_vision_model_in_the_window_brings_its_projector(
    qtbot: QtBot,
    make_window: MakeWindow,
    vision_pair: VisionPair,
    tmp_path: Path,
    online_env: None,
) -> None:
    """The Discover tab offers the model with its projector (one row, both sizes), the
    Download button fetches both from the local Hub, and the library pairs them."""
    from app.catalog.hub import HubClient
    from tests.hubserver import HubServer

    repo = "org/Tiny-Vision-GGUF"
    with HubServer() as hub:
        hub.add_repo(
            repo,
            {
                vision_pair.model.name: vision_pair.model,
                vision_pair.mmproj.name: vision_pair.mmproj,
                "README.md": b"# tiny vision\n",
            },
            workdir=tmp_path,
            tags=["gguf", "image-text-to-text"],
        )
        win = make_window(hub=HubClient(endpoint=hub.endpoint, token=False, offline=False))
        dialog = manager(qtbot, win)
        tab = dialog.discover
        tab.query.setText("Tiny-Vision")
        tab.search()
        qtbot.waitUntil(lambda: tab.repos.rowCount() == 1, timeout=WAIT)
        tab.repos.selectRow(0)
        qtbot.waitUntil(lambda: tab.files.rowCount() == 1, timeout=WAIT)
        name = tab.files.item(0, 3).text()  # type: ignore[union-attr]
        assert name == f"{vision_pair.model.name} + {vision_pair.mmproj.name}"
        both = vision_pair.model.stat().st_size + vision_pair.mmproj.stat().st_size
        assert tab.files.item(0, 1).text() == format_bytes(both)  # type: ignore[union-attr]
        tab.files.selectRow(0)
        qtbot.mouseClick(tab.download_button, Qt.MouseButton.LeftButton)

        def paired() -> bool:
            entries = [
                e for e in win.models.chat_models() if e.path.endswith(vision_pair.model.name)
            ]
            return bool(entries) and entries[0].vision and bool(entries[0].mmproj)

        qtbot.waitUntil(paired, timeout=60_000)
        entry = next(e for e in win.models.chat_models() if e.path.endswith(vision_pair.model.name))
        assert entry.mmproj is not None
        assert Path(entry.mmproj).read_bytes() == vision_pair.mmproj.read_bytes()
        assert Path(entry.path).read_bytes() == vision_pair.model.read_bytes()
