"""Search the Hugging Face Hub for GGUF models and list a repo's files by quantisation.

Everything goes through ``huggingface_hub.HfApi``. That library reads ``HF_ENDPOINT``,
``HF_TOKEN`` and ``HF_HUB_OFFLINE`` once, when it is imported; :class:`HubClient` reads them
again each time it is built (and takes explicit values, for tests and settings), so a user
who changes them in Settings does not have to restart Hearth.

Failures come back as Hearth errors with a sentence the user can act on:
:class:`~app.core.errors.OfflineError` (offline mode, or the Hub unreachable),
:class:`~app.core.errors.GatedRepoError`, :class:`~app.core.errors.ModelNotFoundError` and
:class:`~app.core.errors.DownloadError` for anything else the Hub refuses.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from app.catalog.portable import is_portable
from app.core.errors import (
    DownloadError,
    GatedRepoError,
    HearthError,
    ModelNotFoundError,
    OfflineError,
)
from app.core.gguf_meta import SPLIT_RE
from app.core.i18n import translate

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

SortKey = Literal["downloads", "likes", "recent", "trending"]
_SORTS: dict[str, Literal["downloads", "likes", "last_modified", "trending_score"]] = {
    "downloads": "downloads",
    "likes": "likes",
    "recent": "last_modified",
    "trending": "trending_score",
}
_TRUE = {"1", "on", "yes", "true"}
_PROBE_TTL_S = 60.0
_CARD_MAX_BYTES = 512 * 1024
DEFAULT_TIMEOUT_S = 15.0

# A quantisation token: Q4_K_M, Q8_0, IQ4_XS, TQ1_0, Q4_0_4_4, F16, BF16, FP16, MXFP4 ...
# It must stand alone between separators, so "Qwen2" or "Q4B" in a model name do not match.
_QUANT_RE = re.compile(
    r"(?:^|(?<=[-_.]))"
    r"((?:UD-)?(?:I?Q[1-8](?:_[0-9]+)*(?:_(?:K|NL|XXS|XS|S|M|L|XL))*"
    r"|TQ[12]_[0-9]|B?F16|FP16|F32|FP32|MXFP4(?:_MOE)?))"
    r"(?=$|[-_.])",
    re.IGNORECASE,
)
_PROJECTOR_RE = re.compile(r"(^|[-_.])mmproj([-_.]|$)", re.IGNORECASE)


# -- value types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RepoSummary:
    """One search result."""

    repo_id: str
    author: str | None
    downloads: int
    likes: int
    last_modified: datetime | None
    gated: bool
    tags: tuple[str, ...]
    pipeline_tag: str | None
    # A LoRA adapter repo, and the base model it names (app.catalog.adapters).
    adapter: bool = False
    base_model: str | None = None


@dataclass(frozen=True)
class RemoteFile:
    """A file in a repo, with the identities the Hub publishes for verifying it."""

    path: str
    size: int
    sha256: str | None  # the LFS oid; None for files stored in git itself
    blob_id: str | None  # the git blob sha1 (of the LFS pointer, for LFS files)

    @property
    def is_lfs(self) -> bool:
        return self.sha256 is not None

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


@dataclass(frozen=True)
class QuantVariant:
    """One downloadable model: a single GGUF, or all parts of a split GGUF, or a projector."""

    name: str  # repo path without the split suffix, e.g. "Q4_K_M/Model-Q4_K_M.gguf"
    quant: str | None  # normalised, e.g. "Q4_K_M", "F16"; None when the name has none
    files: tuple[RemoteFile, ...]  # split parts in order
    is_projector: bool  # a vision projector (mmproj-*.gguf), not a language model
    n_parts: int  # parts the name announces (1 when not split)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def is_split(self) -> bool:
        return self.n_parts > 1

    @property
    def complete(self) -> bool:
        """Whether every announced part of a split file is in the repo."""
        return len(self.files) == self.n_parts


@dataclass(frozen=True)
class RepoFiles:
    """What a repo offers: GGUF variants by quantisation, licence, gating and model card."""

    repo_id: str
    revision: str  # the commit the listing was taken at
    gated: bool
    license: str | None
    card_text: str | None
    variants: tuple[QuantVariant, ...]
    other_files: tuple[RemoteFile, ...] = field(default=())
    # Files left out because their names are not portable relative paths (``..\\x.gguf``).
    unsafe_files: tuple[str, ...] = field(default=())
    # A LoRA adapter repo, and the base model it names (app.catalog.adapters).
    adapter: bool = False
    base_model: str | None = None

    @property
    def models(self) -> tuple[QuantVariant, ...]:
        return tuple(v for v in self.variants if not v.is_projector)

    @property
    def projectors(self) -> tuple[QuantVariant, ...]:
        return tuple(v for v in self.variants if v.is_projector)

    def variant(self, quant: str) -> QuantVariant | None:
        """The first language-model variant with this quantisation (case-insensitive)."""
        wanted = quant.upper()
        return next((v for v in self.models if v.quant == wanted), None)

    def projector_for(self, variant: QuantVariant) -> QuantVariant | None:
        """The vision projector to download with ``variant``, as ``llama-server -hf`` picks
        it (common/download.cpp, find_best_sibling): a complete ``mmproj`` GGUF in the
        model's folder or one above it, the deepest such folder first, then the one whose
        bits per weight are closest to the model's (F16 for an F16 model, Q8_0 next to a
        Q8_0 or Q4 one when the repo has both), then by name. None: a text-only repo.
        """
        if variant.is_projector:
            return None
        folder = PurePosixPath(variant.name).parent.parts
        bits = quant_number(variant.quant)
        ranked: list[tuple[int, int, str, QuantVariant]] = []
        for projector in self.projectors:
            where = PurePosixPath(projector.name).parent.parts
            if not projector.complete or folder[: len(where)] != where:
                continue
            distance = abs(quant_number(projector.quant) - bits)
            ranked.append((-len(where), distance, projector.name, projector))
        return min(ranked, key=lambda r: r[:3])[3] if ranked else None

    def file(self, path: str) -> RemoteFile | None:
        everything = [f for v in self.variants for f in v.files] + list(self.other_files)
        return next((f for f in everything if f.path == path), None)


@dataclass(frozen=True)
class ResolvedFile:
    """A file pinned to a commit, ready to download."""

    repo_id: str
    commit: str
    url: str  # the resolve URL at that commit (may redirect to a CDN)
    file: RemoteFile


# -- file names ----------------------------------------------------------------------------


def parse_quant(path: str) -> str | None:
    """The quantisation named in a GGUF file name (``Q4_K_M``, ``IQ4_XS``, ``F16`` ...)."""
    candidates = [SPLIT_RE.sub(".gguf", PurePosixPath(path).name)]
    candidates += list(reversed(PurePosixPath(path).parent.parts))  # "Q8_0/model-00001-of-..."
    for text in candidates:
        matches = list(
            _QUANT_RE.finditer(PurePosixPath(text).stem if text.endswith(".gguf") else text)
        )
        if matches:
            quant = matches[-1].group(1).upper()
            return {"FP16": "F16", "FP32": "F32"}.get(quant, quant)
    return None


def quant_number(quant: str | None) -> int:
    """The first number in a quantisation name (``Q4_K_M`` 4, ``F16`` 16), else 0: the
    bits llama.cpp compares when it pairs a projector with a model."""
    found = re.search(r"\d+", quant or "")
    return int(found.group()) if found else 0


def is_projector(path: str) -> bool:
    """Whether a GGUF is a multimodal projector (``mmproj-*.gguf``) rather than a model."""
    return bool(_PROJECTOR_RE.search(PurePosixPath(path).stem))


def group_files(
    files: Iterable[RemoteFile],
) -> tuple[tuple[QuantVariant, ...], tuple[RemoteFile, ...]]:
    """Group GGUF files into variants (split parts together); return them and the rest."""
    groups: dict[str, list[tuple[int, int, RemoteFile]]] = {}
    others: list[RemoteFile] = []
    for remote in files:
        if not remote.path.lower().endswith(".gguf"):
            others.append(remote)
            continue
        match = SPLIT_RE.search(remote.path)
        if match:
            base = remote.path[: match.start()] + ".gguf"
            groups.setdefault(base, []).append((int(match.group(1)), int(match.group(2)), remote))
        else:
            groups.setdefault(remote.path, []).append((1, 1, remote))
    variants = []
    for base, parts in groups.items():
        parts.sort(key=lambda p: p[0])
        variants.append(
            QuantVariant(
                name=base,
                quant=parse_quant(base),
                files=tuple(p[2] for p in parts),
                is_projector=is_projector(base),
                n_parts=max(p[1] for p in parts),
            )
        )
    variants.sort(key=lambda v: (v.is_projector, v.size, v.name))
    return tuple(variants), tuple(others)


# -- configuration -------------------------------------------------------------------------


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


class HubClient:
    """A Hub connection: endpoint, token and offline flag, each explicit or from the env.

    ``token=None`` uses ``HF_TOKEN`` or the token saved by ``hf auth login``; ``False`` sends
    none. ``endpoint=None`` uses ``HF_ENDPOINT`` (else huggingface.co). ``offline=None``
    follows ``HF_HUB_OFFLINE``.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | Literal[False] | None = None,
        offline: bool | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        from huggingface_hub import constants, get_token

        chosen = endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT
        self.endpoint = chosen.rstrip("/")
        self.token: str | None = (get_token() if token is None else token) or None
        self.offline = (
            offline
            if offline is not None
            else _env_flag("HF_HUB_OFFLINE") or constants.HF_HUB_OFFLINE
        )
        self.timeout_s = timeout_s
        self._probe_ok_at = -_PROBE_TTL_S
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never print the token
        return f"HubClient(endpoint={self.endpoint!r}, token={'set' if self.token else None})"

    # -- helpers shared with the download manager ------------------------------------------

    def api(self) -> HfApi:
        from huggingface_hub import HfApi

        self.check_online()
        return HfApi(endpoint=self.endpoint, token=self.token or False, library_name="hearth")

    def check_online(self) -> None:
        if self.offline:
            raise OfflineError(_offline_mode())

    def headers(self) -> dict[str, str]:
        """Request headers with the user agent and, when set, the token."""
        from huggingface_hub.utils._headers import build_hf_headers

        return dict(build_hf_headers(token=self.token or False, library_name="hearth"))

    def file_url(self, repo_id: str, path: str, revision: str = "main") -> str:
        from huggingface_hub import hf_hub_url

        return hf_hub_url(repo_id, path, revision=revision, endpoint=self.endpoint)

    def translate(self, exc: BaseException, repo_id: str, path: str | None = None) -> HearthError:
        """Turn a ``huggingface_hub``/``httpx2`` failure into a Hearth error."""
        return translate_error(
            exc, repo_id, path, endpoint=self.endpoint, has_token=bool(self.token)
        )

    def _probe(self) -> None:
        """Fail fast when the Hub is unreachable.

        ``HfApi.list_models`` and ``list_repo_tree`` retry refused connections with backoff
        for about 20 seconds; one HEAD without retries turns "no network" into an
        immediate OfflineError. A success is remembered for a minute.
        """
        import httpx2
        from huggingface_hub import get_session

        with self._lock:
            if time.monotonic() - self._probe_ok_at < _PROBE_TTL_S:
                return
        self.check_online()
        try:
            get_session().head(f"{self.endpoint}/", timeout=min(self.timeout_s, 5.0))
        except (httpx2.TransportError, ConnectionError) as exc:
            raise self.translate(exc, "") from exc
        with self._lock:
            self._probe_ok_at = time.monotonic()

    # -- queries ---------------------------------------------------------------------------

    def search(
        self, query: str, sort: SortKey = "downloads", limit: int = 20, gguf_only: bool = True
    ) -> list[RepoSummary]:
        """Models whose name matches ``query``, most downloaded/liked/recent first."""
        if sort not in _SORTS:
            raise ValueError(f"sort must be one of {sorted(_SORTS)}")
        self._probe()
        try:
            found = self.api().list_models(
                search=query or None,
                sort=_SORTS[sort],
                limit=limit,
                filter="gguf" if gguf_only else None,
                expand=[
                    "author",
                    "downloads",
                    "likes",
                    "lastModified",
                    "gated",
                    "tags",
                    "pipeline_tag",
                    "cardData",
                ],
            )
            return [_summary(info) for info in found]
        except HearthError:
            raise
        except Exception as exc:
            raise self.translate(exc, "") from exc

    def list_files(self, repo_id: str, revision: str = "main") -> RepoFiles:
        """A repo's GGUF variants with exact sizes and SHA-256, plus licence and card."""
        from huggingface_hub.hf_api import RepoFile

        api = self.api()
        try:
            # model_info first: it makes no retries, so an unreachable Hub fails at once.
            info = api.model_info(repo_id, revision=revision, timeout=self.timeout_s)
            commit = info.sha or revision
            files = [
                RemoteFile(
                    path=entry.path,
                    size=entry.lfs.size if entry.lfs else entry.size,
                    sha256=entry.lfs.sha256 if entry.lfs else None,
                    blob_id=entry.blob_id,
                )
                for entry in api.list_repo_tree(repo_id, recursive=True, revision=commit)
                if isinstance(entry, RepoFile)
            ]
        except HearthError:
            raise
        except Exception as exc:
            raise self.translate(exc, repo_id) from exc
        # A name that is not the same relative path on every OS is never offered.
        unsafe = tuple(f.path for f in files if not is_portable(f.path))
        if unsafe:
            log.warning("%s: leaving out files with unsafe names: %s", repo_id, unsafe)
            files = [f for f in files if f.path not in unsafe]
        variants, others = group_files(files)
        licence = info.card_data.get("license") if info.card_data is not None else None
        if licence is None:
            licence = next(
                (t.split(":", 1)[1] for t in info.tags or () if t.startswith("license:")), None
            )
        from app.catalog.adapters import adapter_base

        base = adapter_base(info.tags or (), _card(info))
        has_card = any(f.path == "README.md" for f in files)
        card = self._card_text(repo_id, commit) if has_card else None
        return RepoFiles(
            repo_id=repo_id,
            revision=commit,
            gated=bool(info.gated),
            license=str(licence) if licence is not None else None,
            card_text=card,
            variants=variants,
            other_files=others,
            unsafe_files=unsafe,
            adapter=base is not None,
            base_model=base,
        )

    def readme(self, repo_id: str, revision: str = "main") -> str | None:
        """A repo's README.md (its model card), at most 512 KiB; None if it cannot be read."""
        return self._card_text(repo_id, revision)

    def _card_text(self, repo_id: str, revision: str) -> str | None:
        """The model card (README.md), or None if it cannot be read: it is only shown."""
        import httpx2
        from huggingface_hub import get_session

        try:
            response = get_session().get(
                self.file_url(repo_id, "README.md", revision),
                headers=self.headers(),
                timeout=self.timeout_s,
            )
        except (httpx2.TransportError, ConnectionError):
            return None
        if response.status_code != 200:
            return None
        return response.content[:_CARD_MAX_BYTES].decode("utf-8", errors="replace")

    def resolve(self, repo_id: str, path: str, revision: str = "main") -> ResolvedFile:
        """Pin a file to the commit ``revision`` points at, with its size and SHA-256.

        A HEAD on the resolve URL gives the commit (and is where a gated repo says no);
        ``paths-info`` at that commit gives the LFS sha256 and exact size.
        """
        from huggingface_hub import get_hf_file_metadata

        api = self.api()
        try:
            meta = get_hf_file_metadata(
                self.file_url(repo_id, path, revision),
                token=self.token or False,
                timeout=self.timeout_s,
                endpoint=self.endpoint,
                library_name="hearth",
            )
            commit = meta.commit_hash or revision
            infos = api.get_paths_info(repo_id, [path], revision=commit)
        except HearthError:
            raise
        except Exception as exc:
            raise self.translate(exc, repo_id, path) from exc
        from huggingface_hub.hf_api import RepoFile

        entry = next((e for e in infos if isinstance(e, RepoFile) and e.path == path), None)
        if entry is None:
            raise ModelNotFoundError(
                translate(
                    "Errors",
                    "The repo {repo} has no file named {path}; list its files and pick one.",
                ).format(repo=repo_id, path=path)
            )
        remote = RemoteFile(
            path=path,
            size=entry.lfs.size if entry.lfs else entry.size,
            sha256=entry.lfs.sha256 if entry.lfs else None,
            blob_id=entry.blob_id,
        )
        return ResolvedFile(
            repo_id=repo_id, commit=commit, url=self.file_url(repo_id, path, commit), file=remote
        )


