"""LoRA adapters in the library: their own kind, paired with the models they fit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.catalog.library import CHAT, LORA, Library
from app.core.errors import InvalidModelError
from tests.fixtures.lora_gguf import write_corrupt_lora, write_foreign_lora, write_tiny_lora
from tests.fixtures.models import write_tiny_gguf


def fill(models: Path, smol_model: Path) -> dict[str, Path]:
    """The starter model, another llama model, and three adapters in ``models``."""
    models.mkdir(parents=True, exist_ok=True)
    starter = models / smol_model.name
    shutil.copy2(smol_model, starter)
    one = write_tiny_lora(models / "one-lora.gguf")
    return {
        "starter": starter,
        "other": write_tiny_gguf(models / "other-llama.gguf"),
        "one": one,
        "foreign": write_foreign_lora(models / "foreign-lora.gguf"),
        "corrupt": write_corrupt_lora(one, models / "corrupt-lora.gguf"),
    }


def test_adapters_are_their_own_kind_paired_with_the_models_they_fit(
    tmp_path: Path, smol_model: Path
) -> None:
    files = fill(tmp_path / "models", smol_model)
    library = Library(tmp_path / "library.json", [tmp_path / "models"], external_roots=[])
    by_file = {Path(e.path).name: e for e in library.entries()}
    starter = by_file[files["starter"].name]
    assert starter.kind == CHAT
    one = by_file["one-lora.gguf"]
    assert one.kind == LORA and one.architecture == "llama" and one.error is None
    assert one.lora_bases == [starter.name]  # not the other llama model: its shapes differ
    assert by_file["foreign-lora.gguf"].kind == LORA
    assert by_file["foreign-lora.gguf"].lora_bases == []
    corrupt = by_file["corrupt-lora.gguf"]
    assert corrupt.error is not None and "truncated" in corrupt.error
    assert corrupt.lora_bases == []
    assert corrupt.kind == LORA
    assert {Path(e.path).name for e in library.entries(LORA)} == {
        "one-lora.gguf",
        "foreign-lora.gguf",
        "corrupt-lora.gguf",
    }
    assert all(e.kind == CHAT for e in library.entries(CHAT))
    with pytest.raises(InvalidModelError, match="is a LoRA adapter, not a model"):
        library.resolve(str(files["one"]))


def test_models_ls_json_lists_adapters_with_their_base(hearth_home: Path, smol_model: Path) -> None:
    files = fill(hearth_home / "data" / "models", smol_model)
    result = subprocess.run(
        [sys.executable, "-m", "app", "models", "ls", "--json", "--kind", "lora"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    listed = {Path(e["path"]).name: e for e in json.loads(result.stdout)}
    assert set(listed) == {"one-lora.gguf", "foreign-lora.gguf", "corrupt-lora.gguf"}
    assert listed["one-lora.gguf"]["kind"] == "lora"
    # The copy in the models folder (and the starter model as installed, where listed).
    bases = listed["one-lora.gguf"]["lora_bases"]
    assert files["starter"].stem in bases and files["other"].stem not in bases
    assert listed["foreign-lora.gguf"]["lora_bases"] == []
    text = subprocess.run(
        [sys.executable, "-m", "app", "models", "ls"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    line = next(row for row in text.splitlines() if "one-lora.gguf" in row)
    assert "adapter for: " in line and files["starter"].stem in line
