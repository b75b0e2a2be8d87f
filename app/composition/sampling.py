"""Sampling defaults for each front end, in one place."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from app.core.generation import GenerationParams

FrontEnd = Literal["chat", "window", "server", "voice"]

# llama.cpp's own defaults (GenerationParams'), with what each front end changes and why.
_CHANGES: dict[str, dict[str, object]] = {
    "chat": {},
    "server": {},
    # The window's replies may run longer: the reader scrolls, nobody waits on a pipe.
    "window": {"max_tokens": 1024},
    # Spoken replies stay short and a little less random: every token is heard.
    "voice": {"max_tokens": 160, "temperature": 0.7},
}


def sampling_defaults(front_end: FrontEnd = "chat") -> GenerationParams:
    """The sampling settings a new reply starts from on ``front_end``."""
    return replace(GenerationParams(), **_CHANGES[front_end])  # type: ignore[arg-type]
