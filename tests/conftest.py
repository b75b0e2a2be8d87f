"""Shared fixtures: every test gets its own Hearth home; real models are located once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixtures.models import assemble_gemma, smollm2_path

if TYPE_CHECKING:
    from app.engine.client import EngineClient


@pytest.fixture(autouse=True)
def hearth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every settings, data and log folder at a fresh temporary directory."""
    home = tmp_path / "hearth-home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture(scope="session")
def smol_model() -> Path:
    path = smollm2_path()
    assert path.exists(), f"starter model missing at {path}"
    return path


@pytest.fixture(scope="session")
def gemma_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assemble_gemma(tmp_path_factory.mktemp("gemma"))


@pytest.fixture
def engine() -> Iterator[EngineClient]:
    from app.engine.client import EngineClient

    client = EngineClient()
    client.start()
    yield client
    client.shutdown()
