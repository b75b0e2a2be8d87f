"""Benchmark Hearth's download manager on the local Hub: throughput, and bytes refetched.

Run: ``.venv/bin/python -m tests.bench.bench_download [--only throughput|refetch]``

The local Hub (tests/hubserver.py) runs in its own process, and each Hearth download in a
child process, so none shares a GIL with another.

Throughput (``--size-mb``, default 200):

1. On loopback, unthrottled: a raw ``requests`` and a raw ``httpx2`` download (streaming to
   disk, 1 MiB chunks, nothing else) against ``DownloadManager`` end to end (metadata,
   transfer, SHA-256, fsync, atomic rename), and with ``durable=False`` (no fsync). Goal:
   manager >= 0.9 x the best raw. A "raw + sha256 + fsync" row shows what the same
   verification costs done naively.
2. The same on a link paced to ``--link-mbps`` (a fast home connection).

Bytes fetched again (``--refetch-sizes-mb``, default 100 and 1000; the files are written
1 MB at a time, so 1 GB needs no 1 GB of memory), for each size:

- a connection broken at half the file while the process goes on: closed cleanly (FIN),
  reset (RST: what sat in the server's send buffer is lost) and stalled (the client's read
  timeout fires); the manager retries from the byte it stopped at. Goal: ~0.
- ``kill -9`` of the downloading process at 30 % and 60 %, then a new process that finds
  the ``.part`` and resumes it; unthrottled, and again on a link paced to
  ``--refetch-link-mbps`` (default 100 MB/s), where the network, not the client, is slower.

"Fetched again" counts the body bytes the server's TCP transmitted over all requests (Linux
``TCP_INFO``, less retransmissions; on loopback exactly what the client's TCP received),
minus the file size. The bytes the server had handed to its socket
are printed too: after a reset or a kill they include the server's send buffer (up to
``net.ipv4.tcp_wmem``'s maximum, 4 MiB by default), which the client never received.
After ``kill -9`` the bytes lost are those the killed process's kernel had received but
the process had not read yet (its TCP receive queue), plus at most one read that was not
yet written: written bytes sit in the page cache, which outlives the process.
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
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.catalog.downloads import DownloadManager  # noqa: E402
from app.catalog.hub import HubClient  # noqa: E402

REPO = "bench/big-GGUF"
FILE = "big-Q8_0.gguf"
CHUNK = 1024 * 1024

# A download in its own process: "fresh" starts one, "resume" finds the .part and goes on.
_CHILD = """
import json, sys
from app.catalog.downloads import DownloadManager, RetryPolicy
from app.catalog.hub import HubClient
endpoint, repo, name, dest, mode = sys.argv[1:6]
def report(p):
    print(json.dumps({"done": p.done, "total": p.total}), flush=True)
manager = DownloadManager(hub=HubClient(endpoint=endpoint, token=False, offline=False),
                          retry=RetryPolicy(backoff_base_s=0.05, read_timeout_s=2.0),
                          on_update=report, progress_interval_s=0)
if mode == "resume":
    handles = manager.resume_incomplete(dest)
    assert len(handles) == 1, handles
else:
    handles = [manager.enqueue(repo, name, dest)]
handles[0].result()
manager.close()
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


# -- bytes fetched again after a broken download -----------------------------------------


@dataclass(frozen=True)
class Counts:
    """The server's counters for the bench file: handed to its socket, and acknowledged."""

    served: int
    delivered: int

    def __sub__(self, other: Counts) -> Counts:
        return Counts(self.served - other.served, self.delivered - other.delivered)


