"""ServerService: the window's switch for ``hearth serve`` and its remote-endpoint settings.

The API server runs inside the window's process on its own threads and, when given the
window's engine client, shares its worker (one model in memory, one queue). Settings
live in ``settings.extra`` under ``"server"`` and ``"remote"``, the API keys in the
secret store (app.core.secrets); saving them is the caller's (the preferences
service's) job. Slow work (binding, loading the model, asking a remote endpoint for its
models) runs off the GUI thread; results come back as signals, which Qt queues onto the
GUI thread.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import HearthError
from app.core.i18n import translate
from app.core.secrets import REMOTE_API_KEY, SERVER_API_KEY, SecretStore
from app.services.model_service import REMOTE_SOURCE

if TYPE_CHECKING:  # the server pulls in numpy and the voice code: load it when used
    from app.catalog.library import Library, ModelEntry
    from app.composition.options import LoadOptions
    from app.docs.documents import Documents
    from app.engine.client import EngineClient
    from app.remote.client import RemoteEngineClient
    from app.server.engine_bridge import EngineBridge
    from app.server.httpd import HearthServer, ServerConfig

log = logging.getLogger(__name__)

REMOTE_FIRST_REQUEST_ID = 1_000_000_000  # the local engine's ids never get this far


@dataclass
class ServerSettings:
    """What the settings tab edits (kept in ``settings.extra``, the keys as secrets).

    An API key of ``None`` is the one in the secret store, read when first needed (so
    opening the window never waits on the keyring); a text is the one the user entered,
    which saving the settings moves into the store.
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    api_key: str | None = None
    cors: bool = False
    origins: str = ""  # more web origins allowed to call, comma-separated (as OLLAMA_ORIGINS)
    hosts: str = ""  # more host names the server answers to, comma-separated
    remote_url: str = ""
    remote_api_key: str | None = None
    remote_model: str = ""
    secrets: SecretStore | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_extra(
        cls, extra: dict[str, Any], secrets: SecretStore | None = None
    ) -> ServerSettings:
        """From checked settings (app.core.settings_rules); missing values are defaults."""
        server = extra.get("server")
        server = server if isinstance(server, dict) else {}
        remote = extra.get("remote")
        remote = remote if isinstance(remote, dict) else {}
        return cls(
            enabled=bool(server.get("enabled", False)),
            host=str(server.get("host") or "127.0.0.1"),
            port=int(server.get("port") or 8080),
            api_key=_text_or_none(server.get("api_key")),
            cors=bool(server.get("cors", False)),
            origins=str(server.get("origins") or ""),
            hosts=str(server.get("hosts") or ""),
            remote_url=str(remote.get("url") or ""),
            remote_api_key=_text_or_none(remote.get("api_key")),
            remote_model=str(remote.get("model") or ""),
            secrets=secrets,
        )

    def to_extra(self) -> dict[str, Any]:
        """For ``settings.extra``; an entered key rides along until saving stores it."""
        server: dict[str, Any] = {
            "enabled": self.enabled,
            "host": self.host,
            "port": self.port,
            "cors": self.cors,
            "origins": self.origins,
            "hosts": self.hosts,
        }
        remote: dict[str, Any] = {"url": self.remote_url, "model": self.remote_model}
        if self.api_key is not None:
            server["api_key"] = self.api_key
        if self.remote_api_key is not None:
            remote["api_key"] = self.remote_api_key
        return {"server": server, "remote": remote}

    def resolved_api_key(self) -> str:
        """The key clients must send ("" for none)."""
        if self.api_key is None:
            self.api_key = self.secrets.get(SERVER_API_KEY) if self.secrets else ""
        return self.api_key

    def resolved_remote_api_key(self) -> str:
        """The key Hearth sends to the remote endpoint ("" for none)."""
        if self.remote_api_key is None:
            self.remote_api_key = self.secrets.get(REMOTE_API_KEY) if self.secrets else ""
        return self.remote_api_key

    def server_config(self) -> ServerConfig:
        from app.server.guards import split_list
        from app.server.httpd import ServerConfig

        return ServerConfig(
            host=self.host.strip() or "127.0.0.1",
            port=self.port,
            api_key=self.resolved_api_key() or None,
            cors_origin="*" if self.cors else None,
            allowed_origins=split_list(self.origins),
            allowed_hosts=split_list(self.hosts),
        )


