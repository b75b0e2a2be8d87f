"""LoRA adapters from the Hub: search marks them with the base they name, a pull
downloads and verifies one through the download manager, and the library pairs it by
its own header. A local Hub server (tests/hubserver.py) serves a real tiny adapter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.catalog.adapters import adapter_base, describe_fit, installed_bases, model_key
from app.catalog.hub import HubClient
from app.catalog.library import LORA, ModelEntry
from app.catalog.starter import STARTER_CHAT_NAME
from app.services.lora_service import choices_for
from app.ui.model_manager import ModelManager
from tests.catalog.models_cli import hub_environment, run_models
from tests.fixtures.lora_gguf import write_foreign_lora, write_tiny_lora
from tests.gui.conftest import MakeWindow
from tests.hubserver import HubServer

BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"
STYLE_REPO = "hearth-test/SmolLM2-style-LoRA-GGUF"
CARD_REPO = "hearth-test/card-only-LoRA-GGUF"
WIDE_REPO = "hearth-test/Wide-7B-LoRA-GGUF"
MODEL_REPO = "hearth-test/SmolLM2-135M-Instruct-GGUF"
WAIT = 30_000


@pytest.fixture
def lora_hub(tmp_path: Path, smol_model: Path) -> Iterator[HubServer]:
    files = tmp_path / "published"
    files.mkdir()
    style = write_tiny_lora(files / "style.gguf", base_model=BASE, std=0.15)
    wide = write_foreign_lora(files / "wide.gguf", base_model="hearth-test/Wide-7B")
    server = HubServer()
    work = tmp_path / "hub-work"
    server.add_repo(
        STYLE_REPO,
        {"smollm2-style-lora-F32.gguf": style, "README.md": b"# Style\n"},
        workdir=work,
        tags=["gguf", "lora", f"base_model:adapter:{BASE}", f"base_model:{BASE}"],
        downloads=30,
    )
    server.add_repo(
        CARD_REPO,
        {"card-lora-F32.gguf": style},
        workdir=work,
        tags=["gguf"],
        card={"base_model": [BASE], "base_model_relation": "adapter"},
        downloads=20,
    )
    server.add_repo(
        WIDE_REPO,
        {"wide-lora-F32.gguf": wide},
        workdir=work,
        tags=["gguf", "lora", "base_model:adapter:hearth-test/Wide-7B"],
        downloads=10,
    )
    server.add_repo(MODEL_REPO, {"SmolLM2-135M-Instruct.Q4_1.gguf": smol_model}, workdir=work,
                    tags=["gguf"], downloads=5)  # fmt: skip
    with server:
        yield server


def test_adapter_base_from_tags_or_card() -> None:
    assert adapter_base(["gguf", f"base_model:adapter:{BASE}"]) == BASE
    assert adapter_base(["gguf"], {"base_model": BASE, "base_model_relation": "adapter"}) == BASE
    assert adapter_base(["gguf"], {"base_model": [BASE], "base_model_relation": "adapter"}) == BASE
    # A quantised or fine-tuned model names its base too, but is no adapter.
    assert adapter_base([f"base_model:quantized:{BASE}"], {"base_model": BASE}) is None
    assert adapter_base(["gguf"], None) is None


def test_model_keys_match_across_repos_and_files() -> None:
    assert model_key(BASE) == model_key("bartowski/SmolLM2-135M-Instruct-GGUF")
    assert model_key("SmolLM2-135M-Instruct.Q4_1") == model_key("SmolLM2-135M-Instruct-Q4_K_M")
    assert model_key("SmolLM2-360M-Instruct") != model_key(BASE)
    starter = ModelEntry(name="SmolLM2-135M-Instruct", kind="chat", path="/m/x.gguf")
    other = ModelEntry(name="qwen", kind="chat", path="/m/Qwen2-0.5B-GGUF/q.gguf")
    assert installed_bases(BASE, [starter, other]) == ["SmolLM2-135M-Instruct"]
    assert installed_bases("Qwen/Qwen2-0.5B", [starter, other]) == ["qwen"]
    assert describe_fit(BASE, ["x"]) == f"LoRA for {BASE} (installed: x)"
    assert describe_fit(BASE, []) == f"LoRA for {BASE} (not installed)"


def test_search_marks_adapters_and_their_base(lora_hub: HubServer, online_env: None) -> None:
    client = HubClient(endpoint=lora_hub.endpoint, token=False, offline=False)
    found = {r.repo_id: r for r in client.search("", limit=10)}
    assert (found[STYLE_REPO].adapter, found[STYLE_REPO].base_model) == (True, BASE)
    assert (found[CARD_REPO].adapter, found[CARD_REPO].base_model) == (True, BASE)
    assert found[WIDE_REPO].base_model == "hearth-test/Wide-7B"
    assert (found[MODEL_REPO].adapter, found[MODEL_REPO].base_model) == (False, None)


def test_models_search_and_pull_an_adapter(
    lora_hub: HubServer, hearth_home: Path, tmp_path: Path
) -> None:
    env = hub_environment(lora_hub.endpoint, hearth_home, tmp_path)
    listed = run_models(env, "search", "lora", "--json")
    assert listed.returncode == 0, listed.stderr
    found = {r["repo_id"]: r for r in json.loads(listed.stdout)}
    # The starter is installed: the adapter for its base says so, the wide one does not.
    assert found[STYLE_REPO]["installed_bases"] == ["SmolLM2-135M-Instruct"]
    assert found[WIDE_REPO]["installed_bases"] == []
    table = run_models(env, "search", "lora")
    assert f"{STYLE_REPO}: LoRA for {BASE} (installed: SmolLM2-135M-Instruct)" in table.stdout
    assert f"{WIDE_REPO}: LoRA for hearth-test/Wide-7B (not installed)" in table.stdout

    pulled = run_models(env, "pull", STYLE_REPO)  # its only file
    assert pulled.returncode == 0, pulled.stderr
    assert f"A LoRA adapter for {BASE}, says the Hub." in pulled.stderr
    assert "LoRA adapter ready at" in pulled.stdout
    assert "for SmolLM2-135M-Instruct (use it with --lora" in pulled.stdout
    ls = run_models(env, "ls", "--kind", "lora", "--json")
    (entry,) = json.loads(ls.stdout)
    assert entry["kind"] == "lora" and entry["lora_bases"] == ["SmolLM2-135M-Instruct"]
    # Downloaded and verified through the manager: the same bytes the Hub published.
    published = lora_hub.repos[STYLE_REPO].files["smollm2-style-lora-F32.gguf"]
    assert Path(entry["path"]).read_bytes() == published.source.read_bytes()

    wide = run_models(env, "pull", WIDE_REPO, "F32")
    assert wide.returncode == 0, wide.stderr
    assert "it fits none of your models (it was made for hearth-test/Wide-7B, which" in wide.stdout
    assert "Traceback" not in wide.stderr


def test_a_corrupted_adapter_download_is_refused(
    lora_hub: HubServer, hearth_home: Path, tmp_path: Path
) -> None:
    lora_hub.corrupt(STYLE_REPO, "smollm2-style-lora-F32.gguf")
    env = hub_environment(lora_hub.endpoint, hearth_home, tmp_path)
    pulled = run_models(env, "pull", STYLE_REPO, "F32")
    assert pulled.returncode != 0
    assert "Traceback" not in pulled.stderr
    lines = [line for line in pulled.stderr.splitlines() if line.startswith("hearth:")]
    assert len(lines) == 1, pulled.stderr
    assert "sha-256" in lines[0].lower(), lines
    ls = run_models(env, "ls", "--kind", "lora", "--json")
    assert json.loads(ls.stdout) == []


def test_the_window_finds_downloads_and_pairs_an_adapter(
    qtbot: QtBot, make_window: MakeWindow, lora_hub: HubServer, online_env: None
) -> None:
    """Models > Discover says which base each adapter is for (✓: installed); Download
    fetches it through the download manager, and the conversation settings offer it."""
    win = make_window(hub=HubClient(endpoint=lora_hub.endpoint, token=False, offline=False))
    dialog = win.window.open_model_manager()
    assert isinstance(dialog, ModelManager)
    qtbot.addWidget(dialog)
    tab = dialog.discover
    tab.query.setText("LoRA")
    tab.search()
    qtbot.waitUntil(lambda: tab.repos.rowCount() == 3, timeout=WAIT)
    rows = {tab.repos.item(r, 0).text(): r for r in range(3)}  # type: ignore[union-attr]
    style = tab.repos.item(rows[STYLE_REPO], 4)
    wide = tab.repos.item(rows[WIDE_REPO], 4)
    assert style is not None and wide is not None
    assert style.text() == "LoRA for SmolLM2-135M-Instruct ✓"
    assert style.toolTip() == f"A LoRA adapter for {BASE}; installed: SmolLM2-135M-Instruct"
    assert wide.text() == "LoRA for Wide-7B"
    assert wide.toolTip() == "A LoRA adapter for hearth-test/Wide-7B, which is not installed"
    tab.repos.selectRow(rows[STYLE_REPO])
    qtbot.waitUntil(lambda: tab.files.rowCount() == 1, timeout=WAIT)
    assert f"a LoRA adapter for {BASE}" in tab.status.text()
    assert tab.files.item(0, 2).text().startswith("LoRA adapter")  # type: ignore[union-attr]
    tab.files.selectRow(0)
    qtbot.mouseClick(tab.download_button, Qt.MouseButton.LeftButton)

    def paired() -> list[str]:
        found = [e for e in win.models.library.entries(LORA) if e.error is None]
        return found[0].lora_bases if found else []

    qtbot.waitUntil(lambda: paired() == [STARTER_CHAT_NAME], timeout=60_000)
    offered = choices_for(win.models.library, STARTER_CHAT_NAME, {})
    assert [c.name for c in offered] == ["smollm2-style-lora-F32"]
    published = lora_hub.repos[STYLE_REPO].files["smollm2-style-lora-F32.gguf"].source
    assert Path(offered[0].path).read_bytes() == published.read_bytes()
