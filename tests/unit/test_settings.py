"""Settings survive round trips, unknown keys, damaged files and wrong values."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from app.core.paths import AppPaths, app_paths
from app.core.settings import Settings, load_settings, read_settings, save_settings


def write_settings(paths: AppPaths, data: object) -> None:
    paths.settings_file.write_text(json.dumps(data))


def backups(paths: AppPaths) -> list[Path]:
    return sorted(paths.config_dir.glob("settings.damaged-*.json"))


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
    loaded = read_settings(paths)
    assert loaded.settings == Settings()
    [backup] = backups(paths)
    assert backup.read_text() == "{ not json" and not paths.settings_file.exists()
    assert len(loaded.notices) == 1 and str(backup) in loaded.notices[0]


def test_a_second_damaged_file_never_overwrites_the_first_backup() -> None:
    paths = app_paths().ensure()
    contents = ["{ first", "[1, 2, 3]", "{ third"]  # the second is JSON but not an object
    for text in contents:
        paths.settings_file.write_text(text)
        assert load_settings(paths) == Settings()
    assert sorted(b.read_text() for b in backups(paths)) == sorted(contents)


# Each case: the settings file, the key that is wrong, and what loading gives for it.
WRONG: list[tuple[dict[str, Any], str, Any]] = [
    ({"n_ctx": "abc"}, "n_ctx", 4096),
    ({"models_dir": 5}, "models_dir", None),
    ({"default_model": 5}, "default_model", None),
    ({"template_overrides": []}, "template_overrides", {}),
    ({"n_threads": "x"}, "n_threads", None),
    ({"n_threads": -4}, "n_threads", None),
    ({"n_threads": 10**9}, "n_threads", None),
    ({"n_threads": True}, "n_threads", None),
    ({"n_ctx": 0}, "n_ctx", 4096),
    ({"n_ctx": 10**15}, "n_ctx", 4096),
    ({"n_ctx": 2048.5}, "n_ctx", 4096),
    ({"extra_model_dirs": "/models"}, "extra_model_dirs", []),
    ({"extra_model_dirs": ["/ok", 7]}, "extra_model_dirs", []),
    ({"gpu_layers": "lots"}, "gpu_layers", "auto"),
    ({"gpu_layers": -7}, "gpu_layers", "auto"),
    ({"template_overrides": {"m": 3}}, "template_overrides", {}),
]


@pytest.mark.parametrize(("data", "key", "default"), WRONG)
def test_a_wrong_value_is_named_and_replaced_by_its_default(
    data: dict[str, Any], key: str, default: Any
) -> None:
    paths = app_paths().ensure()
    # Every other value is valid and must survive, unknown keys too.
    valid = {"n_ctx": 2048, "default_model": "SmolLM2", "theme": "dark", "mine": {"a": 1}}
    original = {**valid, **data}
    write_settings(paths, original)
    loaded = read_settings(paths)
    assert getattr(loaded.settings, key) == default
    for name, value in valid.items():
        if name not in data:
            kept = loaded.settings.extra.get(name, getattr(loaded.settings, name, None))
            assert kept == value, name
    problem = loaded.notices[0]
    assert f"The setting {key} is " in problem and "default" in problem
    assert problem.endswith("instead.") and "\n" not in problem
    # The file as it was is kept; the file itself now loads without complaint.
    [backup] = backups(paths)
    assert json.loads(backup.read_text()) == original
    assert read_settings(paths).notices == []
    assert read_settings(paths).settings == loaded.settings


def test_every_issue_example_at_once_keeps_the_valid_values() -> None:
    paths = app_paths().ensure()
    write_settings(
        paths,
        {
            "n_ctx": "abc",
            "models_dir": 5,
            "default_model": 5,
            "template_overrides": [],
            "n_threads": "x",
            "gpu_layers": "2",
            "extra_model_dirs": ["/srv/models"],
        },
    )
    loaded = read_settings(paths)
    assert loaded.settings == Settings(gpu_layers="2", extra_model_dirs=["/srv/models"])
    named = " ".join(loaded.notices)
    for key in ("n_ctx", "models_dir", "default_model", "template_overrides", "n_threads"):
        assert f"The setting {key} is " in named


WRONG_EXTRA: list[tuple[dict[str, Any], str]] = [
    ({"theme": "neon"}, "theme"),
    ({"language": "../../../etc/x"}, "language"),
    ({"voice": [1, 2]}, "voice"),
    ({"voice": {"silence_ms": "abc"}}, "voice.silence_ms"),
    ({"voice": {"silence_ms": -5}}, "voice.silence_ms"),
    ({"voice": {"speed": 40}}, "voice.speed"),
    ({"voice": {"speed": float("nan")}}, "voice.speed"),
    ({"voice": {"barge_in": "yes"}}, "voice.barge_in"),
    ({"voice": {"voices": ["zh"]}}, "voice.voices"),
    ({"voice": {"final_takes": 9}}, "voice.final_takes"),
    ({"server": "on"}, "server"),
    ({"server": {"port": "abc"}}, "server.port"),
    ({"server": {"port": 70000}}, "server.port"),
    ({"server": {"enabled": 1}}, "server.enabled"),
    ({"remote": {"url": 5}}, "remote.url"),
]


@pytest.mark.parametrize(("data", "name"), WRONG_EXTRA)
def test_wrong_values_of_the_window_voice_and_server_settings(
    data: dict[str, Any], name: str
) -> None:
    from app.services.server_service import ServerSettings
    from app.voice.session import VoiceSettings

    paths = app_paths().ensure()
    paths.settings_file.write_text(json.dumps({"n_ctx": 2048, **data}, allow_nan=True))
    loaded = read_settings(paths)
    assert loaded.settings.n_ctx == 2048
    assert len(loaded.notices) == 2 and f"The setting {name} is " in loaded.notices[0]
    # What reads those groups now gets the defaults, never a crash.
    extra = loaded.settings.extra
    voice = VoiceSettings.from_dict(extra.get("voice"))
    server = ServerSettings.from_extra(extra)
    assert voice.silence_ms == 600 and voice.speed == 1.0 and voice.voices == {}
    assert voice.barge_in is True and voice.final_takes is None
    assert server.port == 8080 and server.enabled is False and server.remote_url == ""
    assert extra.get("theme") in (None, "system", "light", "dark")
    assert extra.get("language") is None


def test_a_group_keeps_its_valid_and_unknown_keys() -> None:
    paths = app_paths().ensure()
    voice = {"silence_ms": "abc", "speed": 1.5, "language": "zh", "from_the_future": 1}
    write_settings(paths, {"voice": voice})
    extra = load_settings(paths).extra
    assert extra["voice"] == {"speed": 1.5, "language": "zh", "from_the_future": 1}


def test_valid_values_raise_no_notice() -> None:
    paths = app_paths().ensure()
    good = {
        "models_dir": "",
        "n_threads": None,
        "gpu_layers": 12,
        "theme": "light",
        "language": "zh_CN",
        "voice": {"silence_ms": 800, "speed": 0.75, "voices": {"zh": "zh_CN-huayan-medium"}},
        "server": {"enabled": True, "host": "0.0.0.0", "port": 9000, "cors": False},
        "remote": {"url": "http://10.0.0.2:8080/v1", "model": "m"},
    }
    write_settings(paths, good)
    loaded = read_settings(paths)
    assert loaded.notices == [] and backups(paths) == []
    assert loaded.settings.gpu_layers == "12" and loaded.settings.extra["server"]["port"] == 9000


def test_settings_file_is_private() -> None:
    paths = app_paths().ensure()
    save_settings(paths, Settings(n_ctx=2048))
    assert stat.S_IMODE(paths.settings_file.stat().st_mode) == 0o600


def test_hearth_home_puts_everything_in_one_folder(hearth_home) -> None:  # type: ignore[no-untyped-def]
    paths = app_paths()
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        assert hearth_home in folder.parents


def test_the_final_passs_takes_are_kept_when_allowed_else_left_to_the_hardware() -> None:
    from app.voice.session import VoiceSettings

    assert VoiceSettings.from_dict({"final_takes": 3}).final_takes == 3
    for wrong in (0, 6, 2.5, "3", True):
        assert VoiceSettings.from_dict({"final_takes": wrong}).final_takes is None, wrong
    assert VoiceSettings.from_dict({}).to_dict()["final_takes"] is None
