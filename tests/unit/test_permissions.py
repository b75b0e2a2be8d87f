"""Hearth's folders and files are readable only by the user: made so when created,
tightened on start when an older Hearth left them readable by others."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.catalog.library import Library, ModelEntry
from app.core.logsetup import PrivateRotatingFileHandler
from app.core.paths import app_paths
from app.core.settings import Settings, save_settings
from app.storage import ConversationStore, default_database_path

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The usual umask (022): without Hearth's care every file would be 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_folders_are_private() -> None:
    paths = app_paths().ensure()
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        assert mode(folder) == 0o700, folder


def test_files_are_private_when_created() -> None:
    paths = app_paths().ensure()
    save_settings(paths, Settings())
    library = Library(paths.library_file, [paths.default_models_dir])
    library.register([ModelEntry(name="m", kind="chat", path="/models/m.gguf")])
    store = ConversationStore(default_database_path(paths))
    store.create_conversation("hello")
    db = default_database_path(paths)
    files = [paths.settings_file, paths.library_file, db, Path(f"{db}-wal"), Path(f"{db}-shm")]
    try:
        for file in files:
            assert file.exists() and mode(file) == 0o600, file
    finally:
        store.close()


def test_log_files_are_private_also_after_rotation(tmp_path: Path) -> None:
    log_file = tmp_path / "hearth.log"
    handler = PrivateRotatingFileHandler(log_file, maxBytes=200, backupCount=2)
    logger = logging.getLogger("test-rotation")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for n in range(20):
            logger.warning("line %d of the log, long enough to rotate soon", n)
    finally:
        logger.removeHandler(handler)
        handler.close()
    logs = sorted(tmp_path.glob("hearth.log*"))
    assert len(logs) == 3 and all(mode(f) == 0o600 for f in logs)


def test_start_tightens_what_an_older_hearth_left_open() -> None:
    paths = app_paths()
    old_files = [
        paths.settings_file,
        paths.library_file,
        paths.data_dir / "conversations.sqlite3",
        paths.data_dir / "conversations.sqlite3-wal",
        paths.log_file,
    ]
    for file in old_files:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        file.write_text("x")
        file.chmod(0o644)
    for folder in (paths.config_dir, paths.data_dir, paths.log_dir):
        folder.chmod(0o755)
    paths.ensure()
    for file in old_files:
        assert mode(file) == 0o600, file
    for folder in (paths.config_dir, paths.data_dir, paths.log_dir):
        assert mode(folder) == 0o700, folder
