"""The API's resolved chat models: kept while the library file, the model file and its
projector are unchanged, resolved again as soon as one of them changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.catalog.library import CHAT, ModelEntry
from app.core.errors import ModelNotFoundError
from app.server.resolved_models import ResolvedModels


class Counting:
    """A resolver that counts its calls and knows one model."""

    def __init__(self, entry: ModelEntry) -> None:
        self.entry = entry
        self.calls = 0

    def __call__(self, name: str | None) -> ModelEntry:
        self.calls += 1
        if name not in (None, self.entry.name):
            raise ModelNotFoundError(f"No chat model named {name!r}.")
        return self.entry


Setup = tuple[ResolvedModels, Counting, Path, Path, list[float]]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    library = tmp_path / "library.json"
    library.write_text("{}")
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF" + bytes(60))
    resolver = Counting(ModelEntry(name="tiny", path=str(model), kind=CHAT))
    now = [100.0]
    resolved = ResolvedModels(resolver, library, max_age_s=5.0, clock=lambda: now[0])
    return resolved, resolver, library, model, now


def test_a_name_asked_again_is_answered_without_resolving(setup: Setup) -> None:
    resolved, resolver, *_ = setup
    assert resolved.cached("tiny") is None
    entry = resolved.resolve("tiny")
    assert resolved.cached("tiny") is entry
    assert resolved.cached(None) is None  # each name is kept apart
    assert resolver.calls == 1


def test_a_changed_library_file_resolves_again(setup: Setup) -> None:
    resolved, _, library, *_ = setup
    resolved.resolve("tiny")
    # Written as Hearth writes it: a new file renamed over the old one.
    replacement = library.with_suffix(".new")
    replacement.write_text('{"models": []}')
    os.replace(replacement, library)
    assert resolved.cached("tiny") is None


def test_a_changed_or_removed_model_file_resolves_again(setup: Setup) -> None:
    resolved, _, _, model, _ = setup
    resolved.resolve("tiny")
    with model.open("ab") as file:
        file.write(b"more")
    assert resolved.cached("tiny") is None
    resolved.resolve("tiny")
    model.unlink()
    assert resolved.cached("tiny") is None


def test_an_old_answer_is_resolved_again(setup: Setup) -> None:
    resolved, _, _, _, now = setup
    resolved.resolve("tiny")
    now[0] += 4.0
    assert resolved.cached("tiny") is not None
    now[0] += 2.0
    assert resolved.cached("tiny") is None


def test_an_unknown_name_is_never_kept(setup: Setup) -> None:
    resolved, resolver, *_ = setup
    for _ in range(2):
        with pytest.raises(ModelNotFoundError):
            resolved.resolve("missing")
        assert resolved.cached("missing") is None
    assert resolver.calls == 2
