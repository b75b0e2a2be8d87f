"""The CUDA variant of the bundle: which CUDA libraries it carries, and checks on them.

A CUDA build of llama-cpp-python links ``libggml-cuda.so`` against the CUDA runtime
(``libcudart``) and cuBLAS (``libcublas`` -> ``libcublasLt``, which dlopens NVRTC). The
bundle carries those from the ``nvidia-*`` wheels in the venv (the same files pip
installs, whatever toolkit the build machine had) and never the driver
(``libcuda.so.1``), which must match the user's kernel module.

How the bundle finds them at run time: PyInstaller's Linux bootloader prepends the
bundle's ``_internal`` folder to ``LD_LIBRARY_PATH`` and re-executes itself, so the
top-level links PyInstaller puts there (``libcudart.so.13 -> nvidia/cu13/lib/...``) come
before anything else; cuBLAS finds cuBLASLt and NVRTC through its own ``$ORIGIN`` rpath.
``libggml-cuda.so`` also names the build machine's toolkit in its RUNPATH; ``strip_runpath``
removes that absolute path from the bundled copy so the bundle never looks there.

Only ELF64 little-endian (Linux x86-64 and aarch64) is read; that is where CUDA bundles
are made.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DT_NEEDED, DT_RPATH, DT_RUNPATH = 1, 15, 29
SHT_DYNAMIC = 6
# The driver and its helpers come from the user's system, never from the bundle.
DRIVER_LIBRARIES = ("libcuda.so", "libnvidia-ml.so", "libcudadebugger.so")
# Loaded by name at run time (dlopen), so dependency analysis cannot see them.
DLOPENED = ("libnvrtc.so.", "libnvrtc-builtins.so.")


@dataclass(frozen=True)
class DynamicEntry:
    """One string entry of an ELF file's dynamic section."""

    tag: int
    value: str
    offset: int  # file offset of the string (for an in-place rewrite)


def dynamic_strings(path: Path) -> list[DynamicEntry]:
    """DT_NEEDED, DT_RPATH and DT_RUNPATH entries of an ELF64 little-endian file."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path} is not an ELF64 little-endian file")
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, shoff + index * shentsize) for index in range(shnum)
    ]
    entries: list[DynamicEntry] = []
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != SHT_DYNAMIC:
            continue
        strtab = sections[link][4]
        for pos in range(offset, offset + size, entsize or 16):
            tag, value = struct.unpack_from("<qQ", data, pos)
            if tag == 0:
                break
            if tag in (DT_NEEDED, DT_RPATH, DT_RUNPATH):
                start = strtab + value
                end = data.index(b"\0", start)
                entries.append(DynamicEntry(tag, data[start:end].decode(), start))
    return entries


def needed(path: Path) -> list[str]:
    """The libraries ``path`` links against (DT_NEEDED), in order."""
    return [entry.value for entry in dynamic_strings(path) if entry.tag == DT_NEEDED]


def strip_runpath(path: Path, drop: Callable[[str], bool] | None = None) -> str | None:
    """Drop absolute directories from ``path``'s RUNPATH/RPATH (keeping ``$ORIGIN`` ones),
    or the directories ``drop`` says.

    The string is rewritten in place, shorter and padded with NULs, as ``chrpath`` does; the
    file is replaced (not written through) so a hard link to the venv's copy stays intact.
    Returns the old value when it changed, else None.
    """
    data = bytearray(path.read_bytes())
    old_value = None
    for entry in dynamic_strings(path):
        if entry.tag not in (DT_RPATH, DT_RUNPATH):
            continue
        dropped = drop or (lambda part: not part.startswith("$ORIGIN"))
        kept = [part for part in entry.value.split(":") if not dropped(part)]
        new = ":".join(kept).encode()
        if new == entry.value.encode():
            continue
        old_value = entry.value
        length = len(entry.value.encode())
        data[entry.offset : entry.offset + length] = new + b"\0" * (length - len(new))
    if old_value is None:
        return None
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".runpath-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temp, path.stat().st_mode & 0o777)
    os.replace(temp, path)
    return old_value


def llama_lib_dir() -> Path | None:
    """``llama_cpp/lib`` of the installed llama-cpp-python (found without importing it)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    return lib if lib.is_dir() else None


def ggml_cuda_library(lib_dir: Path | None = None) -> Path | None:
    """The installed ``libggml-cuda.so`` (a CUDA build), or None (any other build)."""
    lib_dir = lib_dir or llama_lib_dir()
    if lib_dir is None:
        return None
    found = sorted(p for p in lib_dir.glob("libggml-cuda.so*") if not p.is_symlink())
    return found[0] if found else None


