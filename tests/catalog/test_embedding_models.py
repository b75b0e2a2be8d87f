"""GGUF embedding models managed like every other model: in the curated catalog, pulled
from a (local) Hub with the checks every download gets, listed as kind ``embedding``,
never offered as chat models, removed like the others."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.catalog.catalog import CANONICAL_PATH, load_catalog, parse_catalog
from app.catalog.library import CHAT, EMBEDDING, Library, describe_gguf
from app.core.errors import ConfigError, InvalidModelError
from tests.fixtures.embedding_gguf import write_tiny_bert
from tests.fixtures.models import write_tiny_gguf
from tests.hubserver import HubServer

EMBED_REPO = "hearth-test/tiny-bert-embed-GGUF"
EMBED_FILE = "tiny-bert-embed-f16.gguf"
CHAT_REPO = "hearth-test/TinyChat-GGUF"
TIMEOUT = 120


def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CANONICAL_PATH.read_text(encoding="utf-8"))
    return data


def test_the_catalog_lists_real_gguf_embedding_models() -> None:
    catalog = load_catalog()
    ids = [e.id for e in catalog.embedding]
    assert ids == ["bge-small-en-v1.5", "nomic-embed-text-v1.5", "bge-m3", "multilingual-e5-large"]
    by_id = {e.id: e for e in catalog.embedding}
    assert by_id["nomic-embed-text-v1.5"].query_prefix == "search_query: "
    assert by_id["multilingual-e5-large"].document_prefix == "passage: "
    assert "zh" in by_id["bge-m3"].languages
    for entry in catalog.embedding:
        assert entry.file.lower().startswith(entry.id.lower()) and entry.file.endswith(".gguf")
    # A build of a catalog model from any repo is recognised by its file name.
    found = catalog.embedding_for_file("multilingual-e5-large-Q4_K_M.gguf")
    assert found is not None and found.id == "multilingual-e5-large"
    assert catalog.embedding_for_file("Qwen3-0.6B-Q8_0.gguf") is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["embedding"][0].update(quant="Q4_K_M"), "does not match the file name"),
        (lambda d: d["embedding"][0].update(file="other-q8_0.gguf"), "must start with its id"),
        (lambda d: d["embedding"][0].update(query_prefix=None), "query_prefix must be a string"),
        (lambda d: d["embedding"][0].update(dimensions=0), "dimensions must be a positive"),
        (lambda d: d["embedding"].append(dict(d["embedding"][0])), "duplicate ids"),
    ],
)
def test_invalid_embedding_entries_name_the_entry_and_field(edit: Any, message: str) -> None:
    data = copy.deepcopy(raw())
    edit(data)
    with pytest.raises(ConfigError, match=message):
        parse_catalog(data)


def test_a_catalog_without_embedding_models_still_loads() -> None:
    data = copy.deepcopy(raw())
    del data["embedding"]
    assert parse_catalog(data).embedding == ()


def test_encoder_and_pooling_gguf_are_embedding_models(tmp_path: Path) -> None:
    bert = describe_gguf(write_tiny_bert(tmp_path / "bert.gguf"))
    assert (bert.kind, bert.architecture, bert.has_chat_template) == (EMBEDDING, "bert", False)
    no_pooling = describe_gguf(write_tiny_bert(tmp_path / "plain-bert.gguf", pooling=None))
    assert no_pooling.kind == EMBEDDING  # an encoder, pooling type or not
    chat = describe_gguf(write_tiny_gguf(tmp_path / "chat.gguf"))
    assert chat.kind == CHAT

    library = Library(tmp_path / "library.json", [tmp_path])
    assert {e.name for e in library.entries(EMBEDDING)} == {"bert", "plain-bert"}
    assert [e.name for e in library.entries(CHAT)] == ["chat"]
    with pytest.raises(InvalidModelError, match="is an embedding model"):
        library.resolve(str(tmp_path / "bert.gguf"), CHAT)
    assert library.resolve(str(tmp_path / "bert.gguf"), EMBEDDING).kind == EMBEDDING


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    published = tmp_path / "published"
    published.mkdir()
    server = HubServer()
    server.add_repo(
        EMBED_REPO,
        {
            EMBED_FILE: write_tiny_bert(published / EMBED_FILE),
            "README.md": b"---\nlicense: mit\n---\n# tiny bert\n",
        },
        workdir=tmp_path / "hub-work",
        tags=["gguf", "feature-extraction"],
    )
    server.add_repo(
        CHAT_REPO,
        {"tinychat-Q8_0.gguf": write_tiny_gguf(published / "tinychat-Q8_0.gguf")},
        workdir=tmp_path / "hub-work",
        tags=["gguf"],
    )
    with server:
        yield server


def hearth(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_pull_list_use_and_remove_an_embedding_model(
    hub: HubServer, hearth_home: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_TOKEN")}
    env.update(HF_ENDPOINT=hub.endpoint, HF_HOME=str(tmp_path / "hf-home"))

    pulled = hearth(env, "models", "pull", EMBED_REPO, EMBED_FILE)
    assert pulled.returncode == 0, pulled.stderr
    assert "embedding model ready" in pulled.stdout
    dest = hearth_home / "data" / "models" / EMBED_REPO / EMBED_FILE
    assert dest.read_bytes() == (tmp_path / "published" / EMBED_FILE).read_bytes()
    assert hearth(env, "models", "pull", CHAT_REPO, "Q8_0").returncode == 0

    def ls(*extra: str) -> list[dict[str, Any]]:
        result = hearth(env, "models", "ls", "--json", *extra)
        assert result.returncode == 0, result.stderr
        listed: list[dict[str, Any]] = json.loads(result.stdout)
        return listed

    embedding = [e for e in ls() if e["path"] == str(dest)]
    assert len(embedding) == 1 and embedding[0]["kind"] == "embedding"
    assert embedding[0]["source"] == "download" and embedding[0]["error"] is None
    assert [e["path"] for e in ls("--kind", "embedding")] == [str(dest)]
    assert all(e["path"] != str(dest) for e in ls("--kind", "chat"))

    # Verified, not fetched again, on a second pull (as every download).
    hub.reset_counters()
    assert hearth(env, "models", "pull", EMBED_REPO, EMBED_FILE).returncode == 0
    assert hub.bytes_served(EMBED_REPO, EMBED_FILE) == 0

    # Never a chat model: not by name, not by path.
    chat = hearth(env, "chat", "--model", str(dest), "--prompt", "hi")
    assert chat.returncode != 0 and "is an embedding model" in chat.stderr

    # Documents use it once chosen.
    models = json.loads(hearth(env, "docs", "models", "--json").stdout)
    assert "tiny-bert-embed-f16" in [m["id"] for m in models]

    removed = hearth(env, "models", "rm", "tiny-bert-embed-f16", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert "Deleted" in removed.stdout and not dest.exists()
    assert all(e["path"] != str(dest) for e in ls())


def test_pull_by_catalog_id_names_the_catalog_repo(hearth_home: Path, tmp_path: Path) -> None:
    """``hearth models pull bge-small-en-v1.5`` asks the Hub for the catalog's repo and
    file (the local Hub has neither, so it answers 404 — named in one sentence)."""
    server = HubServer()
    with server:
        env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_TOKEN")}
        env.update(HF_ENDPOINT=server.endpoint, HF_HOME=str(tmp_path / "hf-home"))
        result = hearth(env, "models", "pull", "bge-small-en-v1.5")
    assert result.returncode != 0
    assert "CompendiumLabs/bge-small-en-v1.5-gguf" in result.stderr


def test_models_catalog_json_lists_the_embedding_models() -> None:
    result = hearth(dict(os.environ), "models", "catalog", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["embedding"]
    assert [e["id"] for e in listed] == [e.id for e in load_catalog().embedding]
    assert {"repo", "file", "query_prefix", "document_prefix"} <= set(listed[0])
    text = hearth(dict(os.environ), "models", "catalog").stdout
    assert "Embedding models for documents: bge-small-en-v1.5" in text
