"""The Whisper model for a machine: picked by hardware tier, with its measured cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.catalog.catalog import for_machine, load_catalog
from app.catalog.whisper_pick import (
    catalog_entry_for,
    cost_text,
    pick_whisper,
    question_seconds,
)
from app.engine.hardware import GIB, GPUInfo, HardwareInfo, probe_hardware

CATALOG = load_catalog()


def machine(
    cores: int, ram_gb: float, *, nvidia_gb: float | None = None, apple: bool = False
) -> HardwareInfo:
    gpus: tuple[GPUInfo, ...] = ()
    if nvidia_gb is not None:
        gpus = (GPUInfo(0, "RTX", "nvidia", int(nvidia_gb * GIB), int(nvidia_gb * GIB)),)
    if apple:
        ram = int(ram_gb * GIB * 2 / 3)
        gpus = (GPUInfo(0, "Apple M2 GPU", "apple", ram, ram, unified_memory=True),)
    return HardwareInfo(cores, cores * 2, int(ram_gb * GIB), int(ram_gb * GIB * 0.6), gpus=gpus)


@pytest.mark.parametrize(
    ("hardware", "expected", "device"),
    [
        (machine(4, 16, nvidia_gb=8), "large-v3-turbo", "cuda"),  # laptop with a GPU
        (machine(8, 64, nvidia_gb=24), "large-v3-turbo", "cuda"),
        (machine(2, 8, nvidia_gb=2), "base", "cpu"),  # a 2 GB GPU: not enough room
        (machine(8, 16), "small", "cpu"),  # fast CPU, many cores
        (machine(6, 8), "small", "cpu"),
        (machine(10, 16, apple=True), "small", "cpu"),  # CTranslate2 has no Metal
        (machine(4, 8), "base", "cpu"),
        (machine(2, 4), "base", "cpu"),  # what Hearth was tuned on
        (machine(1, 4), "tiny", "cpu"),  # very weak
        (machine(4, 2), "tiny", "cpu"),
        (machine(16, 2), "tiny", "cpu"),
    ],
)
def test_pick_by_hardware_tier(hardware: HardwareInfo, expected: str, device: str) -> None:
    pick = pick_whisper(hardware, CATALOG)
    assert pick.model.id == expected and pick.device == device
    assert pick.reason.startswith(f"Whisper {expected}: ")
    assert "en" not in pick.model.id.split(".")[1:]  # not an English-only model unasked


@pytest.mark.parametrize(
    ("hardware", "expected"),
    [
        (machine(8, 16), "small.en"),
        (machine(2, 4), "base.en"),
        (machine(1, 2), "tiny.en"),
        (machine(8, 32, nvidia_gb=12), "large-v3-turbo"),  # no .en variant of turbo
    ],
)
def test_english_only_takes_the_en_variant_where_one_exists(
    hardware: HardwareInfo, expected: str
) -> None:
    pick = pick_whisper(hardware, CATALOG, english_only=True)
    assert pick.model.id == expected
    if expected.endswith(".en"):
        assert pick.model.languages == ("en",)


def test_bigger_models_cost_more_and_costs_are_quoted() -> None:
    catalog = load_catalog()
    rtf = {w.id: w.cpu_rtf_window for w in catalog.whisper}
    assert all(v is not None for v in rtf.values())
    ladder = ["tiny", "base", "small", "medium", "large-v3"]
    costs = [rtf[i] or 0.0 for i in ladder]
    assert costs == sorted(costs), f"measured costs should grow with size: {costs}"
    # A CPU pick says what it costs; more cores, less time.
    pick = pick_whisper(machine(8, 16), CATALOG)
    assert "s of compute for a 4 s question" in pick.reason
    eight, two = question_seconds(pick.model, 8), question_seconds(pick.model, 2)
    assert eight is not None and two is not None and eight < two
    assert "s per second of a question" in cost_text(pick.model)


def test_for_machine_and_the_pick_agree() -> None:
    for hardware in (machine(2, 4), machine(8, 16), machine(4, 16, nvidia_gb=8)):
        picks = for_machine(hardware)
        assert picks.whisper == pick_whisper(hardware, CATALOG).model
    assert for_machine(machine(8, 16), english_only=True).whisper.id == "small.en"


def test_installed_models_are_matched_to_the_catalog() -> None:
    small = catalog_entry_for("/home/u/models/whisper/faster-whisper-small", CATALOG)
    assert small is not None and small.id == "small"
    starter = catalog_entry_for("whisper-base", CATALOG)  # the starter set's library name
    assert starter is not None and starter.id == "base"
    turbo = catalog_entry_for("faster-whisper-large-v3-turbo", CATALOG)
    assert turbo is not None and turbo.repo == "mobiuslabsgmbh/faster-whisper-large-v3-turbo"
    assert catalog_entry_for("my-own-finetune", CATALOG) is None


def test_hearth_models_catalog_names_the_pick(tmp_path: Path) -> None:
    env = {**os.environ, "HEARTH_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "app", "models", "catalog", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    pick = pick_whisper(probe_hardware(), CATALOG)
    assert shown["whisper"]["id"] == pick.model.id
    assert shown["whisper"]["cpu_rtf_question"] == pick.model.cpu_rtf_question
    assert shown["whisper_reason"] == pick.reason
    assert {w["id"] for w in shown["whisper_all"]} >= {"large-v3-turbo", "distil-small.en"}
