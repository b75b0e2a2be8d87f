"""Shared fixtures: every test gets its own Hearth home; real models are located once."""

from __future__ import annotations

import signal
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixtures.models import assemble_gemma, smollm2_path
from tests.fixtures.vision_gguf import VisionPair, write_tiny_vision_pair

if TYPE_CHECKING:
    from app.engine.client import EngineClient
    from tests.fixtures.reference import Reference


def pytest_sessionstart(session: pytest.Session) -> None:
    """Tests call llama-cpp-python directly too (references, comparisons): on a llama.cpp
    built with AMX kernels, every model in this process loads as Hearth loads it, without
    them (they crash on some Xeons: app.engine.amx)."""
    from app.engine.cuda_driver import prepare

    prepare()
    from app.engine.amx import avoid_amx_kernels

    avoid_amx_kernels()


@pytest.fixture(autouse=True)
def hearth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every settings, data and log folder at a fresh temporary directory."""
    home = tmp_path / "hearth-home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Never the developer's own keyring: API keys go to the private file in the home
    # (tests/secret_service.py gives a test a real, throwaway Secret Service instead).
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@pytest.fixture(autouse=True)
def sigint_kept() -> Iterator[None]:
    """A test that changes how the test process takes Ctrl+C puts it back, and is named:
    children started by later tests inherit an ignored SIGINT (a CLI then rightly keeps
    Ctrl+C ignored, as a background job does)."""
    before = signal.getsignal(signal.SIGINT)
    yield
    after = signal.getsignal(signal.SIGINT)
    if after is not before:
        signal.signal(signal.SIGINT, before)
        warnings.warn(f"this test left SIGINT set to {after!r}; it was put back", stacklevel=1)


@pytest.fixture(scope="session")
def smol_model() -> Path:
    path = smollm2_path()
    assert path.exists(), f"starter model missing at {path}"
    return path


@pytest.fixture(scope="session")
def gemma_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assemble_gemma(tmp_path_factory.mktemp("gemma"))


@pytest.fixture(scope="session")
def vision_pair(tmp_path_factory: pytest.TempPathFactory) -> VisionPair:
    """The tiny vision model and its projector (random weights), written once per run
    into a folder of their own; copy them before changing or moving either file."""
    return write_tiny_vision_pair(tmp_path_factory.mktemp("vision-pair"))


@pytest.fixture(scope="session")
def reference() -> Iterator[Reference]:
    """llama-cpp-python's own answers, to compare an engine reply with (one model load
    per load settings, for the whole session)."""
    from tests.fixtures.reference import Reference

    answers = Reference()
    yield answers
    answers.close()


@pytest.fixture
def engine() -> Iterator[EngineClient]:
    from app.engine.client import EngineClient

    client = EngineClient()
    client.start()
    yield client
    client.shutdown()


@pytest.fixture
def online_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Undo the suite-wide offline mode (for tests against the local Hub server) and keep
    the developer's own token out.

    huggingface_hub copies HF_HUB_OFFLINE into ``constants`` at import time and blocks
    every request while it is true, so the constant is reset along with the variable.
    """
    from huggingface_hub import constants

    for var in ("HF_HUB_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-saved-token"))
