"""``hearth chat --endpoint URL``: the terminal chat (:mod:`app.cli.chat`'s loop),
answered by a remote OpenAI-compatible server.

Engine options belong to the server, so ``--ctx``, ``--gpu-layers``, ``--threads`` and
``--template`` are refused here rather than ignored. Sampling options all travel (see
:mod:`app.remote.client` for how ``--top-k``, ``--min-p`` and ``--repeat-penalty`` do).
"""

from __future__ import annotations

import argparse
import os

from app.cli.chat import run_interactive, run_one_shot
from app.core.errors import ConfigError, VisionUnsupportedError
from app.core.generation import Message
from app.engine import protocol as p
from app.remote.client import RemoteEngineClient

# Load options of a local model: the remote server chose its own when it loaded it.
SERVER_SIDE = {
    "ctx": "--ctx",
    "gpu_layers": "--gpu-layers",
    "threads": "--threads",
    "template": "--template",
    "mmproj": "--mmproj",
    "kv_type": "--kv-type",
    "flash_attn": "--flash-attn",
    "cpu_moe": "--cpu-moe",
    "draft": "--draft",
}


def run_remote_chat(args: argparse.Namespace) -> int:
    refuse_server_side_options(args)
    if getattr(args, "grammar", None):
        raise ConfigError(
            "--grammar works with local models only; with --endpoint use --json-schema, "
            "which servers take as response_format."
        )
    if getattr(args, "lora", None):
        raise ConfigError(
            "--lora applies adapters to a model Hearth runs here; with --endpoint the "
            "server decides, so leave it out."
        )
    if not args.model:
        raise ConfigError("Name the server's model with --model NAME; --model ? lists them.")
    from app.context import open_app_context

    open_app_context(verbose=args.verbose)  # logging, like every other command
    from app.cli.docs import apply_docs

    docs_extra = apply_docs(args)  # --docs: retrieval stays local, the passages go out
    from app.cli.images import read_images

    # --image: read and checked here as for a local model, sent as data: URLs.
    images = read_images(getattr(args, "image", None) or [])
    api_key = args.api_key or os.environ.get("HEARTH_API_KEY")
    client = RemoteEngineClient(args.endpoint, api_key)
    try:
        if args.model == "?":
            print("\n".join(client.models()))
            return 0
        loaded = client.load(args.model).wait(client.connect_timeout + client.read_timeout)
        assert isinstance(loaded, p.ModelLoaded)
        if images and not loaded.vision:
            raise VisionUnsupportedError(
                f"{args.model} at {client.endpoint.url} reads text only (the server says "
                "so); ask one of its models that can see images."
            )
        history: list[Message] = []
        if args.system:
            history.append({"role": "system", "content": args.system})
        if args.prompt is not None:
            extra = {"endpoint": client.endpoint.url, **(docs_extra or {})}
            return run_one_shot(client, args, history, loaded, extra, images=images)
        return run_interactive(
            client,
            args,
            history,
            f"{args.model} at {client.endpoint.url}",
            attach=lambda path: read_images([path])[0],
            images=images,
        )
    finally:
        client.shutdown()


def refuse_server_side_options(args: argparse.Namespace) -> None:
    """Raise if an option only a local model takes was given with ``--endpoint``."""
    given = [flag for name, flag in SERVER_SIDE.items() if getattr(args, name, None) is not None]
    if given:
        which = "it" if len(given) == 1 else "them"
        raise ConfigError(
            f"{', '.join(given)} set how a local model is loaded; with --endpoint the server "
            f"decides, so leave {which} out."
        )
