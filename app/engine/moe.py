"""Mixture-of-experts models: which blocks hold experts, and keeping some of them in RAM.

A MoE model (Qwen3-30B-A3B, gpt-oss, GLM-4.5-Air, ...) stores each block's experts as
stacked tensors named ``blk.N.ffn_{gate,up,down,gate_up}_exps`` (or ``_chexps``). Only a
few experts run per token, so the expert weights of some blocks can stay in system RAM
(the CPU computes them) while attention and the rest go to the GPU: that is how a 30B-A3B
model runs on an 8 GB GPU (llama-server's ``--n-cpu-moe N``).

llama.cpp does it with ``llama_model_params.tensor_buft_overrides``: a NULL-terminated
array of ``{const char *pattern; ggml_backend_buffer_type_t buft}``, each pattern a regex
searched in tensor names. llama-cpp-python 0.3.36 declares the field but never fills it,
so :func:`expert_overrides` fills it through ctypes while ``Llama()`` builds its params.
llama.cpp logs "tensor <name> (...) buffer type overridden to <buft>" at debug level for
every tensor a pattern matched (llama-model-loader.cpp), which
:func:`overridden_layers` reads back to tell which blocks really went to RAM.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import ConfigError
from app.core.gguf_meta import GGUFInfo
from app.core.i18n import translate

# common/common.h LLM_FFN_EXPS_REGEX in the vendored llama.cpp.
_EXPS_SUFFIX = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps"
_EXPS_RE = re.compile(r"^blk\.(\d+)" + _EXPS_SUFFIX)
# llama-model-loader.cpp: "tensor %s (%zu MiB %s) buffer type overridden to %s".
OVERRIDE_LOG_RE = re.compile(r"tensor (\S+) \(.*\) buffer type overridden to (\S+)")


def expert_layers(info: GGUFInfo) -> tuple[int, ...]:
    """The blocks holding expert tensors, in order; empty for a dense model."""
    if int(info.arch_value("expert_count", 0) or 0) <= 0:
        return ()
    layers = {int(m.group(1)) for t in info.tensors if (m := _EXPS_RE.match(t.name))}
    return tuple(sorted(layers))


def is_moe(info: GGUFInfo) -> bool:
    return bool(expert_layers(info))


def expert_bytes_per_layer(info: GGUFInfo) -> dict[int, int]:
    """Bytes of the expert tensors of each block (what ``--cpu-moe`` moves to RAM)."""
    sizes: dict[int, int] = {}
    for tensor in info.tensors:
        match = _EXPS_RE.match(tensor.name)
        if match:
            layer = int(match.group(1))
            sizes[layer] = sizes.get(layer, 0) + tensor.n_bytes
    return sizes


def check_cpu_moe(info: GGUFInfo, cpu_moe: int | None) -> int | None:
    """``cpu_moe`` clipped to the model's expert blocks; a sentence for bad input."""
    if cpu_moe is None:
        return None
    if cpu_moe < 0:
        raise ConfigError(
            translate(
                "Errors",
                "--cpu-moe must be 0 or more (or auto), not {cpu_moe}; check the model settings.",
            ).format(cpu_moe=cpu_moe)
        )
    layers = expert_layers(info)
    if cpu_moe and not layers:
        raise ConfigError(
            translate(
                "Errors",
                "{file} is not a mixture-of-experts model; --cpu-moe applies only to those.",
            ).format(file=info.path.name)
        )
    return min(cpu_moe, len(layers))


def expert_pattern(layers: Iterable[int]) -> str | None:
    """One regex for the expert tensors of ``layers`` (None for no layers)."""
    ids = sorted(set(layers))
    if not ids:
        return None
    return r"^blk\.(" + "|".join(str(i) for i in ids) + r")" + _EXPS_SUFFIX


def first_expert_layers(info: GGUFInfo, n: int) -> tuple[int, ...]:
    """The first ``n`` blocks that hold experts."""
    return expert_layers(info)[: max(0, n)]


@dataclass
class BuftOverrides:
    """A NULL-terminated ``llama_model_tensor_buft_override`` array and the pattern bytes
    it points to; llama.cpp keeps pointers into both, so this object must live as long
    as the model does."""

    patterns: tuple[str, ...]
    _strings: list[ctypes.Array[ctypes.c_char]] = field(default_factory=list, repr=False)
    _array: Any = field(default=None, repr=False)

    @property
    def pointer(self) -> int | None:
        return ctypes.addressof(self._array) if self._array is not None else None


class _Override(ctypes.Structure):
    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


def _ggml_base() -> ctypes.CDLL:
    """libggml-base as llama-cpp-python loaded it (the same handle: the same pointers)."""
    import llama_cpp
    from llama_cpp._ctypes_extensions import load_shared_library

    return load_shared_library("ggml-base", Path(llama_cpp.__file__).parent / "lib")  # type: ignore[no-any-return]


def cpu_buffer_type() -> int:
    """``ggml_backend_cpu_buffer_type()``: the buffer type llama.cpp compares overrides to."""
    lib = _ggml_base()
    func = lib.ggml_backend_cpu_buffer_type
    func.argtypes = []
    func.restype = ctypes.c_void_p
    value = func()
    if not value:
        raise RuntimeError("ggml has no CPU buffer type")
    return int(value)


def build_overrides(patterns: Iterable[str]) -> BuftOverrides:
    """Every tensor matching one of ``patterns`` goes to the CPU buffer type."""
    pats = tuple(patterns)
    result = BuftOverrides(pats)
    if not pats:
        return result
    buft = cpu_buffer_type()
    array = (_Override * (len(pats) + 1))()
    for slot, pattern in zip(array, pats, strict=False):
        text = ctypes.create_string_buffer(pattern.encode())
        result._strings.append(text)
        slot.pattern = ctypes.cast(text, ctypes.c_char_p)
        slot.buft = buft
    array[len(pats)].pattern = None  # the terminator
    array[len(pats)].buft = None
    result._array = array
    return result


@contextmanager
def expert_overrides(overrides: BuftOverrides | None) -> Iterator[None]:
    """While ``Llama()`` runs inside this block its model params carry ``overrides``.

    llama-cpp-python builds the params from ``llama_model_default_params()`` and offers no
    argument for the field, so the factory is wrapped for the block (as the worker does
    for its progress callback; wrappers nest)."""
    pointer = overrides.pointer if overrides is not None else None
    if pointer is None:
        yield
        return
    import llama_cpp.llama_cpp as raw

    original = raw.llama_model_default_params

    def params_with_overrides() -> Any:
        params = original()
        params.tensor_buft_overrides = pointer
        return params

    raw.llama_model_default_params = params_with_overrides
    try:
        yield
    finally:
        raw.llama_model_default_params = original


def overrides_for(info: GGUFInfo, n: int) -> BuftOverrides | None:
    """The overrides keeping the experts of the first ``n`` expert blocks in RAM."""
    pattern = expert_pattern(first_expert_layers(info, n))
    return build_overrides([pattern]) if pattern else None


def overridden_layers(lines: Iterable[str], buffer: str = "CPU") -> tuple[int, ...]:
    """Blocks whose expert tensors llama.cpp's log says went to a ``buffer`` buffer type
    (``CPU``, or a CPU extra type such as ``CPU_REPACK``)."""
    layers = set()
    for line in lines:
        match = OVERRIDE_LOG_RE.search(line)
        if match and match.group(2).startswith(buffer):
            name = _EXPS_RE.match(match.group(1))
            if name:
                layers.add(int(name.group(1)))
    return tuple(sorted(layers))
