"""Benchmark on an NVIDIA GPU: the offload planner against measured VRAM, Hearth's engine
against llama-cpp-python on the same GPU, and what happens when a plan does not fit.

Needs a CUDA build of llama-cpp-python (packaging/gpu/build-llama.sh cuda) and the NVIDIA
driver's NVML (the nvidia-ml-py package gives the fastest readings; nvidia-smi is the
fallback). Three parts, each printing a table:

* ``vram``: for each model, context size and offload (all layers, half of them) a fresh
  process creates the CUDA context, reads the device's used memory (NVML), loads the
  model, fills the context to the last cells, and reads the peak (polled every few
  milliseconds: llama.cpp's CUDA pool keeps what it took). The measured figure is the
  peak over the figure after the CUDA context, which the planner does not count (it
  keeps a margin for it); the context's own size is printed beside it. Goal: the
  planner's ``gpu_bytes`` within 10 % of the measured figure.
* ``speed``: tests/bench/bench_engine.py with all layers on the GPU: tokens/s and time
  to first token through Hearth's engine against llama-cpp-python called directly.
* ``fallback``: another process takes most of the GPU's memory (cudaMalloc), then:
  the planner's automatic choice (fewer layers, with the reason); all layers forced
  (refused with a sentence, never a CUDA out-of-memory crash); a load the planner was
  told would fit (the memory taken after planning), where llama.cpp's real CUDA
  allocation fails and the engine falls back to the CPU; and llama-cpp-python called
  directly with the same forced settings, for comparison.

    python tests/bench/bench_gpu.py [--parts vram speed fallback] [--ctx 2048 8192 32768]
                                    [--model PATH ...] [--speed-model PATH ...]
                                    [--json FILE]

By default the models are the starter chat model and the Gemma 3 270M base model.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024
# Runs every code path on a machine without a GPU (RSS instead of VRAM, no memory
# taken): to check the script before a GPU machine is at hand. Its figures mean nothing.
REHEARSAL = os.environ.get("HEARTH_BENCH_GPU_REHEARSAL") == "1"
FILL_TEXT = "The quick brown fox jumps over the lazy dog while the river runs to the sea. "
BUFFER_LINE = re.compile(
    r"(?P<device>CUDA\d+|CUDA_Host|CPU(?:_Mapped|_REPACK)?)\s+"
    r"(?P<kind>model|KV|compute|output|RS)\s+buffer size\s*=\s*(?P<mib>[\d.]+) MiB"
)


# -- reading the GPU's memory ------------------------------------------------------------
class DeviceMemory:
    """Used bytes on GPU 0, through NVML when pynvml is importable, else nvidia-smi."""

    def __init__(self) -> None:
        self._handle: Any = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:
            self._nvml = None

    @property
    def source(self) -> str:
        return "NVML" if self._handle is not None else "nvidia-smi"

    def used(self) -> int:
        if REHEARSAL:
            import psutil

            return int(psutil.Process().memory_info().rss)
        if self._nvml is not None and self._handle is not None:
            return int(self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used)
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return int(out.split()[0]) * MIB


class PeakPoller:
    """The highest used figure seen while running, polled every ``interval`` seconds."""

    def __init__(self, memory: DeviceMemory, interval: float = 0.002) -> None:
        self.memory = memory
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.memory.used())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakPoller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.memory.used())


def cudart() -> ctypes.CDLL:
    """The CUDA runtime llama.cpp links to (the same primary context)."""
    if REHEARSAL:
        return _NoCuda()  # type: ignore[return-value]
    for name in ("libcudart.so.13", "libcudart.so.12", "libcudart.so"):
        with contextlib.suppress(OSError):
            return ctypes.CDLL(name)
    raise SystemExit("libcudart not found: put the CUDA runtime on LD_LIBRARY_PATH")


class _NoCuda:
    """cudaFree, cudaMalloc, ... that do nothing and succeed (rehearsal only)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args: 0


# -- part 1: planned against measured VRAM -----------------------------------------------
def vram_child(model: Path, n_ctx: int, layers: int) -> dict[str, Any]:
    """Runs in a fresh process: NVML deltas in bytes, and how long the fill took."""
    memory = DeviceMemory()
    before = memory.used()
    import llama_cpp

    from app.engine.amx import avoid_amx_kernels

    avoid_amx_kernels()  # as Hearth loads models (see app.engine.amx)

    rt = cudart()
    rt.cudaFree(None)  # creates this process's CUDA context, as llama.cpp will use it
    after_context = memory.used()
    with PeakPoller(memory) as poll:
        llm = llama_cpp.Llama(str(model), n_ctx=n_ctx, n_gpu_layers=layers, verbose=True, seed=1)
        after_load = memory.used()
        tokens = llm.tokenize(FILL_TEXT.encode(), add_bos=False)
        fill = [llm.token_bos()] if llm.token_bos() >= 0 else []
        while len(fill) < llm.n_ctx() - 8:
            fill += tokens
        fill = fill[: llm.n_ctx() - 8]
        started = time.perf_counter()
        llm.eval(fill)
        for _ in range(4):  # a few single-token decodes on the full cache
            llm.eval([tokens[0]])
        rt.cudaDeviceSynchronize()
        fill_s = time.perf_counter() - started
    return {
        "context": after_context - before,
        "load": after_load - after_context,
        "peak": poll.peak - after_context,
        "fill_tokens": len(fill),
        "fill_s": fill_s,
        "source": memory.source,
    }


