"""``hearth export --all`` and ``hearth import FILE``: the conversation history as files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.logsetup import setup_logging
from app.core.paths import app_paths

if TYPE_CHECKING:  # the storage modules load only when a history command runs
    from app.storage import ConversationStore


def add_history_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``export`` and ``import``."""
    export = sub.add_parser(
        "export", help="write every conversation to a JSON file or Markdown files"
    )
    export.add_argument(
        "--all", action="store_true", required=True, help="every conversation (required)"
    )
    export.add_argument(
        "--format",
        choices=["json", "markdown"],
        default="json",
        help="json (to keep and import again; default) or markdown (to read)",
    )
    export.add_argument(
        "--out",
        metavar="DIR_OR_FILE",
        type=Path,
        help="a file or a folder (default: hearth-export-<date> in the current folder)",
    )
    restore = sub.add_parser("import", help="bring back conversations from a Hearth JSON export")
    restore.add_argument("file", metavar="FILE", type=Path)


def run_history(args: argparse.Namespace) -> int:
    """Run ``export`` or ``import``; HearthErrors go up to the CLI's one-sentence handler."""
    from app.composition.store import open_store

    paths = app_paths().ensure()
    setup_logging(paths, verbose=args.verbose)
    # recover=False: a window may be streaming a reply into this file right now.
    store, notice = open_store(paths, recover=False)
    with store:
        if notice is not None:
            print(f"hearth: {notice}", file=sys.stderr)
        if args.command == "export":
            return _export(store, args)
        return _import(store, args.file)


def _export(store: ConversationStore, args: argparse.Namespace) -> int:
    from app.storage.export import export_all

    result = export_all(store, args.format, args.out)
    print(
        f"Exported {_plural(result.conversations, 'conversation')} "
        f"({_plural(result.messages, 'message')}) to {result.path}."
    )
    return 0


def _import(store: ConversationStore, file: Path) -> int:
    from app.storage.importer import import_file

    result = import_file(store, file)
    already = (
        f"; {_plural(result.skipped, 'conversation')} already in your history "
        f"{'was' if result.skipped == 1 else 'were'} left as they are"
        if result.skipped
        else ""
    )
    print(
        f"Imported {_plural(result.added, 'conversation')} "
        f"({_plural(result.messages, 'message')}) from {file}{already}."
    )
    return 0


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
