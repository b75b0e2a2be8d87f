"""``hearth serve``: an OpenAI-compatible HTTP API over Hearth's engine, library and voice.

Starlette under uvicorn (the stack llama-cpp-python's own server uses), on one event loop
in a thread of its own: the endpoints are in :mod:`app.server.routes`, the Host, Origin
and key checks in :mod:`app.server.guards`, the connection limits in
:mod:`app.server.protocol`. Every generation goes through the
:class:`~app.server.engine_bridge.EngineBridge`, so clients share the one engine worker in
arrival order.

Safe defaults: loopback only unless an API key is set, localhost hosts and origins only,
no CORS unless asked for, caps on body size, ``max_tokens``, connections, and on how long
a request's head and body may take to arrive.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.catalog.library import Library
from app.core.errors import ConfigError, ServerError
from app.core.i18n import translate
from app.server import openai_api as api
from app.server.audio import VoiceModels
from app.server.engine_bridge import EngineBridge
from app.server.openai_api import NOTICE_HEADER
from app.server.openai_docs import ServerDocuments
from app.server.openai_images import allowed_folders

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.docs.documents import Documents

log = logging.getLogger(__name__)

FD_RESERVE = 256  # descriptors kept for models, logs, the worker's pipes, the voice


@dataclass(frozen=True)
class ServerConfig:
    """How ``hearth serve`` listens and what it allows."""

    host: str = "127.0.0.1"
    port: int = 8080  # 0 picks a free port
    api_key: str | None = None
    cors_origin: str | None = None  # None: no CORS headers at all
    max_body_bytes: int = 25 * 1024 * 1024  # OpenAI's own limit for audio uploads
    limits: api.Limits = field(default_factory=api.Limits)
    max_queue: int = 32
    voice_threads: int = 0
    # Browsers' pages may call from these origins, and clients may name the server by
    # these hosts, besides localhost's own names ("*": any).
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    head_timeout_s: float = 10.0  # a request's head must arrive whole within this
    idle_timeout_s: float = 60.0  # a new connection that sends nothing is closed after this
    body_timeout_s: float = 30.0  # the longest pause while a body arrives
    keep_alive_s: int = 5  # an idle kept-alive connection is closed after this
    max_connections: int = 4096  # at the cap, the connection idle longest is closed
    backlog: int = 1024  # connections the kernel holds before they are accepted
    # Folders whose images clients may name by file:// URL (none: data: URLs only).
    image_folders: tuple[str, ...] = ()
    # ``hearth serve --lora``: LoRA adapters (path, scale) for every reply of the model
    # named here (the one they were checked against); a request's hearth_lora replaces them.
    default_loras: tuple[tuple[str, float], ...] = ()
    default_loras_model: str | None = None


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_config(config: ServerConfig) -> None:
    """Refuse settings that would expose the models to the network without a key."""
    if not is_loopback(config.host) and not config.api_key:
        raise ConfigError(
            translate(
                "Errors",
                "Refusing to listen on {host} without an API key: anyone on the network "
                "could use your models. Add --api-key KEY, or use --host 127.0.0.1.",
            ).format(host=config.host)
        )
    if config.api_key is not None and len(config.api_key) < 8:
        raise ConfigError(
            translate("Errors", "The API key is too short; use at least 8 characters.")
        )
    allowed_folders(config.image_folders)


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; the limit now in force.

    Each connection is a descriptor, and the usual soft limit (1024) would turn idle
    connections into refused ones.
    """
    try:
        import resource
    except ImportError:  # Windows: no such limit on sockets
        return 1 << 16
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if sys.platform == "darwin":
        wanted = min(wanted, 10240)  # OPEN_MAX: macOS refuses more
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            log.info("could not raise the open-file limit from %d", soft)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if sys.platform != "win32":  # on Windows it would let a second server share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class HearthServer:
    """The API server: bind, serve on a background thread, close."""

    def __init__(
        self,
        library: Library,
        config: ServerConfig,
        *,
        bridge: EngineBridge,
        documents: Callable[[], Documents] | None = None,
        documents_owned: bool = True,
        events_on_loop: bool | None = None,
    ) -> None:
        """``events_on_loop``: read the engine's events on the server's event loop (see
        ``EngineClient.deliver_on``); default: when the engine is the bridge's own, not
        the window's, whose events go to Qt."""
        check_config(config)
        self.library = library
        self.config = config
        self.image_folders = allowed_folders(config.image_folders)  # real paths
        self.bridge = bridge  # app.server.assemble builds it
        self.events_on_loop = bridge.owns_engine if events_on_loop is None else events_on_loop
        # The user's documents (default: those of this user's conversation database),
        # opened when a request first asks for them.
        self.docs = ServerDocuments(documents or _user_documents, owned=documents_owned)
        self.load_notice: str | None = None  # what loading the preloaded model had to say
        self.voice = VoiceModels(library, threads=config.voice_threads)
        self.started_at = int(time.time())
        try:
            self._socket = _listen(config.host, config.port, config.backlog)
        except OSError as exc:
            self.bridge.close()
            raise ServerError(
                translate(
                    "Errors",
                    "Cannot listen on {host}:{port} ({error}); choose another --port or stop "
                    "the program using it.",
                ).format(host=config.host, port=config.port, error=exc.strerror or exc)
            ) from exc
        self.max_connections = min(config.max_connections, raise_fd_limit() - FD_RESERVE)
        self._uvicorn = self._make_uvicorn()
        self._thread: threading.Thread | None = None
        # Set by the serving thread itself. Thread.is_alive() is not used: a Ctrl+C that
        # interrupts Thread.join() can leave a running thread marked stopped (Python
        # 3.11), and a signal can land before the thread runs.
        self._thread_running = threading.Event()
        self._thread_done = threading.Event()

    def _make_uvicorn(self) -> object:
        import uvicorn

        from app.server.guards import Guard, GuardMiddleware
        from app.server.protocol import ConnectionLimits, protocol_class
        from app.server.routes import Api

        config = self.config
        guard = Guard(
            hosts=config.allowed_hosts,
            origins=config.allowed_origins,
            api_key=config.api_key,
            cors_origin=config.cors_origin,
            # Off loopback a key is required, which a rebinding page lacks, and clients
            # reach the server by names it cannot know.
            any_host=not is_loopback(config.host),
        )
        app = GuardMiddleware(Api(self).app(), guard)
        limits = ConnectionLimits(
            head_timeout_s=config.head_timeout_s,
            max_connections=max(1, self.max_connections),
            idle_timeout_s=config.idle_timeout_s,
        )
        uv_config = uvicorn.Config(
            app,
            http=protocol_class(limits),
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_keep_alive=config.keep_alive_s,
            timeout_graceful_shutdown=1,
            backlog=config.backlog,
        )
        return uvicorn.Server(uv_config)

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/v1"

    def preload(self, name: str | None, timeout: float = 300.0) -> str:
        """Load ``name`` (None: the default chat model) now, so the first request is quick."""
        entry = self.bridge.resolve_model(name)
        loaded = self.bridge.load(entry, timeout)
        if loaded is not None:
            self.load_notice = loaded.notice
        return entry.name

    def start(self) -> None:
        """Serve on a background thread (connections wait in the backlog until it runs)."""
        server = self._uvicorn
        # The engine's events are read on the loop that sends them on: one wake-up per
        # token, not two.
        engine = self.bridge.engine if self.events_on_loop else None

        async def serve() -> None:
            if engine is not None:
                engine.deliver_on(asyncio.get_running_loop())
            try:
                await server.serve(sockets=[self._socket])  # type: ignore[attr-defined]
            finally:
                if engine is not None:
                    engine.deliver_on(None)  # before the loop closes: a thread reads on

        def run() -> None:
            self._thread_running.set()
            try:
                # What uvicorn's Server.run does, with the engine hand-over around it.
                loop_factory = server.config.get_loop_factory()  # type: ignore[attr-defined]
                with asyncio.Runner(loop_factory=loop_factory) as runner:
                    runner.run(serve())
            finally:
                self._thread_done.set()

        self._thread = threading.Thread(target=run, name="hearth-api", daemon=True)
        self._thread.start()
        log.info("API server listening on %s", self.url)

    def serve_forever(self) -> None:
        """Serve until :meth:`close` (from another thread) or Ctrl+C."""
        if self._thread is None:
            self.start()
        while not self._thread_done.wait(0.5):  # wakes for Ctrl+C, which join would not
            pass

    def hurry(self) -> None:
        """Make a :meth:`close` under way stop waiting for open connections."""
        self._uvicorn.force_exit = True  # type: ignore[attr-defined]

    def close(self) -> None:
        """Stop accepting, cancel what runs, and shut the engine down."""
        server = self._uvicorn
        server.should_exit = True  # type: ignore[attr-defined]
        running = self._thread is not None and self._thread_running.wait(5.0)
        if running and not self._thread_done.wait(5.0):
            server.force_exit = True  # type: ignore[attr-defined]
            self._thread_done.wait(5.0)
        if self._thread is None or self._thread_done.is_set() or not self._thread_running.is_set():
            self._socket.close()  # else uvicorn still holds it: it goes with the process
        self.bridge.close()
        self.docs.close()


def _user_documents() -> Documents:
    from app.core.paths import app_paths
    from app.docs.documents import Documents
    from app.storage import default_database_path

    return Documents.open(default_database_path(app_paths().ensure()))


__all__ = ["NOTICE_HEADER", "HearthServer", "ServerConfig", "check_config", "is_loopback"]