def _card(info: Any) -> dict[str, Any] | None:
    """A ModelInfo's card metadata as a plain dict (None: no card)."""
    return dict(info.card_data.to_dict()) if info.card_data is not None else None


def _summary(info: Any) -> RepoSummary:
    """A search result from ``huggingface_hub``'s ModelInfo, adapters marked."""
    from app.catalog.adapters import adapter_base

    tags = tuple(info.tags or ())
    base = adapter_base(tags, _card(info))
    return RepoSummary(
        repo_id=info.id,
        author=info.author,
        downloads=info.downloads or 0,
        likes=info.likes or 0,
        last_modified=info.last_modified,
        gated=bool(info.gated),
        tags=tags,
        pipeline_tag=info.pipeline_tag,
        adapter=base is not None,
        base_model=base,
    )


def translate_error(
    exc: BaseException,
    repo_id: str,
    path: str | None = None,
    *,
    endpoint: str = "the Hugging Face Hub",
    has_token: bool = False,
) -> HearthError:
    """A Hearth error, with a next step for the user, for a Hub client failure."""
    import httpx2
    from huggingface_hub import errors as hf_errors

    what = f"{repo_id}/{path}" if path else repo_id
    if isinstance(exc, HearthError):
        return exc
    if isinstance(exc, hf_errors.OfflineModeIsEnabled):
        return OfflineError(_offline_mode())
    if isinstance(exc, hf_errors.GatedRepoError):
        return gated_error(repo_id, has_token=has_token, endpoint=endpoint)
    if isinstance(exc, hf_errors.RepositoryNotFoundError):
        return ModelNotFoundError(
            translate(
                "Errors",
                "The Hub has no model repo named {repo} (or it is private); check the name, "
                "or add an access token in Settings if the repo is yours.",
            ).format(repo=repo_id)
        )
    if isinstance(exc, (hf_errors.RevisionNotFoundError, hf_errors.RemoteEntryNotFoundError)):
        return ModelNotFoundError(
            translate(
                "Errors",
                "{what} was not found on the Hub; refresh the repo's file list and pick again.",
            ).format(what=what)
        )
    if isinstance(exc, hf_errors.HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "an error"
        return DownloadError(
            translate(
                "Errors",
                "The Hugging Face Hub answered {status} for {what}; try again in a few minutes.",
            ).format(status=status, what=what or endpoint)
        )
    if isinstance(exc, (httpx2.TransportError, ConnectionError, TimeoutError)):
        return OfflineError(
            translate(
                "Errors",
                "Cannot reach the Hugging Face Hub at {endpoint}; check your internet connection "
                "or proxy and try again. Models already downloaded keep working offline.",
            ).format(endpoint=endpoint)
        )
    return DownloadError(
        translate(
            "Errors", "Talking to the Hugging Face Hub about {what} failed ({error}); try again."
        ).format(what=what or endpoint, error=f"{type(exc).__name__}: {exc}")
    )


def _offline_mode() -> str:
    return translate(
        "Errors",
        "Hearth is in offline mode (HF_HUB_OFFLINE is set), so it cannot reach the "
        "Hugging Face Hub; unset it to search and download models.",
    )


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may pass by itself (network trouble, 429, 5xx): worth a retry."""
    import httpx2
    from huggingface_hub import errors as hf_errors

    cause = exc.__cause__ if isinstance(exc, HearthError) else exc
    if cause is None or isinstance(cause, hf_errors.OfflineModeIsEnabled):
        return False
    if isinstance(cause, hf_errors.HfHubHTTPError):
        status = cause.response.status_code if cause.response is not None else 0
        return status in (408, 429, 500, 502, 503, 504)
    return isinstance(cause, (httpx2.TransportError, ConnectionError, TimeoutError))


def gated_error(repo_id: str, *, has_token: bool, endpoint: str) -> GatedRepoError:
    """The message for a gated repo, depending on whether a token was sent."""
    page = f"{endpoint.rstrip('/')}/{repo_id}" if endpoint.startswith("http") else repo_id
    if has_token:
        return GatedRepoError(
            translate(
                "Errors",
                "{repo} is gated and your access token has not been granted access; accept "
                "its licence at {page} with the same account, then try again.",
            ).format(repo=repo_id, page=page)
        )
    return GatedRepoError(
        translate(
            "Errors",
            "{repo} is gated: accept its licence at {page}, then add a Hugging Face access "
            "token in Settings (or set HF_TOKEN) and try again.",
        ).format(repo=repo_id, page=page)
    )


# -- module-level conveniences for the CLI and the planner ---------------------------------


def search_models(
    query: str, sort: SortKey = "downloads", limit: int = 20, *, client: HubClient | None = None
) -> list[RepoSummary]:
    """Search the Hub for GGUF models (see :meth:`HubClient.search`)."""
    return (client or HubClient()).search(query, sort=sort, limit=limit)


def list_repo_files(
    repo_id: str, revision: str = "main", *, client: HubClient | None = None
) -> RepoFiles:
    """List a repo's GGUF variants (see :meth:`HubClient.list_files`)."""
    return (client or HubClient()).list_files(repo_id, revision=revision)
