"""LoRA adapters on the Hub: which search results are adapters, the base model each names,
and whether an installed chat model is that base.

The Hub tags a repo whose card says ``base_model_relation: adapter`` (or that holds a
PEFT/LoRA adapter) with ``base_model:adapter:ORG/NAME``; its ``cardData.base_model``
names the base too. Both are what the uploader wrote: a hint for choosing. Once the file
is here, its own GGUF header is the final word (``general.type == "adapter"``, its
architecture and tensor shapes): the library pairs it with the chat models it really
fits (:func:`app.catalog.library.pair_adapters`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.i18n import translate

if TYPE_CHECKING:
    from app.catalog.library import ModelEntry
    from app.core.gguf_meta import GGUFInfo

_ADAPTER_TAG = "base_model:adapter:"
_QUANT_TAIL = re.compile(
    r"[-_.](?:i?q[1-8](?:_[0-9a-z]+)*|tq[12]_[0-9]|b?f16|fp16|f32|fp32|mxfp4)$", re.IGNORECASE
)
_SEPARATORS = re.compile(r"[-_. ]+")


def adapter_base(tags: Iterable[str], card_data: Mapping[str, Any] | None = None) -> str | None:
    """The base model repo an adapter repo names (``ORG/NAME``), or None for a model repo.

    The ``base_model:adapter:`` tag first (the Hub derives it from the card), then a card
    whose ``base_model_relation`` is ``adapter``.
    """
    for tag in tags:
        if tag.startswith(_ADAPTER_TAG) and tag[len(_ADAPTER_TAG) :].strip():
            return tag[len(_ADAPTER_TAG) :].strip()
    if card_data and card_data.get("base_model_relation") == "adapter":
        base = card_data.get("base_model")
        if isinstance(base, list) and base:
            base = base[0]
        if isinstance(base, str) and base.strip():
            return base.strip()
    return None


def model_key(name: str) -> str:
    """A model's name reduced for comparing across repos and files: the last path part,
    lower case, without ``.gguf``, a quantisation suffix or a ``-GGUF`` repo suffix
    (``bartowski/SmolLM2-135M-Instruct-GGUF`` and ``SmolLM2-135M-Instruct.Q4_1`` are both
    ``smollm2-135m-instruct``)."""
    text = name.strip().rstrip("/").rsplit("/", 1)[-1]
    text = re.sub(r"\.gguf$", "", text, flags=re.IGNORECASE)
    text = re.sub(r"[-_.]gguf$", "", text, flags=re.IGNORECASE)
    text = _QUANT_TAIL.sub("", text)
    return _SEPARATORS.sub("-", text.lower()).strip("-")


def installed_bases(base_repo: str, models: Sequence[ModelEntry]) -> list[str]:
    """The installed chat models whose name (or downloaded repo folder) is ``base_repo``'s
    model: a name match, confirmed by tensor shapes only once the adapter is here."""
    wanted = model_key(base_repo)
    found: list[str] = []
    for model in models:
        keys = {model_key(model.name), model_key(Path(model.path).parent.name)}
        if wanted in keys and model.name not in found:
            found.append(model.name)
    return found


def header_base(info: GGUFInfo) -> str | None:
    """The base model an adapter's own header names (``general.base_model.0.*``), if any:
    its repo URL's ``ORG/NAME``, else its organization and name."""
    meta = info.metadata
    url = meta.get("general.base_model.0.repo_url")
    if isinstance(url, str) and "huggingface.co/" in url:
        return url.split("huggingface.co/", 1)[1].strip("/") or None
    name = meta.get("general.base_model.0.name")
    org = meta.get("general.base_model.0.organization")
    if isinstance(name, str) and name:
        return f"{org}/{name}" if isinstance(org, str) and org else name
    return None


def describe_fit(base_repo: str | None, fits: Sequence[str]) -> str:
    """One line for a search result: which base an adapter is for, and whether it is here."""
    if base_repo is None:
        return translate("Errors", "LoRA adapter (base model not named)")
    if fits:
        return translate(
            "Errors",
            "LoRA for {base_repo} (installed: {fits})",
        ).format(base_repo=base_repo, fits=", ".join(fits))
    return translate(
        "Errors",
        "LoRA for {base_repo} (not installed)",
    ).format(base_repo=base_repo)
