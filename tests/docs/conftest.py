"""Fixtures for the documents' tests: the real starter embedding model (loaded once per
session) and a store in a fresh conversation database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.docs.embedder import Embedder
from app.docs.store import DocStore


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    from app.docs.embedding_models import default_embedder

    return default_embedder(threads=2)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DocStore]:
    with DocStore(tmp_path / "history.db") as opened:
        yield opened
