"""Start-up of the bundle against the source install, measured from outside.

    xvfb-run -a .venv/bin/python packaging/compare_startup.py [--runs 3] [--drop-caches]

For each of the two (the source checkout, ``.venv/bin/python -m app`` run from the
checkout, and the bundle ``dist/pyinstaller/hearth/hearth`` run from ``/tmp``), in a
clean environment (``HOME`` in a fresh temporary folder, ``PATH=/usr/bin:/bin``):
seconds from process start to the window's first frame
(``HEARTH_STARTUP_REPORT`` marker, ``--no-model``) and the wall time of
``hearth chat --json --prompt hi --max-tokens 8`` (process start, engine worker spawn,
model load, answer, exit). ``--drop-caches`` (root only) empties the page cache before
the first run of each, so that run is a true cold start; the others are warm.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAT = ["chat", "--json", "--prompt", "hi", "--max-tokens", "8", "--seed", "1"]


def clean_env(home: str) -> dict[str, str]:
    """The environment of a double-click: nothing from this shell but the display."""
    env = {"HOME": home, "PATH": "/usr/bin:/bin", "HEARTH_STARTUP_REPORT": "1"}
    if "DISPLAY" in os.environ:
        env["DISPLAY"] = os.environ["DISPLAY"]
        if "XAUTHORITY" in os.environ:
            env["XAUTHORITY"] = os.environ["XAUTHORITY"]
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def drop_caches() -> None:
    """Empty the page cache (needs root); a no-op when not allowed."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as exc:
        print(f"(cannot drop caches: {exc})")


def window_seconds(command: list[str], cwd: Path, home: str) -> float:
    """Process start to the window's first painted frame."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--no-model"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(home),
        cwd=cwd,
    )
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            if raw.strip() == b"HEARTH_WINDOW_SHOWN":
                return time.perf_counter() - started
        raise RuntimeError(f"{command} exited without showing the window")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def chat_seconds(command: list[str], cwd: Path, home: str) -> float:
    """Wall time of one ``chat --json`` answer, checking that it printed JSON."""
    started = time.perf_counter()
    result = subprocess.run(
        [*command, *CHAT],
        capture_output=True,
        text=True,
        env=clean_env(home),
        cwd=cwd,
        timeout=300,
        check=True,
    )
    elapsed = time.perf_counter() - started
    json.loads(result.stdout)
    return elapsed


def main() -> None:
    """Print cold (first) and warm (median of the rest) figures for both installs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--drop-caches", action="store_true")
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist/pyinstaller/hearth/hearth")
    args = parser.parse_args()
    installs = (
        ("source", [str(ROOT / ".venv/bin/python"), "-m", "app"], ROOT),
        ("bundle", [str(args.bundle)], Path("/tmp")),
    )
    # Interleaved (source, bundle, source, ...) so that other load on the machine hits
    # both alike.
    for what, measure in (("window", window_seconds), ("chat --json", chat_seconds)):
        figures: dict[str, list[float]] = {name: [] for name, _, _ in installs}
        with tempfile.TemporaryDirectory(prefix="hearth-start-") as home:
            for run in range(args.runs):
                for name, command, cwd in installs:
                    if run == 0 and args.drop_caches:
                        drop_caches()
                    figures[name].append(measure(command, cwd, home))
        for name, values in figures.items():
            warm = statistics.median(values[1:]) if len(values) > 1 else float("nan")
            label = "cold" if args.drop_caches else "first"
            print(
                f"{name:7s} {what:12s} {label} {values[0]:6.2f} s   warm median {warm:6.2f} s"
                f"   runs {', '.join(f'{v:.2f}' for v in values)}",
                flush=True,
            )


if __name__ == "__main__":
    main()
