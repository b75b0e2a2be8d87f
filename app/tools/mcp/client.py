"""One MCP server seen from Hearth: start it (or connect to its URL), list its tools, call
one, notice when it dies, stop it. Asyncio, on the manager's private loop only
(:mod:`app.tools.mcp.manager` gives the rest of Hearth a synchronous API).

The official ``mcp`` SDK does the protocol. Its ``Client`` must be entered and left by
the same task (anyio's task groups and cancel scopes are tied to one task), so each
connection lives in a runner task that enters it, reports ready, and waits until it is
told to stop or the server's output ends (the server died); the SDK's own shutdown then
closes stdin, waits, and kills the server's process group.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from app.core.errors import McpError
from app.core.i18n import translate
from app.core.private import private_opener
from app.tools.mcp.config import McpServerConfig

if TYPE_CHECKING:  # the SDK loads only when a server is used
    from mcp import Client
    from mcp.client._transport import Transport, TransportStreams
    from mcp_types import CallToolResult

log = logging.getLogger(__name__)

ServerState = Literal["stopped", "starting", "running", "failed"]
STDERR_TAIL_LINES = 20
_STDERR_TAIL_BYTES = 4096
_STDERR_KEEP_BYTES = 1_000_000
_LIST_PAGES = 50  # a server whose listing never ends cannot hold Hearth


@dataclass(frozen=True)
class McpLimits:
    """Time limits (seconds) and how many failures in a row a server is given."""

    start_s: float = 30.0
    list_s: float = 15.0
    call_s: float = 60.0
    stop_s: float = 6.0  # the SDK's shutdown: 2 s after stdin closes, 2 s after SIGTERM
    max_failures: int = 3


@dataclass(frozen=True)
class McpToolInfo:
    """A tool as its server lists it."""

    server: str
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class McpCallResult:
    """A tool's answer as text for the model; ``is_error`` when the tool reported failure."""

    text: str
    is_error: bool
    elapsed_s: float


