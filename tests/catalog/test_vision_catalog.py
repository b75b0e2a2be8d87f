"""The catalog's vision models: by tier, each with its projector, validated, pulled by id."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.catalog.catalog import CANONICAL_PATH, for_machine, load_catalog, parse_catalog
from app.catalog.hub import RemoteFile, RepoFiles, group_files, is_projector
from app.cli.models import _alias
from app.core.errors import ConfigError
from app.engine.hardware import GIB, HardwareInfo


def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CANONICAL_PATH.read_text(encoding="utf-8"))
    return data


def test_the_vision_models_that_matter_are_there_by_tier() -> None:
    catalog = load_catalog(CANONICAL_PATH)
    by_repo = {v.repo: v for v in catalog.vision}
    assert set(by_repo) >= {
        "ggml-org/SmolVLM2-256M-Video-Instruct-GGUF",
        "ggml-org/SmolVLM2-500M-Video-Instruct-GGUF",
        "ggml-org/SmolVLM2-2.2B-Instruct-GGUF",
        "ggml-org/Qwen2.5-VL-3B-Instruct-GGUF",
        "ggml-org/Qwen2.5-VL-7B-Instruct-GGUF",
        "ggml-org/gemma-3-4b-it-GGUF",
        "ggml-org/gemma-3-12b-it-GGUF",
        "openbmb/MiniCPM-V-2_6-gguf",
    }
    assert {v.tier for v in catalog.vision} == {t.id for t in catalog.tiers}
    for model in catalog.vision:
        assert is_projector(model.mmproj) and not is_projector(model.file), model.id
        assert model.id not in {c.id for c in catalog.chat}, model.id
    assert "fetched" in raw()["vision_notes"]  # says the names were not checked on the Hub


def test_each_entry_gets_its_own_projector_from_a_listing_like_the_repo() -> None:
    """With the repo's files as named (and an F16 projector beside a Q8_0 one, as ggml-org
    publishes both), the pull takes the model and the catalog's mmproj."""
    for model in load_catalog(CANONICAL_PATH).vision:
        names = [model.file, model.mmproj]
        if "Q8_0" in model.mmproj:
            names += [model.mmproj.replace("Q8_0", "f16"), model.mmproj.replace("Q8_0", "BF16")]
        files = [RemoteFile(name, 1000, f"{i:064x}", None) for i, name in enumerate(names)]
        variants, others = group_files(files)
        repo = RepoFiles(model.repo, "c" * 40, False, None, None, variants, others)
        variant = repo.variant(model.quant)
        assert variant is not None and variant.name == model.file, model.id
        projector = repo.projector_for(variant)
        assert projector is not None and projector.name == model.mmproj, model.id


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mmproj", "model-f16.gguf", "mmproj-\\*.gguf"),
        ("file", "mmproj-model-Q8_0.gguf", "not a projector"),
        ("quant", "Q4_K_M", "does not match"),
        ("tier", "phone", "names no tier"),
    ],
)
def test_bad_vision_entries_are_refused_by_name(field: str, value: str, message: str) -> None:
    data = copy.deepcopy(raw())
    data["vision"][0][field] = value
    with pytest.raises(ConfigError, match=message):
        parse_catalog(data)


def test_for_machine_offers_the_tiers_vision_models_first() -> None:
    laptop = HardwareInfo(4, 8, 8 * GIB, 5 * GIB, ())
    picks = for_machine(laptop)
    tiers = [v.tier for v in picks.vision]
    assert tiers and set(tiers) <= {"tiny", "laptop"} and tiers[0] == "laptop"
    tiny = for_machine(HardwareInfo(2, 2, 2 * GIB, 1 * GIB, ()))
    assert {v.tier for v in tiny.vision} == {"tiny"}


def test_pull_by_catalog_id_names_the_repo_and_model_file() -> None:
    model = load_catalog().vision[0]
    assert _alias(model.id, None) == (model.repo, model.file)


def test_models_catalog_lists_vision_models(hearth_home: Path) -> None:
    del hearth_home  # only for its HEARTH_HOME
    result = subprocess.run(
        [sys.executable, "-m", "app", "models", "catalog", "--all", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    listed = json.loads(result.stdout)["vision"]
    assert [v["id"] for v in listed] == [v.id for v in load_catalog().vision]
    assert all(v["mmproj"].startswith("mmproj") for v in listed)
    text = subprocess.run(
        [sys.executable, "-m", "app", "models", "catalog", "--all"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "Vision models (each downloads with its projector): smolvlm2-256m" in text
