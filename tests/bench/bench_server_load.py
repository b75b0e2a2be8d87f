"""Load benchmark: ``hearth serve`` and llama-cpp-python's own server under the same load.

Both servers run as subprocesses on the same model and threads. First, streamed tokens/s
side by side: one streamed chat at a time, alternating servers, nothing else running.
Then, for each server in turn, the load: ``--idle`` connections held open (reopened when
the server closes them), one slowloris client sending a header a byte a second, and
``--clients`` streaming chats submitted ``--stagger`` seconds apart, while a prober asks
``/v1/models`` every 50 ms. Reported per server: /v1/models latency p50/p99 and errors,
chats answered, whether each chat was served in the order it arrived (first tokens in
submission order), and streamed tokens/s.

    python tests/bench/bench_server_load.py [--model PATH] [--threads 2] [--idle 2000]
        [--clients 50] [--max-tokens 24] [--rounds 4] [--tps-tokens 64] [--skip-llama-cpp]

Needs llama-cpp-python's server extras (fastapi, sse-starlette, starlette-context,
pydantic-settings). Goal: p99 under 50 ms, no error, tokens/s ratio >= 1.0.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

QUESTION = "Write two sentences about the sea."


@dataclass
class Served:
    name: str
    port: int
    process: subprocess.Popen[bytes]


@dataclass
class Chat:
    index: int
    sent: float = 0.0
    first: float | None = None
    last: float | None = None
    tokens: int = 0
    error: str = ""

    @property
    def tps(self) -> float | None:
        if self.first is None or self.last is None or self.tokens < 2 or self.last <= self.first:
            return None
        return (self.tokens - 1) / (self.last - self.first)


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    probe_errors: list[str] = field(default_factory=list)
    chats: list[Chat] = field(default_factory=list)
    reopened: int = 0
    slowloris_dropped: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v1/models")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)  # polling a starting server, with a deadline
    raise RuntimeError(f"the server on port {port} did not start in {timeout} s")


@contextmanager
def serving(name: str, command: list[str], port: int, env: dict[str, str]) -> Iterator[Served]:
    log = open(Path(tempfile.gettempdir()) / f"bench-load-{name}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_ready(port, process)
        yield Served(name, port, process)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def stream_chat(port: int, chat: Chat, max_tokens: int, model: str) -> None:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": QUESTION}],
        "max_tokens": max_tokens,
        "temperature": 0.8,
        "seed": 1234,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        chat.sent = time.perf_counter()
        conn.request(
            "POST",
            "/v1/chat/completions",
            json.dumps(body),
            {"Content-Type": "application/json", "Authorization": "Bearer none"},
        )
        response = conn.getresponse()
        if response.status != 200:
            chat.error = f"HTTP {response.status}: {response.read()[:200]!r}"
            return
        chunks = 0
        usage_tokens = None
        for raw in response:
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            payload = json.loads(data)
            if payload.get("usage"):
                usage_tokens = payload["usage"]["completion_tokens"]
            for choice in payload.get("choices", []):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    now = time.perf_counter()
                    chat.first = chat.first or now
                    chat.last = now
                    chunks += 1
        chat.tokens = usage_tokens if usage_tokens is not None else chunks
        conn.close()
    except Exception as exc:  # a benchmark reports errors, it does not stop on them
        chat.error = f"{type(exc).__name__}: {exc}"


def probe_models(port: int, stop: threading.Event, result: LoadResult) -> None:
    conn: http.client.HTTPConnection | None = None
    while not stop.is_set():
        started = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/v1/models", headers={"Authorization": "Bearer none"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                result.probe_errors.append(f"HTTP {response.status}")
            else:
                result.latencies.append(time.perf_counter() - started)
            if response.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            # A kept-alive connection the server closed between probes is not an error
            # of the request: open a new one and ask again.
            closed = isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError)
            if conn is not None and closed:
                conn.close()
                conn = None
                continue
            result.probe_errors.append(f"{type(exc).__name__}: {exc}")
            conn = None
        stop.wait(0.05)
    if conn is not None:
        conn.close()


def hold_idle(port: int, count: int, stop: threading.Event, result: LoadResult) -> None:
    """Keep ``count`` connections open, reopening those the server closes."""
    import selectors

    selector = selectors.DefaultSelector()

    def open_one() -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            return
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)

    for _ in range(count):
        open_one()
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.2):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data == b"":
                selector.unregister(sock)
                sock.close()
                result.reopened += 1
                open_one()
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    selector.close()


def slowloris(port: int, stop: threading.Event, result: LoadResult) -> None:
    head = b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\n" + b"X-A: b\r\n" * 1000
    while not stop.is_set():
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            stop.wait(1)
            continue
        try:
            for byte in head:
                if stop.wait(1.0):
                    break
                sock.sendall(bytes([byte]))
        except OSError:
            result.slowloris_dropped += 1
        finally:
            sock.close()


def run_load(served: Served, args: argparse.Namespace, model: str) -> LoadResult:
    result = LoadResult()
    stop = threading.Event()
    background = [
        threading.Thread(target=hold_idle, args=(served.port, args.idle, stop, result)),
        threading.Thread(target=slowloris, args=(served.port, stop, result)),
        threading.Thread(target=probe_models, args=(served.port, stop, result)),
    ]
    for thread in background:
        thread.start()
    stop.wait(3.0)  # let the idle connections settle before the chats start
    result.chats = [Chat(i) for i in range(args.clients)]
    clients = []
    for chat in result.chats:
        thread = threading.Thread(
            target=stream_chat, args=(served.port, chat, args.max_tokens, model)
        )
        thread.start()
        clients.append(thread)
        stop.wait(args.stagger)
    for thread in clients:
        thread.join()
    stop.set()
    for thread in background:
        thread.join(30)
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def side_by_side(
    servers: list[Served], rounds: int, max_tokens: int, model: str
) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {s.name: [] for s in servers}
    for round_ in range(rounds):
        order = servers if round_ % 2 == 0 else list(reversed(servers))
        for served in order:
            chat = Chat(round_)
            stream_chat(served.port, chat, max_tokens, model)
            if chat.error:
                raise RuntimeError(f"{served.name}: {chat.error}")
            if chat.tps is not None:
                rates[served.name].append(chat.tps)
    return rates


def report(name: str, result: LoadResult) -> None:
    answered = [c for c in result.chats if not c.error and c.first is not None]
    firsts = [c.first for c in sorted(answered, key=lambda c: c.sent)]
    in_order = all(a is not None and b is not None and a <= b for a, b in pairwise(firsts))
    rates = [c.tps for c in answered if c.tps is not None]
    lat = result.latencies
    print(f"\n== {name} under load")
    if lat:
        print(
            f"/v1/models: {len(lat)} answered, p50 {percentile(lat, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(lat, 0.99) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms"
        )
    print(f"/v1/models errors: {len(result.probe_errors)} {result.probe_errors[:3]}")
    print(f"chats: {len(answered)}/{len(result.chats)} answered, served in order: {in_order}")
    for chat in result.chats:
        if chat.error:
            print(f"  chat {chat.index}: {chat.error}")
    if rates:
        print(f"streamed tokens/s under load: median {statistics.median(rates):.1f}")
    print(f"idle connections reopened after the server closed them: {result.reopened}")
    print(f"slowloris connections dropped by the server: {result.slowloris_dropped}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--stagger", type=float, default=0.1)
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tps-tokens", type=int, default=64, help="max_tokens side by side")
    parser.add_argument("--skip-llama-cpp", action="store_true")
    args = parser.parse_args()
    if args.model is None:
        from tests.fixtures.models import smollm2_path

        args.model = smollm2_path()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.idle * 2 + 500
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))

    home = Path(tempfile.mkdtemp(prefix="hearth-bench-load-"))
    env = {**os.environ, "HEARTH_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("HEARTH_API_KEY", None)
    hearth_port, llama_port = free_port(), free_port()
    hearth_cmd = [
        sys.executable, "-m", "app", "serve", "--model", str(args.model),
        "--port", str(hearth_port), "--threads", str(args.threads), "--ctx", str(args.ctx),
        "--gpu-layers", "0", "--max-queue", str(args.clients + 8),
    ]  # fmt: skip
    llama_cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(args.model),
        "--port", str(llama_port), "--n_threads", str(args.threads), "--n_ctx", str(args.ctx),
        "--n_gpu_layers", "0",
    ]  # fmt: skip
    print(
        f"model: {args.model.name}  threads: {args.threads}  idle: {args.idle}  "
        f"clients: {args.clients} (every {args.stagger} s)  max_tokens: {args.max_tokens}"
    )
    with serving("hearth", hearth_cmd, hearth_port, env) as hearth:
        model = json.loads(_get(hearth.port, "/v1/models"))["data"][0]["id"]
        servers = [hearth]
        llama_ctx = None
        if not args.skip_llama_cpp:
            llama_ctx = serving("llama_cpp", llama_cmd, llama_port, env)
            servers.append(llama_ctx.__enter__())
        try:
            rates = side_by_side(servers, args.rounds, args.tps_tokens, model)
            print("\n== streamed tokens/s, one request at a time, servers alternating")
            for name, values in rates.items():
                shown = ", ".join(f"{v:.1f}" for v in values)
                print(f"{name}: median {statistics.median(values):.1f}  ({shown})")
            if len(rates) == 2:
                ratio = statistics.median(rates["hearth"]) / statistics.median(rates["llama_cpp"])
                print(f"ratio hearth/llama_cpp: {ratio:.2f}")
            for served in servers:
                report(served.name, run_load(served, args, model))
        finally:
            if llama_ctx is not None:
                llama_ctx.__exit__(None, None, None)
    return 0


def _get(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    return conn.getresponse().read()


if __name__ == "__main__":
    raise SystemExit(main())
