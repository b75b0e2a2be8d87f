"""The driver stand-in is loaded, by its path, only where the system has no driver."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path
from typing import Any

import pytest

from app.engine import cuda_driver


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lib = tmp_path / "llama_cpp" / "lib"
    lib.mkdir(parents=True)
    (lib.parent / "__init__.py").write_text("")
    path = lib / cuda_driver.STUB_NAME
    path.write_bytes(b"\x7fELF")
    monkeypatch.delitem(sys.modules, "llama_cpp", raising=False)  # find_spec asks it first
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cuda_driver.sys, "platform", "linux")
    cuda_driver.prepare.cache_clear()
    yield path
    cuda_driver.prepare.cache_clear()


def _loads(monkeypatch: pytest.MonkeyPatch, driver_present: bool) -> list[tuple[str, Any]]:
    loaded: list[tuple[str, Any]] = []

    def fake_cdll(name: str, mode: int = ctypes.DEFAULT_MODE) -> object:
        loaded.append((name, mode))
        if name == cuda_driver.DRIVER and not driver_present:
            raise OSError("libcuda.so.1: cannot open shared object file")
        return object()

    monkeypatch.setattr(cuda_driver.ctypes, "CDLL", fake_cdll)
    return loaded


def test_without_a_driver_the_stand_in_is_loaded_by_its_path(
    stub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = _loads(monkeypatch, driver_present=False)
    assert cuda_driver.prepare() == "stub"
    assert loaded == [(cuda_driver.DRIVER, ctypes.DEFAULT_MODE), (str(stub), ctypes.RTLD_GLOBAL)]
    assert cuda_driver.prepare() == "stub" and len(loaded) == 2  # once per process


def test_a_real_driver_is_preferred(stub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = _loads(monkeypatch, driver_present=True)
    assert cuda_driver.prepare() == "driver"
    assert [name for name, _ in loaded] == [cuda_driver.DRIVER]


def test_a_build_without_a_stand_in_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "llama_cpp" / "lib").mkdir(parents=True)
    (tmp_path / "llama_cpp" / "__init__.py").write_text("")
    monkeypatch.delitem(sys.modules, "llama_cpp", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = _loads(monkeypatch, driver_present=False)
    cuda_driver.prepare.cache_clear()
    try:
        assert cuda_driver.prepare() is None
    finally:
        cuda_driver.prepare.cache_clear()
    assert loaded == []
