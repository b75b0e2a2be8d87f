"""The curated catalog: recommended chat models by hardware tier, vision models with their
projectors, Whisper sizes, Piper voices and GGUF embedding models for documents.

The data lives in ``models/catalog.json`` at the top of the source tree, the canonical
file to edit. ``app/catalog/data/catalog.json`` is a byte-identical copy shipped inside
the package (``[tool.setuptools.package-data]``), so an installed wheel finds it too; a
test fails when the two differ (``cp models/catalog.json app/catalog/data/``).
:func:`catalog_path` prefers the checkout's file, then the packaged one;
``HEARTH_CATALOG`` points elsewhere (for trying out a catalog).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from app.core.errors import ConfigError
from app.core.i18n import translate
from app.engine.hardware import GIB, HardwareInfo

CATALOG_VERSION = 1
CANONICAL_PATH = Path(__file__).resolve().parents[2] / "models" / "catalog.json"
PACKAGED_PATH = Path(__file__).resolve().parent / "data" / "catalog.json"

_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_LOCALE_RE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}$")
_LANGUAGES = {"en", "zh", "multilingual"} | {"de", "fr", "es", "it", "ja", "ko", "ru", "pt"}


@dataclass(frozen=True)
class Tier:
    id: str
    label: str
    min_ram_gb: float
    min_vram_gb: float | None


@dataclass(frozen=True)
class ChatModel:
    id: str
    name: str
    repo: str
    file: str  # first part for a split GGUF; `hearth models pull REPO QUANT` takes all parts
    quant: str
    approx_size_gb: float
    parameters: str
    tier: str
    languages: tuple[str, ...]
    license: str
    gated: bool
    description: str


@dataclass(frozen=True)
class VisionModel(ChatModel):
    """A chat model that reads images: its GGUF and the projector (``mmproj``) beside it in
    the same repo. ``hearth models pull ID`` fetches both (the projector as
    :meth:`~app.catalog.hub.RepoFiles.projector_for` picks it from the repo's listing);
    ``approx_size_gb`` counts both."""

    mmproj: str = ""  # the projector file expected in the repo


@dataclass(frozen=True)
class WhisperModel:
    id: str
    repo: str
    approx_size_mb: float
    languages: tuple[str, ...]
    license: str
    # Seconds of CPU compute per second of speech (int8, 2 threads; measured by
    # tests/bench/bench_whisper_sizes.py): a 4 s question's draft (short window, greedy),
    # its final transcript (Whisper's full 30 s window, beam 5: what Hearth answers),
    # and a full 30 s window of speech.
    cpu_rtf_question: float | None = None
    cpu_rtf_final: float | None = None
    cpu_rtf_window: float | None = None


@dataclass(frozen=True)
class PiperVoice:
    id: str
    language: str  # a locale, e.g. zh_CN
    repo: str
    onnx: str  # repo path of the model
    config: str  # repo path of its .onnx.json
    quality: str
    approx_size_mb: float


@dataclass(frozen=True)
class EmbeddingModel:
    """A GGUF embedding model for documents (run by ``app.docs.llama_embedder``)."""

    id: str
    name: str
    repo: str
    file: str
    quant: str
    approx_size_mb: float
    dimensions: int
    max_tokens: int
    languages: tuple[str, ...]
    license: str
    query_prefix: str  # what the model card puts before a question
    document_prefix: str  # ... and before a passage
    description: str

    def matches(self, file_name: str) -> bool:
        """Whether a GGUF file (from any repo, any quantisation) is this model."""
        return file_name.lower().startswith(self.id.lower())


@dataclass(frozen=True)
class Catalog:
    tiers: tuple[Tier, ...]
    chat: tuple[ChatModel, ...]
    whisper: tuple[WhisperModel, ...]
    voices: tuple[PiperVoice, ...]
    embedding: tuple[EmbeddingModel, ...] = ()
    vision: tuple[VisionModel, ...] = ()

    def tier(self, tier_id: str) -> Tier:
        return next(t for t in self.tiers if t.id == tier_id)

    def embedding_for_file(self, file_name: str) -> EmbeddingModel | None:
        """The catalog's embedding model a GGUF file is a build of (longest id first, so
        ``multilingual-e5-large`` wins over a shorter id it starts with)."""
        found = [e for e in self.embedding if e.matches(file_name)]
        return max(found, key=lambda e: len(e.id)) if found else None

    def whisper_model(self, model_id: str) -> WhisperModel | None:
        return next((w for w in self.whisper if w.id == model_id), None)


@dataclass(frozen=True)
class MachinePicks:
    """What the catalog suggests for one machine."""

    tier: Tier
    chat: tuple[ChatModel, ...]  # this tier's models first, then the lighter tiers'
    whisper: WhisperModel  # see app.catalog.whisper_pick
    whisper_reason: str
    voices: tuple[PiperVoice, ...]
    vision: tuple[VisionModel, ...] = ()  # like ``chat``: this tier's first


def catalog_path() -> Path:
    """The catalog file to read: ``HEARTH_CATALOG``, the checkout's, or the packaged copy."""
    override = os.environ.get("HEARTH_CATALOG")
    if override:
        return Path(override).expanduser()
    return CANONICAL_PATH if CANONICAL_PATH.is_file() else PACKAGED_PATH


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate the catalog; ConfigError names the first bad entry and field."""
    file = path or catalog_path()
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            translate(
                "Errors",
                "The model catalog {file} cannot be read ({error}); reinstall Hearth.",
            ).format(file=file, error=exc.strerror)
        ) from exc
    except ValueError as exc:
        raise ConfigError(
            translate(
                "Errors",
                "The model catalog {file} is not valid JSON ({error}).",
            ).format(file=file, error=exc)
        ) from exc
    return parse_catalog(raw, source=str(file))


def parse_catalog(raw: Any, *, source: str = "catalog") -> Catalog:
    """Validate catalog data (as loaded from JSON) and build the typed catalog."""
    check = _Checker(source)
    check.that(isinstance(raw, dict), "the top level", "must be an object")
    check.that(raw.get("version") == CATALOG_VERSION, "version", f"must be {CATALOG_VERSION}")
    tiers = tuple(
        Tier(
            id=check.text(t, "id", where),
            label=check.text(t, "label", where),
            min_ram_gb=check.number(t, "min_ram_gb", where),
            min_vram_gb=check.number(t, "min_vram_gb", where, optional=True),
        )
        for t, where in check.items(raw, "tiers")
    )
    tier_ids = check.unique([t.id for t in tiers], "tiers")
    chat = tuple(_chat(check, item, where, tier_ids) for item, where in check.items(raw, "chat"))
    check.unique([c.id for c in chat], "chat")
    whisper = tuple(
        WhisperModel(
            id=check.text(w, "id", where),
            repo=check.repo(w, "repo", where),
            approx_size_mb=check.number(w, "approx_size_mb", where, positive=True),
            languages=check.languages(w, where),
            license=check.text(w, "license", where),
            cpu_rtf_question=check.number(w, "cpu_rtf_question", where, optional=True),
            cpu_rtf_final=check.number(w, "cpu_rtf_final", where, optional=True),
            cpu_rtf_window=check.number(w, "cpu_rtf_window", where, optional=True),
        )
        for w, where in check.items(raw, "whisper")
    )
    check.unique([w.id for w in whisper], "whisper")
    voices = tuple(_voice(check, item, where) for item, where in check.items(raw, "voices"))
    check.unique([v.id for v in voices], "voices")
    embedding: tuple[EmbeddingModel, ...] = ()
    if "embedding" in raw:  # optional: a catalog for trying out chat models may leave it out
        embedding = tuple(
            _embedding(check, item, where) for item, where in check.items(raw, "embedding")
        )
        check.unique([e.id for e in embedding], "embedding")
    vision: tuple[VisionModel, ...] = ()
    if "vision" in raw:
        vision = tuple(
            _vision(check, item, where, tier_ids) for item, where in check.items(raw, "vision")
        )
        check.unique([v.id for v in vision] + [c.id for c in chat], "vision")
    return Catalog(
        tiers=tiers, chat=chat, whisper=whisper, voices=voices, embedding=embedding, vision=vision
    )


def _chat(check: _Checker, item: dict[str, Any], where: str, tier_ids: set[str]) -> ChatModel:
    model = ChatModel(
        id=check.text(item, "id", where),
        name=check.text(item, "name", where),
        repo=check.repo(item, "repo", where),
        file=check.text(item, "file", where),
        quant=check.text(item, "quant", where),
        approx_size_gb=check.number(item, "approx_size_gb", where, positive=True),
        parameters=check.text(item, "parameters", where),
        tier=check.text(item, "tier", where),
        languages=check.languages(item, where),
        license=check.text(item, "license", where),
        gated=check.flag(item, "gated", where),
        description=check.text(item, "description", where),
    )
    _check_gguf_file(check, model.file, model.quant, where)
    check.that(model.tier in tier_ids, f"{where}.tier", f"names no tier ({model.tier!r})")
    return model


def _vision(check: _Checker, item: dict[str, Any], where: str, tier_ids: set[str]) -> VisionModel:
    from app.catalog.hub import is_projector

    chat = _chat(check, item, where, tier_ids)
    model = VisionModel(**asdict(chat), mmproj=check.text(item, "mmproj", where))
    check.that(not is_projector(model.file), f"{where}.file", "must be the model, not a projector")
    check.that(
        model.mmproj.lower().endswith(".gguf") and is_projector(model.mmproj),
        f"{where}.mmproj",
        "must be an mmproj-*.gguf file",
    )
    return model


def _check_gguf_file(check: _Checker, file: str, quant: str, where: str) -> None:
    """A catalog entry's file is a GGUF whose name carries its quantisation."""
    from app.catalog.hub import parse_quant

    check.that(file.lower().endswith(".gguf"), f"{where}.file", "must be a .gguf file")
    check.that(
        parse_quant(file) == quant.upper(),
        f"{where}.quant",
        f"does not match the file name ({file})",
    )


