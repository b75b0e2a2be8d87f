"""Where the folders for file:// images come from: the setting, the serve flag, the window."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.catalog.library import Library
from app.cli.parser import build_parser
from app.cli.serve import config_from_args
from app.core.paths import app_paths
from app.core.settings import Settings, read_settings, save_settings
from app.services.server_service import ServerService, ServerSettings

pytestmark = pytest.mark.timeout(60)


def test_the_setting_survives_a_round_trip_and_a_wrong_value_is_named(tmp_path: Path) -> None:
    paths = app_paths().ensure()
    save_settings(paths, Settings(api_image_folders=[str(tmp_path)]))
    assert read_settings(paths).settings.api_image_folders == [str(tmp_path)]

    paths.settings_file.write_text(json.dumps({"api_image_folders": str(tmp_path)}))
    loaded = read_settings(paths)
    assert loaded.settings.api_image_folders == []  # data: URLs only
    assert "The setting api_image_folders is" in loaded.notices[0]


def test_the_serve_flag_gives_the_folders(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["serve", "--allow-image-folder", str(tmp_path), "--allow-image-folder", "/srv/pics"]
    )
    assert config_from_args(args).image_folders == (str(tmp_path), "/srv/pics")
    assert config_from_args(build_parser().parse_args(["serve"])).image_folders == ()


def test_the_windows_server_reads_the_setting_at_each_start(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    chosen = [str(first)]
    library = Library(tmp_path / "library.json", [tmp_path / "models"])
    service = ServerService(library, ServerSettings(port=0), image_folders=lambda: chosen)
    try:
        assert service.start()
        assert service._server is not None
        assert service._server.image_folders == (os.path.realpath(first),)
        service.stop()
        chosen[:] = [str(second), str(tmp_path / "missing")]
        failures: list[str] = []
        service.failed.connect(failures.append)
        assert not service.start()
        assert "is not an existing folder" in failures[0]
    finally:
        service.stop()
