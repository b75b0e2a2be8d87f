"""``hearth chat --endpoint URL``: the terminal chat, answered by a remote server."""

from __future__ import annotations

import argparse
import json
import os
import sys

from app.cli.chat import params_from_args, stream_reply
from app.core.errors import ConfigError
from app.core.generation import Message
from app.engine import protocol as p
from app.remote.client import RemoteEngineClient


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
    # The OpenAI API has no top_k, min_p or repeat penalty: the client sends the rest.
    params = params_from_args(args)
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
        done = stream_reply(
            client.generate(history, params), None if args.json else sys.stdout, client
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
