"""Where the CUDA-build-without-a-GPU tests run."""

from __future__ import annotations

import pytest


def skip_unless_cuda_build_without_gpu() -> None:
    """Skip, with the reason, unless llama.cpp is a CUDA build and sees no CUDA GPU."""
    from app.engine.hardware import build_backend, llama_supports_gpu_offload

    if build_backend() != "cuda":
        pytest.skip(
            "the installed llama.cpp is not a CUDA build; this test runs when one is "
            "(packaging/gpu/build-llama.sh cuda)"
        )
    if llama_supports_gpu_offload():
        pytest.skip("a CUDA GPU is usable here; this test is for a machine without one")
