"""A CUDA build of llama.cpp on a machine without the NVIDIA driver.

A CUDA build with llama.cpp's virtual-memory pool (the default of
``packaging/gpu/build-llama.sh cuda``) links the driver library, libcuda.so.1, so it cannot
even be loaded where there is none: a laptop without an NVIDIA GPU running a CUDA
bundle, a CI machine. The pool is worth it: without it (GGML_CUDA_NO_VMM) llama.cpp keeps
every buffer a growing context outgrew: 5,852 MiB instead of 1,912 MiB for the starter
model at 32k tokens on an H200.

So the build leaves a stand-in for the driver beside its libraries (``STUB_NAME``, made
from cuda.h: every call answers CUDA_ERROR_STUB_LIBRARY). Before llama.cpp is loaded,
:func:`prepare` loads the real driver if the system has one, and otherwise the stand-in:
llama.cpp then loads, finds no GPU, and Hearth plans for the CPU and says so. The
stand-in is only ever loaded by its path, never found by name, so it cannot shadow a
real driver.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

STUB_NAME = "libcuda-stub.so"
DRIVER = "libcuda.so.1"


def stub_path() -> Path | None:
    """The stand-in shipped beside llama.cpp's libraries, if this build has one."""
    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    stub = Path(next(iter(spec.submodule_search_locations))) / "lib" / STUB_NAME
    return stub if stub.is_file() else None


@functools.cache
def prepare() -> str | None:
    """Call before ``import llama_cpp``. Returns "driver" (the system's driver is
    there), "stub" (it is not: the stand-in was loaded) or None (nothing to do: not a
    Linux CUDA build with a stand-in)."""
    if not sys.platform.startswith("linux"):
        return None
    stub = stub_path()
    if stub is None:
        return None
    try:
        ctypes.CDLL(DRIVER)
        return "driver"
    except OSError:
        pass
    ctypes.CDLL(str(stub), mode=ctypes.RTLD_GLOBAL)
    log.info("no NVIDIA driver: llama.cpp's CUDA build loads with a stand-in, on the CPU")
    return "stub"
