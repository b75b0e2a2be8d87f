"""``hearth chat --endpoint URL``: the terminal chat, answered by a remote server."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from app.core.errors import ConfigError, error_from_kind
from app.core.generation import GenerationParams, Message
from app.engine import protocol as p
from app.engine.client import RequestHandle
from app.remote.client import RemoteEngineClient


def stream_remote(
    client: RemoteEngineClient, handle: RequestHandle, out: TextIO | None
) -> p.GenerationDone:
    """Print deltas as they come; Ctrl+C stops the reply (and the server's generation)."""
    while True:
        try:
            event = handle.next_event()
        except KeyboardInterrupt:
            client.cancel(handle)
            continue
        if isinstance(event, p.Delta) and out is not None:
            out.write(event.text)
            out.flush()
        elif isinstance(event, p.ErrorEvent):
            raise error_from_kind(event.kind, event.message)
        elif isinstance(event, p.GenerationDone):
            return event


def run_remote_chat(args: argparse.Namespace) -> int:
    if not args.model:
        raise ConfigError("Name the server's model with --model NAME; --model ? lists them.")
    from app.context import open_app_context

    open_app_context(verbose=args.verbose)  # logging, like every other command
    api_key = args.api_key or os.environ.get("HEARTH_API_KEY")
    client = RemoteEngineClient(args.endpoint, api_key)
    if args.model == "?":
        print("\n".join(client.models()))
        return 0
    final = client.load(args.model).wait(client.connect_timeout + client.read_timeout)
    assert isinstance(final, p.ModelLoaded)
    history: list[Message] = []
    if args.system:
        history.append({"role": "system", "content": args.system})
    params = GenerationParams(
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
    )
    prompts = [args.prompt] if args.prompt is not None else None
    while True:
        if prompts is None:
            try:
                text = input("> ").strip()
            except (EOFError, KeyboardInterrupt):
                print(file=sys.stderr)
                return 0
            if not text:
                continue
            if text in ("/exit", "/quit"):
                return 0
        elif prompts:
            text = prompts.pop()
        else:
            return 0
        history.append({"role": "user", "content": text})
        done = stream_remote(
            client, client.generate(history, params), None if args.json else sys.stdout
        )
        history.append({"role": "assistant", "content": done.text})
        if args.json:
            print(
                json.dumps(
                    {
                        "text": done.text,
                        "finish_reason": done.finish_reason,
                        "model": args.model,
                        "endpoint": client.endpoint.url,
                        "stats": done.stats.to_dict(),
                    },
                    ensure_ascii=False,
                )
            )
        else:
            print()
        if prompts is not None and done.finish_reason == "cancelled":
            return 130
