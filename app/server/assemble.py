"""Putting ``hearth serve`` together: the one function the CLI and the window both call."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.server.engine_bridge import EngineBridge
from app.server.httpd import HearthServer, ServerConfig, check_config

if TYPE_CHECKING:
    from app.catalog.library import Library, ModelEntry
    from app.composition.options import LoadOptions
    from app.docs.documents import Documents
    from app.engine.client import EngineClient


def assemble_server(
    library: Library,
    config: ServerConfig,
    *,
    engine: EngineClient | None = None,
    default_model: str | None = None,
    options: Callable[[ModelEntry], LoadOptions] | None = None,
    log_file: str | None = None,
    documents: Callable[[], Documents] | None = None,
    documents_owned: bool = True,
) -> HearthServer:
    """The API server over ``library``, bound but not yet serving.

    ``engine`` is a worker to share (the window's); without one the server starts its own.
    ``options`` gives a model's load options (app.composition.options.load_options with
    the front end's settings and overrides). ``documents`` opens the documents clients
    may ask about (default: the user's); ``documents_owned=False`` when they belong to
    the front end, which closes them (the window shares its index and embedding
    process). Raises ConfigError for settings that would
    expose the models without a key, ServerError when the port cannot be used.
    """
    check_config(config)  # before a worker is started
    bridge = EngineBridge(
        library,
        default_model=default_model,
        engine=engine,
        options=options,
        max_queue=config.max_queue,
        log_file=log_file,
    )
    return HearthServer(
        library, config, bridge=bridge, documents=documents, documents_owned=documents_owned
    )
