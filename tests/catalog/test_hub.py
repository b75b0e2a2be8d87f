"""Hub search and file listing: the real huggingface_hub client against the local Hub."""

from __future__ import annotations

import hashlib
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.catalog.downloads import DownloadManager
from app.catalog.hub import (
    HubClient,
    RemoteFile,
    group_files,
    is_projector,
    list_repo_files,
    parse_quant,
    search_models,
)
from app.catalog.pull import enqueue, plan_pull
from app.core.errors import ModelNotFoundError, OfflineError, UnsafeNameError
from tests.catalog.conftest import (
    GATED_REPO,
    PLAIN_REPO,
    SMOL_FILE,
    SMOL_REPO,
    TINY_REPO,
    TINY_SIZE,
)
from tests.hubserver import HubServer


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- search --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("downloads", [SMOL_REPO, TINY_REPO, GATED_REPO]),
        ("likes", [GATED_REPO, TINY_REPO, SMOL_REPO]),
        ("recent", [GATED_REPO, TINY_REPO, SMOL_REPO]),
    ],
)
def test_search_sorts_and_keeps_only_gguf_repos(
    client: HubClient, hub: HubServer, sort: str, expected: list[str]
) -> None:
    results = search_models("", sort=sort, limit=10, client=client)  # type: ignore[arg-type]

    assert [r.repo_id for r in results] == expected  # the transformers repo is filtered out
    query = next(r.query for r in hub.requests if r.path == "/api/models")
    assert query["filter"] == ["gguf"]


def test_search_matches_text_and_reports_counts(client: HubClient) -> None:
    results = client.search("smollm2", limit=5)

    assert len(results) == 1
    found = results[0]
    assert (found.repo_id, found.downloads, found.likes, found.gated) == (SMOL_REPO, 500, 1, False)
    assert found.author == "hearth-test"
    assert found.last_modified is not None and found.last_modified.year == 2023


def test_search_honours_limit_and_can_include_non_gguf(client: HubClient) -> None:
    assert len(client.search("", limit=2)) == 2
    everything = client.search("", sort="downloads", limit=10, gguf_only=False)
    assert everything[0].repo_id == PLAIN_REPO


def test_search_rejects_an_unknown_sort(client: HubClient) -> None:
    with pytest.raises(ValueError, match="sort must be one of"):
        client.search("x", sort="size")  # type: ignore[arg-type]


# -- files ---------------------------------------------------------------------------------


def test_list_files_groups_quants_splits_and_projectors(
    client: HubClient, hub: HubServer, repo_files: dict[str, Path]
) -> None:
    listing = list_repo_files(TINY_REPO, client=client)

    assert listing.revision == hub.repos[TINY_REPO].sha
    assert listing.license == "apache-2.0"
    assert listing.gated is False
    assert listing.card_text is not None and "A test model card." in listing.card_text

    by_name = {v.name: v for v in listing.variants}
    assert set(by_name) == {
        "tiny-Q4_K_M.gguf",
        "tiny-Q8_0.gguf",
        "Q8_0/tiny-Q8_0.gguf",
        "mmproj-tiny-f16.gguf",
    }
    single = by_name["tiny-Q4_K_M.gguf"]
    assert (single.quant, single.size, single.is_split) == ("Q4_K_M", TINY_SIZE, False)
    assert single.files[0].sha256 == _sha256(repo_files["tiny-Q4_K_M.gguf"])

    split = by_name["Q8_0/tiny-Q8_0.gguf"]
    parts = ["Q8_0/tiny-Q8_0-00001-of-00002.gguf", "Q8_0/tiny-Q8_0-00002-of-00002.gguf"]
    assert [f.path for f in split.files] == parts
    assert split.size == sum(repo_files[p].stat().st_size for p in parts)
    assert (split.quant, split.is_split, split.complete, split.n_parts) == ("Q8_0", True, True, 2)
    assert all(f.sha256 == _sha256(repo_files[f.path]) for f in split.files)

    projector = by_name["mmproj-tiny-f16.gguf"]
    assert projector.is_projector and projector.quant == "F16"
    assert listing.projectors == (projector,)
    assert projector not in listing.models
    assert listing.variant("q4_k_m") is single

    others = {f.path: f for f in listing.other_files}
    assert set(others) == {"README.md", "config.json"}
    assert others["config.json"].sha256 is None  # stored in git, not LFS
    assert others["config.json"].blob_id == hub.repos[TINY_REPO].files["config.json"].blob_id


UNSAFE_NAMES = ("..\\..\\x.gguf", "C:\\Users\\Public\\x.gguf", "Q4_0/CON.gguf", "x.gguf.")


