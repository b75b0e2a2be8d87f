"""API keys live in the OS keyring, here a real Secret Service (GNOME Keyring on a
private D-Bus session), never in the settings file; without a keyring, in a file only
the user can read."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import logging
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.paths import AppPaths, app_paths
from app.core.secrets import REMOTE_API_KEY, SERVER_API_KEY, SERVICE, SecretStore
from app.core.settings import load_settings
from tests.secret_service import SecretService, running_secret_service

SERVER_KEY = "server-key-0123456789"
REMOTE_KEY = "remote-key-9876543210"
OLD_SETTINGS = {
    "n_ctx": 2048,
    "server": {"enabled": False, "host": "127.0.0.1", "port": 8080, "api_key": SERVER_KEY},
    "remote": {"url": "http://10.0.0.2:8080/v1", "model": "m", "api_key": REMOTE_KEY},
}


@pytest.fixture
def secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretService]:
    """A running Secret Service that this process's keyring (and its children) use."""
    import keyring
    from keyring.backends import SecretService as backend

    with running_secret_service(tmp_path / "secret-service") as service:
        for name, value in service.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
        before = keyring.get_keyring()
        keyring.set_keyring(backend.Keyring())
        try:
            yield service
        finally:
            keyring.set_keyring(before)


def hearth(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def write_old_settings(paths: AppPaths) -> None:
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text(json.dumps(OLD_SETTINGS))
    paths.settings_file.chmod(0o644)


def settings_text(paths: AppPaths) -> str:
    return paths.settings_file.read_text()


def test_plain_keys_move_into_the_secret_service(secret_service: SecretService) -> None:
    """An older settings file's keys, as a real ``hearth`` process finds them."""
    import keyring

    paths = app_paths()
    write_old_settings(paths)
    hearth("models", "ls", "--json")
    assert secret_service.lookup(SERVICE, SERVER_API_KEY) == SERVER_KEY
    assert secret_service.lookup(SERVICE, REMOTE_API_KEY) == REMOTE_KEY
    assert keyring.get_password(SERVICE, SERVER_API_KEY) == SERVER_KEY
    text = settings_text(paths)
    assert SERVER_KEY not in text and REMOTE_KEY not in text and "api_key" not in text
    assert json.loads(text)["remote"]["url"] == OLD_SETTINGS["remote"]["url"]  # the rest stays
    assert stat.S_IMODE(paths.settings_file.stat().st_mode) == 0o600
    assert not paths.secrets_file.exists()


def test_the_window_saves_keys_into_the_secret_service(
    secret_service: SecretService, qapp: object
) -> None:
    """The settings dialog's API-server tab, saved the way the window saves it."""
    from app.catalog.library import Library
    from app.services.preferences import Preferences
    from app.services.server_service import ServerService, ServerSettings
    from app.ui.settings_dialog import SettingsDialog

    paths = app_paths().ensure()
    settings = load_settings(paths)
    store = SecretStore(paths.secrets_file)
    service = ServerService(Library(paths.library_file, []), ServerSettings(secrets=store))
    dialog = SettingsDialog(settings, str(paths.default_models_dir), [], server=service)
    panel = dialog.server_panel
    assert panel is not None and panel.api_key.text() == ""
    panel.api_key.setText(SERVER_KEY)
    panel.remote_key.setText(REMOTE_KEY)
    Preferences(paths, settings).save(dialog.apply())
    assert secret_service.lookup(SERVICE, SERVER_API_KEY) == SERVER_KEY
    assert secret_service.lookup(SERVICE, REMOTE_API_KEY) == REMOTE_KEY
    assert SERVER_KEY not in settings_text(paths) and REMOTE_KEY not in settings_text(paths)

    # The next start reads them back from the keyring, into the tab and the server.
    store = SecretStore(paths.secrets_file)
    reloaded = ServerSettings.from_extra(load_settings(paths).extra, store)
    assert reloaded.api_key is None  # not read until needed
    assert reloaded.server_config().api_key == SERVER_KEY
    assert reloaded.resolved_remote_api_key() == REMOTE_KEY

    # Clearing a key in the tab removes it from the keyring.
    panel.api_key.setText("")
    Preferences(paths, settings).save(dialog.apply())
    assert secret_service.lookup(SERVICE, SERVER_API_KEY) is None
    assert secret_service.lookup(SERVICE, REMOTE_API_KEY) == REMOTE_KEY


def test_a_locked_keyring_falls_back_to_a_private_file(
    secret_service: SecretService, caplog: pytest.LogCaptureFixture
) -> None:
    import secretstorage
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(secret_service.env["DBUS_SESSION_BUS_ADDRESS"]) as connection:
        secretstorage.Collection(connection).lock()
    paths = app_paths().ensure()
    store = SecretStore(paths.secrets_file)
    with caplog.at_level(logging.WARNING, logger="app.core.secrets"):
        store.set(SERVER_API_KEY, SERVER_KEY)
    assert "failed to store" in caplog.text and str(paths.secrets_file) in caplog.text
    assert_private_file_holds(paths, SERVER_KEY)
    assert store.get(SERVER_API_KEY) == SERVER_KEY


def test_a_key_kept_in_the_file_moves_to_the_keyring_once_there_is_one(
    secret_service: SecretService,
) -> None:
    paths = app_paths().ensure()
    paths.secrets_file.write_text(json.dumps({"version": 1, "secrets": {SERVER_API_KEY: "k" * 20}}))
    assert SecretStore(paths.secrets_file).get(SERVER_API_KEY) == "k" * 20
    assert secret_service.lookup(SERVICE, SERVER_API_KEY) == "k" * 20
    assert json.loads(paths.secrets_file.read_text())["secrets"] == {}


def assert_private_file_holds(paths: AppPaths, *keys: str) -> None:
    text = paths.secrets_file.read_text()
    assert all(key in text for key in keys)
    assert stat.S_IMODE(paths.secrets_file.stat().st_mode) == 0o600
    assert not any(key in settings_text(paths) for key in keys if paths.settings_file.exists())


def test_without_a_keyring_keys_go_to_a_private_file() -> None:
    """The suite's default: keyring's fail backend (no Secret Service, no Keychain)."""
    paths = app_paths()
    write_old_settings(paths)
    result = hearth("models", "ls", "--json")
    assert_private_file_holds(paths, SERVER_KEY, REMOTE_KEY)
    assert "api_key" not in settings_text(paths)
    log = (paths.log_file).read_text()
    assert "no system keyring is available" in log and str(paths.secrets_file) in log
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="the Secret Service is Linux's keyring")
def test_an_absent_secret_service_falls_back_to_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keyring's own choice on a machine whose session bus has no Secret Service."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    paths = app_paths()
    write_old_settings(paths)
    hearth("models", "ls", "--json")
    assert_private_file_holds(paths, SERVER_KEY, REMOTE_KEY)
    assert "api_key" not in settings_text(paths)
