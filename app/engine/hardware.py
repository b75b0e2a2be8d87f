"""What this machine offers for inference: CPU cores, RAM, GPUs and the llama.cpp build.

``probe_hardware()`` is cheap (well under a second) and never imports llama.cpp, so the
offload planner can run before the engine process starts. NVIDIA GPUs are read through
NVML (``pynvml`` from nvidia-ml-py) when it is installed, else from ``nvidia-smi``; an
Apple Silicon Mac reports its unified memory as one Metal GPU. AMD/Intel GPUs (Vulkan,
ROCm, SYCL builds) are not probed: the planner then plans for the CPU, which is safe.

``llama_supports_gpu_offload()`` and ``build_backend()`` ask the installed llama.cpp
build itself and import ``llama_cpp`` lazily, inside the call.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

log = logging.getLogger(__name__)

MIB = 1024 * 1024
GIB = 1024 * MIB

# Metal's recommendedMaxWorkingSetSize, the most a process should keep resident for the
# GPU, is not readable without PyObjC. Observed values: about 2/3 of RAM on Macs with
# less than 64 GiB (8 GiB -> 5.3 GiB, 32 GiB -> 21.3 GiB) and 3/4 from 64 GiB up
# (64 GiB -> 48 GiB, 128 GiB -> 96 GiB). We assume exactly that.
_METAL_LARGE_RAM = 64 * GIB
_METAL_SMALL_FRACTION = 2 / 3
_METAL_LARGE_FRACTION = 3 / 4

# ggml backend registry names (ggml_backend_reg_name) -> Hearth's backend names. The
# registry of a CPU build holds only "CPU" (plus "BLAS"/"RPC" helpers, which do not
# offload layers); GPU builds add one of these.
_GPU_REGISTRIES = {
    "CUDA": "cuda",
    "ROCm": "rocm",
    "MUSA": "musa",
    "MTL": "metal",
    "Metal": "metal",
    "Vulkan": "vulkan",
    "SYCL": "sycl",
    "OpenCL": "opencl",
    "CANN": "cann",
}
_NVIDIA_SMI_QUERY = "--query-gpu=index,name,memory.total,memory.free"


@dataclass(frozen=True)
class GPUInfo:
    """One GPU as the planner sees it; memory in bytes."""

    index: int
    name: str
    vendor: str  # "nvidia" or "apple"
    total_bytes: int
    free_bytes: int
    # Apple Silicon: GPU memory is system RAM, so GPU and CPU allocations compete.
    unified_memory: bool = False


@dataclass(frozen=True)
class HardwareInfo:
    """A snapshot of the machine; memory in bytes."""

    cpu_physical_cores: int
    cpu_logical_cores: int
    total_ram_bytes: int
    available_ram_bytes: int
    gpus: tuple[GPUInfo, ...] = ()
    system: str = field(default_factory=platform.system)  # "Linux", "Darwin", "Windows"
    machine: str = field(default_factory=platform.machine)  # "x86_64", "arm64", "AMD64"

    @property
    def best_gpu(self) -> GPUInfo | None:
        """The GPU with the most free memory (llama.cpp's main GPU by default is 0,
        but a layer split puts most layers where most memory is free)."""
        return max(self.gpus, key=lambda gpu: gpu.free_bytes, default=None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe_hardware(*, nvidia_smi_timeout: float = 3.0) -> HardwareInfo:
    """Read cores, RAM and GPUs. Never raises for a missing or broken GPU stack."""
    memory = psutil.virtual_memory()
    logical = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    gpus = _probe_nvidia(nvidia_smi_timeout)
    apple = _probe_apple_metal(memory.total, memory.available)
    if apple is not None:
        gpus = (*gpus, apple)
    return HardwareInfo(
        cpu_physical_cores=physical,
        cpu_logical_cores=logical,
        total_ram_bytes=memory.total,
        available_ram_bytes=memory.available,
        gpus=gpus,
    )


# -- NVIDIA -----------------------------------------------------------------------------
def _probe_nvidia(timeout: float) -> tuple[GPUInfo, ...]:
    gpus = _probe_nvml()
    if gpus is None:
        gpus = _probe_nvidia_smi(timeout)
    return gpus


def _probe_nvml() -> tuple[GPUInfo, ...] | None:
    """GPUs through NVML, or None when pynvml is missing or NVML cannot start."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        log.debug("NVML unavailable: %s", exc)
        return None
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            if isinstance(name, bytes):  # nvidia-ml-py < 11.5 returned bytes
                name = name.decode("utf-8", errors="replace")
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(GPUInfo(index, str(name), "nvidia", int(memory.total), int(memory.free)))
        return tuple(gpus)
    except Exception as exc:
        log.debug("NVML query failed: %s", exc)
        return None
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def _probe_nvidia_smi(timeout: float) -> tuple[GPUInfo, ...]:
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return ()
    try:
        result = subprocess.run(
            [binary, _NVIDIA_SMI_QUERY, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("nvidia-smi failed: %s", exc)
        return ()
    if result.returncode != 0:
        log.debug("nvidia-smi exited %s: %s", result.returncode, result.stderr.strip())
        return ()
    return parse_nvidia_smi(result.stdout)


def parse_nvidia_smi(text: str) -> tuple[GPUInfo, ...]:
    """Parse ``index, name, memory.total, memory.free`` CSV lines (MiB, no units).

    Lines with "[N/A]" or other unreadable numbers are skipped rather than guessed.
    """
    gpus = []
    for line in text.splitlines():
        # The name may itself contain commas, so take the index from the left and
        # the two numbers from the right.
        head, sep, rest = line.partition(",")
        parts = rest.rsplit(",", 2)
        if not sep or len(parts) != 3:
            continue
        try:
            index = int(head.strip())
            total = int(float(parts[1].strip()) * MIB)
            free = int(float(parts[2].strip()) * MIB)
        except ValueError:
            continue
        gpus.append(GPUInfo(index, parts[0].strip(), "nvidia", total, free))
    return tuple(gpus)


# -- Apple Silicon ----------------------------------------------------------------------
def metal_working_set(total_ram: int) -> int:
    """Our estimate of Metal's recommendedMaxWorkingSetSize for a Mac with this RAM."""
    fraction = _METAL_LARGE_FRACTION if total_ram >= _METAL_LARGE_RAM else _METAL_SMALL_FRACTION
    return int(total_ram * fraction)


def _probe_apple_metal(total_ram: int, available_ram: int) -> GPUInfo | None:
    if sys.platform != "darwin" or platform.machine() != "arm64":
        return None
    working_set = metal_working_set(total_ram)
    return GPUInfo(
        index=0,
        name=_apple_chip_name(),
        vendor="apple",
        total_bytes=working_set,
        # The GPU can only use RAM that is free now, and never more than the working set.
        free_bytes=min(working_set, available_ram),
        unified_memory=True,
    )


def _apple_chip_name() -> str:
    try:
        result = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string"],
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "Apple Silicon GPU"
    name = result.stdout.strip()
    return f"{name} GPU" if name else "Apple Silicon GPU"


# -- the llama.cpp build ----------------------------------------------------------------
def llama_supports_gpu_offload() -> bool:
    """Whether the installed llama.cpp has a GPU (or RPC) device it can offload to.

    llama.cpp answers from its device list, so a CUDA build on a machine without an
    NVIDIA driver says False. A missing or broken llama_cpp also says False.
    """
    try:
        from app.engine.cuda_driver import prepare

        prepare()
        import llama_cpp
    except Exception:  # ImportError, or OSError when the shared library fails to load
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


def build_backend() -> str:
    """The GPU backend compiled into llama.cpp: "cuda", "metal", "vulkan", "rocm",
    "sycl", ..., or "cpu" for a CPU-only build (or when llama_cpp is missing).

    This names the build, not a device: a CUDA build without a usable GPU still says
    "cuda"; ask ``llama_supports_gpu_offload()`` whether offload will happen.
    """
    names = _registry_names()
    if names is None:
        names = _system_info_names()
    for name in names:
        if name in _GPU_REGISTRIES:
            return _GPU_REGISTRIES[name]
    return "cpu"


def _registry_names() -> list[str] | None:
    """Names in ggml's backend registry, read through ctypes; None if unreachable."""
    try:
        from app.engine.cuda_driver import prepare

        prepare()
        import llama_cpp
        from llama_cpp import _ggml  # llama-cpp-python's handle on libggml

        # A build with dynamically loaded backends registers them on first use; this
        # call loads them (it runs ggml_backend_load_all() when the registry is empty).
        llama_cpp.llama_supports_gpu_offload()
        lib = _ggml.libggml
        lib.ggml_backend_reg_count.restype = ctypes.c_size_t
        lib.ggml_backend_reg_count.argtypes = []
        lib.ggml_backend_reg_get.restype = ctypes.c_void_p
        lib.ggml_backend_reg_get.argtypes = [ctypes.c_size_t]
        lib.ggml_backend_reg_name.restype = ctypes.c_char_p
        lib.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
        names = []
        for index in range(int(lib.ggml_backend_reg_count())):
            raw = lib.ggml_backend_reg_name(lib.ggml_backend_reg_get(index))
            if raw:
                names.append(raw.decode("utf-8", errors="replace"))
        return names
    except Exception as exc:  # missing package, renamed private module, missing symbol
        log.debug("ggml backend registry unreadable: %s", exc)
        return None


def _system_info_names() -> list[str]:
    """Fallback: llama_print_system_info() prints "NAME : FEATURE = 1 | ..." for each
    registered backend that reports features (CUDA, Metal and CPU do; Vulkan does not).
    """
    try:
        import llama_cpp

        text = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    except Exception:
        return []
    names = []
    for chunk in text.split("|"):
        name, sep, _ = chunk.partition(" : ")
        if sep:
            names.append(name.strip())
    return names