class StderrLog:
    """A server's stderr, written by the server straight into a private file (the SDK
    hands the file to the process), read back for its last lines when something fails."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fresh(self) -> TextIO:
        """An empty file for a new start (the previous start's output is gone); the
        caller closes it once the server is stopped."""
        return open(self.path, "w", encoding="utf-8", opener=private_opener)

    def trim(self) -> None:
        """Empty the file once it passes 1 MB (a chatty server runs for hours). The server
        keeps writing at its own offset, so the file turns sparse: no disk is used for
        the gap, which reads back as NULs that ``tail`` drops."""
        try:
            if self.path.stat().st_blocks * 512 > _STDERR_KEEP_BYTES:
                os.truncate(self.path, 0)
        except OSError:
            pass

    def tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        """The last ``lines`` lines (at most 4 KB), or '' when the server wrote nothing."""
        try:
            with open(self.path, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - _STDERR_TAIL_BYTES))
                data = f.read()
        except OSError:
            return ""
        text = data.replace(b"\0", b"").decode("utf-8", errors="replace")
        return "\n".join(text.strip().splitlines()[-lines:])


class _EofWatch:
    """The transport's read stream, calling ``on_eof`` once the server's output ends."""

    def __init__(self, inner: Any, on_eof: Callable[[], None]) -> None:
        self._inner = inner
        self._on_eof = on_eof

    @property
    def last_context(self) -> Any:  # the SDK reads it by getattr on context-aware streams
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        import anyio

        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_eof()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _EofWatch:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _EofWatch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@asynccontextmanager
async def _watched(
    transport: Transport, on_eof: Callable[[], None]
) -> AsyncIterator[TransportStreams]:
    async with transport as (read, write):
        yield _EofWatch(read, on_eof), write


class McpConnection:
    """One configured server and, while it runs, the SDK client connected to it."""

    def __init__(self, config: McpServerConfig, stderr_path: Path, limits: McpLimits) -> None:
        self.config = config
        self.limits = limits
        self.stderr = StderrLog(stderr_path)
        self.state: ServerState = "stopped"
        self.error = ""  # the last failure, one sentence
        self.error_tail = ""  # the stderr tail that went with it
        self.failures = 0  # in a row: crashes, failed starts, timeouts
        self.starts = 0
        self.tools: tuple[McpToolInfo, ...] = ()
        self._client: Client | None = None
        self._runner: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._ready: asyncio.Future[Client] | None = None
        self._stopping = False
        self._lock: asyncio.Lock | None = None

    @property
    def name(self) -> str:
        return self.config.name

    # -- starting and stopping ---------------------------------------------------------

    async def ensure_started(self) -> Client:
        """The running client, starting the server first when it is not running (after a
        crash too, while it has failed fewer than ``max_failures`` times in a row)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._client is not None and self.state == "running":
                return self._client
            if self.failures >= self.limits.max_failures:
                raise McpError(
                    translate(
                        "Tools",
                        "MCP server '{name}' failed {failures} times in a row and is not started "
                        "again; fix it, then run 'hearth mcp test {name}' or press Test in "
                        "Preferences.",
                    ).format(name=self.name, failures=self.failures),
                    self.error_tail,
                )
            await self._stop_runner()
            return await self._start()

    async def _start(self) -> Client:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Client] = loop.create_future()
        self._ready = ready
        self._wake = asyncio.Event()
        self._stopping = False
        self.state = "starting"
        self.starts += 1
        # Read the outcome even when nobody waits for it any more (a start given up on).
        ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._runner = asyncio.create_task(self._run(ready), name=f"mcp-{self.name}")
        try:
            client = await asyncio.wait_for(asyncio.shield(ready), self.limits.start_s)
            self.tools = await asyncio.wait_for(self._list(client), self.limits.list_s)
        except TimeoutError:
            self._abandon(
                translate(
                    "Tools",
                    "MCP server '{name}' did not answer within {start_s:g} s of starting; it "
                    "was stopped. Check that its command starts an MCP server on "
                    "stdin/stdout (or that its URL is right).",
                ).format(name=self.name, start_s=self.limits.start_s)
            )
            raise self._error() from None
        except Exception as exc:
            self._abandon(self._start_failure(exc))
            raise self._error() from exc
        self.state, self.error, self.error_tail = "running", "", ""
        self._client = client
        log.info("MCP server %s running with %d tools", self.name, len(self.tools))
        return client

    async def _run(self, ready: asyncio.Future[Client]) -> None:
        """The runner task: enter the SDK client, hand it over, wait, leave it."""
        from mcp import Client, Implementation

        from app import __version__

        try:
            async with AsyncExitStack() as stack:
                transport = await self._transport(stack)
                client = Client(
                    _watched(transport, self._on_eof),
                    client_info=Implementation(name="hearth", version=__version__),
                    cache=None,
                )
                await stack.enter_async_context(client)
                if not ready.done():
                    ready.set_result(client)
                assert self._wake is not None
                await self._wake.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(
                    _leaf(exc) if isinstance(exc, Exception) else McpError("stopped")
                )
            if not isinstance(exc, Exception):
                raise
            if ready.done() and not self._stopping:
                log.info("MCP server %s ended: %s", self.name, _leaf(exc))
        finally:
            if self._ready is ready:
                self._client = None

    async def _transport(self, stack: AsyncExitStack) -> Transport:
        config = self.config
        if config.url is None:
            from mcp import StdioServerParameters, stdio_client

            params = StdioServerParameters(
                command=config.command or "",
                args=list(config.args),
                env=dict(config.env) or None,
                cwd=config.cwd,
                encoding_error_handler="replace",
            )
            errlog = stack.enter_context(self.stderr.fresh())
            return stdio_client(params, errlog=errlog)
        if config.sse:
            from mcp.client.sse import sse_client

            return sse_client(
                config.url, headers=dict(config.headers) or None, timeout=self.limits.start_s
            )
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        http = None
        if config.headers:
            http = await stack.enter_async_context(
                create_mcp_http_client(headers=dict(config.headers))
            )
        return streamable_http_client(config.url, http_client=http)

    def _on_eof(self) -> None:
        """The server's output ended: it exited or crashed, unless Hearth is stopping it."""
        if self._stopping:
            return
        if self.state == "running":
            self.state = "failed"
            self.failures += 1
            self.error = translate(
                "Tools",
                "MCP server '{name}' stopped unexpectedly; it starts again on its next use.",
            ).format(name=self.name)
            self.error_tail = self.stderr.tail()
            log.warning("%s\n%s", self.error, self.error_tail)
        if self._wake is not None:
            self._wake.set()

    async def stop(self) -> None:
        """Stop the server (bounded by ``limits.stop_s``); a failed state is kept."""
        await self._stop_runner()
        if self.state != "failed":
            self.state = "stopped"

    async def _stop_runner(self) -> None:
        runner, self._runner = self._runner, None
        self._client = None
        if runner is None or runner.done():
            return
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        done, _ = await asyncio.wait({runner}, timeout=self.limits.stop_s)
        if not done:  # the SDK's shutdown is bounded; this is a last resort
            runner.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(runner, 2.0)

    def _abandon(self, message: str) -> None:
        """Record a failure and stop the server in the background, so the caller gets its
        error at once (a hung server takes seconds to die); the next start waits for it."""
        self.state = "failed"
        self.failures += 1
        self.error = message
        self.error_tail = self.stderr.tail()
        self._client = None
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._runner is not None and self._ready is not None and not self._ready.done():
            self._runner.cancel()  # still inside the handshake: the wake is not awaited yet

    def _error(self) -> McpError:
        return McpError(self.error, self.error_tail)

    def _start_failure(self, exc: Exception) -> str:
        if isinstance(exc, FileNotFoundError) and self.config.url is None:
            return translate(
                "Tools",
                "MCP server '{name}' could not start: the program '{command}' was not "
                'found; install it or fix "command" in mcp.json.',
            ).format(name=self.name, command=self.config.command)
        if isinstance(exc, OSError) and self.config.url is None:
            return translate(
                "Tools",
                "MCP server '{name}' could not start ({error}); check its \"command\" in mcp.json.",
            ).format(name=self.name, error=exc)
        if self.config.url is not None:
            return translate(
                "Tools",
                "MCP server '{name}' at {url} could not be reached ({error}); start it "
                'or fix its "url" in mcp.json.',
            ).format(name=self.name, url=self.config.url, error=_reason(exc))
        return translate(
            "Tools",
            "MCP server '{name}' stopped before it answered ({error}); its error output is below.",
        ).format(name=self.name, error=_reason(exc))

    # -- tools ---------------------------------------------------------------------

    async def _list(self, client: Client) -> tuple[McpToolInfo, ...]:
        if client.server_capabilities.tools is None:  # a server of prompts or resources only
            return ()
        tools: list[McpToolInfo] = []
        cursor: str | None = None
        for _ in range(_LIST_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(
                McpToolInfo(self.name, t.name, t.description or "", dict(t.input_schema))
                for t in page.tools
            )
            cursor = page.next_cursor
            if cursor is None:
                break
        return tuple(tools)

    async def list_tools(self) -> tuple[McpToolInfo, ...]:
        """The server's tools (starting it when needed; a start lists them)."""
        await self.ensure_started()
        return self.tools

    async def call_tool(
        self, tool: str, arguments: dict[str, Any], timeout_s: float | None = None
    ) -> McpCallResult:
        """Call ``tool``; McpError when the server cannot start, dies, refuses or is late."""
        from mcp import MCPError

        limit = self.limits.call_s if timeout_s is None else timeout_s
        client = await self.ensure_started()
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(client.call_tool(tool, arguments), limit)
        except TimeoutError:
            self._abandon(
                translate(
                    "Tools",
                    "MCP server '{name}' did not finish {tool} within {limit:g} s; it was "
                    "stopped and starts again on its next use.",
                ).format(name=self.name, tool=tool, limit=limit)
            )
            raise self._error() from None
        except MCPError as exc:
            if self.state == "failed" or _closed(exc):
                self._note_crash()
                raise self._error() from exc
            raise McpError(
                translate(
                    "Tools",
                    "MCP server '{name}' refused {tool}: {reason}.",
                ).format(name=self.name, tool=tool, reason=exc.message.rstrip("."))
            ) from exc
        except Exception as exc:
            if self.state == "failed":
                raise self._error() from exc
            raise McpError(
                translate(
                    "Tools",
                    "MCP server '{name}' could not run {tool} ({error}).",
                ).format(name=self.name, tool=tool, error=_reason(exc))
            ) from exc
        self.failures = 0
        self.stderr.trim()
        return McpCallResult(result_text(result), result.is_error, time.monotonic() - started)

    def _note_crash(self) -> None:
        if self.state != "failed":  # the EOF watch has not seen it yet
            self._on_eof()
        if not self.error:
            self.error = translate(
                "Tools",
                "MCP server '{name}' stopped unexpectedly.",
            ).format(name=self.name)


def result_text(result: CallToolResult) -> str:
    """A tool result as text for the model: text blocks as they are, other content named."""
    parts: list[str] = []
    for block in result.content:
        text = getattr(block, "text", None)
        resource = getattr(block, "resource", None)
        if isinstance(text, str):
            parts.append(text)
        elif resource is not None and isinstance(getattr(resource, "text", None), str):
            parts.append(resource.text)
        elif block.type == "resource_link":
            parts.append(f"[resource {getattr(block, 'uri', '')}]")
        else:
            mime = getattr(block, "mime_type", None) or getattr(resource, "mime_type", None)
            parts.append(f"[{block.type}{f' {mime}' if mime else ''} not shown]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def _closed(exc: Any) -> bool:
    from mcp_types import CONNECTION_CLOSED

    return bool(exc.code == CONNECTION_CLOSED)


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _reason(exc: BaseException) -> str:
    exc = _leaf(exc)
    message = getattr(exc, "message", None) or str(exc)
    text = str(message).strip().rstrip(".") or type(exc).__name__
    return text[:1].lower() + text[1:]
