"""A local stand-in for the Hugging Face Hub, for tests and benchmarks.

It speaks the endpoints the real ``huggingface_hub`` client calls, with the headers it
reads, and serves real files from disk:

- ``GET /api/models?search=&sort=&limit=&filter=``  model search
- ``GET /api/models/{repo}[/revision/{rev}]``      model info (siblings, gated, cardData, gguf)
- ``GET /api/models/{repo}/tree/{rev}[/{path}]``   repo tree with LFS oid (sha256) and size
- ``POST /api/models/{repo}/paths-info/{rev}``     the same for named paths
- ``HEAD|GET /{repo}/resolve/{rev}/{path}``        file, with X-Repo-Commit, ETag,
  X-Linked-Etag, X-Linked-Size; LFS files redirect (302) to a "CDN" on another origin
  (``localhost`` instead of ``127.0.0.1``), as the real Hub does
- ``HEAD|GET /cdn/{repo}/{sha256}``                the bytes, with Range (206)

Fault knobs, per file and consumed one per GET: drop the connection after N bytes (a
clean close: what was sent still arrives), reset it after N bytes (an abort: what still
sat in the server's socket buffer is lost, as when a link or a proxy dies), stall after N
bytes (a bounded sleep past the client's read timeout), or hold after N bytes until
:meth:`HubServer.release` (for killing a client mid-download at a known point). A file can
also be served corrupted (one byte flipped) to break its published SHA-256.

Two counters per file, so tests can assert how much a resume refetched:
:meth:`~HubServer.bytes_served` counts the body bytes handed to the server's socket, and
:meth:`~HubServer.bytes_delivered` those its TCP transmitted (Linux ``TCP_INFO``, less
retransmissions; elsewhere it equals the first): on loopback, the bytes that reached the
client's TCP. They differ by what was still in the server's send buffer when a connection
broke: bytes the client never received. A response is counted when it ends;
:meth:`~HubServer.wait_idle` waits for that.

It binds to 127.0.0.1 only. Run ``python -m tests.hubserver ROOT`` to serve a folder of
``owner/name/`` repos by hand.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

try:  # Linux/macOS; the delivered-bytes counter needs them
    import fcntl
    import termios
except ImportError:  # Windows
    fcntl = termios = None  # type: ignore[assignment]

LFS_SUFFIXES = (".gguf", ".bin", ".safetensors", ".onnx", ".pt")
LFS_MIN_SIZE = 10 * 1024 * 1024
_PIECE = 1024 * 1024  # bytes per sendfile call: also the granularity of the byte counters
_PACED_PIECE = 64 * 1024  # smaller on a paced link, so bytes arrive smoothly, not in bursts
_MAX_STALL_S = 30.0  # a stalled response never keeps a thread longer than this
_MAX_HOLD_S = 120.0  # nor a held one

# Offsets in Linux's struct tcp_info (4.19+) of tcpi_bytes_sent and tcpi_bytes_retrans.
_TCPI_BYTES_SENT = 200
_TCPI_BYTES_RETRANS = 208
_SETTLE_S = 10.0  # how long a response waits for the client to acknowledge its last bytes
_SETTLE_IDLE_S = 1.0  # ... unless the client reads nothing for this long

FaultKind = Literal["drop", "reset", "stall", "hold"]


@dataclass(frozen=True)
class Fault:
    """What to do to one GET of a file after ``after`` body bytes have been sent."""

    kind: FaultKind
    after: int
    stall_s: float = 2.0


@dataclass
class HubFile:
    """One file of a repo: where its bytes live and its git/LFS identities."""

    path: str
    source: Path
    size: int
    sha256: str
    blob_id: str
    lfs: bool


@dataclass
class HubRepo:
    """A model repo and the metadata the Hub shows for it."""

    repo_id: str
    files: dict[str, HubFile]
    gated: Literal[False, "auto", "manual"] = False
    tokens: frozenset[str] = frozenset()
    license: str | None = "apache-2.0"
    downloads: int = 0
    likes: int = 0
    last_modified: str = "2024-01-01T00:00:00.000Z"
    tags: list[str] = field(default_factory=list)
    card: dict[str, Any] = field(default_factory=dict)  # more cardData (e.g. base_model)
    pipeline_tag: str | None = "text-generation"
    # What the Hub reads from a GGUF's header (model info's "gguf": total parameters,
    # architecture, context_length, chat_template); None: no such field.
    gguf: dict[str, Any] | None = None

    @property
    def card_data(self) -> dict[str, Any] | None:
        """The repo card's metadata as the Hub returns it (None: no card)."""
        if not self.license and not self.card:
            return None
        licensed = {"license": self.license, "tags": self.tags} if self.license else {}
        return {**licensed, **self.card}

    @property
    def sha(self) -> str:
        """A stable 40-hex "commit" derived from the contents."""
        digest = hashlib.sha1(usedforsecurity=False)
        for name in sorted(self.files):
            digest.update(f"{name}\0{self.files[name].blob_id}\0".encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    range: str | None
    status: int
    authorization: str | None


def _digests(path: Path) -> tuple[str, str]:
    """(sha256, git blob sha1) of a file, cached: tests publish the same files many times."""
    stat = path.stat()
    return _digests_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _digests_cached(path: str, size: int, mtime_ns: int) -> tuple[str, str]:
    return _sha256_of(Path(path)), _git_blob_id(Path(path), size)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _git_blob_id(path: Path, size: int) -> str:
    digest = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-response (killed, paused, timed out) are expected here.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class HubServer:
    """A threaded HTTP server on 127.0.0.1 that behaves like the Hub for the client."""

    def __init__(self, *, lfs_redirect: bool = True, rate_bps: float | None = None) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.lfs_redirect = lfs_redirect
        self.rate_bps = rate_bps  # pace every response to this many bytes/s (a slower link)
        self.requests: list[RequestRecord] = []
        self._faults: dict[tuple[str, str], list[Fault]] = {}
        self._corrupt: set[tuple[str, str]] = set()
        self._served: dict[tuple[str, str], int] = {}
        self._delivered: dict[tuple[str, str], int] = {}
        self._active = 0  # bodies being sent: their delivered bytes are not counted yet
        self._cond = threading.Condition()
        self._release = threading.Event()
        self._closing = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn_origin(self) -> str:
        # Another host name for the same socket: the client treats it as a foreign origin,
        # so (like the real CDN) it gets no Authorization header and HEAD stops at the 302.
        return f"http://localhost:{self.port}"

    def start(self) -> HubServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content ---------------------------------------------------------------------------

    def add_repo(
        self,
        repo_id: str,
        files: dict[str, Path | bytes],
        *,
        workdir: Path | None = None,
        gated: Literal[False, "auto", "manual"] = False,
        tokens: tuple[str, ...] = (),
        **metadata: Any,
    ) -> HubRepo:
        """Publish ``files`` (repo path → file on disk, or bytes written under ``workdir``)."""
        entries: dict[str, HubFile] = {}
        for name, content in files.items():
            if isinstance(content, bytes):
                if workdir is None:
                    raise ValueError("bytes content needs a workdir to be written to")
                source = workdir / repo_id / name
                source.parent.mkdir(parents=True, exist_ok=True)
                source.write_bytes(content)
            else:
                source = content
            size = source.stat().st_size
            sha256, blob_id = _digests(source)
            lfs = name.endswith(LFS_SUFFIXES) or size >= LFS_MIN_SIZE
            entry = HubFile(
                path=name, source=source, size=size, sha256=sha256, blob_id=blob_id, lfs=lfs
            )
            entries[name] = entry
        repo = HubRepo(repo_id=repo_id, files=entries, gated=gated, tokens=frozenset(tokens))
        for key, value in metadata.items():
            setattr(repo, key, value)
        self.repos[repo_id] = repo
        return repo

    # -- fault knobs and counters ----------------------------------------------------------

    def add_fault(self, repo_id: str, path: str, fault: Fault) -> None:
        """Apply ``fault`` to the next GET of this file's bytes (faults queue up in order)."""
        with self._cond:
            self._faults.setdefault((repo_id, path), []).append(fault)

    def corrupt(self, repo_id: str, path: str) -> None:
        """Serve this file with one byte flipped, so its SHA-256 no longer matches."""
        with self._cond:
            self._corrupt.add((repo_id, path))

    def release(self) -> None:
        """Let every held response go on."""
        self._release.set()

    def bytes_served(self, repo_id: str, path: str) -> int:
        """Body bytes of this file handed to the server's socket (sent or not)."""
        with self._cond:
            return self._served.get((repo_id, path), 0)

    def bytes_delivered(self, repo_id: str, path: str) -> int:
        """Body bytes of this file that left the server's TCP, in responses that ended."""
        with self._cond:
            return self._delivered.get((repo_id, path), 0)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no response body is being sent (all are counted); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._active == 0, timeout=timeout)

    def reset_counters(self) -> None:
        with self._cond:
            self._served.clear()
            self._delivered.clear()
            self.requests.clear()

    def wait_served(self, repo_id: str, path: str, n_bytes: int, timeout: float) -> bool:
        """Block until at least ``n_bytes`` of this file were sent; False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._served.get((repo_id, path), 0) >= n_bytes, timeout=timeout
            )

    def gets_of(self, repo_id: str, path: str) -> list[RequestRecord]:
        """The GETs that reached the bytes of this file (resolve without redirect, or CDN)."""
        sha = self.repos[repo_id].files[path].sha256
        wanted = (f"/cdn/{repo_id}/{sha}", f"/{repo_id}/resolve/")
        with self._cond:
            return [
                r
                for r in self.requests
                if r.method == "GET"
                and r.status in (200, 206)
                and (
                    r.path == wanted[0] or (r.path.startswith(wanted[1]) and r.path.endswith(path))
                )
            ]

    # -- internals used by the handler -----------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._cond:
            self.requests.append(record)

    def _take_fault(self, key: tuple[str, str]) -> Fault | None:
        with self._cond:
            queue = self._faults.get(key)
            return queue.pop(0) if queue else None

    def _count(self, key: tuple[str, str], n_bytes: int) -> None:
        with self._cond:
            self._served[key] = self._served.get(key, 0) + n_bytes
            self._cond.notify_all()

    def _body_started(self) -> None:
        with self._cond:
            self._active += 1

    def _body_ended(self, key: tuple[str, str], delivered: int) -> None:
        with self._cond:
            self._delivered[key] = self._delivered.get(key, 0) + delivered
            self._active -= 1
            self._cond.notify_all()

    def _is_corrupt(self, key: tuple[str, str]) -> bool:
        with self._cond:
            return key in self._corrupt


# -- JSON shapes ---------------------------------------------------------------------------


def _summary(repo: HubRepo) -> dict[str, Any]:
    author = repo.repo_id.split("/", 1)[0]
    return {
        "_id": repo.sha[:24],
        "id": repo.repo_id,
        "modelId": repo.repo_id,
        "author": author,
        "downloads": repo.downloads,
        "likes": repo.likes,
        "trendingScore": 0,
        "lastModified": repo.last_modified,
        "createdAt": "2023-06-01T00:00:00.000Z",
        "private": False,
        "gated": repo.gated,
        "tags": [*repo.tags, *([f"license:{repo.license}"] if repo.license else [])],
        "pipeline_tag": repo.pipeline_tag,
        "library_name": "gguf",
        "cardData": repo.card_data,
    }


def _tree_entry(entry: HubFile) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "file",
        "oid": entry.blob_id,
        "size": entry.size,
        "path": entry.path,
    }
    if entry.lfs:
        data["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": 134}
    return data


def _sibling(entry: HubFile, blobs: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"rfilename": entry.path}
    if blobs:
        data["size"] = entry.size
        data["blobId"] = entry.blob_id
        if entry.lfs:
            data["lfs"] = {"sha256": entry.sha256, "size": entry.size, "pointerSize": 134}
    return data


def _info(repo: HubRepo, blobs: bool) -> dict[str, Any]:
    data = _summary(repo)
    data.update(
        {
            "sha": repo.sha,
            "disabled": False,
            "cardData": repo.card_data,
            "siblings": [_sibling(entry, blobs) for entry in repo.files.values()],
        }
    )
    if repo.gguf is not None:
        data["gguf"] = repo.gguf
    return data


def _folders(repo: HubRepo, prefix: str) -> set[str]:
    found = set()
    for name in repo.files:
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :].split("/")
        for depth in range(1, len(rest)):
            found.add(prefix + "/".join(rest[:depth]))
    return found


_RANGE_RE = re.compile(r"^bytes=(\d+)-(\d*)$")
_SORT_KEYS = {
    "downloads": "downloads",
    "likes": "likes",
    "lastModified": "last_modified",
    "createdAt": "last_modified",
    "trendingScore": "likes",
}


def _make_handler(server: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real Hub behind its CDN
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the request list is the log

        # -- helpers -----------------------------------------------------------------------

        def _send_json(self, payload: Any, status: int = 200) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _send_error(self, status: int, code: str | None, message: str) -> None:
            body = json.dumps({"error": message}).encode()
            self.send_response(status)
            if code:
                self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _repo(self, repo_id: str) -> HubRepo | None:
            repo = server.repos.get(repo_id)
            if repo is None:
                self._send_error(404, "RepoNotFound", "Repository not found")
            return repo

        def _revision_ok(self, repo: HubRepo, rev: str) -> bool:
            if unquote(rev) in ("main", repo.sha):
                return True
            self._send_error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return False

        def _record(self, status: int) -> None:
            url = urlsplit(self.path)
            server._record(
                RequestRecord(
                    method=self.command,
                    path=url.path,
                    query=parse_qs(url.query),
                    range=self.headers.get("Range"),
                    status=status,
                    authorization=self.headers.get("Authorization"),
                )
            )

        def send_response(self, code: int, message: str | None = None) -> None:
            self._record(code)
            super().send_response(code, message)

        # -- routing -----------------------------------------------------------------------

        def do_HEAD(self) -> None:
            self._route()

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            parts = urlsplit(self.path).path.strip("/").split("/")
            if parts == ["_hearth", "fault"]:  # for benchmarks running the server apart
                spec = json.loads(body)
                fault = Fault(spec["kind"], int(spec["after"]), float(spec.get("stall_s", 2.0)))
                server.add_fault(spec["repo"], spec["path"], fault)
                self._send_json({"ok": True})
                return
            # api/models/{owner}/{name}/paths-info/{rev}
            if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] == "paths-info":
                repo = self._repo(f"{parts[2]}/{parts[3]}")
                if repo is None or not self._revision_ok(repo, parts[5]):
                    return
                form = parse_qs(body)
                paths = form.get("paths", [])
                self._send_json([_tree_entry(repo.files[p]) for p in paths if p in repo.files])
                return
            self._send_error(404, None, "Not found")

        def _route(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            parts = [unquote(p) for p in url.path.strip("/").split("/")] if url.path != "/" else []
            if not parts:
                self._send_json({"ok": True})
            elif parts == ["_hearth", "stats"]:  # for benchmarks running the server apart
                with server._cond:
                    stats: dict[str, Any] = {
                        name: {f"{repo}::{path}": n for (repo, path), n in counts.items()}
                        for name, counts in (
                            ("served", server._served),
                            ("delivered", server._delivered),
                        )
                    }
                    stats["active"] = server._active
                self._send_json(stats)
            elif parts[:2] == ["api", "models"]:
                self._api_models(parts[2:], query)
            elif parts[0] == "cdn" and len(parts) == 4:
                repo = server.repos.get(f"{parts[1]}/{parts[2]}")
                entry = (
                    next((f for f in repo.files.values() if f.sha256 == parts[3]), None)
                    if repo
                    else None
                )
                if repo is None or entry is None:
                    self._send_error(404, None, "No such object")
                    return
                self._send_file(repo, entry, with_repo_headers=False)
            elif len(parts) >= 5 and parts[2] == "resolve":
                self._resolve(f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
            else:
                self._send_error(404, None, "Not found")

        def _api_models(self, rest: list[str], query: dict[str, list[str]]) -> None:
            if not rest:
                self._search(query)
                return
            if len(rest) < 2:
                self._send_error(404, None, "Not found")
                return
            repo = self._repo(f"{rest[0]}/{rest[1]}")
            if repo is None:
                return
            tail = rest[2:]
            blobs = query.get("blobs", ["false"])[0].lower() == "true"
            if not tail:
                self._send_json(_info(repo, blobs))
            elif tail[0] == "revision" and len(tail) == 2:
                if self._revision_ok(repo, tail[1]):
                    self._send_json(_info(repo, blobs))
            elif tail[0] == "tree" and len(tail) >= 2:
                if not self._revision_ok(repo, tail[1]):
                    return
                prefix = "/".join(tail[2:])
                prefix = f"{prefix}/" if prefix else ""
                recursive = query.get("recursive", ["false"])[0].lower() == "true"
                entries: list[dict[str, Any]] = []
                for folder in sorted(_folders(repo, prefix)):
                    if recursive or "/" not in folder[len(prefix) :]:
                        entries.append(
                            {"type": "directory", "oid": "0" * 40, "size": 0, "path": folder}
                        )
                for name, entry in repo.files.items():
                    if name.startswith(prefix) and (recursive or "/" not in name[len(prefix) :]):
                        entries.append(_tree_entry(entry))
                self._send_json(entries)
            else:
                self._send_error(404, None, "Not found")

        def _search(self, query: dict[str, list[str]]) -> None:
            search = (query.get("search") or [""])[0].lower()
            filters = [f.lower() for f in query.get("filter", [])]
            sort_key = _SORT_KEYS.get((query.get("sort") or ["downloads"])[0], "downloads")
            limit = int((query.get("limit") or ["1000"])[0])
            found = [
                repo
                for repo in server.repos.values()
                if search in repo.repo_id.lower()
                and all(f in [t.lower() for t in repo.tags] for f in filters)
            ]
            found.sort(key=lambda r: getattr(r, sort_key), reverse=True)
            self._send_json([_summary(repo) for repo in found[:limit]])

        def _resolve(self, repo_id: str, rev: str, path: str) -> None:
            repo = self._repo(repo_id)
            if repo is None or not self._revision_ok(repo, rev):
                return
            entry = repo.files.get(path)
            if entry is None:
                self._send_error(404, "EntryNotFound", f'{path} does not exist on "{rev}"')
                return
            if repo.gated and path != "README.md" and not self._authorised(repo):
                return
            if entry.lfs and server.lfs_redirect:
                self.send_response(302)
                self.send_header(
                    "Location", f"{server.cdn_origin}/cdn/{repo.repo_id}/{entry.sha256}"
                )
                self.send_header("X-Repo-Commit", repo.sha)
                self.send_header("ETag", f'"{entry.blob_id}"')
                self.send_header("X-Linked-Etag", f'"{entry.sha256}"')
                self.send_header("X-Linked-Size", str(entry.size))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send_file(repo, entry, with_repo_headers=True)

        def _authorised(self, repo: HubRepo) -> bool:
            auth = self.headers.get("Authorization") or ""
            token = auth.removeprefix("Bearer ").strip()
            if not token:
                self._send_error(
                    401,
                    "GatedRepo",
                    f"Access to model {repo.repo_id} is restricted. You must have access to it "
                    "and be authenticated to access it. Please log in.",
                )
                return False
            if token not in repo.tokens:
                self._send_error(
                    403,
                    "GatedRepo",
                    f"Access to model {repo.repo_id} is restricted and you are not in the "
                    "authorized list.",
                )
                return False
            return True

        # -- bytes -------------------------------------------------------------------------

        def _send_file(self, repo: HubRepo, entry: HubFile, *, with_repo_headers: bool) -> None:
            size = entry.size
            start, end = 0, size  # end exclusive
            range_header = self.headers.get("Range")
            status = 200
            if range_header:
                match = _RANGE_RE.match(range_header.strip())
                first = int(match.group(1)) if match else size
                if match is None or first >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = first
                end = min(size, int(match.group(2)) + 1) if match.group(2) else size
                status = 206
            self.send_response(status)
            if with_repo_headers:
                self.send_header("X-Repo-Commit", repo.sha)
                etag = entry.sha256 if entry.lfs else entry.blob_id
                self.send_header("ETag", f'"{etag}"')
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(end - start))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            self.end_headers()
            if self.command == "HEAD":
                return
            key = (repo.repo_id, entry.path)
            fault = server._take_fault(key)
            corrupt_at = size // 2 if server._is_corrupt(key) else None
            try:
                self._stream(entry.source, key, (start, end), fault, corrupt_at)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _stream(
            self,
            source: Path,
            key: tuple[str, str],
            span: tuple[int, int],
            fault: Fault | None,
            corrupt_at: int | None,
        ) -> None:
            start, end = span
            stop_at = min(end, start + fault.after) if fault else end
            base = _transmitted(self.connection, settle_s=_SETTLE_S)  # the headers have left
            self._body_sent = 0
            self._sent_at_reset: int | None = None
            server._body_started()
            try:
                self._send_body(source, key, (start, stop_at, end), fault, corrupt_at)
            finally:
                now = self._sent_at_reset
                if now is None:  # wait (bounded) until the send buffer is empty or dead
                    now = _transmitted(self.connection, settle_s=_SETTLE_S)
                delivered = self._body_sent
                if now is not None and base is not None:
                    delivered = max(0, min(delivered, now - base))
                server._body_ended(key, delivered)

        def _send_body(
            self,
            source: Path,
            key: tuple[str, str],
            span: tuple[int, int, int],
            fault: Fault | None,
            corrupt_at: int | None,
        ) -> None:
            start, stop_at, end = span
            began = time.monotonic()
            piece = _PACED_PIECE if server.rate_bps else _PIECE
            with source.open("rb") as handle:
                for lo, hi in _pieces(start, stop_at, piece):
                    if server.rate_bps:  # sleep until this piece is due at the target rate
                        due = began + (lo - start) / server.rate_bps
                        server._closing.wait(max(0.0, due - time.monotonic()))
                    if corrupt_at is not None and lo <= corrupt_at < hi:
                        handle.seek(lo)
                        data = bytearray(handle.read(hi - lo))
                        data[corrupt_at - lo] ^= 0xFF
                        self.connection.sendall(data)
                        sent = len(data)
                    else:
                        sent = self.connection.sendfile(handle, offset=lo, count=hi - lo)
                    self._sent(key, sent)
                    if sent < hi - lo:
                        raise BrokenPipeError
                if fault is None or stop_at >= end:
                    return
                if fault.kind == "drop":
                    self._hang_up()
                    return
                if fault.kind == "reset":
                    self._reset()
                    return
                if fault.kind == "stall":
                    server._closing.wait(min(fault.stall_s, _MAX_STALL_S))
                    self._hang_up()
                    return
                # hold: wait for release(), then finish the body normally. A test on a
                # loaded machine may take long to act on a held response, so the hold
                # outlasts its waits; shutting the server down ends it.
                held_until = time.monotonic() + _MAX_HOLD_S
                while not server._release.wait(0.05):
                    if server._closing.is_set() or time.monotonic() > held_until:
                        self._hang_up()
                        return
                for lo, hi in _pieces(stop_at, end):
                    sent = self.connection.sendfile(handle, offset=lo, count=hi - lo)
                    self._sent(key, sent)

        def _sent(self, key: tuple[str, str], n_bytes: int) -> None:
            self._body_sent += n_bytes
            server._count(key, n_bytes)

        def _reset(self) -> None:
            """Abort with a TCP reset: unsent bytes in the socket buffer are discarded."""
            self.close_connection = True
            info = None
            with contextlib.suppress(OSError):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                # Read as late as possible: a segment that still leaves between this and the
                # close (the client opened its window) is not counted, so the count may be
                # a little low, never high.
                info = _tcp_info(self.connection)
                self.connection.close()
            self._sent_at_reset = _transmitted_in(info)

        def _hang_up(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


def _transmitted(conn: socket.socket, settle_s: float = 0.0) -> int | None:
    """Bytes ``conn``'s TCP has transmitted, less retransmissions (Linux), None elsewhere.

    With ``settle_s``, first wait up to that long for the send queue to empty, so that
    everything written so far has either left or, after a reset, is known lost.
    """
    outq = getattr(termios, "TIOCOUTQ", None) if termios is not None else None
    if outq is None:
        return None
    deadline = time.monotonic() + settle_s
    last, last_change = -1, time.monotonic()
    try:
        while time.monotonic() < deadline:
            queued = struct.unpack("i", fcntl.ioctl(conn.fileno(), outq, b"\0" * 4))[0]
            if queued <= 0:
                break
            if queued != last:
                last, last_change = queued, time.monotonic()
            elif time.monotonic() - last_change > _SETTLE_IDLE_S:
                break  # the client stopped reading (paused, or gone without a reset)
            time.sleep(0.002)
    except (OSError, ValueError):
        return None
    return _transmitted_in(_tcp_info(conn))


def _tcp_info(conn: socket.socket) -> bytes | None:
    """The raw ``struct tcp_info`` of ``conn`` (Linux), None elsewhere or when closed."""
    option = getattr(socket, "TCP_INFO", None)
    if option is None:
        return None
    try:
        return conn.getsockopt(socket.IPPROTO_TCP, option, 256)
    except (OSError, ValueError):
        return None


def _transmitted_in(info: bytes | None) -> int | None:
    if info is None or len(info) < _TCPI_BYTES_RETRANS + 8:
        return None
    sent = struct.unpack_from("Q", info, _TCPI_BYTES_SENT)[0]
    retransmitted = struct.unpack_from("Q", info, _TCPI_BYTES_RETRANS)[0]
    return int(sent - retransmitted)


def _pieces(start: int, end: int, piece: int = _PIECE) -> Iterator[tuple[int, int]]:
    pos = start
    while pos < end:
        yield pos, min(end, pos + piece)
        pos = min(end, pos + piece)


def resolve_path(repo_id: str, path: str, rev: str = "main") -> str:
    """The URL path the client asks for a file (for asserting on request records)."""
    return f"/{repo_id}/resolve/{quote(rev, safe='')}/{quote(path)}"


def main() -> None:
    """Serve ``ROOT/owner/name/...`` until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="folder of owner/name/ repos")
    parser.add_argument(
        "--rate-mbps", type=float, default=None, help="pace each response to this many MB/s"
    )
    args = parser.parse_args()
    root: Path = args.root
    server = HubServer(rate_bps=args.rate_mbps * 1e6 if args.rate_mbps else None)
    for owner in sorted(p for p in root.iterdir() if p.is_dir()):
        for repo_dir in sorted(p for p in owner.iterdir() if p.is_dir()):
            files: dict[str, Path | bytes] = {
                str(f.relative_to(repo_dir)): f for f in repo_dir.rglob("*") if f.is_file()
            }
            server.add_repo(f"{owner.name}/{repo_dir.name}", files, tags=["gguf"])
    with server:
        print(f"HF_ENDPOINT={server.endpoint}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
