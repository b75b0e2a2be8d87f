"""Benchmark: cold start of the Hearth window and its idle memory, against a bare PySide6
window in the same run.

    python tests/bench/bench_startup.py [--runs 5]

Each run starts a fresh process (offscreen unless DISPLAY is set) and measures, from
outside: process start → first frame painted ("window shown"), and the process's RSS
once idle with no model loaded. It also checks that no heavy inference library is
mapped into the window process. Goal: window shown <= 1.0 s and <= 150 MB RSS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("libllama", "libggml", "ctranslate2", "onnxruntime", "piper", "faster_whisper")

BARE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QLabel
app = QApplication(sys.argv[:1])
w = QMainWindow(); w.setCentralWidget(QLabel("bare")); w.resize(1100, 760); w.show()
QTimer.singleShot(0, lambda: print("HEARTH_WINDOW_SHOWN", flush=True))
app.exec()
"""


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def heavy_libraries(pid: int) -> list[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sorted({name for name in HEAVY if name in maps})


def one_run(command: list[str], env: dict[str, str]) -> tuple[float, int, list[str]]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            if raw.strip() == b"HEARTH_WINDOW_SHOWN":
                shown = time.perf_counter() - started
                break
        else:
            raise SystemExit(f"{command} exited before showing a window")
        time.sleep(1.5)  # let it settle to idle; this is a measurement, not a race
        return shown, rss_bytes(proc.pid), heavy_libraries(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="hearth-bench-")
    env = {**os.environ, "HEARTH_HOME": home, "HEARTH_STARTUP_REPORT": "1"}
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    hearth = [sys.executable, "-m", "app", "--no-model"]
    bare = [sys.executable, "-c", BARE]
    one_run(hearth, env)  # warm-up: first-run folder creation, page cache
    one_run(bare, env)
    rows: list[tuple[float, int, float, int, list[str]]] = []
    for _ in range(args.runs):
        h_time, h_rss, heavy = one_run(hearth, env)
        b_time, b_rss, _ = one_run(bare, env)
        rows.append((h_time, h_rss, b_time, b_rss, heavy))
    print(
        f"{'run':>4}{'hearth shown':>14}{'bare shown':>12}{'ratio':>7}"
        f"{'hearth RSS':>12}{'bare RSS':>10}"
    )
    for i, (h_time, h_rss, b_time, b_rss, _) in enumerate(rows, 1):
        print(
            f"{i:>4}{h_time:>12.3f} s{b_time:>10.3f} s{h_time / b_time:>7.2f}"
            f"{h_rss / 1e6:>9.0f} MB{b_rss / 1e6:>7.0f} MB"
        )
    h_med = statistics.median(r[0] for r in rows)
    b_med = statistics.median(r[2] for r in rows)
    rss_med = statistics.median(r[1] for r in rows)
    bare_rss = statistics.median(r[3] for r in rows)
    heavy = sorted({lib for r in rows for lib in r[4]})
    print()
    print(
        f"median window shown: hearth {h_med:.3f} s, bare PySide6 {b_med:.3f} s, "
        f"ratio {h_med / b_med:.2f} (goal <= 1.0 s)"
    )
    print(
        f"median idle RSS: hearth {rss_med / 1e6:.0f} MB, bare PySide6 {bare_rss / 1e6:.0f} MB "
        f"(goal <= 150 MB)"
    )
    print(f"heavy libraries mapped in the window process: {', '.join(heavy) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
