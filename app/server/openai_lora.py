"""Hearth's ``hearth_lora`` extension of chat requests: LoRA adapters for one reply.

``"hearth_lora": [{"name": "my-style", "scale": 0.8}, ...]`` names adapters of the
library (``hearth models ls --kind lora``), never paths: a network client must not make
Hearth open files. Each must fit the requested model (its architecture and tensor
shapes, as the library pairs them); the engine applies the set without reloading.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from app.catalog.library import LORA, Library, ModelEntry
from app.core.errors import ModelNotFoundError
from app.server.names import named
from app.server.openai_api import ApiError, check_name

KEY = "hearth_lora"
MAX_ADAPTERS = 8
MAX_SCALE = 4.0


def take_lora_request(body: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    """The request's ``hearth_lora`` as (adapter name, scale) pairs, removed from
    ``body``; a 400 for anything it cannot mean."""
    value = body.pop(KEY, None)
    if value is None:
        return ()
    shape = f'\'{KEY}\' must be a list like [{{"name": "my-adapter", "scale": 1.0}}].'
    if not isinstance(value, list) or len(value) > MAX_ADAPTERS:
        raise ApiError(400, f"{shape[:-1]}, of at most {MAX_ADAPTERS} adapters.", param=KEY)
    pairs: list[tuple[str, float]] = []
    for index, item in enumerate(value):
        param = f"{KEY}[{index}]"
        if not isinstance(item, dict) or set(item) - {"name", "scale"}:
            raise ApiError(400, shape, param=param)
        name = check_name(item.get("name"), f"{param}.name")
        if name is None:
            raise ApiError(400, f"'{param}.name' must name an adapter.", param=param)
        scale = item.get("scale", 1.0)
        if (
            isinstance(scale, bool)
            or not isinstance(scale, int | float)
            or not math.isfinite(scale)
            or not -MAX_SCALE <= scale <= MAX_SCALE
        ):
            raise ApiError(
                400, f"'{param}.scale' must be a number from -4 to 4.", param=f"{param}.scale"
            )
        pairs.append((name, float(scale)))
    return tuple(pairs)


def adapter_paths(
    library: Library, model: ModelEntry, wanted: Sequence[tuple[str, float]]
) -> tuple[tuple[str, float], ...]:
    """The adapters' files with their scales; a 400 for one that is not in the library,
    is damaged, or does not fit ``model``."""
    if not wanted:
        return ()
    adapters = library.entries(LORA)
    found: list[tuple[str, float]] = []
    for name, scale in wanted:
        try:
            adapter = named(adapters, name, "LoRA adapter")
        except ModelNotFoundError as exc:
            raise ApiError(
                400,
                str(exc).replace("/v1/models", "hearth models ls --kind lora"),
                param=KEY,
            ) from None
        if adapter.error:
            raise ApiError(400, f"LoRA adapter {adapter.name} cannot be used: {adapter.error}",
                           param=KEY)  # fmt: skip
        if model.name not in adapter.lora_bases:
            raise ApiError(
                400,
                f"LoRA adapter {adapter.name} was made for another base model, not for "
                f"{model.name}; choose an adapter made for {model.name}.",
                param=KEY,
            )
        found.append((adapter.path, scale))
    return tuple(found)
