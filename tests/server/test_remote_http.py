"""The remote client's HTTP: connection reuse, proxies from the environment, replies cut
off by the server or the network, token counts without a server's usage, and sampling
options outside the OpenAI API. Against real ``hearth serve`` processes (killed with
SIGKILL mid-reply), a real forward proxy, and small stub servers for the shapes a real
server rarely shows (a clean end without ``finish_reason``, a reset, no ``usage``)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.core.errors import RemoteCutOffError
from app.core.generation import GenerationParams
from app.engine import protocol as p
from app.remote.client import RemoteEngineClient
from tests.fixtures.forward_proxy import ForwardProxy
from tests.server.conftest import API_KEY, CHAT_MODEL, ROOT, ServeProcess, start_serve, stop_serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
LONG_STORY = [{"role": "user", "content": "Write a very long story about a dragon and a king."}]
TIMEOUT = 60


def loaded(url: str, api_key: str | None = API_KEY, **kwargs: Any) -> RemoteEngineClient:
    client = RemoteEngineClient(url, api_key, **kwargs)
    assert isinstance(client.load(CHAT_MODEL).wait(TIMEOUT), p.ModelLoaded)
    return client


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    forward = ForwardProxy()
    yield forward
    forward.close()


@pytest.fixture
def doomed_serve(tmp_path: Path) -> Iterator[ServeProcess]:
    """A ``hearth serve`` of its own, for a test that kills it."""
    served = start_serve(tmp_path / "home", "--api-key", API_KEY)
    yield served
    if served.process.poll() is None:
        stop_serve(served)


# -- real hearth serve ---------------------------------------------------------------------
def test_one_connection_serves_every_request(serve_process: ServeProcess) -> None:
    client = RemoteEngineClient(serve_process.url, API_KEY)
    local_ends: list[tuple[str, int]] = []

    def note(response: httpx2.Response) -> None:
        stream = response.extensions["network_stream"]
        local_ends.append(stream.get_extra_info("client_addr"))

    client.http.event_hooks["response"].append(note)
    assert isinstance(client.load(CHAT_MODEL).wait(TIMEOUT), p.ModelLoaded)
    for _ in range(2):
        done = client.generate(QUESTION, GenerationParams(max_tokens=8, temperature=0))
        assert isinstance(done.wait(TIMEOUT), p.GenerationDone)
    client.models()
    client.shutdown()
    assert len(local_ends) == 4, local_ends
    assert len(set(local_ends)) == 1, f"a new connection per request: {local_ends}"


def test_http_proxy_from_the_environment_is_used(
    serve_process: ServeProcess, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    client = loaded(serve_process.url)
    done = client.generate(QUESTION, GenerationParams(max_tokens=8, temperature=0)).wait(TIMEOUT)
    client.shutdown()
    assert isinstance(done, p.GenerationDone) and done.text
    assert proxy.targets == [
        f"{serve_process.url}/models",
        f"{serve_process.url}/chat/completions",
    ]


def test_server_killed_mid_reply_is_a_cut_off_reply(doomed_serve: ServeProcess) -> None:
    client = loaded(doomed_serve.url)
    handle = client.generate(LONG_STORY, GenerationParams(max_tokens=2500, seed=3))
    events: list[p.Event] = []
    for event in handle.events(timeout=TIMEOUT):
        events.append(event)
        if isinstance(event, p.Delta):
            doomed_serve.process.send_signal(signal.SIGKILL)
    final = events[-1]
    assert isinstance(final, p.ErrorEvent), final
    assert final.kind == "RemoteCutOffError" and "cut off" in final.message
    assert any(isinstance(e, p.Delta) for e in events)
    with pytest.raises(RemoteCutOffError):
        handle.wait(1)
    client.shutdown()


def hearth_chat_json(
    url: str, model: str, *extra: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``hearth chat --endpoint URL --json`` asked for a long story."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "app", "chat", "--endpoint", url, "--model", model),
            *("--prompt", LONG_STORY[0]["content"], "--max-tokens", "1500", "--json", *extra),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def kill_mid_reply(
    process: subprocess.Popen[str], proxy: ForwardProxy, run: Callable[[], object]
) -> Any:
    """Run ``run`` (a client going through ``proxy``) and SIGKILL ``process`` once a few
    streamed chunks have reached the client."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(run()), daemon=True)
    thread.start()
    assert proxy.wait_for_events(4, TIMEOUT), "no reply streamed"
    process.send_signal(signal.SIGKILL)
    thread.join(TIMEOUT)
    assert result, "the client did not end"
    return result[0]


