"""``hearth``'s command line as argparse reads it: the commands and their options."""

from __future__ import annotations

import argparse

from app import __version__
from app.cli.args import (
    add_cpu_moe,
    add_draft,
    add_flash_attn,
    add_kv_type,
    gpu_layers_arg,
    grammar_file,
    json_schema_file,
    lora_arg,
    number_in,
    positive_int,
    whole_in,
)
from app.core.generation import sampling_defaults
from app.core.ranges import SAMPLING


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
    parser.add_argument(
        "--background",
        action="store_true",
        help="start in the tray without showing the window (used when starting at login)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    chat = sub.add_parser("chat", help="chat in the terminal (one shot with --prompt)")
    chat.add_argument("--model", "-m", help="model file or library name (default: settings)")
    chat.add_argument("--prompt", "-p", help="answer this one message and exit")
    chat.add_argument("--system", help="system prompt")
    sampling = sampling_defaults("chat")
    chat.add_argument(
        "--max-tokens", type=whole_in(SAMPLING["max_tokens"]), default=sampling.max_tokens
    )
    chat.add_argument(
        "--temperature", type=number_in(SAMPLING["temperature"]), default=sampling.temperature
    )
    chat.add_argument("--top-p", type=number_in(SAMPLING["top_p"]), default=sampling.top_p)
    chat.add_argument("--top-k", type=whole_in(SAMPLING["top_k"]), default=sampling.top_k)
    chat.add_argument("--min-p", type=number_in(SAMPLING["min_p"]), default=sampling.min_p)
    chat.add_argument(
        "--repeat-penalty",
        type=number_in(SAMPLING["repeat_penalty"]),
        default=sampling.repeat_penalty,
    )
    chat.add_argument("--seed", type=int)
    structured = chat.add_mutually_exclusive_group()
    structured.add_argument(
        "--json-schema",
        type=json_schema_file,
        metavar="FILE",
        help="answer with JSON that matches the JSON schema in FILE",
    )
    structured.add_argument(
        "--grammar",
        type=grammar_file,
        metavar="FILE",
        help="answer following the GBNF grammar in FILE (llama.cpp's format, local models)",
    )
    chat.add_argument("--ctx", type=positive_int, help="context length in tokens")
    chat.add_argument("--gpu-layers", type=gpu_layers_arg, default=None, metavar="N|auto")
    chat.add_argument("--threads", type=positive_int, help="CPU threads for generation")
    chat.add_argument("--template", help="chat template override (gguf, chatml, gemma, ...)")
    add_kv_type(chat)
    add_flash_attn(chat)
    add_cpu_moe(chat)
    add_draft(chat)
    chat.add_argument(
        "--image",
        action="append",
        metavar="FILE",
        help="an image the message is about (repeat for several; PNG, JPEG, WebP, HEIC, ...); "
        "needs a model that can see images",
    )
    chat.add_argument(
        "--lora",
        action="append",
        type=lora_arg,
        metavar="FILE[:SCALE]",
        help="apply this LoRA adapter (GGUF) to the model, at SCALE (default 1; repeat for "
        "several); it must be made for the model",
    )
    chat.add_argument(
        "--mmproj",
        metavar="FILE",
        help="the vision projector (mmproj-*.gguf) to load with the model "
        "(default: the one paired with it)",
    )
    chat.add_argument("--json", action="store_true", help="print one JSON object at the end")
    chat.add_argument("--endpoint", help="chat with a remote OpenAI-compatible server at URL")
    chat.add_argument("--api-key", help="bearer key for --endpoint (default: $HEARTH_API_KEY)")
    chat.add_argument(
        "--tools",
        metavar="NAME[,NAME]",
        help="tools the model may call (calculator, current_datetime, read_file, "
        "search_conversations); permissions and folders come from Preferences › Tools",
    )
    chat.add_argument(
        "--tool-choice",
        default="auto",
        metavar="auto|required|NAME",
        help="with --tools: let the model choose (auto), or force a call first",
    )
    chat.add_argument(
        "--yes", action="store_true", help="with --tools: run calls that would ask first"
    )
    chat.add_argument(
        "--docs",
        action="append",
        metavar="NAME",
        help="answer from this document collection, citing its passages (with --prompt; "
        "repeat for several); see hearth docs",
    )

    models = sub.add_parser("models", help="the model library")
    models_sub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = models_sub.add_parser("ls", help="list installed models")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--kind", choices=["chat", "stt", "tts", "projector", "embedding", "lora"])
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
    pair = models_sub.add_parser(
        "pair", help="pair a chat model with a vision projector (mmproj GGUF) so it sees images"
    )
    pair.add_argument("name", metavar="MODEL")
    pair.add_argument("projector", metavar="MMPROJ", help="the projector file")
    unpair = models_sub.add_parser(
        "unpair", help="use no vision projector with a model, even one beside it"
    )
    unpair.add_argument("name", metavar="MODEL")
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
    add_kv_type(plan)
    add_flash_attn(plan)
    add_cpu_moe(plan)
    plan.add_argument("--json", action="store_true")

    from app.cli.voice import add_voice_parser

    add_voice_parser(sub)

    from app.cli.history import add_history_parsers

    add_history_parsers(sub)

    from app.cli.mcp import add_mcp_parser

    add_mcp_parser(sub)

    from app.cli.docs import add_docs_parser

    add_docs_parser(sub)
    return parser
