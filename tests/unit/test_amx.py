"""llama.cpp built with AMX kernels: models load without extra weight buffers
(the kernels crash on some Xeons, ggml-org/llama.cpp#20824), on the real library."""

from __future__ import annotations

from collections.abc import Iterator

import llama_cpp.llama_cpp as raw
import pytest

from app.engine import amx
from tests.fixtures.models import smollm2_path


@pytest.fixture
def factory_restored() -> Iterator[None]:
    original = raw.llama_model_default_params
    yield
    raw.llama_model_default_params = original


def _unwrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's own factory, whatever the session start did (tests/conftest.py)."""
    factory = raw.llama_model_default_params
    while getattr(factory, "without_amx", False):
        factory = factory.__wrapped__
    monkeypatch.setattr(raw, "llama_model_default_params", factory)


def test_the_system_info_names_amx() -> None:
    assert amx.build_has_amx("CPU : AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | REPACK = 1 |")
    assert not amx.build_has_amx("CPU : AVX2 = 1 | AVX512 = 1 | REPACK = 1 |")


@pytest.mark.usefixtures("factory_restored")
@pytest.mark.parametrize("with_amx", [True, False])
def test_models_load_without_extra_buffers_only_on_a_build_with_amx(
    monkeypatch: pytest.MonkeyPatch, with_amx: bool
) -> None:
    _unwrapped(monkeypatch)
    info = b"CPU : AVX2 = 1 | " + (b"AMX_INT8 = 1 | " if with_amx else b"") + b"REPACK = 1 |"
    monkeypatch.setattr(raw, "llama_print_system_info", lambda: info)
    monkeypatch.delenv(amx.KEEP_AMX_ENV, raising=False)
    assert amx.avoid_amx_kernels() is with_amx
    assert amx.avoid_amx_kernels() is with_amx  # idempotent: wrapped once
    params = raw.llama_model_default_params()
    assert params.use_extra_bufts is (not with_amx)
    assert params.n_gpu_layers == raw.llama_model_default_params().n_gpu_layers


@pytest.mark.usefixtures("factory_restored")
def test_the_user_can_keep_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    _unwrapped(monkeypatch)
    monkeypatch.setattr(raw, "llama_print_system_info", lambda: b"AMX_INT8 = 1 |")
    monkeypatch.setenv(amx.KEEP_AMX_ENV, "1")
    assert not amx.avoid_amx_kernels()
    assert raw.llama_model_default_params().use_extra_bufts


@pytest.mark.slow
def test_this_machines_llama_cpp_answers_a_prompt() -> None:
    """The starter model reads a prompt of several batches' worth through the matrix
    products AMX would take (on an AMX build of this library the process crashed here)."""
    import llama_cpp

    amx.avoid_amx_kernels()
    llm = llama_cpp.Llama(model_path=str(smollm2_path()), n_ctx=512, n_threads=2, verbose=False)
    try:
        out = llm.create_completion("Hello, my name is Bob. " * 40, max_tokens=4, temperature=0)
        assert out["usage"]["prompt_tokens"] > 200
        assert out["usage"]["completion_tokens"] >= 1
    finally:
        llm.close()
