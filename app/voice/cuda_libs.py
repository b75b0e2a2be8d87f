"""cuBLAS 12 for faster-whisper on CUDA, from the ``nvidia-cublas-cu12`` wheel or the system.

CTranslate2 4.8.5's PyPI wheel (faster-whisper's engine) links the CUDA runtime
statically and needs no cuDNN (no cuDNN name is in its library: upstream made its own
Conv1D kernel the default, OpenNMT/CTranslate2#1949), but opens cuBLAS 12 itself, by
name, at its first matrix product: ``dlopen("libcublas.so.12")`` on Linux,
``LoadLibrary("cublas64_12.dll")`` on Windows. A missing cuBLAS therefore shows up inside
the first transcription, long after the model loaded "on cuda". So before Whisper is
loaded on CUDA, :func:`ensure_cublas` loads cuBLAS 12 into the process: from the
``nvidia-cublas-cu12`` wheel's folder if it is installed (its libraries are not on the
library path, and loading them by path makes the later load by name find them), else by
name from the system library path (a CUDA 12 toolkit).

Linux is the platform this is verified on; the Windows names follow the same wheel's
layout (``nvidia/cublas/bin``) and NVIDIA's DLL names. macOS has no CUDA.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGE = "nvidia-cublas-cu12"
INSTALL = f"pip install {PACKAGE}"
# The cuBLAS functions CTranslate2 4.8.5 looks up (``strings`` on its library): a
# library that loads but lacks one would fail in the middle of a transcription.
FUNCTIONS = (
    "cublasCreate_v2",
    "cublasDestroy_v2",
    "cublasSetStream_v2",
    "cublasGetMathMode",
    "cublasGetProperty",
    "cublasSgemm_v2",
    "cublasSgemmStridedBatched",
    "cublasGemmEx",
    "cublasGemmStridedBatchedEx",
)


@dataclass(frozen=True)
class Platform:
    """Where a platform's cuBLAS 12 lives in the wheel, and its file names."""

    folder: str  # inside the wheel's nvidia/cublas package
    lt: str  # cuBLASLt, which cuBLAS needs: loaded first
    cublas: str  # the name CTranslate2 opens


LINUX = Platform("lib", "libcublasLt.so.12", "libcublas.so.12")
WINDOWS = Platform("bin", "cublasLt64_12.dll", "cublas64_12.dll")


@dataclass(frozen=True)
class Cublas:
    """Whether cuBLAS 12 is loaded in this process, and from where or why not."""

    loaded: bool
    source: str = ""  # the wheel's folder, or "the system library path"
    reason: str = ""  # why it is not loaded: a clause, for a sentence with install_hint()


Loader = Callable[[str], object]


def install_hint(frozen: bool | None = None) -> str:
    """How the user gets cuBLAS 12: the wheel; in the desktop bundle (no pip), CUDA 12's
    library on the library path."""
    if frozen is None:
        frozen = bool(getattr(sys, "frozen", False))
    if frozen:
        return f"put CUDA 12's {(platform_names() or LINUX).cublas} on the library path"
    return INSTALL


def platform_names(platform: str = sys.platform) -> Platform | None:
    """cuBLAS 12's names on ``platform`` (a ``sys.platform``); None where CUDA is not."""
    if platform.startswith("linux"):
        return LINUX
    if platform == "win32":
        return WINDOWS
    return None


def wheel_folders(names: Platform, roots: Iterable[str] | None = None) -> list[Path]:
    """The folders of installed ``nvidia-cublas-cu12`` wheels that hold cuBLAS 12.

    ``nvidia`` and ``nvidia.cublas`` are namespace packages (no ``__init__``, no
    ``__file__``): their folders come from the import system's search locations. A
    frozen bundle's own folder is searched too (PyInstaller may copy the libraries
    without the package).
    """
    places: list[Path] = []
    if roots is None:
        try:
            spec = importlib.util.find_spec("nvidia.cublas")
        except (ImportError, ValueError):
            spec = None
        found = list(spec.submodule_search_locations or []) if spec is not None else []
        bundle = getattr(sys, "_MEIPASS", None)
        if bundle:
            found.append(str(Path(bundle) / "nvidia" / "cublas"))
        roots = found
    for root in roots:
        folder = Path(root) / names.folder
        if (folder / names.cublas).is_file() and folder not in places:
            places.append(folder)
    return places


def _default_loader(path: str) -> object:
    if sys.platform == "win32" and "\\" not in path:
        # ctypes leaves PATH out of a bare DLL name's search; CTranslate2's LoadLibrary
        # searches it: look there the same way.
        path = ctypes.util.find_library(path) or path
    # RTLD_GLOBAL: cuBLAS's own need for cuBLASLt, and CTranslate2's load by name, are
    # then met by what is loaded here.
    return ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)


def load_cublas(
    names: Platform | None,
    folders: Sequence[Path],
    loader: Loader = _default_loader,
) -> Cublas:
    """Load cuBLAS 12 (cuBLASLt first) from the first of ``folders`` that works, else by
    name from the system library path; check it has the functions CTranslate2 calls."""
    if names is None:
        return Cublas(False, reason="CUDA is not available on this platform")
    problems: list[str] = []
    candidates = [(str(f / names.lt), str(f / names.cublas), str(f)) for f in folders]
    candidates.append((names.lt, names.cublas, "the system library path"))
    for lt, cublas, source in candidates:
        try:
            if source != "the system library path":
                loader(lt)  # the system's cuBLAS finds its own cuBLASLt
            library = loader(cublas)
        except OSError as exc:
            problems.append(f"{source}: {exc}")
            continue
        missing = [name for name in FUNCTIONS if not hasattr(library, name)]
        if missing:
            problems.append(f"{source}: {names.cublas} lacks {', '.join(missing)}")
            continue
        log.info("cuBLAS 12 for Whisper loaded from %s", source)
        return Cublas(True, source=source)
    log.info("cuBLAS 12 not loadable: %s", "; ".join(problems))
    if folders:
        return Cublas(False, reason=f"cuBLAS 12 does not load ({problems[0]})")
    return Cublas(False, reason="cuBLAS 12 is missing")


@functools.cache
def ensure_cublas() -> Cublas:
    """Load cuBLAS 12 into this process for CTranslate2, once; say whether it worked."""
    names = platform_names()
    return load_cublas(names, wheel_folders(names) if names is not None else [])
