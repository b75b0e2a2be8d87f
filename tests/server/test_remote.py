"""Remote mode: :class:`RemoteEngineClient` against a real ``hearth serve`` process on the
starter model, and against tiny stub servers for the failures a real one rarely shows."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.core.errors import (
    ConfigError,
    ModelNotFoundError,
    RemoteAuthError,
    RemoteRateLimitError,
    RemoteTimeoutError,
    RemoteUnreachableError,
)
from app.core.generation import GenerationParams, Message
from app.engine import protocol as p
from app.remote.client import Endpoint, RemoteEngineClient
from app.server.httpd import ServerConfig, check_config
from tests.fixtures.reference import Reference
from tests.server.conftest import API_KEY, CHAT_MODEL, ROOT, ServeProcess, starter_prompt_tokens

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
LONG_STORY = [{"role": "user", "content": "Write a very long story about a dragon and a king."}]
TIMEOUT = 60


def remote(served: ServeProcess, **kwargs: object) -> RemoteEngineClient:
    client = RemoteEngineClient(served.url, served.api_key, **kwargs)  # type: ignore[arg-type]
    assert isinstance(client.load(CHAT_MODEL).wait(TIMEOUT), p.ModelLoaded)
    return client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_lists_the_servers_chat_models(serve_process: ServeProcess) -> None:
    client = RemoteEngineClient(serve_process.url, API_KEY)
    names = client.models()
    assert CHAT_MODEL in names
    assert "whisper-base" not in names, "speech models are not chat models"


def test_streams_a_conversation_like_the_engine(
    serve_process: ServeProcess, reference: Reference
) -> None:
    seen: list[p.Event] = []
    client = remote(serve_process, on_event=seen.append)
    handle = client.generate(QUESTION, GenerationParams(max_tokens=40, temperature=0, seed=7))
    events = list(handle.events(timeout=TIMEOUT))
    deltas = [e.text for e in events if isinstance(e, p.Delta)]
    done = events[-1]
    assert isinstance(events[0], p.PromptPrepared)
    assert isinstance(done, p.GenerationDone), done
    assert "".join(deltas) == done.text
    # The words depend on the server's CPU: the model's reply to the whole question.
    assert done.text.strip() and done.finish_reason in ("stop", "length")
    assert 0 < done.stats.completion_tokens <= 40 and done.stats.backend == "remote"
    assert len(deltas) >= min(2, done.stats.completion_tokens)
    assert done.stats.prompt_tokens == starter_prompt_tokens(reference, QUESTION)
    assert seen[-1] is done, "the on_event callback sees what the handle sees"
    # A follow-up turn with the history, as ChatService sends it.
    history = [*QUESTION, {"role": "assistant", "content": done.text}]
    follow_up = [*history, {"role": "user", "content": "And of Italy?"}]
    follow = client.generate(follow_up, GenerationParams(max_tokens=24, temperature=0)).wait(
        TIMEOUT
    )
    assert isinstance(follow, p.GenerationDone) and follow.text
    # The server's prompt held the whole history.
    assert follow.stats.prompt_tokens == starter_prompt_tokens(reference, follow_up)


def test_cancel_stops_the_servers_generation(serve_process: ServeProcess) -> None:
    client = remote(serve_process)
    handle = client.generate(LONG_STORY, GenerationParams(max_tokens=2500, seed=3))
    for event in handle.events(timeout=TIMEOUT):
        if isinstance(event, p.Delta):
            break
    client.cancel(handle)
    done = handle.wait(10)
    assert isinstance(done, p.GenerationDone) and done.finish_reason == "cancelled"
    assert done.text, "what came before the stop is kept"
    # The server's engine stopped too: the next request does not wait ~30 s behind it.
    quick = client.generate(QUESTION, GenerationParams(max_tokens=8, temperature=0))
    assert isinstance(quick.wait(15), p.GenerationDone)
    status = client.request_json("GET", "/hearth/status")
    assert status["counts"].get("cancelled", 0) >= 1, status


def test_unknown_model_is_model_not_found(serve_process: ServeProcess) -> None:
    client = RemoteEngineClient(serve_process.url, API_KEY)
    with pytest.raises(ModelNotFoundError, match="no-such-model"):
        client.load("no-such-model").wait(TIMEOUT)


def test_wrong_key_is_an_auth_error(serve_process: ServeProcess) -> None:
    client = RemoteEngineClient(serve_process.url, "wrong-key-xyz")
    with pytest.raises(RemoteAuthError, match=r"refused the API key \(HTTP 401\)"):
        client.models()
    with pytest.raises(RemoteAuthError):
        client.load(CHAT_MODEL).wait(TIMEOUT)


def test_unreachable_port_is_a_clear_error() -> None:
    client = RemoteEngineClient(f"http://127.0.0.1:{free_port()}/v1", connect_timeout=5)
    with pytest.raises(RemoteUnreachableError, match="connection refused"):
        client.models()
    client._model = CHAT_MODEL  # as if it had been loaded before the server went away
    with pytest.raises(RemoteUnreachableError):
        client.generate(QUESTION).wait(TIMEOUT)


def test_endpoint_addresses_are_normalised() -> None:
    assert Endpoint.parse("localhost:8080").url == "http://localhost:8080/v1"
    assert Endpoint.parse("https://example.com/v1/").url == "https://example.com:443/v1"
    with pytest.raises(ConfigError):
        Endpoint.parse("ftp://example.com")


class _Stub(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def stub() -> Iterator[tuple[_Stub, threading.Event]]:
    """A local server whose /models answers 429 and whose /chat/completions never answers."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"error": {"message": "Rate limit reached"}}).encode()
            self.send_response(429)
            self.send_header("Retry-After", "3")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            release.wait(30)  # says nothing: the client must give up on its own

    server = _Stub(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, release
    release.set()
    server.shutdown()
    server.server_close()


def test_429_is_a_rate_limit_error(stub: tuple[_Stub, threading.Event]) -> None:
    server, _ = stub
    client = RemoteEngineClient(f"http://127.0.0.1:{server.server_address[1]}/v1", "k")
    with pytest.raises(RemoteRateLimitError, match=r"HTTP 429\); try again in 3 s"):
        client.models()


def test_silent_server_is_a_timeout(stub: tuple[_Stub, threading.Event]) -> None:
    server, _ = stub
    client = RemoteEngineClient(
        f"http://127.0.0.1:{server.server_address[1]}/v1", "k", read_timeout=0.5
    )
    client._model = "any"
    with pytest.raises(RemoteTimeoutError, match="stopped answering"):
        client.generate(QUESTION).wait(10)


def test_cli_chat_with_an_endpoint(serve_process: ServeProcess, reference: Reference) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "chat",
            "--endpoint",
            serve_process.url,
            "--api-key",
            API_KEY,
            "--model",
            CHAT_MODEL,
            "--prompt",
            "What is the capital of France?",
            "--max-tokens",
            "24",
            "--temperature",
            "0",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    # The words depend on the server's CPU: the model's reply to the whole question.
    assert payload["text"].strip() and payload["finish_reason"] in ("stop", "length")
    assert 0 < payload["stats"]["completion_tokens"] <= 24
    question: list[Message] = [{"role": "user", "content": "What is the capital of France?"}]
    assert payload["stats"]["prompt_tokens"] == starter_prompt_tokens(reference, question)
    assert payload["endpoint"] == serve_process.url


def test_cli_chat_with_a_wrong_key_says_what_to_do(serve_process: ServeProcess) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HEARTH_API_KEY"}
    result = subprocess.run(
        [
            *(sys.executable, "-m", "app", "chat", "--endpoint", serve_process.url),
            *("--api-key", "wrong-key-xyz", "--model", CHAT_MODEL, "--prompt", "Hi"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 1
    assert "refused the API key" in result.stderr and "--api-key" in result.stderr


def test_public_host_needs_an_api_key() -> None:
    with pytest.raises(ConfigError, match="without an API key"):
        check_config(ServerConfig(host="0.0.0.0"))
    check_config(ServerConfig(host="0.0.0.0", api_key=API_KEY))
    check_config(ServerConfig(host="localhost"))
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "HEARTH_API_KEY"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 1
    assert "Refusing to listen on 0.0.0.0 without an API key" in result.stderr
