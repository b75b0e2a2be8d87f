"""The KV cache's settings reach a load: Preferences, the settings file, --kv-type."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.catalog.library import ModelEntry
from app.cli.parser import build_parser
from app.composition.options import LoadOverrides, load_options
from app.core.paths import app_paths
from app.core.settings import Settings, load_settings, save_settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
SHOTS = os.environ.get("HEARTH_SCREENSHOTS")  # a folder: save what the test saw


def _entry(path: Path) -> ModelEntry:
    return ModelEntry(name="m", kind="chat", path=str(path), size_bytes=1, context_length=8192)


def test_settings_and_overrides_reach_the_load_request(tmp_path: Path) -> None:
    settings = Settings(kv_type="q8_0", kv_state_mb=256)
    options = load_options(_entry(tmp_path / "m.gguf"), settings)
    request = options.request(7)
    assert (request.kv_type, request.kv_state_mb) == ("q8_0", 256)
    assert request.kv_state_dir == str(app_paths().cache_dir / "kv-state")
    assert options.load_kwargs()["kv_type"] == "q8_0"
    asked = load_options(_entry(tmp_path / "m.gguf"), settings, LoadOverrides(kv_type="q4_0"))
    assert asked.kv_type == "q4_0"
    default = load_options(_entry(tmp_path / "m.gguf"), Settings())
    assert (default.kv_type, default.kv_state_mb) == ("f16", 1024)  # saved, 1 GiB at most
    assert default.kv_state_dir == str(app_paths().cache_dir / "kv-state")
    assert default.kv_ram_mb == 256  # RAM slots for switching conversations
    off = load_options(_entry(tmp_path / "m.gguf"), Settings(kv_state_mb=0))
    assert off.kv_state_dir is None


def test_a_wrong_kv_type_in_the_settings_file_falls_back_to_f16() -> None:
    paths = app_paths().ensure()
    save_settings(paths, Settings(kv_type="q8_0"))
    assert load_settings(paths).kv_type == "q8_0"
    text = paths.settings_file.read_text(encoding="utf-8").replace('"q8_0"', '"q3_k"')
    paths.settings_file.write_text(text, encoding="utf-8")
    assert load_settings(paths).kv_type == "f16"


@pytest.mark.parametrize("command", ["chat", "serve", "voice", "plan"])
def test_kv_type_option(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    args = ["plan", "m"] if command == "plan" else [command]
    assert parser.parse_args([*args, "--kv-type", "q8_0"]).kv_type == "q8_0"
    with pytest.raises(SystemExit) as exited:
        parser.parse_args([*args, "--kv-type", "q5_k"])
    assert exited.value.code == 2
    assert "q5_k" in capsys.readouterr().err


def test_preferences_choose_the_cache_type_and_saved_state(qtbot: QtBot, tmp_path: Path) -> None:
    from app.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings(kv_type="q8_0"), str(tmp_path), [])
    qtbot.addWidget(dialog)
    assert dialog.kv_type.currentData() == "q8_0"
    assert dialog.kv_state.value() == 1024
    dialog.kv_type.setCurrentIndex(dialog.kv_type.findData("q4_0"))
    dialog.kv_state.setValue(512)
    settings = dialog.apply()
    assert (settings.kv_type, settings.kv_state_mb) == ("q4_0", 512)


def test_kv_type_with_an_endpoint_is_refused() -> None:
    from app.cli.remote_chat import refuse_server_side_options
    from app.core.errors import ConfigError

    args = build_parser().parse_args(
        ["chat", "--endpoint", "http://127.0.0.1:9", "--kv-type", "q8_0", "--prompt", "hi"]
    )
    with pytest.raises(ConfigError, match="--kv-type"):
        refuse_server_side_options(args)


@pytest.mark.slow
def test_hearth_chat_kv_type_q8_0_answers(smol_model: Path) -> None:
    import json
    import subprocess
    import sys

    args = ["chat", "--model", str(smol_model), "--kv-type", "q8_0", "--max-tokens", "4"]
    result = subprocess.run(
        [sys.executable, "-m", "app", *args, "--json", "--prompt", "Say hi"],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ.copy(),
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["kv_type"] == "q8_0"
    assert payload["stats"]["completion_tokens"] > 0


def test_preferences_clear_saved_state_shows_its_size_and_deletes_it(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from app.composition.options import kv_state_folder
    from app.engine.kv_files import conversation_key, folder_bytes, state_name
    from app.ui.settings_dialog import SettingsDialog

    folder = kv_state_folder()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        name = state_name("a" * 20, conversation_key(i), f"{i:032x}")
        (folder / name).write_bytes(bytes(1_000_000))
    asked: list[bool] = []
    dialog = SettingsDialog(Settings(), str(tmp_path), [], kv_clear=lambda: asked.append(True))
    qtbot.addWidget(dialog)
    button = dialog.kv_clear
    assert button.text() == "Clear (3.00 MB)" and button.isEnabled()
    assert button.toolTip() and button.accessibleName()
    if SHOTS:
        dialog.grab().save(str(Path(SHOTS) / "preferences-kv-clear.png"))
    button.click()
    assert asked == [True]  # the engine was asked too (its RAM slots)
    assert folder_bytes(folder) == 0 and not list(folder.glob("*.kvs"))
    assert button.text() == "Clear (0 B)" and not button.isEnabled()
