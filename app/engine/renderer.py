"""Chat templates rendered under a budget, in a child process that can be killed.

A GGUF's ``tokenizer.chat_template`` is code from whoever made the file. The Jinja
sandbox stops it from reaching outside, but not from running for ever (three nested
``range(99999)``), writing gigabytes, or eating memory. So the engine worker renders
such templates in a small persistent child process: it is killed (and a fresh one
started) when a render runs past its time, its address space is capped so a memory
bomb fails there, and its output is counted as it is produced.

A template that engine.template_bounds proves cannot build anything bigger than its
input times its own size (the templates of the common model families) renders in the
worker itself, with a small input, under the same time limit and output cap: a round
trip to the child costs the first token about a millisecond through ``hearth serve``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from app.core.errors import ChatTemplateError, ModelError
from app.core.i18n import translate
from app.engine.deadline import WATCHDOG, DeadlinePassed
from app.engine.template_bounds import input_in_bounds, renders_in_bounds
from app.engine.templates import ChatFormat, Message, render_prompt

log = logging.getLogger(__name__)

TIME_LIMIT_S = 2.0
MAX_CHARS = 4 * 1024 * 1024
# Address space the renderer may grow by past what it holds once started.
MEMORY_HEADROOM_BYTES = 512 * 1024 * 1024
# How long a fresh renderer may take to start (imports on a slow, busy machine).
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RenderJob:
    """One request to the renderer: ``variants`` are message lists rendered alike."""

    template: str
    variants: tuple[tuple[Message, ...], ...]
    bos_token: str
    eos_token: str
    add_generation_prompt: bool
    max_chars: int
    # Extra template variables (``tools``, ``enable_thinking``, ...).
    extra: tuple[tuple[str, Any], ...] = ()


class TemplateRenderer:
    """Renders templates under a time, size and memory budget: in a child process, or
    here for a template proven bounded (``in_process``).

    Not thread-safe: the engine worker renders from one thread.
    """

    def __init__(
        self,
        *,
        time_limit_s: float = TIME_LIMIT_S,
        max_chars: int = MAX_CHARS,
        memory_headroom_bytes: int = MEMORY_HEADROOM_BYTES,
        in_process: bool = True,
    ) -> None:
        self.time_limit_s = time_limit_s
        # Templates proven bounded (engine.template_bounds) render here, under the same
        # time limit and output cap: no round trip to the child on the prompt's way.
        self.in_process = in_process
        self.max_chars = max_chars
        self.memory_headroom_bytes = memory_headroom_bytes
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._ready = False
        self.starts = 0  # child processes started so far (tests read it)

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def start(self) -> None:
        """Start the child if none runs; returns at once (it gets ready in the background)."""
        if self._process is not None and self._process.is_alive():
            return
        self._stop()
        ctx = mp.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        process = ctx.Process(
            target=renderer_main,
            args=(child_conn, self.memory_headroom_bytes),
            name="hearth-template-renderer",
            daemon=True,
        )
        with _children_allowed():
            _start_child(process)
        child_conn.close()  # so a dead child reads as EOF here
        self._process, self._conn, self._ready = process, parent_conn, False
        self.starts += 1

    def render(
        self,
        chat_format: ChatFormat,
        variants: Sequence[Sequence[Message]],
        *,
        bos_token: str = "",
        eos_token: str = "",
        add_generation_prompt: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> list[str]:
        """Render each message list in ``variants`` with ``chat_format``'s template.

        Raises ChatTemplateError when the template runs out of time, output or memory,
        breaks the sandbox or does not compile (the child is replaced where needed), and
        ModelError when the template itself refuses the conversation.
        """
        job = RenderJob(
            chat_format.template,
            tuple(tuple(dict(m) for m in messages) for messages in variants),
            bos_token,
            eos_token,
            add_generation_prompt,
            self.max_chars,
            tuple((extra or {}).items()),
        )
        if (
            self.in_process
            and renders_in_bounds(job.template)
            and input_in_bounds(job.variants, job.extra)
        ):
            try:
                with WATCHDOG.limit(self.time_limit_s):
                    reply = _render(job, self.memory_headroom_bytes)
            except DeadlinePassed:
                raise self._too_slow() from None
            return self._answer(reply, in_child=False)
        conn = self._ready_conn()
        try:
            conn.send(job)
        except (OSError, EOFError):
            self._discard()
            conn = self._ready_conn()
            conn.send(job)
        if not conn.poll(self.time_limit_s):
            self._discard()
            raise self._too_slow()
        try:
            reply = conn.recv()
        except (OSError, EOFError):
            code = self._exit_code()
            self._discard()
            if code is not None and code < 0:
                why = translate("Errors", "stopped the renderer (signal {signal})").format(
                    signal=-code
                )
            else:
                why = translate("Errors", "stopped the renderer (exit status {code})").format(
                    code=code
                )
            raise ChatTemplateError(
                translate(
                    "Errors",
                    "The chat template {why}.",
                ).format(why=why),
                reason=why,
            ) from None
        return self._answer(reply, in_child=True)

    def _answer(self, reply: tuple[str, Any, str], *, in_child: bool) -> list[str]:
        kind, payload, reason = reply
        if kind == "ok":
            texts: list[str] = payload
            return texts
        if kind == "memory" and in_child:
            self._discard()  # a process that ran out of memory is not trusted again
        if kind == "refused":
            raise ModelError(payload)
        raise ChatTemplateError(payload, reason=reason)

    def _too_slow(self) -> ChatTemplateError:
        return ChatTemplateError(
            translate(
                "Errors",
                "The chat template took longer than {time_limit_s:g} s to render.",
            ).format(time_limit_s=self.time_limit_s),
            reason=translate("Errors", "took longer than {seconds:g} s to render").format(
                seconds=self.time_limit_s
            ),
        )

    def close(self) -> None:
        """End the child now."""
        self._stop()

    # -- internals ---------------------------------------------------------------------
    def _ready_conn(self) -> Connection:
        """The pipe to a started child that has said it is ready (started if needed)."""
        self.start()
        conn = self._conn
        assert conn is not None
        if not self._ready:
            if not conn.poll(START_TIMEOUT_S):
                self._stop()
                raise ChatTemplateError(
                    translate("Errors", "The chat template renderer did not start."),
                    reason="could not be rendered (the renderer did not start)",
                )
            try:
                conn.recv()  # "ready"
            except (OSError, EOFError):
                code = self._exit_code()
                self._stop()
                raise ChatTemplateError(
                    translate(
                        "Errors",
                        "The chat template renderer failed to start (exit status {code}).",
                    ).format(code=code),
                    reason=f"could not be rendered (the renderer exited with status {code})",
                ) from None
            self._ready = True
        return conn

    def _exit_code(self) -> int | None:
        process = self._process
        if process is None:
            return None
        process.join(1.0)
        return process.exitcode

    def _discard(self) -> None:
        """Replace the child: kill it now; the next render starts a fresh one (often none
        is needed: a template that failed is replaced by a built-in one, rendered here)."""
        self._stop()

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        self._ready = False
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join(5.0)
            with contextlib.suppress(ValueError):
                process.close()


@contextlib.contextmanager
def _children_allowed() -> Any:
    """Let a daemonic process (the engine worker) start the renderer.

    multiprocessing refuses children to daemonic processes so none is orphaned at exit;
    the renderer is daemonic itself, ends with its parent (lifeline, and EOF on its
    pipe), and is killed explicitly, so the rule is lifted for its start.
    """
    me = mp.current_process()
    daemonic = me.daemon
    if daemonic:
        me.daemon = False
    try:
        yield
    finally:
        if daemonic:
            me.daemon = True


def _start_child(process: BaseProcess) -> None:
    try:
        from app.engine.lifeline import start_child
    except ImportError:  # lifeline not available: a plain start
        process.start()
        return
    start_child(process)


# -- the child's side ---------------------------------------------------------------------
def renderer_main(conn: Connection, memory_headroom_bytes: int) -> None:
    """Process entry point: render jobs from ``conn`` until it closes."""
    try:
        from app.engine.lifeline import die_with_parent
    except ImportError:
        pass
    else:
        die_with_parent()
    import jinja2.sandbox  # noqa: F401  (imported before the memory cap is measured)

    _cap_memory(memory_headroom_bytes)
    conn.send(("ready", None, ""))
    while True:
        try:
            job: RenderJob = conn.recv()
        except (EOFError, OSError):
            return  # the worker is gone
        kind, payload, reason = _render(job, memory_headroom_bytes)
        try:
            conn.send((kind, payload, reason))
        except (OSError, EOFError):
            return
        if kind == "memory":
            return


def _render(job: RenderJob, memory_headroom_bytes: int) -> tuple[str, Any, str]:
    """``(kind, payload, reason)``: ``("ok", texts, "")`` or a failure and its sentence."""
    chat_format = ChatFormat("gguf", job.template, source="gguf")
    try:
        texts = [
            render_prompt(
                chat_format,
                list(messages),
                bos_token=job.bos_token,
                eos_token=job.eos_token,
                add_generation_prompt=job.add_generation_prompt,
                extra=dict(job.extra),
                max_chars=job.max_chars,
            )
            for messages in job.variants
        ]
    except MemoryError:
        limit = memory_headroom_bytes // (1024 * 1024)
        why = translate("Errors", "needed more than {limit} MiB of memory to render").format(
            limit=limit
        )
        return "memory", translate("Errors", "The chat template {why}.").format(why=why), why
    except ChatTemplateError as exc:
        return "template", str(exc), exc.reason
    except ModelError as exc:
        return "refused", str(exc), ""
    except Exception as exc:  # a template that breaks jinja itself: not the worker's problem
        why = translate("Errors", "failed to render ({kind}: {error})").format(
            kind=type(exc).__name__, error=exc
        )
        return "template", translate("Errors", "The chat template {why}.").format(why=why), why
    return "ok", texts, ""


def _cap_memory(headroom: int) -> None:
    """Cap this process's address space at what it uses now plus ``headroom`` (Linux)."""
    if not sys.platform.startswith("linux"):
        return  # macOS does not enforce RLIMIT_AS; Windows has no rlimits
    import resource

    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = used + headroom
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or soft > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError) as exc:
        log.warning("cannot cap the template renderer's memory: %s", exc)
