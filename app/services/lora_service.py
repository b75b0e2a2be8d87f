"""A conversation's LoRA adapters, and adapters among Hub search results, for the window.

Plain Python (no Qt): the widgets (app/ui/lora_panel.py, the model manager's Discover
tab) only show what these functions return. A conversation keeps its adapters in its
settings as ``"loras": [[path, scale], ...]``; the engine applies them to the next reply
without reloading the model (app/engine/lora.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.catalog.adapters import installed_bases
from app.catalog.library import LORA

if TYPE_CHECKING:
    from app.catalog.hub import RepoSummary
    from app.catalog.library import Library, ModelEntry

SETTING = "loras"  # the conversation settings' key
MIN_SCALE, MAX_SCALE = 0.0, 2.0  # the panel's range (the CLI and API allow -4..4)
DEFAULT_SCALE = 1.0


@dataclass(frozen=True)
class LoraChoice:
    """An installed adapter that fits the loaded model, as the panel shows it."""

    name: str
    path: str
    enabled: bool
    scale: float


def loras_from_settings(settings: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    """The conversation's adapters as GenerationParams.loras holds them; anything
    unreadable in the stored value is left out."""
    found: list[tuple[str, float]] = []
    for item in settings.get(SETTING) or ():
        if isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str):
            try:
                scale = float(item[1])
            except (TypeError, ValueError):
                continue
            if math.isfinite(scale):
                found.append((item[0], scale))
    return tuple(found)


def choices_for(
    library: Library, model_name: str | None, settings: Mapping[str, Any]
) -> list[LoraChoice]:
    """Every usable installed adapter that fits ``model_name`` (the library pairs them
    by architecture and tensor shapes), ticked where the conversation uses it."""
    if not model_name:
        return []
    chosen = dict(loras_from_settings(settings))
    return [
        LoraChoice(
            name=entry.name,
            path=entry.path,
            enabled=entry.path in chosen,
            scale=clamp(chosen.get(entry.path, DEFAULT_SCALE)),
        )
        for entry in library.entries(LORA)
        if entry.error is None and model_name in entry.lora_bases
    ]


def settings_value(choices: Sequence[LoraChoice]) -> list[list[str | float]] | None:
    """What to store under ``"loras"``: the ticked adapters with their scales (None when
    none is: the key is then removed)."""
    value: list[list[str | float]] = [[c.path, clamp(c.scale)] for c in choices if c.enabled]
    return value or None


def clamp(scale: float) -> float:
    """A scale within the panel's range."""
    return min(MAX_SCALE, max(MIN_SCALE, float(scale)))


def adapter_column(repo: RepoSummary, chat_models: Sequence[ModelEntry]) -> tuple[str, list[str]]:
    """For a search result that is an adapter: the base it names ("" when it names none)
    and the installed chat models that are that base (by name: the file's own header
    decides once it is downloaded)."""
    if not repo.adapter or not repo.base_model:
        return "", []
    return repo.base_model, installed_bases(repo.base_model, chat_models)
