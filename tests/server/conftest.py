"""Server fixtures: Hearth's API on the real starter models, in this process or as
``hearth serve`` in a subprocess, and the official ``openai`` client pointed at it."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.catalog.library import Library
from app.catalog.starter import STARTER_CHAT_NAME, register_starter_models
from app.core.generation import GenerationParams, Message
from app.engine import protocol as p
from app.server.engine_bridge import EngineBridge
from app.server.httpd import HearthServer, ServerConfig
from app.server.openai_api import Limits
from tests.fixtures.models import smollm2_path
from tests.fixtures.reference import RecordingEngineClient, Reference

if TYPE_CHECKING:
    from app.docs.documents import Documents

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-key-0123456789"
CHAT_MODEL = STARTER_CHAT_NAME
STARTUP_TIMEOUT = 120


def starter_library(folder: Path) -> Library:
    library = Library(folder / "library.json", [folder / "models"])
    register_starter_models(library)
    return library


@contextmanager
def serving_in_process(
    folder: Path, *, documents: Callable[[], Documents] | None = None
) -> Iterator[HearthServer]:
    """Hearth's API in this process on a free port, key required, starter model loaded.

    Its engine keeps the requests it sends (``bridge.engine.loads``), so a test can ask
    the reference (tests/fixtures/reference.py) with the very same load settings.
    ``documents`` opens the documents it serves (default: the user's).
    """
    library = starter_library(folder)
    engine = RecordingEngineClient()
    bridge = EngineBridge(library, engine=engine, n_ctx=4096, n_gpu_layers=0, max_queue=8)
    config = ServerConfig(
        port=0,
        api_key=API_KEY,
        limits=Limits(max_tokens=3000),
        max_body_bytes=2 * 1024 * 1024,
        voice_threads=2,
    )
    # Its engine's events are read on the server's loop, as in hearth serve.
    server = HearthServer(library, config, bridge=bridge, documents=documents, events_on_loop=True)
    try:
        server.preload(CHAT_MODEL)
        server.start()
        yield server
    finally:
        server.close()
        engine.shutdown()  # the bridge closes only an engine it made itself


def recorded_load(server: HearthServer) -> p.LoadModel:
    """The load request the server's engine last sent (see :func:`serving_in_process`)."""
    engine = server.bridge.engine
    assert isinstance(engine, RecordingEngineClient) and engine.loads
    return engine.loads[-1]


def starter_prompt_tokens(reference: Reference, messages: list[Message]) -> int:
    """How many tokens the engine's prompt for ``messages`` holds on the starter model
    (its chat template and tokenizer; the load settings do not change the count): a
    server that reports it got the whole conversation."""
    load = p.LoadModel(0, str(smollm2_path()), n_ctx=4096, n_gpu_layers=0)
    return len(reference.prompt_tokens(load, messages, GenerationParams()))


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthServer]:
    """One server for a module's tests: replies after the first may reuse a cached prompt
    prefix, so compare them with the reference only by properties (token counts)."""
    with serving_in_process(tmp_path_factory.mktemp("server-home")) as server:
        yield server


@pytest.fixture
def fresh_api_server(tmp_path: Path) -> Iterator[HearthServer]:
    """A server of the test's own: its first reply evaluates the prompt afresh, as the
    reference does, so the two must be equal."""
    with serving_in_process(tmp_path / "fresh-server") as server:
        yield server


@dataclass
class ServeProcess:
    process: subprocess.Popen[str]
    url: str
    api_key: str


def start_serve(
    home: Path, *args: str, env_vars: dict[str, str] | None = None, api_key: str | None = None
) -> ServeProcess:
    """``hearth serve`` in a subprocess; returns once it prints the URL it serves at.

    ``env_vars`` are added to its environment; ``api_key`` is the key it was given other
    than by ``--api-key`` (a variable, a file).
    """
    env = {**os.environ, "HEARTH_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("HEARTH_API_KEY", None)
    env.update(env_vars or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", "0", "--ctx", "4096", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    try:
        line = lines.get(timeout=STARTUP_TIMEOUT)
    except queue.Empty:
        process.kill()
        raise AssertionError("hearth serve did not start in time") from None
    match = re.search(r" at (http://\S+)", line)
    if match is None:
        process.kill()
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"hearth serve failed: {line!r} {err}")
    key = args[args.index("--api-key") + 1] if "--api-key" in args else api_key or ""
    return ServeProcess(process, match.group(1), key)


def stop_serve(served: ServeProcess) -> None:
    served.process.terminate()
    try:
        served.process.wait(15)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait(5)


@pytest.fixture(scope="module")
def serve_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    served = start_serve(tmp_path_factory.mktemp("serve-home"), "--api-key", API_KEY)
    yield served
    stop_serve(served)