def test_cli_json_exits_non_zero_when_the_server_dies_mid_reply(
    doomed_serve: ServeProcess, proxy: ForwardProxy
) -> None:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["HTTP_PROXY"] = proxy.url  # lets the test see the reply stream, byte for byte
    result = kill_mid_reply(
        doomed_serve.process,
        proxy,
        lambda: hearth_chat_json(doomed_serve.url, CHAT_MODEL, "--api-key", API_KEY, env=env),
    )
    assert result.returncode == 1, result
    assert result.stdout == "", "no JSON for a reply that did not finish"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "was cut off" in lines[0] and "Traceback" not in result.stderr


def test_cli_ctrl_c_stops_the_reply_and_the_servers_generation(
    serve_process: ServeProcess,
) -> None:
    client = RemoteEngineClient(serve_process.url, API_KEY)
    cancelled_before = client.request_json("GET", "/hearth/status")["counts"].get("cancelled", 0)
    # The story's length is the model's (sampled) choice: a reply that ended before the
    # signal landed says nothing about Ctrl+C, so that case is tried again (3 times at most).
    for _attempt in range(3):
        # As in a terminal, Ctrl+C must not be ignored in the child: a process started
        # with SIGINT ignored is a background job, where hearth chat leaves it ignored
        # (and in the whole suite this test's process may hold SIGINT ignored). A handler
        # here becomes the default disposition in the child.
        ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "app", "chat", "--endpoint", serve_process.url),
                    *("--api-key", API_KEY, "--model", CHAT_MODEL, "--max-tokens", "1500"),
                    *("--prompt", LONG_STORY[0]["content"]),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        finally:
            signal.signal(signal.SIGINT, ignored)
        assert process.stdout is not None
        assert process.stdout.read(1), "no reply streamed"  # blocks until the first text
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert "Traceback" not in err
        if process.returncode == 0:
            continue  # the whole reply was out before the signal: not stopped, try again
        assert process.returncode == 130, err
        break
    else:
        raise AssertionError("every reply ended before Ctrl+C could stop it")
    deadline = time.monotonic() + 30
    while True:  # the server notices the closed connection within its watch interval
        counts = client.request_json("GET", "/hearth/status")["counts"]
        if counts.get("cancelled", 0) > cancelled_before:
            break
        assert time.monotonic() < deadline, counts
        time.sleep(0.1)
    client.shutdown()


def test_cli_interactive_chat_with_an_endpoint(serve_process: ServeProcess) -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "app", "chat", "--endpoint", serve_process.url),
            *("--api-key", API_KEY, "--model", CHAT_MODEL, "--max-tokens", "16"),
        ],
        cwd=ROOT,
        input="What is the capital of France?\n/reset\nAnd of Italy?\n/exit\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # The one terminal loop of app.cli.chat, with the endpoint's name and usage figures.
    assert f"Chatting with {CHAT_MODEL} at {serve_process.url}" in result.stderr
    figures = re.findall(r"\[(\d+) tokens in, (\d+) out", result.stderr)
    assert len(figures) == 2 and all(int(i) > 0 and 0 < int(o) <= 16 for i, o in figures)
    assert "[conversation cleared]" in result.stderr
    # /reset cleared the history: the shorter second question made the shorter prompt.
    assert int(figures[1][0]) < int(figures[0][0])


