"""Hearth's MCP servers behind a plain synchronous API, safe to call from any thread (the
Qt GUI thread via a worker, the CLI, the voice thread).

The SDK is asyncio: every connection lives on one private event loop in a daemon thread.
Each public call submits a coroutine there and waits for it with a deadline a little
past the operation's own limit, so a caller never hangs even if the loop itself were
stuck. Servers start on first use; a crashed one starts again on its next use, up to
``McpLimits.max_failures`` failures in a row (then ``test``/``reset`` clears it).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app.core.errors import ConfigError, McpError
from app.core.i18n import translate
from app.tools.mcp.client import (
    McpCallResult,
    McpConnection,
    McpLimits,
    McpToolInfo,
    ServerState,
)
from app.tools.mcp.config import McpServerConfig

log = logging.getLogger(__name__)

T = TypeVar("T")
_GRACE_S = 5.0  # past an operation's own limit before the caller stops waiting for the loop
_CANCEL_POLL_S = 0.05


@dataclass(frozen=True)
class ServerStatus:
    """What the settings page and ``hearth mcp ls`` show for one server."""

    name: str
    config: McpServerConfig
    state: ServerState
    tools: tuple[McpToolInfo, ...]
    error: str
    stderr_tail: str
    failures: int
    starts: int


class McpManager:
    """The configured MCP servers and their connections."""

    def __init__(
        self, servers: Iterable[McpServerConfig] = (), limits: McpLimits | None = None
    ) -> None:
        self.limits = limits or McpLimits()
        self._configs: dict[str, McpServerConfig] = {}
        self._connections: dict[str, McpConnection] = {}
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stderr_dir: Path | None = None
        self._closed = False
        self._leaving: list[concurrent.futures.Future[None]] = []
        self._source: Path | None = None
        self._source_stamp: tuple[int, int] | None = None
        self.configure(servers)

    # -- configuration -------------------------------------------------------------

    def configure(self, servers: Iterable[McpServerConfig]) -> None:
        """Use these servers from now on; a removed or changed server is stopped."""
        new = {s.name: s for s in servers if not s.disabled}
        with self._guard:
            gone = [c for n, c in self._connections.items() if new.get(n) != c.config]
            for conn in gone:
                del self._connections[conn.name]
            self._configs = new
        if gone and self._loop is not None:
            # Stopped in the background: the caller (often the GUI thread) never waits.
            for conn in gone:
                future = asyncio.run_coroutine_threadsafe(conn.stop(), self._loop)
                self._leaving.append(future)

    def follow(self, path: Path) -> None:
        """Take the servers from ``path`` now and whenever :meth:`reload_if_changed` finds
        the file changed (Preferences or ``hearth mcp add`` wrote it)."""
        self._source = path
        self._source_stamp = None
        self.reload_if_changed()

    def reload_if_changed(self) -> bool:
        """Configure the servers again if the followed file changed; True when it did. A
        broken file is logged and leaves the servers as they were."""
        from app.tools.mcp.config import load_config

        if self._source is None:
            return False
        try:
            info = self._source.stat()
            stamp: tuple[int, int] | None = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None
        if stamp == self._source_stamp:
            return False
        self._source_stamp = stamp
        try:
            config = load_config(self._source)
        except ConfigError as exc:
            log.warning("MCP servers kept as they were: %s", exc)
            return False
        for problem in config.problems:
            log.warning("mcp.json: %s", problem)
        self.configure(config.servers)
        return True

    def start_soon(self) -> None:
        """Start, without waiting, every server never started yet (their tools appear in
        the statuses once listed; a failure is in the status too)."""
        with self._guard:
            if self._closed:
                return
        fresh = [self._connection(n) for n in self.names()]
        fresh = [c for c in fresh if c.starts == 0 and c.state == "stopped"]
        if not fresh:
            return

        async def start() -> None:
            await asyncio.gather(*(c.list_tools() for c in fresh), return_exceptions=True)

        asyncio.run_coroutine_threadsafe(start(), self._ensure_loop())

    def names(self) -> list[str]:
        with self._guard:
            return list(self._configs)

    def _connection(self, name: str) -> McpConnection:
        with self._guard:
            if self._closed:
                raise McpError(
                    translate(
                        "Tools", "The MCP servers were shut down with Hearth's window or command."
                    )
                )
            conn = self._connections.get(name)
            if conn is not None:
                return conn
            config = self._configs.get(name)
            if config is None:
                known = ", ".join(self._configs) or "none"
                raise ConfigError(
                    translate(
                        "Tools", "There is no MCP server named '{name}' (servers: {known})."
                    ).format(name=name, known=known)
                )
            if self._stderr_dir is None:
                self._stderr_dir = Path(tempfile.mkdtemp(prefix="hearth-mcp-"))
            conn = McpConnection(config, self._stderr_dir / f"{name}.stderr.txt", self.limits)
            self._connections[name] = conn
            return conn

    # -- the synchronous API -------------------------------------------------------

    def list_tools(self, name: str) -> tuple[McpToolInfo, ...]:
        """The server's tools, starting it when it is not running."""
        conn = self._connection(name)
        return self._run(conn.list_tools(), self.limits.start_s + self.limits.list_s)

    def call_tool(
        self,
        name: str,
        tool: str,
        arguments: dict[str, Any],
        timeout_s: float | None = None,
        cancel: threading.Event | None = None,
    ) -> McpCallResult:
        """Run ``tool`` on server ``name``; McpError (with the server's stderr tail) when it
        cannot start, dies, refuses or takes longer than ``timeout_s``. Setting ``cancel``
        abandons the call (the SDK tells the server it was cancelled)."""
        conn = self._connection(name)
        limit = self.limits.call_s if timeout_s is None else timeout_s
        return self._run(
            conn.call_tool(tool, arguments, limit),
            self.limits.start_s + self.limits.list_s + limit,
            cancel,
        )

    def test(self, name: str) -> ServerStatus:
        """Start ``name`` afresh (clearing its failures) and list its tools; McpError with
        the stderr tail when it fails."""
        conn = self._connection(name)

        async def restart() -> None:
            await conn.stop()
            conn.failures = 0
            await conn.list_tools()

        self._run(restart(), self.limits.stop_s + self.limits.start_s + self.limits.list_s)
        return self.status(name)

    def start_all(self) -> list[ServerStatus]:
        """Start every server at once (listing their tools); failures are in the statuses."""
        conns = [self._connection(n) for n in self.names()]

        async def start() -> None:
            await asyncio.gather(*(c.list_tools() for c in conns), return_exceptions=True)

        if conns:
            self._run(start(), self.limits.start_s + self.limits.list_s)
        return self.statuses()

    def reset(self, name: str) -> None:
        """Forget ``name``'s failures so its next use starts it again."""
        self._connection(name).failures = 0

    def status(self, name: str) -> ServerStatus:
        with self._guard:
            config = self._configs.get(name)
            conn = self._connections.get(name)
        if config is None:
            raise ConfigError(
                translate("Tools", "There is no MCP server named '{name}'.").format(name=name)
            )
        if conn is None:
            return ServerStatus(name, config, "stopped", (), "", "", 0, 0)
        return ServerStatus(
            name,
            config,
            conn.state,
            conn.tools,
            conn.error,
            conn.error_tail,
            conn.failures,
            conn.starts,
        )

    def statuses(self) -> list[ServerStatus]:
        return [self.status(n) for n in self.names()]

    def stop(self, name: str) -> None:
        with self._guard:
            conn = self._connections.get(name)
        if conn is not None:
            self._run(conn.stop(), self.limits.stop_s + 2.0)

    def close(self) -> None:
        """Stop every server (each within ``limits.stop_s``) and the loop; idempotent."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
            conns = list(self._connections.values())
            loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            concurrent.futures.wait(self._leaving, timeout=self.limits.stop_s + 2.0)
            if conns:

                async def stop_all() -> None:
                    await asyncio.gather(*(c.stop() for c in conns), return_exceptions=True)

                with _quiet():
                    self._submit(stop_all(), self.limits.stop_s + 3.0)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5.0)
            if not thread.is_alive():
                loop.close()
        if self._stderr_dir is not None:
            shutil.rmtree(self._stderr_dir, ignore_errors=True)
        atexit.unregister(self.close)

    def __enter__(self) -> McpManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the loop ------------------------------------------------------------------

    def _run(
        self,
        coro: Coroutine[Any, Any, T],
        timeout_s: float,
        cancel: threading.Event | None = None,
    ) -> T:
        if self._closed:
            coro.close()
            raise McpError(
                translate(
                    "Tools", "The MCP servers were shut down with Hearth's window or command."
                )
            )
        return self._submit(coro, timeout_s, cancel)

    def _submit(
        self,
        coro: Coroutine[Any, Any, T],
        timeout_s: float,
        cancel: threading.Event | None = None,
    ) -> T:
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        deadline = time.monotonic() + timeout_s + _GRACE_S
        while True:
            try:
                remaining = max(0.0, deadline - time.monotonic())
                wait = min(_CANCEL_POLL_S, remaining) if cancel is not None else remaining
                return future.result(timeout=wait)
            except concurrent.futures.TimeoutError:
                if cancel is not None and cancel.is_set():
                    future.cancel()
                    raise McpError(translate("Tools", "The MCP tool call was stopped.")) from None
                if time.monotonic() >= deadline:
                    future.cancel()
                    raise McpError(
                        translate(
                            "Tools",
                            "The MCP servers did not answer within {seconds} s; try again, or "
                            "restart Hearth if it keeps happening.",
                        ).format(seconds=format(timeout_s + _GRACE_S, "g"))
                    ) from None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="hearth-mcp", daemon=True
                )
                self._thread.start()
                atexit.register(self.close)  # servers exit with Hearth even if nobody closed
            return self._loop


class _quiet:
    """Swallow and log an error while shutting down (nothing can be done about it)."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        if exc is not None and isinstance(exc, Exception):
            log.warning("MCP shutdown: %s", exc)
            return True
        return False