def _embedding(check: _Checker, item: dict[str, Any], where: str) -> EmbeddingModel:
    model = EmbeddingModel(
        id=check.text(item, "id", where),
        name=check.text(item, "name", where),
        repo=check.repo(item, "repo", where),
        file=check.text(item, "file", where),
        quant=check.text(item, "quant", where),
        approx_size_mb=check.number(item, "approx_size_mb", where, positive=True),
        dimensions=int(check.number(item, "dimensions", where, positive=True)),
        max_tokens=int(check.number(item, "max_tokens", where, positive=True)),
        languages=check.languages(item, where),
        license=check.text(item, "license", where),
        query_prefix=check.prefix(item, "query_prefix", where),
        document_prefix=check.prefix(item, "document_prefix", where),
        description=check.text(item, "description", where),
    )
    _check_gguf_file(check, model.file, model.quant, where)
    check.that(model.matches(model.file), f"{where}.file", f"must start with its id ({model.id})")
    return model


def _voice(check: _Checker, item: dict[str, Any], where: str) -> PiperVoice:
    voice = PiperVoice(
        id=check.text(item, "id", where),
        language=check.text(item, "language", where),
        repo=check.repo(item, "repo", where),
        onnx=check.text(item, "onnx", where),
        config=check.text(item, "config", where),
        quality=check.text(item, "quality", where),
        approx_size_mb=check.number(item, "approx_size_mb", where, positive=True),
    )
    check.that(
        bool(_LOCALE_RE.match(voice.language)),
        f"{where}.language",
        "must be a locale such as zh_CN",
    )
    check.that(
        PurePosixPath(voice.onnx).name == f"{voice.id}.onnx",
        f"{where}.onnx",
        f"must be a path ending in {voice.id}.onnx",
    )
    check.that(
        voice.config == f"{voice.onnx}.json", f"{where}.config", "must be the .onnx path plus .json"
    )
    check.that(
        voice.id.startswith(f"{voice.language}-"), f"{where}.id", "must start with its language"
    )
    return voice


