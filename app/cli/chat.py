"""``hearth chat``: one-shot or interactive chat in the terminal, streamed from the engine."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from app.catalog.library import ModelEntry
from app.cli.args import draft_refused, overrides_from_args
from app.cli.lora_command import LoraCheck, lora_command
from app.composition.context import AppContext, open_app_context
from app.composition.options import LoadOptions, default_model, load_options
from app.core.errors import HearthError, error_from_kind
from app.core.generation import GenerationParams, GenerationStats, Message
from app.core.reasoning import ReasoningSplitter
from app.engine import protocol as p
from app.engine.client import EngineClient, RequestHandle

if TYPE_CHECKING:
    from app.cli.docs import InteractiveDocs
    from app.vision.images import PreparedImage


@dataclass
class Reply:
    text: str
    finish_reason: str
    stats: GenerationStats
    notice: str | None
    reasoning: str | None = None  # a reasoning model's thinking, apart from ``text``
    image_tokens: int = 0  # of ``stats.prompt_tokens``, those the images took


def load_model(
    client: EngineClient,
    entry: ModelEntry,
    args: argparse.Namespace,
    context: AppContext,
    progress: TextIO | None,
    *,
    options: LoadOptions | None = None,
) -> p.ModelLoaded:
    """Load ``entry`` in the worker, drawing a progress bar on ``progress``."""
    options = options or load_options(
        entry, context.settings, overrides_from_args(args), library=context.library
    )
    handle = client.load(options.path, **options.load_kwargs())
    for event in handle.events():
        if isinstance(event, p.LoadProgress) and progress is not None:
            filled = int(event.fraction * 30)
            progress.write(f"\rLoading {entry.name} [{'#' * filled}{'.' * (30 - filled)}]")
            progress.flush()
        elif isinstance(event, p.ErrorEvent):
            if progress is not None:
                progress.write("\n")
            raise error_from_kind(event.kind, event.message)
        elif isinstance(event, p.ModelLoaded):
            if progress is not None:
                progress.write(f"\rLoaded {entry.name} in {event.load_s:.1f} s. {event.plan}\n")
            return event
    raise AssertionError("load ended without a final event")


class _Cancels(Protocol):
    def cancel(self, target: RequestHandle | int) -> None: ...


class ChatBackend(_Cancels, Protocol):
    """What the terminal chat talks to: the local engine worker or a remote endpoint."""

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> RequestHandle: ...


@contextlib.contextmanager
def _ctrl_c_cancels(handle: RequestHandle, client: _Cancels) -> Iterator[None]:
    """While a reply streams, Ctrl+C asks the engine to stop instead of raising.

    A KeyboardInterrupt can land anywhere (while a piece is being printed, or between
    receiving the last event and returning it), so in the main thread SIGINT is turned
    into a cancel request for the duration; elsewhere the interrupt is caught around the
    wait for the next event.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # a background job: leave Ctrl+C ignored
        yield
        return

    def on_sigint(_signum: int, _frame: object) -> None:
        client.cancel(handle)

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def stream_reply(handle: RequestHandle, out: TextIO | None, client: _Cancels) -> Reply:
    """Print deltas as they come; Ctrl+C stops the reply and keeps what was said."""
    with _ctrl_c_cancels(handle, client):
        return _stream_reply(handle, out, client)