def measure_vram(model: Path, n_ctx: int, layers: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--vram-child", str(model), str(n_ctx), str(layers)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"measuring {model.name} failed:\n{result.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    buffers: dict[str, float] = {}
    for match in BUFFER_LINE.finditer(result.stderr):
        if match["device"].startswith("CUDA") and match["device"] != "CUDA_Host":
            key = match["kind"]
            buffers[key] = buffers.get(key, 0.0) + float(match["mib"])
    data["llama_log_mib"] = buffers
    return data


def planned(model: Path, n_ctx: int, layers: int) -> Any:
    from app.catalog.gguf_meta import read_gguf
    from app.engine.hardware import build_backend, probe_hardware
    from app.engine.planner import plan_offload

    return plan_offload(
        read_gguf(model),
        probe_hardware(),
        n_ctx=n_ctx,
        gpu_layers=layers,
        gpu_offload_supported=True,
        backend=build_backend(),
    )


def part_vram(models: list[Path], contexts: list[int]) -> list[dict[str, Any]]:
    from app.catalog.gguf_meta import read_gguf

    rows: list[dict[str, Any]] = []
    header = (
        f"{'model':<30}{'n_ctx':>7}{'layers':>8}{'planned':>10}{'measured':>10}{'error':>8}"
        f"{'weights':>9}{'KV':>8}{'compute':>9}{'log sum':>9}{'ctx':>7}"
    )
    print("\n== VRAM: planned against measured ==\n" + header + "\n" + "-" * len(header))
    for model in models:
        n_layers = read_gguf(model).block_count + 1
        for n_ctx in contexts:
            for layers in (n_layers, max(1, n_layers // 2)):
                plan = planned(model, n_ctx, layers)
                got = measure_vram(model, n_ctx, layers)
                error = (plan.gpu_bytes - got["peak"]) / got["peak"] * 100
                log_sum = sum(got["llama_log_mib"].values())
                row = {
                    "model": model.name,
                    "n_ctx": n_ctx,
                    "layers": layers,
                    "n_layers": n_layers,
                    "planned": plan.gpu_bytes,
                    "error_pct": error,
                    **got,
                }
                rows.append(row)
                print(
                    f"{model.name[:29]:<30}{n_ctx:>7}{f'{layers}/{n_layers}':>8}"
                    f"{plan.gpu_bytes / MIB:>9.0f}M{got['peak'] / MIB:>9.0f}M{error:>+7.1f}%"
                    f"{got['llama_log_mib'].get('model', 0):>8.0f}M"
                    f"{got['llama_log_mib'].get('KV', 0):>7.0f}M"
                    f"{got['llama_log_mib'].get('compute', 0):>8.0f}M{log_sum:>8.0f}M"
                    f"{got['context'] / MIB:>6.0f}M",
                    flush=True,
                )
    worst = max(abs(r["error_pct"]) for r in rows)
    print(
        f"worst error {worst:.1f}% (goal: within 10%); 'ctx' is the CUDA context, outside the "
        "plan's figure (the planner keeps a margin for it); 'log sum' is what llama.cpp's "
        "own log lists on the GPU"
    )
    return rows


# -- part 2: Hearth's engine against llama-cpp-python on the GPU -------------------------
def part_speed(models: list[Path], rounds: int) -> list[dict[str, Any]]:
    rows = []
    for model in models:
        print(f"\n== speed: {model.name}, all layers on the GPU ==", flush=True)
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tests/bench/bench_engine.py"),
                "--model",
                str(model),
                "--gpu-layers",
                "-1",
                "--rounds",
                str(rounds),
                "--max-tokens",
                "128",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        print(result.stdout, flush=True)
        if result.returncode != 0:
            print(result.stderr[-3000:], flush=True)
        rows.append({"model": model.name, "output": result.stdout, "rc": result.returncode})
    return rows


# -- part 3: plans that do not fit -------------------------------------------------------
@contextlib.contextmanager
def memory_taken(leave: int) -> Iterator[int]:
    """Another process holds all but ``leave`` bytes of the GPU's free memory."""
    free = _best_gpu().free_bytes
    take = max(0, free - leave)
    hog = subprocess.Popen(
        [sys.executable, __file__, "--hog", str(take)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert hog.stdout is not None
    line = hog.stdout.readline()
    if not line.startswith("holding"):
        hog.kill()
        raise RuntimeError(
            f"could not take GPU memory: {line} {hog.stderr.read() if hog.stderr else ''}"
        )
    try:
        yield _best_gpu().free_bytes
    finally:
        hog.kill()
        hog.wait()


def hog(take: int) -> None:
    rt = cudart()
    pointer = ctypes.c_void_p()
    code = rt.cudaMalloc(ctypes.byref(pointer), ctypes.c_size_t(take))
    if code != 0:
        print(f"cudaMalloc failed: {code}", flush=True)
        sys.exit(1)
    rt.cudaMemset(pointer, 1, ctypes.c_size_t(take))  # really resident
    rt.cudaDeviceSynchronize()
    print(f"holding {take}", flush=True)
    time.sleep(3600)


def engine_load(model: Path, n_ctx: int, layers: int | None) -> dict[str, Any]:
    """Load through Hearth's engine (its own worker process) and generate a few tokens;
    then check the engine still answers (a load on the CPU)."""
    from app.core.errors import HearthError
    from app.core.generation import GenerationParams
    from app.engine import protocol as p
    from app.engine.client import EngineClient

    memory = DeviceMemory()
    client = EngineClient()
    result: dict[str, Any] = {}
    try:
        with PeakPoller(memory) as poll:
            try:
                loaded = client.load(str(model), n_ctx=n_ctx, n_gpu_layers=layers).wait(600)
            except HearthError as exc:
                result.update(loaded=False, error=f"{type(exc).__name__}: {exc}")
            else:
                assert isinstance(loaded, p.ModelLoaded)
                result.update(
                    loaded=True,
                    backend=loaded.backend,
                    layers=loaded.n_gpu_layers,
                    plan=loaded.plan,
                )
                handle = client.generate(
                    [{"role": "user", "content": "Say hello."}],
                    GenerationParams(max_tokens=16, temperature=0.0),
                )
                done = [e for e in handle.events(timeout=600) if isinstance(e, p.GenerationDone)]
                result["generated_tokens"] = done[0].stats.completion_tokens if done else None
        result["peak_used_mib"] = round(poll.peak / MIB)
        again = client.load(str(model), n_ctx=2048, n_gpu_layers=0).wait(600)
        result["engine_still_answers"] = isinstance(again, p.ModelLoaded)
    finally:
        client.shutdown()
    return result


def fallback_child(model: Path, n_ctx: int) -> None:
    """The planner is told the model fits (as when another program takes the memory
    after planning); llama.cpp's real allocation fails; the worker must fall back."""
    from app.engine import protocol as p
    from app.engine import worker

    class Pipe:
        def __init__(self) -> None:
            self.sent: list[Any] = []

        def send(self, event: Any) -> None:
            self.sent.append(event)

    worker._load_plan = lambda info, request: worker._LoadPlan(
        info.block_count + 1,
        "cuda",
        "all layers on the GPU (the plan was told it fits)",
    )
    pipe = Pipe()
    engine = worker._Worker(pipe)  # type: ignore[arg-type]
    try:
        engine.load(p.LoadModel(request_id=1, path=str(model), n_ctx=n_ctx, n_gpu_layers=None))
        loaded = [e for e in pipe.sent if isinstance(e, p.ModelLoaded)]
        print(
            json.dumps(
                {
                    "loaded": bool(loaded),
                    "backend": loaded[0].backend if loaded else None,
                    "plan": loaded[0].plan if loaded else None,
                }
            )
        )
    except Exception as exc:
        print(json.dumps({"loaded": False, "error": f"{type(exc).__name__}: {exc}"}))
    finally:
        engine.unload()


def direct_child(model: Path, n_ctx: int) -> None:
    import llama_cpp

    from app.engine.amx import avoid_amx_kernels

    avoid_amx_kernels()  # as Hearth loads models (see app.engine.amx)

    try:
        llm = llama_cpp.Llama(str(model), n_ctx=n_ctx, n_gpu_layers=-1, verbose=False)
        llm.eval(llm.tokenize(FILL_TEXT.encode() * 64))
        print(json.dumps({"loaded": True}))
    except Exception as exc:
        print(json.dumps({"loaded": False, "error": f"{type(exc).__name__}: {exc}"}))


def run_child(flag: str, model: Path, n_ctx: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, flag, str(model), str(n_ctx)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    data: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    data["returncode"] = result.returncode
    if result.returncode != 0 or not lines:
        tail = [line for line in result.stderr.splitlines() if line.strip()][-4:]
        data["stderr_tail"] = tail
    return data


def part_fallback(model: Path, n_ctx: int) -> dict[str, Any]:
    """Two levels of memory taken by another process: room for about half the model above
    the planner's margin (auto offloads part of it; all layers forced is refused), then
    room for half the model and no margin (a load told it fits really runs out)."""
    from app.engine.planner import gpu_margin

    gpu = _best_gpu()
    need = planned(model, n_ctx, -1).gpu_bytes
    margin = gpu_margin(gpu)
    print(
        f"\n== fallback: {model.name} at n_ctx {n_ctx}: all layers need {need / MIB:.0f} MiB; "
        f"the planner keeps {margin / MIB:.0f} MiB free ==",
        flush=True,
    )
    out: dict[str, Any] = {"need": need, "margin": margin}
    with memory_taken(margin + need // 2) as free:
        print(f"another process holds the rest: {free / MIB:.0f} MiB free", flush=True)
        plan_all = planned(model, n_ctx, -1)
        print(f"planner, all layers: fits={plan_all.fits}: {plan_all.explain()}")
        out["auto"] = engine_load(model, n_ctx, None)
        print(f"engine, auto:        {json.dumps(out['auto'])}", flush=True)
        out["forced"] = engine_load(model, n_ctx, -1)
        print(f"engine, all forced:  {json.dumps(out['forced'])}", flush=True)
    with memory_taken(need // 2) as free:
        print(f"another process holds the rest: {free / MIB:.0f} MiB free", flush=True)
        out["told_fits"] = run_child("--fallback-child", model, n_ctx)
        print(f"worker told it fits: {json.dumps(out['told_fits'])}", flush=True)
        out["direct"] = run_child("--direct-child", model, n_ctx)
        print(f"llama-cpp-python:    {json.dumps(out['direct'])}", flush=True)
    return out


def _best_gpu() -> Any:
    from app.engine.hardware import probe_hardware

    gpu = probe_hardware().best_gpu
    if gpu is None and REHEARSAL:
        from app.engine.hardware import GPUInfo

        return GPUInfo(0, "Rehearsal GPU", "nvidia", 80 * 1024 * MIB, 79 * 1024 * MIB)
    if gpu is None:
        raise SystemExit("no GPU found")
    return gpu


# -- main ---------------------------------------------------------------------------------
def default_models(workdir: Path) -> list[Path]:
    from tests.fixtures.models import assemble_gemma, smollm2_path

    return [smollm2_path(), assemble_gemma(workdir)]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", default=["vram", "speed", "fallback"])
    parser.add_argument("--ctx", type=int, nargs="+", default=[2048, 8192, 32768])
    parser.add_argument("--model", type=Path, nargs="+")
    parser.add_argument(
        "--speed-model", type=Path, nargs="+", help="models for the speed part (default: --model)"
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--vram-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--fallback-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--direct-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--hog", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.vram_child:
        model, n_ctx, layers = args.vram_child
        print(json.dumps(vram_child(Path(model), int(n_ctx), int(layers))))
        return 0
    if args.fallback_child:
        fallback_child(Path(args.fallback_child[0]), int(args.fallback_child[1]))
        return 0
    if args.direct_child:
        direct_child(Path(args.direct_child[0]), int(args.direct_child[1]))
        return 0
    if args.hog is not None:
        hog(args.hog)
        return 0

    from app.engine.hardware import build_backend, llama_supports_gpu_offload, probe_hardware

    hardware = probe_hardware()
    gpu = hardware.best_gpu
    print(
        f"backend: {build_backend()}, offload: {llama_supports_gpu_offload()}, "
        f"GPU: {gpu.name if gpu else None}, "
        f"{(gpu.total_bytes / MIB) if gpu else 0:.0f} MiB, "
        f"free {(gpu.free_bytes / MIB) if gpu else 0:.0f} MiB",
        flush=True,
    )
    if (not llama_supports_gpu_offload() or gpu is None) and not REHEARSAL:
        print("No usable GPU: this benchmark needs a CUDA build and an NVIDIA GPU.")
        return 2
    results: dict[str, Any] = {"gpu": gpu.name if gpu else None}
    with tempfile.TemporaryDirectory(prefix="hearth-bench-gpu-") as tmp:
        models = args.model or default_models(Path(tmp))
        for part in args.parts:
            started = time.perf_counter()
            if part == "vram":
                results["vram"] = part_vram(models, args.ctx)
            elif part == "speed":
                results["speed"] = part_speed(args.speed_model or models, args.rounds)
            elif part == "fallback":
                results["fallback"] = part_fallback(models[-1], max(args.ctx))
            print(f"[{part}: {time.perf_counter() - started:.0f} s]", flush=True)
            if args.json:
                args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
