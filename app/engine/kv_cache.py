"""The KV cache's type: f16 (llama.cpp's default), q8_0 or q4_0.

A quantised cache holds the same context in less memory (q8_0: 34 bytes per 32 values,
47 % less than f16; q4_0: 18 bytes, 72 % less), so the same RAM or VRAM holds a longer
context (see app.engine.planner's arithmetic). llama.cpp stores V transposed without
flash attention, which a block-quantised type cannot be, so a quantised cache turns
flash attention on (K and V share the type here, as llama-server's users set them).

Flash attention is its own switch too (``--flash-attn on|off|auto``, Preferences): auto
(None) turns it on for a quantised cache only, on (True) always, off (False) never, which
a quantised cache refuses in one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import ConfigError
from app.core.i18n import translate

KV_TYPES = ("f16", "q8_0", "q4_0")
FLASH_MODES = ("auto", "on", "off")
DEFAULT_KV_TYPE = "f16"

# ggml_type ids (ggml.h; llama_cpp.GGML_TYPE_F16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_0).
_GGML_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}


@dataclass(frozen=True)
class KVCacheSetup:
    """What ``Llama()`` is given for one cache type."""

    kv_type: str
    type_k: int
    type_v: int
    flash_attn: bool


def check_kv_type(kv_type: str) -> str:
    """``kv_type`` if Hearth can load with it, else a ConfigError in one sentence."""
    if kv_type not in KV_TYPES:
        raise ConfigError(
            translate(
                "Errors",
                "The KV cache type {kv_type!r} is not supported; choose one of "
                "{types} (Preferences, or --kv-type).",
            ).format(kv_type=kv_type, types=", ".join(KV_TYPES))
        )
    return kv_type


def flash_mode(value: str | None) -> bool | None:
    """``--flash-attn``'s or the settings' "on"/"off"/"auto" as a load takes it:
    True, False, or None (auto); anything else is a ConfigError in one sentence."""
    mode = (value or "auto").strip().lower()
    if mode not in FLASH_MODES:
        raise ConfigError(
            translate(
                "Errors",
                "Flash attention {value!r} is not a choice; use on, off or auto "
                "(Preferences, or --flash-attn).",
            ).format(value=value)
        )
    return {"on": True, "off": False}.get(mode)


def kv_setup(kv_type: str, flash_attn: bool | None) -> KVCacheSetup:
    """The ``type_k``/``type_v``/``flash_attn`` arguments for a cache of ``kv_type``.

    ``flash_attn`` None (auto) turns flash attention on for a quantised cache, which
    needs it, and leaves it off for f16; True and False say so, and False with a
    quantised cache is a ConfigError in one sentence."""
    check_kv_type(kv_type)
    ggml = _GGML_TYPES[kv_type]
    quantised = kv_type != "f16"
    if flash_attn is False and quantised:
        raise ConfigError(
            translate(
                "Errors",
                "A {kv_type} KV cache needs flash attention; set flash attention to auto "
                "or on, or use the f16 cache type.",
            ).format(kv_type=kv_type)
        )
    return KVCacheSetup(kv_type, ggml, ggml, quantised if flash_attn is None else flash_attn)


def flash_notice(reason: str) -> str:
    """The sentence shown when llama.cpp refused flash attention and it was left off."""
    return translate(
        "Notices",
        "This llama.cpp could not use flash attention ({reason}); the model was loaded without it.",
    ).format(reason=reason.rstrip("."))


def fallback_notice(kv_type: str, reason: str) -> str:
    """The sentence shown when llama.cpp refused a quantised cache and f16 was used."""
    return translate(
        "Notices",
        "This llama.cpp could not use a {kv_type} KV cache ({reason}); the model was loaded "
        "with an f16 cache instead.",
    ).format(kv_type=kv_type, reason=reason.rstrip("."))
