"""``hearth serve``: run the OpenAI-compatible API server until Ctrl+C.

The server modules are imported when the command runs, not when the parser is built:
building the parser is part of opening the window, which must stay light.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.args import (
    add_cpu_moe,
    add_draft,
    add_flash_attn,
    add_kv_type,
    add_lora,
    gpu_layers_arg,
    lora_names,
    overrides_from_args,
    positive_int,
)
from app.core.errors import ConfigError

if TYPE_CHECKING:
    from app.server.httpd import ServerConfig


def add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve the models over an OpenAI-compatible HTTP API")
    serve.add_argument("--model", "-m", help="chat model to load at start (default: settings)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    key = serve.add_mutually_exclusive_group()
    key.add_argument(
        "--api-key",
        help="require this bearer key (default: $HEARTH_API_KEY); needed off loopback. "
        "Other users can see it in the process list: prefer the variable or --api-key-file",
    )
    key.add_argument(
        "--api-key-file",
        type=Path,
        metavar="PATH",
        help="read the bearer key from the first line of this file",
    )
    serve.add_argument(
        "--cors",
        nargs="?",
        const="*",
        metavar="ORIGIN",
        help="allow browsers on ORIGIN (default '*') to call the API",
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        metavar="ORIGIN",
        help="let web pages from ORIGIN call the API (repeat or comma-separate; '*': any); "
        "localhost pages always may. Default: $HEARTH_ORIGINS, then the server settings",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help="answer requests addressed to host NAME too (repeat or comma-separate; '*': any); "
        "localhost names always work. Default: $HEARTH_HOSTS, then the server settings",
    )
    serve.add_argument(
        "--allow-image-folder",
        action="append",
        type=Path,
        metavar="DIR",
        help="let clients send images as file:// URLs inside DIR (repeat for more); "
        "default: the api_image_folders setting, else data: URLs only",
    )
    serve.add_argument(
        "--max-tokens", type=positive_int, default=4096, help="largest max_tokens a client may ask"
    )
    serve.add_argument(
        "--max-body-mb", type=positive_int, default=25, help="largest request body in MiB"
    )
    serve.add_argument(
        "--max-queue", type=int, default=32, help="generations that may wait before 429"
    )
    serve.add_argument("--ctx", type=positive_int, help="context length in tokens")
    serve.add_argument("--gpu-layers", type=gpu_layers_arg, default=None, metavar="N|auto")
    serve.add_argument("--threads", type=positive_int, help="CPU threads for generation")
    add_kv_type(serve)
    add_flash_attn(serve)
    add_cpu_moe(serve)
    add_draft(serve)
    add_lora(serve, "apply this LoRA adapter (GGUF) at SCALE (default 1) to every reply of "
             "--model (repeat for several); a request's hearth_lora replaces them")  # fmt: skip


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    from app.server.httpd import ServerConfig
    from app.server.openai_api import Limits

    return ServerConfig(
        host=args.host,
        port=args.port,
        api_key=api_key_from_args(args),
        cors_origin=args.cors,
        max_body_bytes=args.max_body_mb * 1024 * 1024,
        limits=Limits(max_tokens=args.max_tokens),
        max_queue=max(0, args.max_queue),
        allowed_origins=_listed(args.allow_origin, "HEARTH_ORIGINS"),
        allowed_hosts=_listed(args.allow_host, "HEARTH_HOSTS"),
        image_folders=tuple(str(folder) for folder in args.allow_image_folder or ()),
    )


def _listed(given: list[str] | None, variable: str) -> tuple[str, ...]:
    """The flag's values (each may be a comma-separated list), else the variable's."""
    from app.server.guards import split_list

    if given:
        return tuple(name for text in given for name in split_list(text))
    return split_list(os.environ.get(variable))


def api_key_from_args(args: argparse.Namespace) -> str | None:
    """``--api-key``, else the first line of ``--api-key-file``, else $HEARTH_API_KEY."""
    if args.api_key:
        return str(args.api_key)
    if args.api_key_file is not None:
        try:
            lines = args.api_key_file.expanduser().read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"The API key file {args.api_key_file} cannot be read "
                f"({getattr(exc, 'strerror', None) or exc}); "
                "give a readable file holding the key on its first line."
            ) from exc
        key = lines[0].strip() if lines else ""
        if not key:
            raise ConfigError(
                f"The API key file {args.api_key_file} is empty; put the key on its first line."
            )
        return key
    return os.environ.get("HEARTH_API_KEY") or None


def run_serve(args: argparse.Namespace) -> int:
    from app.composition.context import open_app_context
    from app.composition.options import LoadOverrides, default_model, draft_model, load_options
    from app.server.assemble import assemble_server
    from app.server.guards import saved_lists
    from app.server.httpd import check_config

    config = config_from_args(args)
    check_config(config)  # before anything is started
    context = open_app_context(verbose=args.verbose)
    settings = context.settings
    requested = args.model
    if args.model and Path(args.model).expanduser().is_file():
        # A file on the command line joins the library (where it is), so clients can
        # name it; network clients themselves may only use library names.
        requested = context.library.import_path(Path(args.model).expanduser())[0].name
    entry = default_model(context.library, settings, requested)
    model = entry.name
    loras = tuple(args.lora or ())
    if loras:  # each must fit the model: one sentence, before anything starts
        from app.engine.lora import check_adapters_for

        check_adapters_for(entry.path, loras)
    from app.engine.speculative import parse_draft

    overrides = LoadOverrides(
        n_ctx=args.ctx,
        gpu_layers=args.gpu_layers,
        n_threads=args.threads,
        kv_type=args.kv_type,
        flash_attn=overrides_from_args(args).flash_attn,
        cpu_moe=args.cpu_moe,
        # A draft model is found now (a missing one is one sentence before the server starts).
        draft=draft_model(parse_draft(args.draft), context.library),
    )
    origins, hosts = saved_lists(settings.extra)  # the server settings' (the window's)
    config = dataclasses.replace(
        config,
        allowed_origins=config.allowed_origins or origins,
        allowed_hosts=config.allowed_hosts or hosts,
        image_folders=config.image_folders or tuple(settings.api_image_folders),
        default_loras=loras,
        default_loras_model=model if loras else None,
    )
    server = assemble_server(
        context.library,
        config,
        default_model=model,
        options=lambda entry: load_options(entry, settings, overrides, library=context.library),
        log_file=str(context.paths.log_file),
    )

    # SIGTERM (systemd, kill, a test's terminate) shuts down like Ctrl+C: the engine
    # worker is stopped too instead of being left behind. Once shutting down, another
    # SIGTERM or Ctrl+C only hurries it: never a traceback from the middle of close().
    def stop(_signum: int, _frame: object) -> None:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: server.hurry())
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        name = server.preload(model)
        # The notes first: whoever waits for the ready line below (a script, a test that
        # then stops the server) has them all, never half.
        if loras:
            print(f"[LoRA adapters for {name}: {lora_names(loras)}]", file=sys.stderr, flush=True)
        if server.load_notice:  # e.g. the model's chat template failed: a built-in one serves
            print(f"[{server.load_notice}]", file=sys.stderr, flush=True)
        if config.api_key is None:
            print("No API key set: only this computer can connect.", file=sys.stderr, flush=True)
        # One parseable line on stdout: scripts and tests wait for it.
        print(f"Hearth API serving {name} at {server.url}", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print(file=sys.stderr)
    finally:
        server.close()
    return 0
