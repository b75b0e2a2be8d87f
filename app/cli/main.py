"""``hearth`` command line: argument parsing and dispatch to the headless commands.

Every command turns a :class:`~app.core.errors.HearthError` into one sentence on stderr
and a non-zero exit status; tracebacks only go to the log file.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from app.cli.parser import build_parser
from app.core.errors import HearthError

log = logging.getLogger(__name__)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def split_model_files(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(model_files, other_args)``: ``hearth FILE.gguf ...`` ("Open with Hearth" from a
    file manager) names model files instead of a command; a command word keeps its own
    arguments untouched."""
    positionals = [a for a in argv if not a.startswith("-")]
    if not positionals or not positionals[0].lower().endswith(".gguf"):
        return [], list(argv)
    files = [a for a in argv if not a.startswith("-") and a.lower().endswith(".gguf")]
    return files, [a for a in argv if a not in files]


def import_model_files(files: Sequence[str], *, verbose: bool = False) -> None:
    """Add model files to the library where they are (raises HearthError for a bad one)."""
    from app.context import open_app_context

    library = open_app_context(verbose=verbose).library
    for file in files:
        for entry in library.import_path(file):
            print(f"hearth: added {entry.name} to your models", file=sys.stderr)


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit status."""
    parser = build_parser()
    model_files, argv = split_model_files(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        if model_files:
            import_model_files(model_files, verbose=args.verbose)
        if args.command == "chat" and args.endpoint:
            from app.cli.remote_chat import run_remote_chat

            return run_remote_chat(args)
        if args.command == "serve":
            from app.cli.serve import run_serve

            return run_serve(args)
        if args.command == "chat":
            from app.cli.chat import run_chat

            return run_chat(args)
        if args.command == "models":
            from app.cli.models import run_models

            return run_models(args)
        if args.command == "plan":
            from app.cli.plan import run_plan

            return run_plan(args)
        if args.command == "voice":
            from app.cli.voice import run_voice

            return run_voice(args)
        if args.command == "mcp":
            from app.cli.mcp import run_mcp

            return run_mcp(args)
        if args.command == "docs":
            from app.cli.docs import run_docs

            return run_docs(args)
        if args.command in ("export", "import"):
            from app.cli.history import run_history

            return run_history(args)
        from app.cli.chat import run_default

        return run_default(args)
    except HearthError as exc:
        log.info("command failed: %s", exc, exc_info=True)
        print(f"hearth: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
