"""The curated catalog: it validates, covers what a first run needs, and ships in the wheel."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from app.catalog.catalog import (
    CANONICAL_PATH,
    PACKAGED_PATH,
    catalog_path,
    for_machine,
    load_catalog,
    parse_catalog,
)
from app.core.errors import ConfigError
from app.engine.hardware import GIB, GPUInfo, HardwareInfo

ROOT = Path(__file__).resolve().parents[2]


def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CANONICAL_PATH.read_text(encoding="utf-8"))
    return data


def machine(ram_gb: float, vram_gb: float | None = None) -> HardwareInfo:
    gpus = (
        ()
        if vram_gb is None
        else (GPUInfo(0, "GPU", "nvidia", int(vram_gb * GIB), int(vram_gb * GIB)),)
    )
    return HardwareInfo(4, 8, int(ram_gb * GIB), int(ram_gb * GIB * 0.6), gpus=gpus)


def test_catalog_validates_and_every_entry_has_its_fields() -> None:
    catalog = load_catalog(CANONICAL_PATH)
    assert [t.id for t in catalog.tiers] == ["tiny", "laptop", "desktop", "workstation"]
    for entry in raw()["chat"]:
        assert set(entry) >= {
            "id",
            "name",
            "repo",
            "file",
            "quant",
            "approx_size_gb",
            "tier",
            "languages",
            "license",
            "gated",
            "parameters",
        }, entry["id"]
    for tier in catalog.tiers:
        assert any(c.tier == tier.id for c in catalog.chat), f"tier {tier.id} has no model"
    languages = {lang for c in catalog.chat for lang in c.languages}
    assert {"en", "zh", "multilingual"} <= languages
    assert {c.repo for c in catalog.chat} >= {
        "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        "Qwen/Qwen3-4B-GGUF",
        "bartowski/Llama-3.2-1B-Instruct-GGUF",
    }
    assert {w.id for w in catalog.whisper} >= {
        "tiny",
        "tiny.en",
        "base",
        "base.en",
        "small",
        "small.en",
        "medium",
        "medium.en",
        "large-v3",
        "large-v3-turbo",
        "distil-large-v3",
        "distil-small.en",
        "distil-medium.en",
    }
    # The repos faster-whisper itself downloads for these names (faster_whisper.utils).
    from faster_whisper.utils import _MODELS

    assert all(w.repo == _MODELS[w.id] for w in catalog.whisper)
    assert all(w.cpu_rtf_question and w.cpu_rtf_window for w in catalog.whisper), "measured"
    english = {w.id for w in catalog.whisper if w.languages == ("en",)}
    assert {w.id for w in catalog.whisper if w.id.endswith(".en")} <= english
    assert {v.language for v in catalog.voices} >= {
        "en_US",
        "en_GB",
        "de_DE",
        "fr_FR",
        "es_ES",
        "zh_CN",
    }
    huayan = next(v for v in catalog.voices if v.id == "zh_CN-huayan-medium")
    assert huayan.onnx == "zh/zh_CN/huayan/medium/zh_CN-huayan-medium.onnx"
    assert huayan.config == huayan.onnx + ".json" and huayan.repo == "rhasspy/piper-voices"


def test_packaged_copy_is_identical_and_declared_as_package_data() -> None:
    assert PACKAGED_PATH.read_bytes() == CANONICAL_PATH.read_bytes(), (
        "run: cp models/catalog.json app/catalog/data/catalog.json"
    )
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["app"]
    assert "catalog/data/*.json" in patterns
    assert catalog_path() == CANONICAL_PATH  # a checkout reads the canonical file


def test_catalog_path_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    edited = raw()
    edited["chat"] = edited["chat"][:1]
    custom = tmp_path / "catalog.json"
    custom.write_text(json.dumps(edited), encoding="utf-8")
    monkeypatch.setenv("HEARTH_CATALOG", str(custom))
    assert [c.id for c in load_catalog().chat] == [edited["chat"][0]["id"]]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["chat"][0].pop("license"), r"chat\[qwen2.5-0.5b\].license must be"),
        (lambda d: d["chat"][0].update(tier="huge"), "names no tier"),
        (lambda d: d["chat"][0].update(quant="Q8_0"), "does not match the file name"),
        (lambda d: d["chat"][1].update(id=d["chat"][0]["id"]), "duplicate ids"),
        (lambda d: d["chat"][0].update(repo="no-slash"), "owner/name"),
        (lambda d: d["chat"][0].update(gated="no"), "true or false"),
        (lambda d: d["chat"][0].update(languages=[]), "languages"),
        (lambda d: d["voices"][0].update(config="x.json"), r"config must be the .onnx path"),
        (lambda d: d["whisper"][0].update(cpu_rtf_question=-1), r"whisper\[tiny\].cpu_rtf"),
        (lambda d: d.update(version=2), "version must be 1"),
    ],
)
def test_invalid_catalogs_name_the_entry_and_field(edit: Any, message: str) -> None:
    data = copy.deepcopy(raw())
    edit(data)
    with pytest.raises(ConfigError, match=message):
        parse_catalog(data)


def test_unreadable_catalog_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "catalog.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_catalog(broken)


@pytest.mark.parametrize(
    ("hardware", "tier", "whisper"),
    [
        (machine(4), "tiny", "base"),
        (machine(7.7), "laptop", "base"),
        (machine(15.6), "desktop", "base"),
        (machine(8, vram_gb=8), "desktop", "large-v3-turbo"),
        (machine(16, vram_gb=24), "workstation", "large-v3-turbo"),
        (machine(64), "workstation", "base"),
    ],
)
def test_for_machine_picks_the_tier(hardware: HardwareInfo, tier: str, whisper: str) -> None:
    picks = for_machine(hardware)  # 4 physical cores: base on a CPU (app.catalog.whisper_pick)
    assert picks.tier.id == tier and picks.whisper.id == whisper
    assert picks.whisper_reason.startswith(f"Whisper {whisper}:")
    order = ["tiny", "laptop", "desktop", "workstation"]
    assert picks.chat[0].tier == tier
    assert all(order.index(c.tier) <= order.index(tier) for c in picks.chat)
    ranks = [order.index(c.tier) for c in picks.chat]
    assert ranks == sorted(ranks, reverse=True), "this tier first, then lighter tiers"


def test_for_machine_prefers_the_language() -> None:
    picks = for_machine(machine(7.7), language="zh_CN")
    laptop = [c for c in picks.chat if c.tier == "laptop"]
    speaks = ["zh" in c.languages for c in laptop]
    assert speaks == sorted(speaks, reverse=True) and speaks[0] and not speaks[-1]
    assert {v.language for v in picks.voices} == {"zh_CN"}
    assert len(for_machine(machine(7.7)).voices) == len(load_catalog().voices)