def _documents_out_of_process() -> Documents:
    """The user's documents for API clients, their embedding model in a child process:
    never in the window's."""
    from app.core.paths import app_paths
    from app.docs.documents import Documents
    from app.storage import default_database_path

    return Documents.open(default_database_path(app_paths().ensure()), out_of_process=True)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class ServerService(QObject):
    """Starts and stops the API server; checks remote endpoints."""

    running_changed = Signal(bool)
    status_changed = Signal(str)  # one sentence for the settings tab
    failed = Signal(str)
    remote_models_listed = Signal(list)  # list[str] from a remote endpoint
    remote_failed = Signal(str)

    def __init__(
        self,
        library: Library,
        settings: ServerSettings | None = None,
        *,
        engine: EngineClient | None = None,
        default_model: str | None = None,
        load_options: Callable[[ModelEntry], LoadOptions] | None = None,
        documents: Callable[[], Documents] | None = None,
        image_folders: Callable[[], Sequence[str]] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``documents``: the window's documents (its index and embedding process), lent
        to API clients; without it the server opens the user's own, embedding in a child
        process. ``image_folders``: the folders API clients may name images in by
        file:// URL (the api_image_folders setting), read at each start."""
        super().__init__(parent)
        self._documents = documents
        self._image_folders = image_folders
        self.library = library
        self.settings = settings or ServerSettings()
        self.engine = engine
        self.default_model = default_model
        # The window's own load options (app.composition.options), so the API loads a
        # model the way the window does.
        self.load_options = load_options
        self._server: HearthServer | None = None
        self._lock = threading.Lock()

    # -- the server ----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str | None:
        server = self._server
        return server.url if server is not None else None

    @property
    def bridge(self) -> EngineBridge | None:
        server = self._server
        return server.bridge if server is not None else None

    def start(self, settings: ServerSettings | None = None) -> bool:
        """Start serving with ``settings``; False (and ``failed``) if they cannot be used."""
        if settings is not None:
            self.settings = settings
        if self._server is not None:
            return True
        from app.server.assemble import assemble_server

        config = self.settings.server_config()
        if self._image_folders is not None:
            config = dataclasses.replace(config, image_folders=tuple(self._image_folders()))
        try:
            server = assemble_server(
                self.library,
                config,
                engine=self.engine,
                default_model=self.default_model,
                options=self.load_options,
                documents=self._documents or _documents_out_of_process,
                documents_owned=self._documents is None,
            )
        except HearthError as exc:
            self.failed.emit(str(exc))
            return False
        if self.engine is not None:
            # The window's model is already in the shared worker: the first request uses
            # it (and the conversations cached with it) instead of loading it again.
            server.bridge.note_loaded(self.engine.loaded_path)
        server.start()
        self._server = server
        self.running_changed.emit(True)
        self.status_changed.emit(
            translate("ServerService", "Serving at {url}").format(url=server.url)
        )
        return True

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self.running_changed.emit(False)
        self.status_changed.emit(translate("ServerService", "Stopped."))

    def note_model_loaded(self, event: Any) -> None:
        """Connect to EngineService.model_loaded: the window changed the shared model."""
        bridge = self.bridge
        if bridge is not None and self.engine is not None:
            bridge.note_loaded(getattr(event, "path", None))

    # -- remote endpoints ----------------------------------------------------------------
    def check_remote(self, url: str, api_key: str) -> None:
        """List the endpoint's models in the background: ``remote_models_listed`` or
        ``remote_failed`` follows."""

        from app.remote.client import RemoteEngineClient

        def work() -> None:
            try:
                client = RemoteEngineClient(url, api_key or None, read_timeout=30)
                try:
                    names = client.models()
                finally:
                    client.shutdown()  # closes its connections
            except HearthError as exc:
                self.remote_failed.emit(str(exc))
                return
            self.remote_models_listed.emit(names)

        threading.Thread(target=work, name="remote-check", daemon=True).start()

    def remote_backend_factory(self) -> Any:
        """An EngineService backend factory for the saved endpoint (None when unset)."""
        if not self.settings.remote_url:
            return None
        url, key = self.settings.remote_url, self.settings.resolved_remote_api_key() or None

        def factory(on_event: Any = None) -> RemoteEngineClient:
            from app.remote.client import RemoteEngineClient

            return RemoteEngineClient(
                url, key, on_event=on_event, first_request_id=REMOTE_FIRST_REQUEST_ID
            )

        return factory

    def remote_entry(self) -> ModelEntry | None:
        """The saved endpoint's model as a model-picker entry (None when not set up)."""
        url, model = self.settings.remote_url, self.settings.remote_model
        if not url or not model:
            return None
        from urllib.parse import urlsplit

        from app.catalog.library import ModelEntry

        host = urlsplit(url if "://" in url else f"http://{url}").netloc or url
        return ModelEntry(
            name=f"{model} @ {host}",
            kind="chat",
            path=model,
            source=REMOTE_SOURCE,
            quantization="remote",
        )

    def remote_key(self) -> tuple[str, str]:
        return (self.settings.remote_url, self.settings.resolved_remote_api_key())

    def shutdown(self) -> None:
        self.stop()