def counts(endpoint: str) -> Counts:
    """The counters once every response has ended (the server counts them then)."""
    deadline = time.monotonic() + 60
    while (stats := _get_json(f"{endpoint}/_hearth/stats"))["active"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the hub server is still sending after 60 s")
        time.sleep(0.05)
    key = f"{REPO}::{FILE}"
    return Counts(int(stats["served"].get(key, 0)), int(stats["delivered"].get(key, 0)))


def add_fault(endpoint: str, kind: str, after: int, stall_s: float = 5.0) -> None:
    body = {"repo": REPO, "path": FILE, "kind": kind, "after": after, "stall_s": stall_s}
    _get_json(f"{endpoint}/_hearth/fault", body)


def _get_json(url: str, body: dict[str, object] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(url, data=data, timeout=30) as response:
        return dict(json.load(response))


def run_child(endpoint: str, dest_dir: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, endpoint, REPO, FILE, str(dest_dir), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 1800) -> None:
    """Wait for a child download to end (its progress lines are read and dropped)."""
    assert proc.stdout is not None
    for _ in proc.stdout:
        pass
    if proc.wait(timeout=timeout) != 0:
        raise RuntimeError(f"the download child failed with exit code {proc.returncode}")


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:9.3f} MB"


def report(label: str, size: int, delta: Counts, extra: str = "") -> float:
    """Print one case; return the bytes fetched again (received by the client) in %."""
    again = delta.delivered - size
    print(
        f"  {label:34s} fetched again {_mb(again)} = {100 * again / size:7.4f} % of "
        f"{size / 1e6:.0f} MB   [sent into the server's socket {_mb(delta.served - size)} "
        f"= {100 * (delta.served - size) / size:.3f} %]{extra}"
    )
    return 100 * again / size


def dropped(endpoint: str, workdir: Path, size: int, kind: str) -> float:
    """A connection broken at half the file while the process goes on; it retries."""
    dest_dir = workdir / f"drop-{kind}"
    add_fault(endpoint, kind, size // 2)
    before = counts(endpoint)
    started = time.perf_counter()
    finish(run_child(endpoint, dest_dir, "fresh"))
    elapsed = time.perf_counter() - started
    (dest_dir / FILE).unlink()
    what = {
        "drop": "closed (FIN) at 50 %",
        "reset": "reset (RST) at 50 %",
        "stall": "stalled at 50 %",
    }[kind]
    return report(f"connection {what}", size, counts(endpoint) - before, f"  {elapsed:.1f} s")


def killed(endpoint: str, workdir: Path, size: int, at_fraction: float) -> float:
    """``kill -9`` of the downloading process at ``at_fraction``, then a new process."""
    dest_dir = workdir / f"kill-{at_fraction}"
    before = counts(endpoint)
    proc = run_child(endpoint, dest_dir, "fresh")
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line)["done"] >= size * at_fraction:
            break
    else:
        raise RuntimeError("the child ended before it got midway")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    kept = (dest_dir / (FILE + ".part")).stat().st_size
    first = counts(endpoint) - before
    finish(run_child(endpoint, dest_dir, "resume"))
    (dest_dir / FILE).unlink()
    lost = first.delivered - kept
    return report(
        f"kill -9 at {kept / size:5.1%} on disk",
        size,
        counts(endpoint) - before,
        f"  (received by the killed process's TCP but not yet written: {_mb(lost)})",
    )


def refetch(endpoint: str, workdir: Path, size: int) -> tuple[float, float]:
    """Every broken-download case for one file; return the worst % (drops, kills)."""
    drops = max(dropped(endpoint, workdir, size, kind) for kind in ("drop", "reset", "stall"))
    kills = max(killed(endpoint, workdir, size, f) for f in (0.3, 0.6))
    return drops, kills


def make_file(path: Path, size_mb: int) -> None:
    """``size_mb`` MB of random bytes, written 1 MB at a time (no 1 GB in memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for _ in range(size_mb):
            out.write(os.urandom(1_000_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", choices=("throughput", "refetch"), help="run one part of the bench only"
    )
    parser.add_argument("--size-mb", type=int, default=200, help="file size for throughput")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--link-mbps", type=float, default=100.0, help="pace for the network-limited run (MB/s)"
    )
    parser.add_argument(
        "--refetch-sizes-mb",
        type=int,
        nargs="+",
        default=[100, 1000],
        help="file sizes for the broken-download cases",
    )
    parser.add_argument(
        "--refetch-link-mbps",
        type=float,
        default=100.0,
        help="also kill -9 on a link paced to this many MB/s (0: skip)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as tmp:
        workdir = Path(tmp)
        print(f"{os.cpu_count()} CPUs; the local Hub runs in its own process")
        if args.only != "refetch":
            throughput_part(workdir, args.size_mb, args.rounds, args.link_mbps)
        if args.only != "throughput":
            refetch_part(workdir, args.refetch_sizes_mb, args.refetch_link_mbps)


def throughput_part(workdir: Path, size_mb: int, rounds: int, link_mbps: float) -> None:
    size = size_mb * 1_000_000
    make_file(workdir / "hub" / REPO / FILE, size_mb)
    print(f"\nthroughput: file {size / 1e6:.0f} MB, {rounds} rounds, median MB/s")
    with hub_process(workdir / "hub") as endpoint:
        print_rates(
            "loopback, unthrottled (CPU-bound)", throughput(endpoint, workdir, size, rounds)
        )
    with hub_process(workdir / "hub", rate_mbps=link_mbps) as endpoint:
        print_rates(f"link paced to {link_mbps:.0f} MB/s", throughput(endpoint, workdir, size, 1))
    (workdir / "hub" / REPO / FILE).unlink()


def refetch_part(workdir: Path, sizes_mb: list[int], link_mbps: float | None) -> None:
    print(
        "\nbytes fetched again = body bytes the server's TCP transmitted (on loopback: the "
        "client's TCP received), in all requests, minus the file size. A reset is counted "
        "a moment before it happens, so a segment that still left may be missing from the "
        "count (a figure a little below 0)."
    )
    worst_drop = worst_kill = 0.0
    for size_mb in sizes_mb:
        size = size_mb * 1_000_000
        make_file(workdir / "hub" / REPO / FILE, size_mb)
        with hub_process(workdir / "hub") as endpoint:
            print(f"\n{size_mb} MB file, loopback unthrottled (the client is the bottleneck):")
            drops, kills = refetch(endpoint, workdir, size)
        worst_drop, worst_kill = max(worst_drop, drops), max(worst_kill, kills)
        if link_mbps:
            with hub_process(workdir / "hub", rate_mbps=link_mbps) as endpoint:
                print(f"{size_mb} MB file, link paced to {link_mbps:.0f} MB/s:")
                kills = max(killed(endpoint, workdir, size, f) for f in (0.3, 0.6))
            worst_kill = max(worst_kill, kills)
        (workdir / "hub" / REPO / FILE).unlink()
    print(
        f"\nworst fetched again: dropped connection {worst_drop:.4f} % (goal ~ 0), "
        f"kill -9 {worst_kill:.4f} %"
    )


if __name__ == "__main__":
    main()
