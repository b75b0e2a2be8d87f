"""``hearth models``: list and manage the model library."""

from __future__ import annotations

import argparse
import json

from app.catalog.library import ModelEntry
from app.context import open_app_context


def format_size(n_bytes: int) -> str:
    """Bytes as a short human figure (``93.8 MB``)."""
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def format_params(count: int | None) -> str:
    if not count:
        return "-"
    if count >= 1e9:
        return f"{count / 1e9:.1f}B"
    return f"{count / 1e6:.0f}M"


def _table(entries: list[ModelEntry]) -> str:
    headers = ("NAME", "KIND", "SIZE", "ARCH", "PARAMS", "QUANT", "CTX", "TEMPLATE", "PATH")
    rows = [headers]
    for e in entries:
        rows.append(
            (
                e.name,
                e.kind,
                format_size(e.size_bytes),
                e.architecture or "-",
                format_params(e.parameters),
                e.quantization or "-",
                str(e.context_length or "-"),
                {True: "yes", False: "no", None: "-"}[e.has_chat_template],
                e.path if not e.error else f"{e.path}  ({e.error})",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ]
    return "\n".join(lines)


def run_models(args: argparse.Namespace) -> int:
    context = open_app_context(verbose=args.verbose)
    if args.models_command == "ls":
        entries = context.library.entries(args.kind)
        if args.json:
            print(json.dumps([e.to_dict() for e in entries], indent=2))
        elif entries:
            print(_table(entries))
        else:
            print(
                f"No models yet. Put GGUF files in {context.models_dir} or install the starter set."
            )
        return 0
    raise AssertionError(f"unknown models command {args.models_command}")
