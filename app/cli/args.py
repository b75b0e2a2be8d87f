"""argparse types that check a value and say what is allowed (exit 2 for a wrong one), and
the load options the parsed arguments ask for."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, TypeVar

from app.core.ranges import Range

if TYPE_CHECKING:  # the parser is built as the window opens: keep it light
    from app.composition.options import LoadOverrides
    from app.engine import protocol as p

_N = TypeVar("_N", int, float)


def gpu_layers_arg(value: str) -> int | None:
    """``auto`` (None: let the planner choose) or a layer count (-1 = all)."""
    if value == "auto":
        return None
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use a number of layers or 'auto'") from None
    if number < -1:
        raise argparse.ArgumentTypeError("use a number of layers ≥ 0, -1 for all, or 'auto'")
    return number


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return number


def _in_range(allowed: Range, convert: Callable[[str], _N], kind: str) -> Callable[[str], _N]:
    """An argparse type: ``convert(value)`` within ``allowed``, else one sentence."""

    def parse(value: str) -> _N:
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not {kind}") from None
        if not allowed.allows(number):
            raise argparse.ArgumentTypeError(f"must be {allowed.describe()}, not {value}")
        return number

    return parse


def number_in(allowed: Range) -> Callable[[str], float]:
    """An argparse type: a number within ``allowed`` (see app.core.ranges)."""
    return _in_range(allowed, float, "a number")


def whole_in(allowed: Range) -> Callable[[str], int]:
    """An argparse type: a whole number within ``allowed`` (see app.core.ranges)."""
    return _in_range(allowed, int, "a whole number")


def json_schema_file(path: str) -> str:
    """An argparse type: a file holding a JSON schema (an object); its JSON text."""
    import json

    try:
        with open(path, encoding="utf-8") as file:
            schema = json.load(file)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path} ({exc.strerror or exc})") from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{path} is not valid JSON") from None
    if not isinstance(schema, dict):
        raise argparse.ArgumentTypeError(f"{path} must hold a JSON schema (an object)")
    from app.core.errors import ConfigError
    from app.core.json_schema import check_enforceable

    try:
        check_enforceable(schema)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return json.dumps(schema)


def grammar_file(path: str) -> str:
    """An argparse type: a file holding a GBNF grammar (llama.cpp's format); its text.
    llama.cpp checks the grammar itself when the reply starts."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise argparse.ArgumentTypeError(f"{path} is not UTF-8 text") from None
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{path} is empty; write GBNF rules with a root rule")
    return text


def add_kv_type(parser: argparse.ArgumentParser) -> None:
    """``--kv-type``: the KV cache's type for this run (default: the settings')."""
    parser.add_argument(
        "--kv-type",
        choices=["f16", "q8_0", "q4_0"],
        default=None,
        help="KV cache type: q8_0 holds a context in 47%% less memory, q4_0 in 72%% less "
        "(turns flash attention on; default: the settings')",
    )


def add_flash_attn(parser: argparse.ArgumentParser) -> None:
    """``--flash-attn``: flash attention for this run (default: the settings')."""
    parser.add_argument(
        "--flash-attn",
        choices=["on", "off", "auto"],
        default=None,
        help="flash attention: auto turns it on for a q8_0/q4_0 KV cache, which needs it "
        "(default: the settings', auto)",
    )


def lora_arg(value: str) -> tuple[str, float]:
    """``FILE[:SCALE]`` (``--lora``): the adapter's absolute path and its scale."""
    from pathlib import Path

    from app.engine.lora import parse_lora_arg

    path, scale = parse_lora_arg(value)
    if not -4.0 <= scale <= 4.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"the scale of {path} must be a number from -4 to 4")
    if not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"cannot read {path} (no such file)")
    return str(Path(path).resolve()), scale


def add_lora(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--lora FILE[:SCALE]`` (repeatable): LoRA adapters as (absolute path, scale)."""
    parser.add_argument(
        "--lora", action="append", type=lora_arg, metavar="FILE[:SCALE]", help=help_text
    )


def lora_names(loras: Sequence[tuple[str, float]]) -> str:
    """Adapters for a status line: ``style.gguf at 0.5, tone.gguf at 1``."""
    from pathlib import Path

    return ", ".join(f"{Path(path).name} at {scale:g}" for path, scale in loras)


def cpu_moe_arg(value: str) -> int | Literal["auto"]:
    """``auto`` or a number of MoE blocks whose experts stay in RAM."""
    if value == "auto":
        return "auto"
    if not value.isdigit():
        raise argparse.ArgumentTypeError("use a number of layers (0 or more) or 'auto'")
    return int(value)


def add_cpu_moe(parser: argparse.ArgumentParser) -> None:
    """``--cpu-moe``: how many MoE blocks keep their experts in RAM (default: the settings')."""
    parser.add_argument(
        "--cpu-moe",
        type=cpu_moe_arg,
        default=None,
        metavar="N|auto",
        help="mixture-of-experts models: keep the experts of the first N layers in RAM and "
        "the rest on the GPU (auto: the planner chooses; default: the settings')",
    )


def draft_arg(value: str) -> str:
    """``--draft``: "none", "lookup", or a draft model (a path or a library name; the
    load options resolve it, a missing one in one sentence)."""
    from app.engine.speculative import DRAFT_OFF, parse_draft

    return parse_draft(value) or DRAFT_OFF


def add_draft(parser: argparse.ArgumentParser) -> None:
    """``--draft``: speculative decoding for the replies (default: off)."""
    parser.add_argument(
        "--draft",
        type=draft_arg,
        default=None,
        metavar="none|lookup|MODEL",
        help="speculative decoding: lookup drafts each reply from its prompt (faster when "
        "the reply repeats it, e.g. code edits); MODEL (a path or a library name) drafts "
        "with a small model of the same family; every token is still sampled by the same "
        "rules; default: none",
    )


def draft_refused(asked: str | None, loaded: p.ModelLoaded) -> str | None:
    """The load's notice when a draft model was asked for and cannot draft (the model
    answers without drafts), for the terminal; else None."""
    refused = asked not in (None, "lookup") and loaded.draft is None
    return loaded.notice if refused else None


def _flash_override(value: str | None) -> bool | Literal["auto"] | None:
    """``--flash-attn``'s on/off/auto as LoadOverrides.flash_attn takes it."""
    if value == "auto":
        return "auto"
    return None if value is None else value == "on"


def overrides_from_args(args: argparse.Namespace) -> LoadOverrides:
    """The load options a command's ``--ctx``, ``--gpu-layers``, ``--threads``,
    ``--template`` and ``--mmproj`` ask for (a command without one of them leaves it to
    the settings and the library)."""
    from app.composition.options import LoadOverrides

    return LoadOverrides(
        n_ctx=getattr(args, "ctx", None),
        gpu_layers=getattr(args, "gpu_layers", None),
        n_threads=getattr(args, "threads", None),
        chat_template=getattr(args, "template", None),
        mmproj=getattr(args, "mmproj", None),
        kv_type=getattr(args, "kv_type", None),
        flash_attn=_flash_override(getattr(args, "flash_attn", None)),
        cpu_moe=getattr(args, "cpu_moe", None),
        draft=getattr(args, "draft", None),
    )
