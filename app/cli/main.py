"""``hearth`` command line: argument parsing and dispatch to the headless commands.

Every command turns a :class:`~app.core.errors.HearthError` into one sentence on stderr
and a non-zero exit status; tracebacks only go to the log file.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from app import __version__
from app.core.errors import HearthError
from app.core.ranges import SAMPLING, Range

log = logging.getLogger(__name__)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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


def number_in(allowed: Range) -> Callable[[str], float]:
    """An argparse type: a number within ``allowed`` (see app.core.ranges)."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
        if not allowed.allows(number):
            raise argparse.ArgumentTypeError(f"must be {allowed.describe()}, not {value}")
        return number

    return parse


def whole_in(allowed: Range) -> Callable[[str], int]:
    """An argparse type: a whole number within ``allowed`` (see app.core.ranges)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not allowed.allows(number):
            raise argparse.ArgumentTypeError(f"must be {allowed.describe()}, not {value}")
        return number

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Hearth: a private, offline AI assistant. Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    parser.add_argument(
        "--no-model", action="store_true", help="open the window without loading a model"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    chat = sub.add_parser("chat", help="chat in the terminal (one shot with --prompt)")
    chat.add_argument("--model", "-m", help="model file or library name (default: settings)")
    chat.add_argument("--prompt", "-p", help="answer this one message and exit")
    chat.add_argument("--system", help="system prompt")
    chat.add_argument("--max-tokens", type=whole_in(SAMPLING["max_tokens"]), default=512)
    chat.add_argument("--temperature", type=number_in(SAMPLING["temperature"]), default=0.8)
    chat.add_argument("--top-p", type=number_in(SAMPLING["top_p"]), default=0.95)
    chat.add_argument("--top-k", type=whole_in(SAMPLING["top_k"]), default=40)
    chat.add_argument("--min-p", type=number_in(SAMPLING["min_p"]), default=0.05)
    chat.add_argument("--repeat-penalty", type=number_in(SAMPLING["repeat_penalty"]), default=1.1)
    chat.add_argument("--seed", type=int)
    chat.add_argument("--ctx", type=positive_int, help="context length in tokens")
    chat.add_argument("--gpu-layers", type=gpu_layers_arg, default=None, metavar="N|auto")
    chat.add_argument("--threads", type=positive_int, help="CPU threads for generation")
    chat.add_argument("--template", help="chat template override (gguf, chatml, gemma, ...)")
    chat.add_argument("--json", action="store_true", help="print one JSON object at the end")
    chat.add_argument("--endpoint", help="chat with a remote OpenAI-compatible server at URL")
    chat.add_argument("--api-key", help="bearer key for --endpoint (default: $HEARTH_API_KEY)")

    models = sub.add_parser("models", help="the model library")
    models_sub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = models_sub.add_parser("ls", help="list installed models")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--kind", choices=["chat", "stt", "tts", "projector"])
    ls.add_argument(
        "--external",
        action="store_true",
        help="also list GGUFs in the Hugging Face cache and LM Studio's folder",
    )
    search = models_sub.add_parser("search", help="search the Hugging Face Hub for GGUF models")
    search.add_argument("query")
    search.add_argument("--json", action="store_true")
    search.add_argument("--limit", type=positive_int, default=20)
    search.add_argument(
        "--sort", choices=["downloads", "likes", "recent", "trending"], default="downloads"
    )
    files = models_sub.add_parser(
        "files", help="a repo's quantisations with sizes and whether each fits this machine"
    )
    files.add_argument("repo", metavar="REPO")
    files.add_argument("--json", action="store_true")
    files.add_argument("--ctx", type=positive_int, help="context length to plan for")
    fit_mode = files.add_mutually_exclusive_group()
    fit_mode.add_argument(
        "--exact",
        action="store_true",
        help="read every variant's GGUF header (exact verdicts, more traffic)",
    )
    fit_mode.add_argument(
        "--estimate",
        action="store_true",
        help="read no header: estimate every verdict from the file size",
    )
    pull = models_sub.add_parser(
        "pull", help="download a model, Whisper model or Piper voice (resumes a partial one)"
    )
    pull.add_argument("repo", metavar="REPO", help="owner/name on the Hub, or a catalog id")
    pull.add_argument(
        "spec", nargs="?", metavar="FILE|QUANT|VOICE", help="default: the recommended quantisation"
    )
    pull.add_argument(
        "--kind",
        choices=["chat", "stt", "tts"],
        help="what the repo holds (detected when left out)",
    )
    pull.add_argument("--ctx", type=positive_int, help="context length to plan for")
    rm = models_sub.add_parser("rm", help="remove a model (deletes only files Hearth downloaded)")
    rm.add_argument("name", metavar="NAME|PATH")
    rm.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    catalog = models_sub.add_parser("catalog", help="recommended models for this machine")
    catalog.add_argument("--json", action="store_true")
    catalog.add_argument("--all", action="store_true", help="every tier, not only this machine's")
    catalog.add_argument("--language", help="prefer models and voices for this language (zh, en)")

    from app.cli.serve import add_serve_parser

    add_serve_parser(sub)

    plan = sub.add_parser("plan", help="show the GPU offload plan and memory estimate")
    plan.add_argument("model", metavar="PATH_OR_NAME")
    plan.add_argument("--ctx", type=positive_int)
    plan.add_argument("--gpu-layers", type=gpu_layers_arg, default=None, metavar="N|auto")
    plan.add_argument("--json", action="store_true")

    from app.cli.voice import add_voice_parser

    add_voice_parser(sub)

    from app.cli.history import add_history_parsers

    add_history_parsers(sub)
    return parser


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