def _stream_reply(handle: RequestHandle, out: TextIO | None, client: _Cancels) -> Reply:
    pieces: list[str] = []
    notice: str | None = None
    image_tokens = 0
    first_at: float | None = None
    # A reasoning model's thinking goes to stderr (dimmed on a terminal), only the answer
    # to ``out``: piped output and --json carry the answer alone.
    splitter = ReasoningSplitter()
    thinking_shown = False
    while True:
        try:
            event = handle.next_event()
        except KeyboardInterrupt:
            client.cancel(handle)
            continue
        if isinstance(event, p.PromptPrepared):
            notice = event.notice
            image_tokens = event.image_tokens
            if notice and out is not None:
                print(f"[{notice}]", file=sys.stderr)
            if event.thinking_open:
                splitter = ReasoningSplitter(thinking_open=True)
        elif isinstance(event, p.Delta):
            if first_at is None:
                first_at = time.perf_counter()
            pieces.append(event.text)
            thinking, answer = splitter.feed(event.text)
            if out is not None:
                thinking_shown = _show_thinking(thinking, thinking_shown, answer)
                if answer:
                    out.write(answer)
                    out.flush()
        elif isinstance(event, p.ErrorEvent):
            raise error_from_kind(event.kind, event.message)
        elif isinstance(event, p.GenerationDone):
            thinking, answer = splitter.flush()
            if out is not None:
                _show_thinking(thinking, thinking_shown, answer)
                if answer:
                    out.write(answer)
                    out.flush()
            stats = event.stats
            if first_at is not None:
                # Time to first token as the caller sees it: request sent to first text.
                stats = GenerationStats(**{**stats.to_dict(), "ttft_s": first_at - handle.sent_at})
            if splitter.saw_thinking:
                return Reply(
                    splitter.answer.lstrip(),
                    event.finish_reason,
                    stats,
                    notice,
                    splitter.thinking,
                    image_tokens,
                )
            return Reply(event.text, event.finish_reason, stats, notice, image_tokens=image_tokens)


def _show_thinking(thinking: str, shown: bool, answer: str) -> bool:
    """Write thinking text to stderr (dim on a terminal); close it when the answer starts.
    Returns whether thinking is being shown."""
    dim = sys.stderr.isatty()
    if thinking:
        if not shown:
            sys.stderr.write("\x1b[2mThinking: " if dim else "Thinking: ")
        sys.stderr.write(thinking)
        sys.stderr.flush()
        shown = True
    if answer and shown:
        sys.stderr.write("\x1b[0m\n" if dim else "\n")
        sys.stderr.flush()
        return False
    return shown


def params_from_args(args: argparse.Namespace) -> GenerationParams:
    return GenerationParams(
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        min_p=args.min_p,
        repeat_penalty=args.repeat_penalty,
        seed=args.seed,
        json_schema=getattr(args, "json_schema", None),
        grammar=getattr(args, "grammar", None),
        loras=tuple(getattr(args, "lora", None) or ()),
    )


def run_chat(args: argparse.Namespace) -> int:
    context = open_app_context(verbose=args.verbose)
    entry = default_model(context.library, context.settings, args.model)
    from app.cli.images import cannot_see, check_projector, check_sees, read_images

    # --image: every file read and checked, and a model that cannot see them refused,
    # before anything loads (each a sentence; the projector comes with the load options).
    images = read_images(getattr(args, "image", None) or [])
    check_projector(getattr(args, "mmproj", None))
    from app.engine.lora import check_adapters_for

    # --lora: each adapter must fit the model (a sentence each, before anything loads).
    check_adapters_for(entry.path, tuple(getattr(args, "lora", None) or ()))
    options = load_options(
        entry, context.settings, overrides_from_args(args), library=context.library
    )
    if images and options.mmproj is None:
        raise cannot_see(entry, context.library)
    from app.cli.docs import apply_docs

    docs_extra = apply_docs(args)  # --docs: the passages found go into the prompt
    client = EngineClient(log_file=str(context.paths.log_file))
    try:
        interactive = args.prompt is None
        show_progress = sys.stderr.isatty() and not args.json
        loaded = load_model(
            client, entry, args, context, sys.stderr if show_progress else None, options=options
        )
        if images:  # the projector may not fit the model: the load says so
            check_sees(entry, options.mmproj, loaded, context.library)
        refused = draft_refused(options.draft, loaded)
        if refused:  # --draft MODEL that cannot draft: the model answers without it
            print(f"[{refused}]", file=sys.stderr)
        history: list[Message] = []
        if args.system:
            history.append({"role": "system", "content": args.system})
        from app.cli.chat_tools import with_tools

        backend = with_tools(client, args, context)  # --tools: the tool loop's engine
        if not interactive:
            return run_one_shot(backend, args, history, loaded, docs_extra, images=images)

        def attach(path: str) -> PreparedImage:  # /image FILE
            check_sees(entry, options.mmproj, loaded, context.library)
            return read_images([path])[0]

        def check_lora(adapter: tuple[str, float]) -> None:  # /lora FILE[:SCALE]
            check_adapters_for(entry.path, (adapter,))

        return run_interactive(
            backend, args, history, entry.name, attach=attach, images=images, lora=check_lora
        )
    finally:
        client.shutdown()


