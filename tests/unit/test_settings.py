"""Settings survive round trips, unknown keys and damaged files."""

from __future__ import annotations

import json

from app.core.paths import app_paths
from app.core.settings import Settings, load_settings, save_settings


def test_round_trip_keeps_unknown_keys() -> None:
    paths = app_paths().ensure()
    paths.settings_file.write_text(json.dumps({"n_ctx": 2048, "from_the_future": [1, 2]}))
    settings = load_settings(paths)
    assert settings.n_ctx == 2048 and settings.extra == {"from_the_future": [1, 2]}
    settings.default_model = "SmolLM2"
    save_settings(paths, settings)
    raw = json.loads(paths.settings_file.read_text())
    assert raw["from_the_future"] == [1, 2] and raw["default_model"] == "SmolLM2"


def test_damaged_file_is_moved_aside_not_fatal() -> None:
    paths = app_paths().ensure()
    paths.settings_file.write_text("{ not json")
    assert load_settings(paths) == Settings()
    assert paths.settings_file.with_suffix(".damaged.json").exists()


def test_hearth_home_puts_everything_in_one_folder(hearth_home) -> None:  # type: ignore[no-untyped-def]
    paths = app_paths()
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        assert hearth_home in folder.parents
