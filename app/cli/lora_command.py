"""``/lora`` in the terminal chat: change the LoRA adapters between messages.

``/lora FILE[:SCALE]`` adds an adapter (or changes its scale), ``/lora`` alone turns them
all off; the engine applies the new set from the next message, without reloading.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from app.cli.args import lora_names
from app.core.errors import HearthError
from app.core.generation import GenerationParams

# Checks one (path, scale) against the loaded model (HearthError: one sentence to show).
LoraCheck = Callable[[tuple[str, float]], None]


def lora_command(text: str, params: GenerationParams, check: LoraCheck | None) -> GenerationParams:
    """The sampling settings after ``/lora ...`` (unchanged when it is refused)."""
    from app.engine.lora import parse_lora_arg

    arg = text.removeprefix("/lora").strip()
    if check is None:
        print("[this chat cannot take LoRA adapters]", file=sys.stderr)
        return params
    if not arg:
        print("[LoRA adapters off]", file=sys.stderr)
        return replace(params, loras=())
    path, scale = parse_lora_arg(arg)
    if not -4.0 <= scale <= 4.0:
        print(f"[the scale of {path} must be a number from -4 to 4]", file=sys.stderr)
        return params
    adapter = (str(Path(path).expanduser().resolve()), scale)
    try:
        check(adapter)
    except HearthError as exc:  # one sentence; the conversation goes on
        print(f"[{exc}]", file=sys.stderr)
        return params
    loras = (*(x for x in params.loras if x[0] != adapter[0]), adapter)
    print(f"[LoRA adapters from your next message: {lora_names(loras)}]", file=sys.stderr)
    return replace(params, loras=loras)