def user_message(text: str, images: Sequence[PreparedImage] = ()) -> Message:
    """A user turn as the engine reads it: the text, and the images it is about."""
    message: Message = {"role": "user", "content": text}
    if images:
        message["images"] = [image.data for image in images]
    return message


def run_one_shot(
    client: ChatBackend,
    args: argparse.Namespace,
    history: list[Message],
    loaded: p.ModelLoaded,
    extra: dict[str, Any] | None = None,
    *,
    images: Sequence[PreparedImage] = (),
) -> int:
    """Answer ``args.prompt`` (about ``images``) once; ``extra`` adds fields to the
    ``--json`` object."""
    messages = [*history, user_message(args.prompt, images)]
    handle = client.generate(messages, params_from_args(args))
    reply = stream_reply(handle, None if args.json else sys.stdout, client)
    if args.json:
        stats = reply.stats
        payload = {
            "text": reply.text,
            "reasoning": reply.reasoning,
            "finish_reason": reply.finish_reason,
            "model": loaded.path,
            "notice": reply.notice,
            "load_s": round(loaded.load_s, 3),
            "mmproj": loaded.mmproj,  # the projector that read the images (None: text only)
            "kv_type": loaded.kv_type,  # the KV cache's type as loaded (f16 after a fallback)
            "flash_attn": loaded.flash_attn,  # flash attention as loaded
            "draft": loaded.draft,  # speculative decoding: "lookup", a draft model's path, None
            "images": [
                {"name": image.name, "width": image.width, "height": image.height}
                for image in images
            ],
            "stats": {
                "prompt_tokens": stats.prompt_tokens,  # image tokens included
                "image_tokens": reply.image_tokens,
                "completion_tokens": stats.completion_tokens,
                "ttft_s": round(stats.ttft_s, 4),
                "tokens_per_s": round(stats.tokens_per_s, 2),
                "n_gpu_layers": stats.n_gpu_layers,
                "n_ctx": stats.n_ctx,
                "backend": stats.backend,
                "dropped_messages": stats.dropped_messages,
            },
        }
        payload.update(extra or {})
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print()
    return 130 if reply.finish_reason == "cancelled" else 0


_HELP = (
    "Commands: /reset clears the conversation, /system TEXT sets the system prompt, "
    "/image FILE attaches an image to your next message (/image alone drops them), "
    "/lora FILE[:SCALE] applies a LoRA adapter from the next message (/lora alone: none), "
    "/exit quits."
)

# Reads and checks an image for ``/image FILE`` (HearthError: one sentence to show).
Attach = Callable[[str], "PreparedImage"]


def run_interactive(
    client: ChatBackend,
    args: argparse.Namespace,
    history: list[Message],
    name: str,
    *,
    attach: Attach | None = None,
    images: Sequence[PreparedImage] = (),
    lora: LoraCheck | None = None,
) -> int:
    """The prompt loop: one turn per line until /exit or Ctrl+D; ``images`` go with the
    first message, ``attach`` reads those of ``/image FILE`` (None: images are refused),
    ``lora`` checks those of ``/lora FILE[:SCALE]`` (None: adapters are refused)."""
    from app.cli.docs import InteractiveDocs

    # --docs: each question is answered from the documents, its sources shown after.
    with InteractiveDocs(getattr(args, "docs", None)) as docs:
        return _interactive_loop(
            client, args, history, name, docs, attach=attach, pending=list(images), lora=lora
        )


