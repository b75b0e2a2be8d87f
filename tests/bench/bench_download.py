"""Benchmark Hearth's download manager against a raw HTTP client on the local Hub.

Run: ``.venv/bin/python -m tests.bench.bench_download [--size-mb 200] [--rounds 3]``

The local Hub (tests/hubserver.py) runs in its own process, so it does not share the
GIL with the clients. In the same run it measures:

1. Throughput on loopback, unthrottled: a raw ``requests`` and a raw ``httpx2`` download
   (streaming to disk, 1 MiB chunks, nothing else) against ``DownloadManager`` end to end
   (metadata, transfer, SHA-256, fsync, atomic rename), and with ``durable=False`` (no
   fsync). Goal: manager >= 0.9 x the best raw.
   A "raw + sha256 + fsync" row shows what the same verification costs done naively.
2. The same on a link paced to ``--link-mbps`` (a fast home connection), where the
   network and not the CPU is the limit.
3. Bytes refetched after ``kill -9`` of a downloading process midway and a resume,
   counted by the server. Goal: <= 1 % of the file. The resume asks for the bytes after
   the last one on disk; the overshoot is what the kernel had received for the killed
   process but it had not read yet (its TCP receive queue, up to tcp_rmem's maximum),
   which is large only when the client, not the link, is the bottleneck.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.catalog.downloads import DownloadManager  # noqa: E402
from app.catalog.hub import HubClient  # noqa: E402

REPO = "bench/big-GGUF"
FILE = "big-Q8_0.gguf"
CHUNK = 1024 * 1024

_CHILD = """
import json, sys
from app.catalog.downloads import DownloadManager
from app.catalog.hub import HubClient
endpoint, repo, name, dest = sys.argv[1:5]
def report(p):
    print(json.dumps({"done": p.done, "total": p.total}), flush=True)
manager = DownloadManager(hub=HubClient(endpoint=endpoint, token=False, offline=False),
                          on_update=report, progress_interval_s=0)
manager.enqueue(repo, name, dest).wait()
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