def test_unsafe_names_in_a_listing_are_left_out_and_refused(
    client: HubClient,
    hub: HubServer,
    repo_files: dict[str, Path],
    make_manager: Callable[..., DownloadManager],
    tmp_path: Path,
) -> None:
    repo_id = "evil/windows-GGUF"
    payload = repo_files["tiny-Q8_0.gguf"]
    hub.add_repo(
        repo_id, {**dict.fromkeys(UNSAFE_NAMES, payload), "good-Q8_0.gguf": payload}, tags=["gguf"]
    )
    models = tmp_path / "home" / "models"  # "..\\..\\x.gguf" would land in home/ on Windows

    listing = client.list_files(repo_id)

    assert [f.path for v in listing.variants for f in v.files] == ["good-Q8_0.gguf"]
    assert sorted(listing.unsafe_files) == sorted(UNSAFE_NAMES)
    manager = make_manager()
    for name in UNSAFE_NAMES:
        with pytest.raises(UnsafeNameError, match="cannot save it safely on every system"):
            plan_pull(listing, name, models_dir=models)
        with pytest.raises(UnsafeNameError, match=re.escape(f"'{name}'")):
            manager.enqueue(repo_id, name, models)  # asked for by name, past the listing
        assert hub.bytes_served(repo_id, name) == 0
    plan = plan_pull(listing, "good-Q8_0.gguf", models_dir=models)
    (handle,) = enqueue(manager, plan)
    assert handle.result(timeout=30) == models / "evil" / "windows-GGUF" / "good-Q8_0.gguf"
    home = tmp_path / "home"
    written = [p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file()]
    assert written == ["models/evil/windows-GGUF/good-Q8_0.gguf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "hub-work"]


def test_list_files_of_real_gguf_has_exact_size_and_sha(
    client: HubClient, smol_model: Path
) -> None:
    listing = client.list_files(SMOL_REPO)

    (variant,) = listing.models
    assert variant.quant == "Q4_1"
    assert variant.files[0].path == SMOL_FILE
    assert variant.size == smol_model.stat().st_size
    assert variant.files[0].sha256 == _sha256(smol_model)


def test_gated_repo_can_be_listed_without_token(client: HubClient) -> None:
    listing = client.list_files(GATED_REPO)

    assert listing.gated is True
    assert listing.license == "llama3.2"
    assert listing.variant("Q4_K_M") is not None


def test_unknown_repo_is_model_not_found(client: HubClient) -> None:
    with pytest.raises(ModelNotFoundError, match="no model repo named nobody/nothing"):
        client.list_files("nobody/nothing")


# -- configuration, offline ----------------------------------------------------------------


def test_env_endpoint_and_token_are_read_when_the_client_is_built(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")

    client = HubClient()
    client.list_files(TINY_REPO)

    assert client.endpoint == hub.endpoint
    assert "hf_from_env" not in repr(client)
    api_calls = [r for r in hub.requests if r.path.startswith("/api/models/")]
    assert api_calls and all(r.authorization == "Bearer hf_from_env" for r in api_calls)


def test_offline_env_fails_fast_without_touching_the_network(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    client = HubClient(endpoint=hub.endpoint)

    with pytest.raises(OfflineError, match="offline mode"):
        client.search("tiny")
    with pytest.raises(OfflineError, match="HF_HUB_OFFLINE"):
        client.list_files(TINY_REPO)
    assert hub.requests == []


def test_offline_mode_of_huggingface_hub_itself_is_reported(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # HF_HUB_OFFLINE was set when huggingface_hub was imported: its own guard refuses.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OfflineError, match="offline mode"):
        HubClient(endpoint=hub.endpoint, offline=False).list_files(TINY_REPO)


def test_unreachable_hub_is_offline_error_quickly() -> None:
    client = HubClient(endpoint=f"http://127.0.0.1:{_closed_port()}", token=False)

    started = time.monotonic()
    with pytest.raises(OfflineError, match="Cannot reach the Hugging Face Hub"):
        client.search("tiny")
    with pytest.raises(OfflineError, match="check your internet connection"):
        client.list_files(TINY_REPO)
    # huggingface_hub alone would retry a refused connection for ~20 s.
    assert time.monotonic() - started < 5


# -- name parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "quant"),
    [
        ("Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_1"),
        ("model-IQ4_XS.gguf", "IQ4_XS"),
        ("model-IQ2_XXS.gguf", "IQ2_XXS"),
        ("gemma-3-270m-it-Q8_0.gguf", "Q8_0"),
        ("x.BF16.gguf", "BF16"),
        ("Phi-3-mini-4k-instruct-fp16.gguf", "F16"),
        ("model-q3_k_l.gguf", "Q3_K_L"),
        ("model-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
        ("model-Q4_0_4_4.gguf", "Q4_0_4_4"),
        ("model-TQ1_0.gguf", "TQ1_0"),
        ("Qwen2.5-7B-Instruct-Q5_K_S-00001-of-00003.gguf", "Q5_K_S"),
        ("BF16/Big-Model-00001-of-00002.gguf", "BF16"),
        ("Qwen2-7B.gguf", None),
        ("Q4B-chat.gguf", None),
    ],
)
def test_parse_quant(name: str, quant: str | None) -> None:
    assert parse_quant(name) == quant


def test_projector_detection() -> None:
    assert is_projector("mmproj-model-f16.gguf")
    assert is_projector("sub/Qwen2-VL-mmproj.Q8_0.gguf")
    assert not is_projector("model-Q4_K_M.gguf")


def test_split_with_a_missing_part_is_marked_incomplete() -> None:
    files = [
        RemoteFile(path=f"m-Q2_K-0000{i}-of-00003.gguf", size=10, sha256="a" * 64, blob_id=None)
        for i in (1, 3)
    ]
    (variant,), others = group_files([*files, RemoteFile("notes.txt", 1, None, "b" * 40)])

    assert variant.name == "m-Q2_K.gguf"
    assert (variant.n_parts, variant.complete, variant.size) == (3, False, 20)
    assert [f.path for f in others] == ["notes.txt"]
