"""A vision model from the (local) Hub: the quant list offers each model with its
projector, the fit counts both, a pull fetches and verifies both (resuming a dropped
projector download) and the library pairs them."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.catalog.fit import assess_repo
from app.catalog.hub import HubClient
from app.core.gguf_meta import read_gguf
from app.engine.hardware import GIB, HardwareInfo
from app.engine.planner import plan_offload
from tests.catalog.models_cli import hub_environment, run_models
from tests.fixtures.vision_gguf import VisionPair
from tests.hubserver import Fault, HubServer

REPO = "hearth-test/TinyVision-GGUF"
Q8, F16 = "tiny-vision-Q8_0.gguf", "tiny-vision-F16.gguf"
MMPROJ_Q8, MMPROJ_F16 = "mmproj-tiny-vision-Q8_0.gguf", "mmproj-tiny-vision-F16.gguf"


@pytest.fixture
def vision_hub(vision_pair: VisionPair, tmp_path: Path) -> Iterator[HubServer]:
    server = HubServer()
    server.add_repo(
        REPO,
        {
            Q8: vision_pair.model,
            F16: vision_pair.model,
            MMPROJ_Q8: vision_pair.mmproj,
            MMPROJ_F16: vision_pair.mmproj,
            "README.md": b"---\nlicense: apache-2.0\n---\n# Tiny vision\n",
        },
        workdir=tmp_path / "hub-work",
        tags=["gguf", "image-text-to-text"],
    )
    with server:
        yield server


@pytest.fixture
def env(vision_hub: HubServer, hearth_home: Path, tmp_path: Path) -> dict[str, str]:
    return hub_environment(vision_hub.endpoint, hearth_home, tmp_path)


def hearth(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_models(env, *args)


def ok_json(env: dict[str, str], *args: str) -> Any:
    result = hearth(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_quant_list_offers_each_model_with_its_projector(vision_hub: HubServer) -> None:
    repo = HubClient(endpoint=vision_hub.endpoint, token=False, offline=False).list_files(REPO)
    pairs = {v.name: p.name if (p := repo.projector_for(v)) else None for v in repo.models}
    # The closest bits, as llama-server -hf picks: Q8_0 with Q8_0, F16 with F16.
    assert pairs == {Q8: MMPROJ_Q8, F16: MMPROJ_F16}
    assert {p.name for p in repo.projectors} == {MMPROJ_Q8, MMPROJ_F16}


def test_the_fit_counts_the_projector(
    vision_hub: HubServer, vision_pair: VisionPair, tmp_path: Path
) -> None:
    client = HubClient(endpoint=vision_hub.endpoint, token=False, offline=False)
    repo = client.list_files(REPO)
    hardware = HardwareInfo(8, 16, 32 * GIB, 16 * GIB, (), "Linux", "x86_64")
    fit = assess_repo(
        client,
        repo,
        hardware,
        gpu_offload_supported=True,
        cache_dir=tmp_path / "headers",
        mode="exact",
    )
    q8 = fit.get(Q8)
    assert q8 is not None and q8.exact
    assert q8.projector == MMPROJ_Q8
    assert q8.projector_bytes == vision_pair.mmproj.stat().st_size
    assert q8.download_bytes == q8.size_bytes + q8.projector_bytes
    # The verdict's RAM is the planner's for the model and its projector, from the headers.
    model, projector = read_gguf(vision_pair.model), read_gguf(vision_pair.mmproj)
    both = plan_offload(
        model, hardware, n_ctx=q8.n_ctx, gpu_offload_supported=True, projector=projector
    )
    alone = plan_offload(model, hardware, n_ctx=q8.n_ctx, gpu_offload_supported=True)
    assert q8.cpu_bytes == both.cpu_bytes > alone.cpu_bytes


def test_files_lists_the_pair(env: dict[str, str]) -> None:
    payload = ok_json(env, "files", REPO)
    by_name = {v["name"]: v for v in payload["variants"]}
    assert by_name[Q8]["mmproj"] == MMPROJ_Q8 and by_name[Q8]["fit"]["projector"] == MMPROJ_Q8
    assert by_name[MMPROJ_F16]["projector"] is True and by_name[MMPROJ_F16]["mmproj"] is None
    text = hearth(env, "files", REPO).stdout
    assert f"{Q8} + {MMPROJ_Q8}" in text


def test_pull_fetches_verifies_and_pairs_both_resuming_a_dropped_projector(
    env: dict[str, str], vision_hub: HubServer, vision_pair: VisionPair, hearth_home: Path
) -> None:
    size = vision_pair.mmproj.stat().st_size
    # The projector's header is read (and cached) for the fit first; then its download drops.
    assert hearth(env, "files", REPO).returncode == 0
    vision_hub.reset_counters()
    vision_hub.add_fault(REPO, MMPROJ_Q8, Fault("drop", after=size // 2))
    result = hearth(env, "pull", REPO, "Q8_0")
    assert result.returncode == 0, result.stderr
    assert f"With its vision projector {MMPROJ_Q8}" in result.stderr
    assert "reads images with" in result.stdout

    folder = hearth_home / "data" / "models" / "hearth-test" / "TinyVision-GGUF"
    assert sha256(folder / Q8) == sha256(vision_pair.model)
    assert sha256(folder / MMPROJ_Q8) == sha256(vision_pair.mmproj)
    # The dropped projector download went on from the byte where it stopped.
    ranges = [r.range for r in vision_hub.gets_of(REPO, MMPROJ_Q8)]
    assert ranges == [None, f"bytes={size // 2}-"]
    assert sorted(p.name for p in folder.iterdir()) == [MMPROJ_Q8, Q8]  # no .part left

    listed = {Path(e["path"]).name: e for e in ok_json(env, "ls")}
    assert listed[Q8]["vision"] is True and listed[Q8]["mmproj"] == str(folder / MMPROJ_Q8)
    assert listed[MMPROJ_Q8]["kind"] == "projector"
    library = json.loads((hearth_home / "data" / "library.json").read_text())
    assert list(library["pairs"].values()) == [str(folder / MMPROJ_Q8)]

    # Removing the model removes its projector: no other model uses it.
    removed = hearth(env, "rm", str(folder / Q8), "--yes")
    assert removed.returncode == 0, removed.stderr
    assert not folder.exists()