def test_cli_refuses_options_only_a_local_model_takes() -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "app", "chat", "--endpoint", "http://127.0.0.1:9/v1"),
            *("--model", "m", "--prompt", "Hi", "--ctx", "2048", "--threads", "2"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 1
    assert "--ctx, --threads set how a local model is loaded" in result.stderr
    assert "Traceback" not in result.stderr


# -- stub servers: shapes of a stream ------------------------------------------------------
class _Stub(ThreadingHTTPServer):
    daemon_threads = True


Behaviour = Callable[[BaseHTTPRequestHandler, dict[str, Any]], None]


@pytest.fixture
def stub_server() -> Iterator[Callable[[Behaviour], tuple[str, list[dict[str, Any]]]]]:
    """Starts a server whose /chat/completions runs a behaviour; returns its URL and the
    request bodies it received."""
    servers: list[_Stub] = []

    def start(behaviour: Behaviour) -> tuple[str, list[dict[str, Any]]]:
        bodies: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps({"data": [{"id": "stub-model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                behaviour(self, body)

        server = _Stub(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/v1", bodies

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def send_event(handler: BaseHTTPRequestHandler, payload: object) -> None:
    data = b"data: " + (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    data += b"\n\n"
    handler.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
    handler.wfile.flush()


def piece(text: str, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": text} if text else {}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


PIECES = ["Once", " upon", " a", " time", ",", " a", " dragon"]


def stub_client(url: str) -> RemoteEngineClient:
    client = RemoteEngineClient(url, "k", read_timeout=10)
    assert isinstance(client.load("stub-model").wait(10), p.ModelLoaded)
    return client


def test_a_stream_that_ends_before_the_finish_is_cut_off(
    stub_server: Callable[[Behaviour], tuple[str, list[dict[str, Any]]]],
) -> None:
    def ends_early(handler: BaseHTTPRequestHandler, _body: dict[str, Any]) -> None:
        for text in PIECES:
            send_event(handler, piece(text))
        handler.wfile.write(b"0\r\n\r\n")  # a clean end of the body: no finish, no [DONE]

    url, _ = stub_server(ends_early)
    client = stub_client(url)
    handle = client.generate(QUESTION)
    events = list(handle.events(timeout=10))
    assert "".join(e.text for e in events if isinstance(e, p.Delta)) == "".join(PIECES)
    final = events[-1]
    assert isinstance(final, p.ErrorEvent) and final.kind == "RemoteCutOffError"
    assert f"after {len(PIECES)} pieces" in final.message and "the stream ended" in final.message
    client.shutdown()


def test_a_reset_connection_is_cut_off(
    stub_server: Callable[[Behaviour], tuple[str, list[dict[str, Any]]]],
) -> None:
    def resets(handler: BaseHTTPRequestHandler, _body: dict[str, Any]) -> None:
        for text in PIECES[:3]:
            send_event(handler, piece(text))
        # SO_LINGER 0: close sends a TCP reset, as a crashed host or a middlebox does.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
        handler.close_connection = True

    url, _ = stub_server(resets)
    client = stub_client(url)
    final = client.generate(QUESTION).events(timeout=10)
    last = list(final)[-1]
    assert isinstance(last, p.ErrorEvent) and last.kind == "RemoteCutOffError"
    assert "the connection broke" in last.message
    client.shutdown()


def test_without_usage_the_streamed_pieces_are_counted(
    stub_server: Callable[[Behaviour], tuple[str, list[dict[str, Any]]]],
) -> None:
    def no_usage(handler: BaseHTTPRequestHandler, _body: dict[str, Any]) -> None:
        send_event(handler, {"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        for text in PIECES:
            send_event(handler, piece(text))
        send_event(handler, piece("", "length"))
        send_event(handler, b"[DONE]")
        handler.wfile.write(b"0\r\n\r\n")

    url, _ = stub_server(no_usage)
    client = stub_client(url)
    done = client.generate(QUESTION).wait(10)
    assert isinstance(done, p.GenerationDone) and done.finish_reason == "length"
    assert done.text == "".join(PIECES)
    assert done.stats.completion_tokens == len(PIECES)
    assert done.stats.prompt_tokens == 0, "unknown without the server's usage"
    assert done.stats.tokens_per_s > 0
    client.shutdown()


def test_sampling_outside_the_openai_api_is_forwarded_when_set(
    stub_server: Callable[[Behaviour], tuple[str, list[dict[str, Any]]]],
) -> None:
    def answers(handler: BaseHTTPRequestHandler, _body: dict[str, Any]) -> None:
        send_event(handler, piece("Hi", "stop"))
        send_event(handler, b"[DONE]")
        handler.wfile.write(b"0\r\n\r\n")

    url, bodies = stub_server(answers)
    client = stub_client(url)
    assert isinstance(client.generate(QUESTION).wait(10), p.GenerationDone)
    changed = GenerationParams(top_k=7, min_p=0.2, repeat_penalty=1.3, seed=11, temperature=0.1)
    assert isinstance(client.generate(QUESTION, changed).wait(10), p.GenerationDone)
    client.shutdown()
    plain, tuned = bodies
    # At llama.cpp's defaults nothing outside the OpenAI API is sent...
    assert not {"top_k", "min_p", "repeat_penalty", "seed"} & plain.keys()
    # ...and a changed value always is.
    assert (tuned["top_k"], tuned["min_p"], tuned["repeat_penalty"]) == (7, 0.2, 1.3)
    assert (tuned["seed"], tuned["temperature"]) == (11, 0.1)


# -- llama-cpp-python's own server ---------------------------------------------------------
LLAMA_ALIAS = "smollm2-llama-cpp"
LLAMA_CPP_SERVER = (
    "import runpy; from app.engine.amx import avoid_amx_kernels; avoid_amx_kernels(); "
    "runpy.run_module('llama_cpp.server', run_name='__main__')"
)


@pytest.fixture
def llama_cpp_server(smol_model: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m llama_cpp.server`` on the starter model: it streams no ``usage``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = subprocess.Popen(
        [
            # ``-m llama_cpp.server``, its models loaded as Hearth loads them (app.engine.amx)
            *(sys.executable, "-c", LLAMA_CPP_SERVER, "--model", str(smol_model)),
            *("--model_alias", LLAMA_ALIAS, "--host", "127.0.0.1", "--port", str(port)),
            *("--n_ctx", "2048", "--n_threads", "2", "--verbose", "false"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, process.communicate()[1][-2000:]
        try:
            if httpx2.get(f"{url}/models", timeout=2, trust_env=False).status_code == 200:
                break
        except httpx2.HTTPError:
            pass
        assert time.monotonic() < deadline, "llama_cpp.server did not start"
        time.sleep(0.2)  # polling for the port, with a deadline
    yield process, url
    process.kill()
    process.wait(10)


def test_llama_cpp_server_reply_is_counted_here(
    llama_cpp_server: tuple[subprocess.Popen[str], str],
) -> None:
    _, url = llama_cpp_server
    client = RemoteEngineClient(url, None)
    assert isinstance(client.load(LLAMA_ALIAS).wait(TIMEOUT), p.ModelLoaded)
    # top_k, min_p, repeat_penalty changed: forwarded, and taken (no 400).
    params = GenerationParams(max_tokens=16, temperature=0, top_k=20, min_p=0.1, repeat_penalty=1.2)
    done = client.generate(LONG_STORY, params).wait(TIMEOUT)
    client.shutdown()
    assert isinstance(done, p.GenerationDone), done
    # A long story does not fit in 16 tokens: the server stopped at the limit, so it
    # generated exactly 16 tokens, and the streamed pieces (one token each) say so.
    assert done.finish_reason == "length"
    assert done.stats.completion_tokens == 16
    assert done.stats.prompt_tokens == 0 and done.stats.tokens_per_s > 0


def test_llama_cpp_server_killed_mid_reply_fails_the_cli(
    llama_cpp_server: tuple[subprocess.Popen[str], str], proxy: ForwardProxy
) -> None:
    process, url = llama_cpp_server
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["HTTP_PROXY"] = proxy.url
    env.pop("HEARTH_API_KEY", None)
    result = kill_mid_reply(process, proxy, lambda: hearth_chat_json(url, LLAMA_ALIAS, env=env))
    assert result.returncode == 1, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "was cut off" in lines[0]