class _Checker:
    """Field checks that raise one ConfigError naming the entry and field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def that(self, ok: bool, where: str, problem: str) -> None:
        if not ok:
            raise ConfigError(
                translate(
                    "Errors",
                    "The model catalog {source} is invalid: {where} {problem}.",
                ).format(source=self.source, where=where, problem=problem)
            )

    def items(self, raw: dict[str, Any], key: str) -> list[tuple[dict[str, Any], str]]:
        values = raw.get(key)
        self.that(isinstance(values, list) and bool(values), key, "must be a non-empty list")
        result = []
        for index, item in enumerate(values if isinstance(values, list) else []):
            where = f"{key}[{index}]"
            self.that(isinstance(item, dict), where, "must be an object")
            if isinstance(item.get("id"), str):
                where = f"{key}[{item['id']}]"
            result.append((item, where))
        return result

    def text(self, item: dict[str, Any], key: str, where: str) -> str:
        value = item.get(key)
        self.that(
            isinstance(value, str) and bool(value.strip()),
            f"{where}.{key}",
            "must be a non-empty string",
        )
        return str(value)

    def repo(self, item: dict[str, Any], key: str, where: str) -> str:
        value = self.text(item, key, where)
        self.that(bool(_REPO_RE.match(value)), f"{where}.{key}", "must look like owner/name")
        return value

    def number(
        self,
        item: dict[str, Any],
        key: str,
        where: str,
        *,
        optional: bool = False,
        positive: bool = False,
    ) -> Any:
        value = item.get(key, ...)
        if optional and value is None:
            return None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        self.that(
            ok and (not positive or value > 0),
            f"{where}.{key}",
            "must be a positive number" if positive else "must be a number ≥ 0",
        )
        return float(value)

    def prefix(self, item: dict[str, Any], key: str, where: str) -> str:
        value = item.get(key)
        self.that(isinstance(value, str), f"{where}.{key}", "must be a string (may be empty)")
        return str(value)

    def flag(self, item: dict[str, Any], key: str, where: str) -> bool:
        value = item.get(key)
        self.that(isinstance(value, bool), f"{where}.{key}", "must be true or false")
        return bool(value)

    def languages(self, item: dict[str, Any], where: str) -> tuple[str, ...]:
        value = item.get("languages")
        self.that(
            isinstance(value, list)
            and bool(value)
            and all(isinstance(v, str) and v in _LANGUAGES for v in value),
            f"{where}.languages",
            f"must be a non-empty list of {sorted(_LANGUAGES)}",
        )
        return tuple(str(v) for v in value or ())

    def unique(self, ids: list[str], key: str) -> set[str]:
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        self.that(not duplicates, key, f"has duplicate ids {duplicates}")
        return set(ids)


# -- recommendations ---------------------------------------------------------------------------


def machine_tier(hardware: HardwareInfo, catalog: Catalog) -> Tier:
    """The highest tier this machine reaches by total RAM or by its GPU's memory."""
    ram_gb = hardware.total_ram_bytes / GIB
    vram_gb = max((g.total_bytes for g in hardware.gpus), default=0) / GIB
    reached = [
        t
        for t in catalog.tiers
        if ram_gb >= t.min_ram_gb or (t.min_vram_gb is not None and vram_gb >= t.min_vram_gb)
    ]
    return max(reached, key=lambda t: t.min_ram_gb) if reached else catalog.tiers[0]