@contextmanager
def hub_process(root: Path, rate_mbps: float | None = None) -> Iterator[str]:
    """Start tests/hubserver.py in a child process; yield its endpoint."""
    cmd = [sys.executable, "-m", "tests.hubserver", str(root)]
    if rate_mbps:
        cmd += ["--rate-mbps", str(rate_mbps)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("HF_ENDPOINT="):
            raise RuntimeError(f"hub server did not start: {line!r}")
        yield line.split("=", 1)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def served(endpoint: str) -> int:
    import requests

    stats = requests.get(f"{endpoint}/_hearth/stats", timeout=10).json()
    return int(stats.get(f"{REPO}::{FILE}", 0))


def file_url(endpoint: str) -> str:
    return f"{endpoint}/{REPO}/resolve/main/{FILE}"


def raw_requests(endpoint: str, dest: Path) -> None:
    import requests

    with (
        requests.get(file_url(endpoint), stream=True, timeout=30) as response,
        dest.open("wb") as out,
    ):
        response.raise_for_status()
        for chunk in response.iter_content(CHUNK):
            out.write(chunk)


def raw_httpx(endpoint: str, dest: Path) -> None:
    import httpx2

    with (
        httpx2.Client(follow_redirects=True, timeout=30) as client,
        client.stream("GET", file_url(endpoint)) as response,
        dest.open("wb") as out,
    ):
        response.raise_for_status()
        for chunk in response.iter_bytes(CHUNK):
            out.write(chunk)


def raw_verified(endpoint: str, dest: Path) -> None:
    """The naive way to add what the manager does: hash inline, fsync at the end."""
    import requests

    digest = hashlib.sha256()
    with (
        requests.get(file_url(endpoint), stream=True, timeout=30) as response,
        dest.open("wb") as out,
    ):
        for chunk in response.iter_content(CHUNK):
            out.write(chunk)
            digest.update(chunk)
        out.flush()
        os.fsync(out.fileno())


def manager_download(endpoint: str, dest: Path, durable: bool = True) -> None:
    manager = DownloadManager(
        hub=HubClient(endpoint=endpoint, token=False, offline=False), durable=durable
    )
    try:
        manager.enqueue(REPO, FILE, dest.parent).result(timeout=600)
    finally:
        manager.close()


def manager_no_fsync(endpoint: str, dest: Path) -> None:
    manager_download(endpoint, dest, durable=False)


def timed(fn: Callable[[str, Path], None], endpoint: str, workdir: Path) -> float:
    target = workdir / "out" / FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in target.parent.iterdir():
        leftover.unlink()
    started = time.perf_counter()
    fn(endpoint, target)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def throughput(endpoint: str, workdir: Path, size: int, rounds: int) -> dict[str, float]:
    clients: dict[str, Callable[[str, Path], None]] = {
        "raw requests": raw_requests,
        "raw httpx2": raw_httpx,
        "raw + sha256 + fsync": raw_verified,
        "Hearth DownloadManager": manager_download,
        "Hearth, durable=False": manager_no_fsync,
    }
    timed(raw_requests, endpoint, workdir)  # warm the page cache and the server
    times: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(rounds):  # interleaved, so drift in the machine hits every client alike
        for name, fn in clients.items():
            times[name].append(timed(fn, endpoint, workdir))
    return {name: size / statistics.median(values) / 1e6 for name, values in times.items()}


def print_rates(title: str, rates: dict[str, float]) -> None:
    print(f"\n{title}")
    for name, rate in rates.items():
        print(f"  {name:26s} {rate:8.1f} MB/s")
    best_raw = max(rates["raw requests"], rates["raw httpx2"])
    for name in ("Hearth DownloadManager", "Hearth, durable=False"):
        print(f"  ratio {name} / best raw: {rates[name] / best_raw:.3f}   (goal >= 0.9)")


def kill_and_resume(endpoint: str, workdir: Path, size: int, at_fraction: float) -> float:
    """Kill -9 a downloading child at ``at_fraction``, resume here; return % refetched."""
    dest_dir = workdir / f"resume-{at_fraction}"
    before = served(endpoint)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, endpoint, REPO, FILE, str(dest_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    reached = threading.Event()

    def watch() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if json.loads(line)["done"] >= size * at_fraction:
                reached.set()

    threading.Thread(target=watch, daemon=True).start()
    if not reached.wait(timeout=120):
        proc.kill()
        raise RuntimeError("the child never got midway")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    part = dest_dir / (FILE + ".part")
    kept = part.stat().st_size
    manager = DownloadManager(hub=HubClient(endpoint=endpoint, token=False, offline=False))
    try:
        (handle,) = manager.resume_incomplete(dest_dir)
        path = handle.result(timeout=600)
    finally:
        manager.close()
    assert path.stat().st_size == size
    total = served(endpoint) - before
    print(
        f"  killed at {kept / size:6.1%} on disk; server sent {total} bytes for a "
        f"{size}-byte file: refetched {100 * (total - size) / size:.3f} %"
    )
    path.unlink()
    return 100 * (total - size) / size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--link-mbps", type=float, default=100.0, help="pace for the network-limited run (MB/s)"
    )
    args = parser.parse_args()
    size = args.size_mb * 1_000_000

    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as tmp:
        workdir = Path(tmp)
        repo_dir = workdir / "hub" / REPO
        repo_dir.mkdir(parents=True)
        with (repo_dir / FILE).open("wb") as out:
            for _ in range(args.size_mb):
                out.write(os.urandom(1_000_000))
        print(
            f"file: {size / 1e6:.0f} MB, {os.cpu_count()} CPUs, {args.rounds} rounds, median MB/s"
        )

        with hub_process(workdir / "hub") as endpoint:
            print_rates(
                "loopback, unthrottled (CPU-bound)",
                throughput(endpoint, workdir, size, args.rounds),
            )
            print("\nkill -9 midway, then resume (unthrottled):")
            worst = max(kill_and_resume(endpoint, workdir, size, f) for f in (0.3, 0.6))

        with hub_process(workdir / "hub", rate_mbps=args.link_mbps) as endpoint:
            print_rates(
                f"link paced to {args.link_mbps:.0f} MB/s", throughput(endpoint, workdir, size, 1)
            )
            print(f"\nkill -9 midway, then resume ({args.link_mbps:.0f} MB/s link):")
            worst = max(worst, kill_and_resume(endpoint, workdir, size, 0.5))
        print(f"\nworst refetch {worst:.3f} % (goal <= 1 %)")


if __name__ == "__main__":
    main()
