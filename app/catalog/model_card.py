"""A Hub repo's model card for the Discover tab: its README and the facts people compare.

One ``model_info`` call (with ``expand``: licence, downloads, likes, last update, the GGUF
header the Hub reads from the repo's files, languages, files) and one GET of README.md,
whose YAML front matter is taken off the text and shown as fields. Cards are cached for a
few minutes per endpoint and repo, so going back and forth between results costs nothing.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.catalog.hub import is_projector
from app.core.errors import HearthError
from app.vision.projector import VISION_HUB_TAGS

if TYPE_CHECKING:
    from app.catalog.hub import HubClient

# What the card asks the Hub for (huggingface_hub's ExpandModelProperty_T names).
EXPAND = [
    "author",
    "cardData",
    "downloads",
    "gguf",
    "lastModified",
    "likes",
    "pipeline_tag",
    "safetensors",
    "sha",
    "siblings",
    "tags",
]
CACHE_TTL_S = 600.0
_CACHE_MAX = 64
_MAX_FIELD_CHARS = 200
_FRONT_MATTER_RE = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
# A chat template that renders the ``tools`` it is given (Qwen, Llama 3.1+, Mistral, ...).
_TOOLS_RE = re.compile(r"\btools\b")


class Cancelled(HearthError):
    """The card was no longer wanted (another repo was picked)."""


@dataclass(frozen=True)
class ModelCard:
    """What the Discover tab shows about one repo."""

    repo_id: str
    revision: str | None
    license: str | None
    parameters: int | None  # from the GGUF header (or safetensors) the Hub read
    context_length: int | None
    languages: tuple[str, ...]
    vision: bool  # a projector among its files, or an image pipeline
    tools: bool  # its chat template renders tools
    downloads: int
    likes: int
    last_modified: datetime | None
    fields: tuple[tuple[str, str], ...]  # the README's front matter, as text
    body: str | None  # the README without its front matter; None: the repo has none


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(YAML front matter, the rest) of a model card; ({}, text) when it has none or it
    is not a YAML mapping."""
    import yaml  # type: ignore[import-untyped]  # PyYAML, a huggingface_hub dependency

    found = _FRONT_MATTER_RE.match(text)
    if found is None:
        return {}, text
    try:
        meta = yaml.safe_load(found.group(1))
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), text[found.end() :]


def front_matter_fields(meta: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The front matter as (name, text) pairs: scalars and lists of scalars; nested
    structures (``model-index`` results, widget examples) are left out."""
    fields: list[tuple[str, str]] = []
    for key, value in meta.items():
        if isinstance(value, (list, tuple)):
            if not all(isinstance(v, (str, int, float, bool)) for v in value) or not value:
                continue
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, (str, int, float, bool)):
            text = str(value)
        else:
            continue
        if len(text) > _MAX_FIELD_CHARS:
            text = text[: _MAX_FIELD_CHARS - 1].rstrip() + "…"
        fields.append((str(key), text))
    return tuple(fields)


def template_renders_tools(template: object) -> bool:
    """Whether a chat template (a string, or the Hub's list of named templates) uses
    ``tools``."""
    if isinstance(template, list):
        return any(
            template_renders_tools(t.get("template")) for t in template if isinstance(t, dict)
        )
    return isinstance(template, str) and bool(_TOOLS_RE.search(template))


def _languages(meta: dict[str, Any], card: dict[str, Any]) -> tuple[str, ...]:
    value = card.get("language") or meta.get("language") or ()
    items = [value] if isinstance(value, str) else list(value)
    return tuple(str(v) for v in items if v)


def _licence(meta: dict[str, Any], card: dict[str, Any], tags: list[str]) -> str | None:
    value = card.get("license") or meta.get("license")
    if value is None:
        value = next((t.split(":", 1)[1] for t in tags if t.startswith("license:")), None)
    return str(value) if value else None


def _parameters(gguf: dict[str, Any], safetensors: Any) -> int | None:
    total = gguf.get("total")
    if isinstance(total, int) and total > 0:
        return total
    total = getattr(safetensors, "total", None)
    return total if isinstance(total, int) and total > 0 else None


def build_card(info: Any, readme: str | None) -> ModelCard:
    """A card from ``huggingface_hub``'s ModelInfo and the README text (None: no README)."""
    meta, body = split_front_matter(readme) if readme is not None else ({}, None)
    card = dict(info.card_data.to_dict()) if info.card_data is not None else {}
    tags = list(info.tags or ())
    gguf = info.gguf if isinstance(info.gguf, dict) else {}
    context = gguf.get("context_length")
    siblings = [s.rfilename for s in info.siblings or ()]
    projector = any(n.lower().endswith(".gguf") and is_projector(n) for n in siblings)
    return ModelCard(
        repo_id=info.id,
        revision=info.sha,
        license=_licence(meta, card, tags),
        parameters=_parameters(gguf, getattr(info, "safetensors", None)),
        context_length=context if isinstance(context, int) and context > 0 else None,
        languages=_languages(meta, card),
        vision=projector or info.pipeline_tag in VISION_HUB_TAGS,
        tools=template_renders_tools(gguf.get("chat_template")),
        downloads=info.downloads or 0,
        likes=info.likes or 0,
        last_modified=info.last_modified,
        fields=front_matter_fields(meta),
        body=body,
    )


class CardCache:
    """Model cards fetched on a worker thread, kept ``ttl_s`` seconds (thread-safe)."""

    def __init__(self, ttl_s: float = CACHE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._cards: dict[tuple[str, str], tuple[float, ModelCard]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(client: HubClient, repo_id: str) -> tuple[str, str]:
        return str(getattr(client, "endpoint", id(client))), repo_id

    def cached(self, client: HubClient, repo_id: str) -> ModelCard | None:
        with self._lock:
            hit = self._cards.get(self._key(client, repo_id))
        if hit is None or time.monotonic() - hit[0] > self.ttl_s:
            return None
        return hit[1]

    def fetch(
        self, client: HubClient, repo_id: str, cancel: threading.Event | None = None
    ) -> ModelCard:
        """The card of ``repo_id``: from the cache, else from the Hub. Raises
        :class:`Cancelled` when ``cancel`` is set between the two requests, a Hearth
        error when the Hub says no."""
        card = self.cached(client, repo_id)
        if card is not None:
            return card
        api = client.api()
        try:
            info = api.model_info(repo_id, expand=EXPAND, timeout=client.timeout_s)  # type: ignore[arg-type]
        except HearthError:
            raise
        except Exception as exc:
            raise client.translate(exc, repo_id) from exc
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"The card of {repo_id} is no longer wanted.")
        names = {s.rfilename for s in info.siblings or ()}
        readme = client.readme(repo_id, info.sha or "main") if "README.md" in names else None
        card = build_card(info, readme)
        with self._lock:
            if len(self._cards) >= _CACHE_MAX:
                self._cards.pop(next(iter(self._cards)))
            self._cards[self._key(client, repo_id)] = (time.monotonic(), card)
        return card


CARDS = CardCache()  # shared by every Discover tab of this process