def wheel_library_dirs() -> list[Path]:
    """The ``nvidia/*/lib`` folders of the installed nvidia-* wheels (CUDA 12 and 13 layouts)."""
    spec = importlib.util.find_spec("nvidia")
    if spec is None or not spec.submodule_search_locations:
        return []
    dirs: list[Path] = []
    for root in spec.submodule_search_locations:
        dirs += sorted(p for p in Path(root).glob("*/lib") if p.is_dir())
    return dirs


def cuda_libraries(ggml_cuda: Path) -> list[Path]:
    """The CUDA libraries the bundle must carry, found in the nvidia-* wheels.

    What ``libggml-cuda`` links against that is not already beside it, what those link
    against in turn (cuBLAS -> cuBLASLt), and NVRTC, which cuBLASLt loads by name.
    Raises FileNotFoundError, naming the wheels to install, when one is missing.
    """
    dirs = wheel_library_dirs()
    beside = {p.name for p in ggml_cuda.parent.iterdir()}
    wanted = [name for name in needed(ggml_cuda) if _is_cuda(name) and name not in beside]
    found: dict[str, Path] = {}
    while wanted:
        name = wanted.pop(0)
        if name in found:
            continue
        path = next((d / name for d in dirs if (d / name).is_file()), None)
        if path is None:
            raise FileNotFoundError(
                f"{name} (needed by {ggml_cuda.name}) is not in any nvidia-* wheel of this "
                "venv; install them first, e.g. pip install nvidia-cuda-runtime nvidia-cublas"
            )
        found[name] = path
        wanted += [dep for dep in needed(path) if _is_cuda(dep)]
    for folder in {p.parent for p in found.values()}:
        for extra in sorted(folder.iterdir()):
            if extra.name.startswith(DLOPENED) and extra.is_file():
                found.setdefault(extra.name, extra)
    return list(found.values())


def _is_cuda(soname: str) -> bool:
    """A CUDA toolkit library name (runtime, cuBLAS, NVRTC), never the driver's."""
    if soname.startswith(DRIVER_LIBRARIES):
        return False
    return soname.startswith(("libcudart.so", "libcublas", "libnvrtc", "libnvJitLink"))


def cuda_major(libraries: list[Path]) -> str:
    """The CUDA major version of the runtime among ``libraries`` ("13" for libcudart.so.13)."""
    for lib in libraries:
        if lib.name.startswith("libcudart.so."):
            return lib.name.split(".")[2]
    raise ValueError("no libcudart among the CUDA libraries")


def check_bundle(app_dir: Path) -> list[str]:
    """Problems with a built CUDA app folder; an empty list when it is self-contained.

    Every CUDA library ``libggml-cuda`` needs must be in the bundle's top level (where the
    bootloader's ``LD_LIBRARY_PATH`` points) or beside it; no driver library may be there;
    no absolute path may remain in its RUNPATH.
    """
    internal = app_dir / "_internal"
    ggml = ggml_cuda_library(internal / "llama_cpp" / "lib")
    if ggml is None:
        return ["no libggml-cuda.so in the bundle's llama_cpp/lib"]
    problems = []
    for name in needed(ggml):
        if _is_cuda(name) and not ((internal / name).exists() or (ggml.parent / name).exists()):
            problems.append(f"{name} is not in the bundle")
    problems += [
        f"driver library {p.relative_to(app_dir)} is in the bundle"
        for p in app_dir.rglob("*")
        if p.name.startswith(DRIVER_LIBRARIES)
    ]
    for entry in dynamic_strings(ggml):
        if entry.tag in (DT_RPATH, DT_RUNPATH) and any(
            not part.startswith("$ORIGIN") for part in entry.value.split(":") if part
        ):
            problems.append(f"{ggml.name} still searches {entry.value}")
    return problems


def size_breakdown(app_dir: Path, libraries: list[Path]) -> dict[str, int]:
    """Bytes of the app folder: each CUDA library, libggml-cuda, and the rest (no symlinks)."""
    sizes: dict[str, int] = {}
    total = 0
    for path in app_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            total += size
            if path.name in {lib.name for lib in libraries} or path.name.startswith(
                "libggml-cuda.so"
            ):
                sizes[path.name] = sizes.get(path.name, 0) + size
    sizes["rest"] = total - sum(sizes.values())
    sizes["total"] = total
    return sizes