def for_machine(
    hardware: HardwareInfo,
    catalog: Catalog | None = None,
    *,
    language: str | None = None,
    english_only: bool = False,
) -> MachinePicks:
    """Catalog entries for this machine, best first.

    Chat models of the machine's tier come first, then those of lighter tiers (heaviest
    first); within a tier, models speaking ``language`` (``zh``, ``en``, or a locale such
    as ``zh_CN``) come first. Voices are those of ``language`` when given, else all. The
    Whisper model is :func:`app.catalog.whisper_pick.pick_whisper`'s (``english_only``:
    its ``.en`` variant).
    """
    from app.catalog.whisper_pick import pick_whisper

    catalog = catalog or load_catalog()
    tier = machine_tier(hardware, catalog)
    order = {t.id: i for i, t in enumerate(sorted(catalog.tiers, key=lambda t: t.min_ram_gb))}
    lang = language.split("_")[0].lower() if language else None
    allowed = [c for c in catalog.chat if order[c.tier] <= order[tier.id]]
    chat = sorted(
        allowed,
        key=lambda c: (
            -order[c.tier],
            lang is not None and lang not in c.languages,
            -c.approx_size_gb,
        ),
    )
    vision = sorted(
        (v for v in catalog.vision if order[v.tier] <= order[tier.id]),
        key=lambda v: (
            -order[v.tier],
            lang is not None and lang not in v.languages,
            -v.approx_size_gb,
        ),
    )
    whisper = pick_whisper(hardware, catalog, english_only=english_only)
    voices = tuple(
        v for v in catalog.voices if lang is None or v.language.split("_")[0].lower() == lang
    )
    return MachinePicks(
        tier=tier,
        chat=tuple(chat),
        whisper=whisper.model,
        whisper_reason=whisper.reason,
        voices=voices,
        vision=tuple(vision),
    )
