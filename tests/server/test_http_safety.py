"""The HTTP layer's safety, probed from outside against a real ``HearthServer`` on the
starter model: Host and Origin allow-lists, head and body deadlines, the connection cap,
the listen backlog, JSON errors for every status and method, and the 400s for bad input
(each a finding of issue 12's probe)."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from app.server.assemble import assemble_server
from app.server.engine_bridge import EngineBridge
from app.server.httpd import HearthServer, ServerConfig
from app.server.openai_api import Limits
from app.services.server_service import ServerSettings
from tests.server.conftest import CHAT_MODEL, start_serve, starter_library, stop_serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
TRUSTED_ORIGIN = "https://trusted.example"
OWN_HOST = "myhost.lan"
DEADLINE_S = 1.0  # the probe server's head and body timeouts


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthServer]:
    """A loopback server without a key (the default), short deadlines, a small cap."""
    library = starter_library(tmp_path_factory.mktemp("safety-home"))
    bridge = EngineBridge(library, n_ctx=2048, n_gpu_layers=0, max_queue=8)
    config = ServerConfig(
        port=0,
        limits=Limits(max_tokens=64),
        allowed_hosts=(OWN_HOST,),
        allowed_origins=(TRUSTED_ORIGIN,),
        head_timeout_s=DEADLINE_S,
        idle_timeout_s=DEADLINE_S * 2,
        body_timeout_s=DEADLINE_S,
        max_connections=1500,
    )
    served = HearthServer(library, config, bridge=bridge)
    try:
        served.preload(CHAT_MODEL)
        served.start()
        yield served
    finally:
        served.close()


def request(
    server: HearthServer,
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    **headers: str,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, payload


def error_of(payload: bytes) -> dict[str, Any]:
    error = json.loads(payload)["error"]
    assert isinstance(error, dict) and error["message"]
    return error


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": CHAT_MODEL, "messages": QUESTION, "max_tokens": 4, **extra}


def read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything until the server closes (or ``timeout`` passes)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return data


def closed_by_server(sock: socket.socket, deadline_s: float) -> float | None:
    """Seconds until the server closed ``sock``; None if it was still open at the deadline."""
    started = time.monotonic()
    sock.settimeout(0.05)
    while time.monotonic() - started < deadline_s:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
    return None


# -- Host and Origin ---------------------------------------------------------------------
def test_dns_rebinding_host_is_refused(server: HearthServer) -> None:
    status, headers, payload = request(server, "GET", "/v1/models", Host="attacker.example")
    assert status == 403 and "attacker.example" in error_of(payload)["message"]
    assert headers["content-type"] == "application/json"
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", OWN_HOST):
        assert request(server, "GET", "/v1/models", Host=host)[0] == 200, host


def test_a_foreign_page_posting_text_plain_is_refused(server: HearthServer) -> None:
    bridge = server.bridge
    before = sum(bridge.counts.values())
    status, _, payload = request(
        server,
        "POST",
        "/v1/chat/completions",
        json.dumps(chat_body()).encode(),
        Origin="http://evil.example",
        **{"Content-Type": "text/plain"},
    )
    assert status == 403 and "evil.example" in error_of(payload)["message"]
    assert bridge.wait_idle(10) and sum(bridge.counts.values()) == before, "it reached the engine"
    # Local pages and the configured origin are allowed.
    for origin in ("http://localhost:3000", "http://127.0.0.1:8000", TRUSTED_ORIGIN):
        assert request(server, "GET", "/v1/models", Origin=origin)[0] == 200, origin


# -- deadlines, connections, backlog -----------------------------------------------------
def test_a_head_sent_a_byte_at_a_time_is_dropped(server: HearthServer) -> None:
    head = f"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Pad: {'a' * 400}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        started = time.monotonic()
        sock.settimeout(0.05)
        closed_at = None
        for byte in head:  # a byte every 20 ms: the whole head would take ~9 s
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1) == b"":
                    closed_at = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic() - started
                break
        assert closed_at is not None, "the server waited for the whole slow head"
        assert DEADLINE_S * 0.8 < closed_at < DEADLINE_S + 3


def test_an_idle_new_connection_is_closed(server: HearthServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        waited = closed_by_server(sock, DEADLINE_S * 2 + 5)
    # Silence may last longer than a head may take (idle_timeout_s, here twice as long).
    assert waited is not None and waited > DEADLINE_S * 1.6


def test_a_body_shorter_than_announced_is_dropped_without_a_thread(server: HearthServer) -> None:
    threads = threading.active_count()
    socks = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model"'
        )
        socks.append(sock)
    assert threading.active_count() < threads + 5, "a thread per stalled client"
    started = time.monotonic()
    answers = [read_all(sock, DEADLINE_S + 5) for sock in socks]
    for sock in socks:
        sock.close()
    assert time.monotonic() - started < DEADLINE_S + 5
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert b'"error"' in answer


def test_idle_connections_do_not_break_chat(server: HearthServer) -> None:
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(1100)]
    try:
        api = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=60)
        reply = api.chat.completions.create(model=CHAT_MODEL, messages=QUESTION, max_tokens=4)  # type: ignore[arg-type]
        assert reply.usage is not None and reply.usage.completion_tokens > 0
        assert request(server, "GET", "/v1/models")[0] == 200
    finally:
        for sock in idle:
            sock.close()


def test_at_the_connection_cap_the_longest_idle_ones_go(tmp_path: Path) -> None:
    library = starter_library(tmp_path)
    config = ServerConfig(port=0, max_connections=40, idle_timeout_s=60)
    capped = assemble_server(library, config)  # no model needed: /v1/models only
    capped.start()
    try:
        idle = [socket.create_connection(("127.0.0.1", capped.port)) for _ in range(60)]
        assert request(capped, "GET", "/v1/models")[0] == 200
        closed = sum(closed_by_server(sock, 0.2) is not None for sock in idle[:25])
        still_open = sum(closed_by_server(sock, 0.05) is None for sock in idle[-15:])
        assert closed >= 20, closed  # the oldest made room
        assert still_open == 15  # the newest stayed
        for sock in idle:
            sock.close()
    finally:
        capped.close()


def test_twenty_new_connections_at_once_are_not_held_in_a_short_backlog(
    server: HearthServer,
) -> None:
    barrier = threading.Barrier(20)
    took: list[float] = []

    def one() -> None:
        barrier.wait(10)
        started = time.monotonic()
        status = request(server, "GET", "/v1/models")[0]
        took.append(time.monotonic() - started if status == 200 else 99.0)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(took) == 20
    # A dropped SYN is retried after 1 s: every request well under that means none was.
    assert max(took) < 0.9, sorted(took)


# -- JSON errors for every status and method ---------------------------------------------
@pytest.mark.parametrize("method", ["DELETE", "PUT", "TRACE", "PATCH"])
def test_other_methods_are_json_405(server: HearthServer, method: str) -> None:
    for path in ("/v1/chat/completions", "/v1/models"):
        status, headers, payload = request(server, method, path)
        assert status == 405 and headers["content-type"] == "application/json"
        assert method in error_of(payload)["message"]


def test_unknown_path_is_json_404(server: HearthServer) -> None:
    for method in ("GET", "POST"):
        status, headers, payload = request(server, method, "/v1/nothing-here", b"{}")
        assert status == 404 and headers["content-type"] == "application/json"
        assert "/v1/nothing-here" in error_of(payload)["message"]


def test_a_broken_request_line_is_json_400(server: HearthServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"NOT A REQUEST\r\n\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["message"]


def test_the_body_of_a_refused_request_is_never_read_as_the_next(tmp_path: Path) -> None:
    library = starter_library(tmp_path)
    keyed = assemble_server(library, ServerConfig(port=0, api_key="key-0123456789"))
    keyed.start()
    try:
        smuggled = b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n"
        with socket.create_connection(("127.0.0.1", keyed.port)) as sock:
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                + f"Content-Length: {len(smuggled)}\r\n\r\n".encode()
                + smuggled
            )
            answer = read_all(sock)
        assert answer.count(b"HTTP/1.1 ") == 1, answer
        assert answer.startswith(b"HTTP/1.1 401")
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["type"] == (
            "authentication_error"
        )
    finally:
        keyed.close()


# -- 400 for bad input -------------------------------------------------------------------
def test_a_lone_surrogate_is_400(server: HearthServer) -> None:
    raw = (
        b'{"model": "%s", "max_tokens": 4, "messages": [{"role": "user", "content": "a\\ud800b"}]}'
        % CHAT_MODEL.encode()
    )
    status, _, payload = request(server, "POST", "/v1/chat/completions", raw)
    assert status == 400 and "surrogate" in error_of(payload)["message"]


def test_stream_must_be_a_boolean(server: HearthServer) -> None:
    status, _, payload = request(server, "POST", "/v1/chat/completions", chat_body(stream="no"))
    assert status == 400 and error_of(payload)["param"] == "stream"


@pytest.mark.parametrize("parameter", ["prediction", "audio", "mirostat_tau"])
def test_unsupported_parameters_are_400_naming_them(server: HearthServer, parameter: str) -> None:
    body = chat_body(**{parameter: {"type": "content", "content": "x"}})
    status, _, payload = request(server, "POST", "/v1/chat/completions", body)
    error = error_of(payload)
    assert status == 400 and error["param"] == parameter and parameter in error["message"]


@pytest.mark.parametrize(
    "name", ["/etc/passwd", "/etc/no-such-file-here", "~", "~/models", "a/b", "..\\x", ".hidden"]
)
def test_model_and_voice_take_names_never_paths(server: HearthServer, name: str) -> None:
    chat = request(server, "POST", "/v1/chat/completions", chat_body(model=name))
    speech = request(server, "POST", "/v1/audio/speech", {"input": "Hi.", "voice": name})
    embed = request(server, "POST", "/v1/embeddings", {"input": "Hi.", "model": name})
    for (status, _, payload), param in ((chat, "model"), (speech, "voice"), (embed, "model")):
        error = error_of(payload)
        assert status == 400 and error["param"] == param
        # One sentence for every path: whether the file exists is not told, nor the home.
        assert error["message"] == f"'{param}' must be a name from /v1/models, not a path."


def upload(server: HearthServer, audio: bytes, **fields: str) -> tuple[int, dict[str, str], bytes]:
    boundary = "hearthboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n".encode()
        + audio
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    return request(
        server, "POST", "/v1/audio/transcriptions", body, **{"Content-Type": content_type}
    )


def test_an_empty_upload_says_the_file_is_empty(server: HearthServer) -> None:
    status, _, payload = upload(server, b"", model="whisper-1")
    error = error_of(payload)
    assert status == 400 and error["param"] == "file" and "empty" in error["message"]


def test_an_unknown_language_is_400(server: HearthServer) -> None:
    wav = b"RIFF" + b"\0" * 100  # never decoded: the language is checked first
    status, _, payload = upload(server, wav, model="whisper-1", language="klingon")
    error = error_of(payload)
    assert status == 400 and error["param"] == "language" and "klingon" in error["message"]


# -- configuration: flags, variables, settings -------------------------------------------
def status_at(url: str, **headers: str) -> int:
    request = urllib.request.Request(f"{url}/models", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_hearth_serve_takes_origins_and_hosts_from_flags_and_the_variable(
    tmp_path: Path,
) -> None:
    served = start_serve(
        tmp_path,
        "--allow-origin",
        "https://app.example, https://two.example",
        env_vars={"HEARTH_HOSTS": "box.lan"},
    )
    try:
        assert status_at(served.url, Origin="https://app.example") == 200
        assert status_at(served.url, Origin="https://two.example") == 200
        assert status_at(served.url, Origin="https://other.example") == 403
        assert status_at(served.url, Host="box.lan") == 200
        assert status_at(served.url, Host="other.lan") == 403
    finally:
        stop_serve(served)
        for pipe in (served.process.stdout, served.process.stderr):
            if pipe is not None:
                pipe.close()


def test_the_window_settings_carry_origins_and_hosts() -> None:
    settings = ServerSettings.from_extra(
        {"server": {"origins": "https://a.example,https://b.example", "hosts": "box.lan"}}
    )
    config = settings.server_config()
    assert config.allowed_origins == ("https://a.example", "https://b.example")
    assert config.allowed_hosts == ("box.lan",)
    assert ServerSettings.from_extra(settings.to_extra()) == settings


def test_signals_during_shutdown_hurry_it_without_a_traceback(tmp_path: Path) -> None:
    served = start_serve(tmp_path)
    process = served.process
    host, port = served.url.removeprefix("http://").split("/")[0].split(":")
    # An open keep-alive connection: uvicorn waits on it while shutting down.
    idle = socket.create_connection((host, int(port)))
    try:
        process.send_signal(signal.SIGTERM)
        sent = 1
        deadline = time.monotonic() + 30
        while process.poll() is None:
            assert time.monotonic() < deadline, "hearth serve did not stop"
            process.send_signal(signal.SIGINT if sent % 2 else signal.SIGTERM)
            sent += 1
            time.sleep(0.05)  # paces the signals (a user pressing Ctrl+C again)
        assert process.stderr is not None
        errors = process.stderr.read()
    finally:
        idle.close()
        stop_serve(served)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    assert sent > 1  # some arrived while it was shutting down
    # 0, or the signal itself when one landed after Python's own handlers were gone (the
    # last moments of the interpreter's exit): either way a clean stop.
    assert process.returncode in (0, -signal.SIGINT, -signal.SIGTERM), errors
    assert "Traceback" not in errors, errors