def _attach_command(text: str, attach: Attach | None, pending: list[PreparedImage]) -> None:
    """``/image FILE``: read the image for the next message; ``/image``: drop them."""
    path = text.removeprefix("/image").strip()
    if not path:
        pending.clear()
        print("[no image attached]", file=sys.stderr)
        return
    if attach is None:
        print("[this chat cannot take images]", file=sys.stderr)
        return
    try:
        image = attach(path)
    except HearthError as exc:  # one sentence; the conversation goes on
        print(f"[{exc}]", file=sys.stderr)
        return
    pending.append(image)
    count = f"{len(pending)} image{'s' if len(pending) > 1 else ''}"
    print(
        f"[{image.name} attached ({image.width}x{image.height}); "
        f"your next message carries {count}]",
        file=sys.stderr,
    )


def _interactive_loop(
    client: ChatBackend,
    args: argparse.Namespace,
    history: list[Message],
    name: str,
    docs: InteractiveDocs,
    *,
    attach: Attach | None,
    pending: list[PreparedImage],
    lora: LoraCheck | None = None,
) -> int:
    print(f"Chatting with {name}. Ctrl+C stops a reply; Ctrl+D quits. {_HELP}", file=sys.stderr)
    params = params_from_args(args)
    while True:
        try:
            text = input("> ")
        except (EOFError, KeyboardInterrupt):
            print(file=sys.stderr)
            return 0
        text = text.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return 0
        if text == "/reset":
            history[:] = [m for m in history if m["role"] == "system"]
            print("[conversation cleared]", file=sys.stderr)
            continue
        if text.startswith("/system"):
            history[:] = [m for m in history if m["role"] != "system"]
            system = text.removeprefix("/system").strip()
            if system:
                history.insert(0, {"role": "system", "content": system})
            continue
        if text == "/image" or text.startswith("/image "):
            _attach_command(text, attach, pending)
            continue
        if text == "/lora" or text.startswith("/lora "):
            params = lora_command(text, params, lora)
            continue
        if text.startswith("/"):
            print(_HELP, file=sys.stderr)
            continue
        # The images stay in the history: later turns reuse the prompt llama.cpp has.
        history.append(user_message(text, pending))
        pending = []
        asked: list[Message] = [*history[:-1], {**history[-1], "content": docs.prompt(text)}]
        handle = client.generate(asked, params)
        try:
            reply = stream_reply(handle, sys.stdout, client)
        except Exception:
            history.pop()  # the turn failed: keep history as it was
            raise
        print()
        docs.show_sources(sys.stderr)
        history.append({"role": "assistant", "content": reply.text})
        if reply.finish_reason == "cancelled":
            print("[stopped]", file=sys.stderr)
        stats = reply.stats
        from_images = f" ({reply.image_tokens} from images)" if reply.image_tokens else ""
        print(
            f"[{stats.prompt_tokens} tokens in{from_images}, {stats.completion_tokens} out, "
            f"{stats.tokens_per_s:.1f} tok/s, "
            f"first token {stats.ttft_s * 1000:.0f} ms]",
            file=sys.stderr,
        )


def run_default(args: argparse.Namespace) -> int:
    """``hearth`` with no command: the window when it is installed, else the terminal chat."""
    import importlib.util

    if importlib.util.find_spec("app.ui.main_window") is not None:
        from app.ui.launch import launch_window  # type: ignore[import-not-found, unused-ignore]

        return int(launch_window(args))
    chat_args = build_default_chat_args(args)
    return run_chat(chat_args)


def build_default_chat_args(args: argparse.Namespace) -> argparse.Namespace:
    from app.cli.parser import build_parser

    chat_args = build_parser().parse_args(["chat"])
    chat_args.verbose = args.verbose
    return chat_args
