"""Benchmark: the offload planner's RAM estimate against what llama.cpp really uses.

For each starter model and context size a fresh Python process imports llama_cpp,
reads its RSS (the baseline), creates ``Llama(model, n_ctx=N, n_gpu_layers=0)`` and
reads RSS after the load, after a short generation and at the peak of a generation
whose prompt fills the context to the last few cells. The planner promises the memory
of a full context, so the error is taken against that peak; the short generation is
shown to make the difference visible (KV cache pages are written at load, compute
buffer pages only as the context grows).

    python tests/bench/bench_planner_memory.py [--ctx 2048 8192] [--model PATH ...]

Goal: estimate within 10 % of the measured peak. Filling an 8192-token context takes a
few minutes on two cores. Gemma reads about 13 MiB under the measurement on purpose:
RSS still holds the mmapped originals of the Q4_K matrices llama.cpp repacked, clean
file pages the kernel may drop at any time, which the planner does not count.

``--child MODEL N_CTX`` is the measuring process (also used by
tests/integration/test_planner_real.py); it prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024
FILL_TEXT = "The quick brown fox jumps over the lazy dog while the river runs to the sea. "


def _peak_rss() -> int:
    """This process's peak RSS in bytes.

    On Linux, VmHWM: ru_maxrss survives exec, so a child forked from a big parent (a
    long pytest run) would report the parent's size at fork time as its own peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * (1 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux


def measure(model: Path, n_ctx: int) -> dict[str, int]:
    """RSS deltas in bytes over the baseline taken after ``import llama_cpp``."""
    import llama_cpp
    import psutil

    from app.engine.amx import avoid_amx_kernels

    avoid_amx_kernels()  # as Hearth loads models (see app.engine.amx)

    process = psutil.Process()
    baseline = process.memory_info().rss
    llm = llama_cpp.Llama(str(model), n_ctx=n_ctx, n_gpu_layers=0, verbose=False)
    after_load = process.memory_info().rss
    llm.create_completion("Hello, my name is", max_tokens=8, temperature=0.0)
    after_short = process.memory_info().rss
    # A prompt that fills the context: the last ubatch attends over (almost) every cell,
    # which is when the compute buffer and the KQ scratch are at their largest.
    llm.reset()
    prompt = llm.tokenize(FILL_TEXT.encode() * (n_ctx // 8 + 1))[: n_ctx - 16]
    llm.create_completion(prompt, max_tokens=8, temperature=0.0)
    after_fill = process.memory_info().rss
    peak = _peak_rss()
    return {
        "load": after_load - baseline,
        "short": after_short - baseline,
        "fill": after_fill - baseline,
        "peak": max(peak, after_fill) - baseline,
        "filled_tokens": len(prompt),
    }


def measure_in_subprocess(model: Path, n_ctx: int, timeout: float = 900) -> dict[str, int]:
    """Run :func:`measure` in a fresh interpreter so nothing is shared between cases."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(model), str(n_ctx)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(f"measuring {model.name} failed:\n{result.stderr[-2000:]}")
    data: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def estimate(model: Path, n_ctx: int) -> int:
    """The planner's CPU-only estimate of resident bytes, as the engine would plan."""
    from app.catalog.gguf_meta import read_gguf
    from app.engine.hardware import probe_hardware
    from app.engine.planner import plan_offload

    plan = plan_offload(
        read_gguf(model), probe_hardware(), n_ctx=n_ctx, gpu_offload_supported=False
    )
    return plan.cpu_bytes


def starter_models(workdir: Path) -> list[Path]:
    from tests.fixtures.models import assemble_gemma, smollm2_path

    return [smollm2_path(), assemble_gemma(workdir)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ctx", type=int, nargs="+", default=[2048, 8192])
    parser.add_argument("--model", type=Path, nargs="+", help="GGUF files (default: starters)")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "N_CTX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), int(args.child[1]))))
        return

    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as tmp:
        models = args.model or starter_models(Path(tmp))
        rows: list[dict[str, Any]] = []
        header = (
            f"{'model':<34} {'n_ctx':>6} {'estimate':>9} {'load':>8} {'short':>8} "
            f"{'full-ctx':>9} {'error':>7}"
        )
        print(header + "\n" + "-" * len(header), flush=True)
        for model in models:
            for n_ctx in args.ctx:
                est = estimate(model, n_ctx)
                got = measure_in_subprocess(model, n_ctx)
                error = (est - got["peak"]) / got["peak"] * 100
                rows.append({"model": model.name, "n_ctx": n_ctx, "estimate": est, **got})
                sizes = [f"{got[k] / MIB:>7.1f}M" for k in ("load", "short")]
                print(
                    f"{model.name[:34]:<34} {n_ctx:>6} {est / MIB:>8.1f}M {' '.join(sizes)} "
                    f"{got['peak'] / MIB:>8.1f}M {error:>+6.1f}%",
                    flush=True,
                )
    worst = max(abs(r["estimate"] - r["peak"]) / r["peak"] for r in rows) * 100
    print(f"\nworst error {worst:.1f}% (goal: within 10%)")
    sys.exit(0 if worst <= 10 else 1)


if __name__ == "__main__":
    main()
