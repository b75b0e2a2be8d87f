"""Read the header of a GGUF file on the Hub without downloading the file.

A GGUF header (metadata, tokenizer arrays, tensor table) sits at the start of the file:
a few hundred KB for small vocabularies, 5-15 MB for 150k-260k-token tokenizers with
their merges. It is fetched with HTTP Range requests through the resolve URL, starting
with :data:`FIRST_FETCH` bytes and growing (doubling, or to where the parser stopped)
until the parser reaches the tensor data, up to :data:`MAX_HEADER` bytes.

Headers are cached under ``cache_dir`` by the file's SHA-256 (its LFS oid), so listing a
repo again costs nothing; the cache is pruned to :data:`CACHE_LIMIT` bytes, oldest first.
A cached header is a file holding the first bytes of the model: the offload planner reads
long per-layer arrays from it like from the model itself.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from dataclasses import replace
from pathlib import Path

import urllib3

from app.catalog.hub import HubClient, QuantVariant, RemoteFile, gated_error
from app.core.errors import DownloadError, InvalidModelError, ModelNotFoundError, OfflineError
from app.core.gguf_meta import GGUFInfo, HeaderIncompleteError, read_gguf_header
from app.core.i18n import translate

log = logging.getLogger(__name__)

MIB = 1024 * 1024
FIRST_FETCH = 4 * MIB  # part 1: metadata and tokenizer; most headers fit
FIRST_FETCH_LATER_PART = 512 * 1024  # parts 2..n of a split GGUF: tensor table only
MAX_HEADER = 64 * MIB  # beyond this, give up and estimate from the size
CACHE_LIMIT = 256 * MIB
_SUFFIX = ".gguf-header"


@functools.cache
def _http() -> urllib3.PoolManager:
    """One pool per process, so keep-alive connections are reused across files."""
    return urllib3.PoolManager(num_pools=8, maxsize=4)


def cache_key(remote: RemoteFile) -> str | None:
    """A content key for a remote file: its SHA-256, else its git blob id."""
    return remote.sha256 or remote.blob_id


def fetch_header(
    hub: HubClient,
    repo_id: str,
    remote: RemoteFile,
    *,
    revision: str,
    cache_dir: Path,
    first_fetch: int = FIRST_FETCH,
) -> GGUFInfo:
    """The parsed header of one remote GGUF file (from the cache when it is there).

    Raises InvalidModelError when the file is not a GGUF (or its header is absurdly
    long), and the Hub errors of :mod:`app.catalog.hub` when it cannot be fetched.
    """
    key = cache_key(remote)
    cached = cache_dir / f"{key}{_SUFFIX}" if key else None
    if cached is not None and cached.is_file():
        try:
            info = read_gguf_header(cached.read_bytes(), path=cached, file_size=remote.size)
            os.utime(cached)  # most recently used, for pruning
            return info
        except (HeaderIncompleteError, InvalidModelError):
            cached.unlink(missing_ok=True)  # damaged: fetch it again
    if remote.size < 24:
        raise InvalidModelError(
            translate(
                "Errors",
                "{file} is too short to be a GGUF model ({size} bytes).",
            ).format(file=remote.name, size=remote.size)
        )
    url = hub.file_url(repo_id, remote.path, revision)
    data = b""
    want = min(first_fetch, remote.size)
    while True:
        data += _get_range(hub, url, len(data), want, repo_id=repo_id, path=remote.path)
        try:
            info = read_gguf_header(data, path=cached or Path(remote.name), file_size=remote.size)
            break
        except HeaderIncompleteError as incomplete:
            if len(data) >= min(remote.size, MAX_HEADER):
                raise InvalidModelError(
                    translate(
                        "Errors",
                        "{file}'s header is longer than {limit} MB; Hearth estimates its "
                        "fit from the file size instead.",
                    ).format(file=remote.name, limit=MAX_HEADER // MIB)
                ) from incomplete
            want = min(remote.size, MAX_HEADER, max(2 * len(data), incomplete.needed + MIB))
    if cached is not None:
        _store(cached, data[: info.data_offset])
    return info


def fetch_variant_header(
    hub: HubClient, repo_id: str, variant: QuantVariant, *, revision: str, cache_dir: Path
) -> GGUFInfo:
    """The header of a whole variant: for a split GGUF, part 1's metadata with the
    tensor tables of every part (each part lists only its own tensors)."""
    first = fetch_header(hub, repo_id, variant.files[0], revision=revision, cache_dir=cache_dir)
    if len(variant.files) == 1:
        return first
    tensors = list(first.tensors)
    for part in variant.files[1:]:
        info = fetch_header(
            hub,
            repo_id,
            part,
            revision=revision,
            cache_dir=cache_dir,
            first_fetch=FIRST_FETCH_LATER_PART,
        )
        tensors += info.tensors
    return replace(first, tensors=tensors, file_size=variant.size)


def _get_range(hub: HubClient, url: str, start: int, end: int, *, repo_id: str, path: str) -> bytes:
    """Bytes ``[start, end)`` of a file; a server that ignores Range is read only as far."""
    headers = hub.headers()
    headers["Accept-Encoding"] = "identity"
    headers["Range"] = f"bytes={start}-{end - 1}"
    try:
        # urllib3 drops the Authorization header when the redirect leaves the Hub (CDN).
        response = _http().request(
            "GET",
            url,
            headers=headers,
            preload_content=False,
            redirect=True,
            retries=urllib3.Retry(total=2, connect=1, read=1, redirect=10, backoff_factor=0.2),
            timeout=urllib3.Timeout(connect=min(hub.timeout_s, 10.0), read=hub.timeout_s),
        )
    except urllib3.exceptions.HTTPError as exc:
        raise OfflineError(
            translate(
                "Errors",
                "Cannot reach the Hugging Face Hub at {endpoint}; check your internet "
                "connection or proxy and try again. Models already downloaded keep "
                "working offline.",
            ).format(endpoint=hub.endpoint)
        ) from exc
    try:
        if response.status in (401, 403):
            raise gated_error(repo_id, has_token=bool(hub.token), endpoint=hub.endpoint)
        if response.status == 404:
            raise ModelNotFoundError(
                translate(
                    "Errors",
                    "{repo_id}/{path} was not found on the Hub; refresh the repo's file list "
                    "and pick again.",
                ).format(repo_id=repo_id, path=path)
            )
        if response.status == 206:
            body = response.read(end - start)
        elif response.status == 200:  # no Range support: skip what we have, stop at `end`
            body = response.read(end)[start:]
        else:
            raise DownloadError(
                translate(
                    "Errors",
                    "The Hugging Face Hub answered {status} for {repo_id}/{path}; try again "
                    "in a few minutes.",
                ).format(status=response.status, repo_id=repo_id, path=path)
            )
    except urllib3.exceptions.HTTPError as exc:
        raise DownloadError(
            translate(
                "Errors",
                "Reading the header of {repo_id}/{path} failed ({error}); try again.",
            ).format(repo_id=repo_id, path=path, error=exc)
        ) from exc
    finally:
        response.release_conn()
        response.close()
    if len(body) != end - start:
        raise DownloadError(
            translate(
                "Errors",
                "The Hub sent {received} bytes of {repo_id}/{path} where {asked} were "
                "asked for; try again.",
            ).format(received=len(body), repo_id=repo_id, path=path, asked=end - start)
        )
    return bytes(body)


def _store(path: Path, data: bytes) -> None:
    """Write a header to the cache atomically, then keep the cache under its limit."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        prune(path.parent, CACHE_LIMIT)
    except OSError as exc:  # a cache that cannot be written only costs a refetch
        log.info("cannot cache GGUF header %s: %s", path, exc)


def prune(folder: Path, limit: int) -> None:
    """Delete the least recently used cached headers until ``folder`` holds ``limit`` bytes."""
    files = []
    for entry in folder.glob(f"*{_SUFFIX}"):
        with contextlib.suppress(OSError):
            stat = entry.stat()
            files.append((stat.st_mtime, stat.st_size, entry))
    total = sum(size for _, size, _ in files)
    for _, size, entry in sorted(files, key=lambda item: item[0]):
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            entry.unlink()
            total -= size


def header_cache_dir(cache_root: Path) -> Path:
    """Where Hearth keeps fetched GGUF headers, under its cache folder."""
    return cache_root / "gguf-headers"
