"""llama.cpp's AMX kernels crash on some Intel Xeons: models are loaded without them there.

pip builds llama.cpp for the CPU it compiles on. On a CPU with AMX (Intel Xeon Scalable,
4th generation and newer) that build puts a quantized model's weights in an AMX buffer,
and on some of those machines its matrix product then crashes the process on the first
prompt (ggml-org/llama.cpp#20824, open upstream; here it crashed on every prompt of the
starter model, from Hearth and from llama-cpp-python called directly alike). Which
machines cannot be told in advance, so on a build with AMX every model is loaded without
llama.cpp's extra weight buffers (``use_extra_bufts``): AMX, and also the CPU repacking
that speeds up reading prompts with Q4_0, Q4_K and IQ4_NL weights.

``HEARTH_LLAMA_AMX=1`` keeps them (a machine where AMX works). For the repacking without
AMX, build llama.cpp for this CPU without it: ``packaging/gpu/build-llama.sh cpu``
(it leaves AMX out where the CPU has it).
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)

KEEP_AMX_ENV = "HEARTH_LLAMA_AMX"


def build_has_amx(system_info: str) -> bool:
    """Whether llama.cpp's system info (``llama_print_system_info``) lists AMX kernels."""
    return "AMX_INT8 = 1" in system_info


def avoid_amx_kernels() -> bool:
    """From now on, models load without extra weight buffers if this llama.cpp has AMX
    kernels (see the module docstring); True when that is so. Idempotent; call before
    ``llama_cpp.Llama()``."""
    import llama_cpp.llama_cpp as raw

    factory = raw.llama_model_default_params
    if getattr(factory, "without_amx", False):
        return True
    if os.environ.get(KEEP_AMX_ENV) == "1":
        return False
    if not build_has_amx(raw.llama_print_system_info().decode("utf-8", errors="replace")):
        return False

    def params_without_extra_buffers() -> Any:
        params = factory()
        params.use_extra_bufts = False
        return params

    # llama-cpp-python builds its model params from this factory and has no argument for
    # the field; the worker's own per-load wrappers (progress, MoE overrides) wrap this one.
    params_without_extra_buffers.without_amx = True  # type: ignore[attr-defined]
    params_without_extra_buffers.__wrapped__ = factory  # type: ignore[attr-defined]
    raw.llama_model_default_params = params_without_extra_buffers
    log.info("llama.cpp has AMX kernels: models load without them (%s=1 keeps them)", KEEP_AMX_ENV)
    return True
