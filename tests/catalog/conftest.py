"""Fixtures for Hub and download tests: a local Hub serving real files, and clients for it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.catalog.downloads import DownloadManager, DownloadProgress, RetryPolicy
from app.catalog.hub import HubClient
from tests.hubserver import HubServer

TINY_REPO = "hearth-test/tiny-GGUF"
SMOL_REPO = "hearth-test/SmolLM2-135M-Instruct-GGUF"
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GATED_REPO = "hearth-test/gated-GGUF"
PLAIN_REPO = "other/plain-model"
GOOD_TOKEN = "hf_test_granted"
TINY_SIZE = 4 * 1024 * 1024 + 123  # not a multiple of any chunk size

# Small delays so retries are quick; the read timeout is what turns a stall into a retry.
FAST_RETRY = RetryPolicy(
    max_retries=3,
    backoff_base_s=0.01,
    backoff_max_s=0.05,
    connect_timeout_s=2.0,
    read_timeout_s=0.5,
)


@pytest.fixture(autouse=True)
def _catalog_tests_are_online(online_env: None) -> None:
    """Every catalog test talks to the local Hub (see ``online_env`` in tests/conftest.py)."""


@pytest.fixture(scope="session")
def repo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated model files (random bytes: the Hub does not care what is inside)."""
    folder = tmp_path_factory.mktemp("hub-files")
    sizes = {
        "tiny-Q4_K_M.gguf": TINY_SIZE,
        "tiny-Q8_0.gguf": 3 * 1024 * 1024,
        "Q8_0/tiny-Q8_0-00001-of-00002.gguf": 2 * 1024 * 1024,
        "Q8_0/tiny-Q8_0-00002-of-00002.gguf": 1024 * 1024 + 7,
        "mmproj-tiny-f16.gguf": 512 * 1024,
    }
    files = {}
    for name, size in sizes.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        files[name] = path
    return files


@pytest.fixture
def hub(repo_files: dict[str, Path], smol_model: Path, tmp_path: Path) -> Iterator[HubServer]:
    """A local Hub with four repos: tiny (many quants), SmolLM2 (real), gated and non-GGUF."""
    workdir = tmp_path / "hub-work"
    server = HubServer()
    readme = b"---\nlicense: apache-2.0\n---\n# Tiny\nA test model card.\n"
    server.add_repo(
        TINY_REPO,
        {**repo_files, "README.md": readme, "config.json": b'{"a": 1}\n'},
        workdir=workdir,
        tags=["gguf", "text-generation"],
        downloads=100,
        likes=5,
        last_modified="2024-03-01T00:00:00.000Z",
    )
    server.add_repo(
        SMOL_REPO,
        {SMOL_FILE: smol_model, "README.md": b"# SmolLM2\n"},
        workdir=workdir,
        tags=["gguf"],
        downloads=500,
        likes=1,
        last_modified="2023-01-01T00:00:00.000Z",
    )
    server.add_repo(
        GATED_REPO,
        {"gated-Q4_K_M.gguf": repo_files["tiny-Q4_K_M.gguf"], "README.md": b"# Gated\n"},
        workdir=workdir,
        gated="auto",
        tokens=(GOOD_TOKEN,),
        tags=["gguf"],
        downloads=10,
        likes=50,
        last_modified="2025-01-01T00:00:00.000Z",
        license="llama3.2",
    )
    server.add_repo(
        PLAIN_REPO,
        {"config.json": b"{}\n"},
        workdir=workdir,
        tags=["transformers"],
        downloads=10_000,
        likes=1000,
    )
    with server:
        yield server


@pytest.fixture
def client(hub: HubServer) -> HubClient:
    return HubClient(endpoint=hub.endpoint, token=False, offline=False)


class ProgressLog:
    """Collects progress updates and lets a test wait for one that matches."""

    def __init__(self) -> None:
        self.updates: list[DownloadProgress] = []
        self._cond = threading.Condition()

    def __call__(self, progress: DownloadProgress) -> None:
        with self._cond:
            self.updates.append(progress)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[DownloadProgress], bool], timeout: float = 30) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: any(predicate(u) for u in self.updates), timeout=timeout
            )

    def states(self, filename: str) -> list[str]:
        with self._cond:
            seen: list[str] = []
            for update in self.updates:
                if update.filename == filename and (not seen or seen[-1] != update.state):
                    seen.append(update.state)
            return seen


@pytest.fixture
def progress() -> ProgressLog:
    return ProgressLog()


@pytest.fixture
def make_manager(
    client: HubClient, progress: ProgressLog
) -> Iterator[Callable[..., DownloadManager]]:
    """Build download managers wired to the local Hub; all are closed after the test."""
    made: list[DownloadManager] = []

    def make(**kwargs: object) -> DownloadManager:
        options: dict[str, object] = {
            "hub": client,
            "retry": FAST_RETRY,
            "on_update": progress,
            "progress_interval_s": 0.0,
        }
        options.update(kwargs)
        manager = DownloadManager(**options)  # type: ignore[arg-type]
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close(timeout=5)


@pytest.fixture
def manager(make_manager: Callable[..., DownloadManager]) -> DownloadManager:
    return make_manager()


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"
