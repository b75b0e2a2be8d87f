"""``hearth docs`` and ``hearth chat --docs`` as a user runs them: real processes, real
files, the real starter embedding and chat models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.chat import params_from_args
from app.cli.parser import build_parser
from app.docs.embedder import Embedder
from app.engine import protocol as p
from tests.docs.documents import (
    write_binary_text,
    write_docx,
    write_html,
    write_lease_pdf,
    write_markdown,
    write_pdf,
    write_scanned_pdf,
)
from tests.fixtures.reference import Reference

pytestmark = pytest.mark.slow

TIMEOUT = 240


def hearth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=os.environ.copy(),
        check=False,
    )


@pytest.fixture
def papers(tmp_path: Path) -> Path:
    folder = tmp_path / "papers"
    folder.mkdir()
    write_lease_pdf(folder / "lease.pdf")
    write_docx(folder / "handbook.docx")
    write_html(folder / "garden.html")
    write_markdown(folder / "notes.md")
    return folder


def search_json(query: str, *extra: str) -> list[dict[str, object]]:
    result = hearth("docs", "search", query, "--json", *extra)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert isinstance(found, list)
    return found


def test_add_ls_search_rm(papers: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    write_pdf(bad / "locked.pdf", [["secret"]], encrypted=True)
    write_scanned_pdf(bad / "scan.pdf")
    write_binary_text(bad / "photo.txt")

    added = hearth("docs", "add", str(papers), str(bad / "locked.pdf"), str(bad / "scan.pdf"),
                   str(bad / "photo.txt"), "--collection", "Home")  # fmt: skip
    assert added.returncode == 1, added.stderr  # some files could not be indexed
    assert "[1/7]" in added.stderr and "[7/7]" in added.stderr
    assert "hearth: locked.pdf is an encrypted PDF" in added.stderr
    assert "hearth: scan.pdf has no text layer" in added.stderr
    assert "hearth: photo.txt is named like a text file but holds binary data" in added.stderr
    assert "Collection 'Home': 4 indexed, 1 without text, 2 failed; 3 pages" in added.stderr
    assert added.stdout == ""

    listed = hearth("docs", "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    (home,) = json.loads(listed.stdout)
    assert home["name"] == "Home"
    assert (home["files"], home["indexed"], home["no_text"], home["errors"]) == (7, 4, 1, 2)
    assert home["passages"] > 4 and home["embedding_model"] == "all-MiniLM-L6-v2-onnx-int8"
    assert str(papers) in home["sources"]
    text_ls = hearth("docs", "ls")
    assert "Home: 4 of 7 files indexed" in text_ls.stdout

    found = search_json("Am I allowed to have a dog in the flat?", "--collection", "home",
                        "--top", "3")  # fmt: skip
    assert 1 <= len(found) <= 3
    assert all(set(item) == {"path", "page", "text", "score"} for item in found)
    assert found[0]["path"] == str(papers / "lease.pdf") and found[0]["page"] == 2
    assert "one small dog" in str(found[0]["text"])
    scores = [float(item["score"]) for item in found]  # type: ignore[arg-type]
    assert scores == sorted(scores, reverse=True)
    readable = hearth("docs", "search", "compost", "--top", "1")
    assert "[1] garden.html — Garden notes › Compost" in readable.stdout

    removed = hearth("docs", "rm", "home")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(hearth("docs", "ls", "--json").stdout) == []
    again = hearth("docs", "rm", "home")
    assert again.returncode == 1
    assert "No document collection is named 'home'" in again.stderr
    assert all(p.exists() for p in (papers / "lease.pdf", bad / "locked.pdf"))


def test_adding_again_reads_only_changes_and_exits_zero(papers: Path) -> None:
    first = hearth("docs", "add", str(papers))
    assert first.returncode == 0, first.stderr
    assert "Collection 'Documents': 4 indexed" in first.stderr
    (papers / "extra.md").write_text("# Ferry\n\nThe ferry leaves at noon.\n")
    second = hearth("docs", "add", str(papers))
    assert second.returncode == 0, second.stderr
    assert "Collection 'Documents': 1 indexed, 4 unchanged" in second.stderr
    assert search_json("ferry", "--top", "1")[0]["path"] == str(papers / "extra.md")


def test_unknown_collection_and_missing_path_are_one_sentence(papers: Path) -> None:
    unknown = hearth("docs", "search", "pets", "--collection", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("hearth: No document collection is named 'nope'")
    missing = hearth("docs", "add", str(papers / "gone.pdf"), "-c", "x")
    assert missing.returncode == 1
    assert "gone.pdf does not exist" in missing.stderr


CHAT_ARGS = ("--max-tokens", "8", "--temperature", "0", "--seed", "1", "--ctx", "2048")


def chat(smol: Path, *args: str) -> dict[str, object]:
    result = hearth("chat", "--model", str(smol), *CHAT_ARGS, "--json", *args)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert isinstance(payload, dict)
    payload["_stderr"] = result.stderr
    return payload


def grounded_message(question: str, names: list[str], embedder: Embedder) -> str:
    """The user message ``hearth chat --docs`` should send, worked out in this process."""
    from app.core.paths import app_paths
    from app.docs.documents import Documents
    from app.docs.store import DocStore
    from app.storage import default_database_path

    store = DocStore(default_database_path(app_paths()))
    with Documents(store, lambda: embedder) as docs:
        return docs.ground(question, names).content


def test_chat_with_docs_sends_the_passages_and_cites_them(
    papers: Path, smol_model: Path, reference: Reference, embedder: Embedder
) -> None:
    assert hearth("docs", "add", str(papers), "-c", "home").returncode == 0
    question = "Can I keep a dog in my flat?"
    expected = search_json(question, "--collection", "home", "--top", "4")

    grounded = chat(smol_model, "--docs", "home", "--prompt", question)

    sources = grounded["sources"]
    assert isinstance(sources, list) and sources
    assert all(set(s) == {"path", "page"} for s in sources)
    assert sources[0] == {"path": str(papers / "lease.pdf"), "page": 2}
    # The sources are the search's best passages, in the same order.
    assert sources == [{"path": e["path"], "page": e["page"]} for e in expected[: len(sources)]]

    # The reply is llama-cpp-python's own for the grounded message: the passages (and
    # nothing else) went into the prompt.
    content = grounded_message(question, ["home"], embedder)
    assert "[1] lease.pdf, page 2 — Pets" in content and "one small dog" in content
    parsed = build_parser().parse_args(["chat", "--prompt", content, *CHAT_ARGS])
    answer = reference.answer(
        p.LoadModel(0, str(smol_model), n_ctx=2048, n_gpu_layers=parsed.gpu_layers),
        [{"role": "user", "content": content}],
        params_from_args(parsed),
    )
    assert grounded["text"] == answer.text
    assert grounded["stats"]["prompt_tokens"] == answer.prompt_tokens  # type: ignore[index]

    plain = chat(smol_model, "--prompt", question)
    assert "sources" not in plain
    assert plain["stats"]["prompt_tokens"] < answer.prompt_tokens  # type: ignore[index]


def test_chat_with_docs_through_an_endpoint(
    papers: Path, tmp_path: Path, reference: Reference, embedder: Embedder
) -> None:
    from tests.server.conftest import API_KEY, CHAT_MODEL, serving_in_process, starter_prompt_tokens

    assert hearth("docs", "add", str(papers), "-c", "home").returncode == 0
    question = "Where do I keep my bicycle?"
    with serving_in_process(tmp_path / "server") as server:
        result = hearth("chat", "--endpoint", server.url, "--api-key", API_KEY, "--model",
                        CHAT_MODEL, "--docs", "home", "--prompt", question, "--json",
                        "--max-tokens", "8")  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["sources"][0] == {"path": str(papers / "lease.pdf"), "page": 3}
    content = grounded_message(question, ["home"], embedder)
    sent = starter_prompt_tokens(reference, [{"role": "user", "content": content}])
    assert payload["stats"]["prompt_tokens"] == sent


def test_chat_is_told_when_nothing_relevant_was_found(papers: Path, smol_model: Path) -> None:
    assert hearth("docs", "add", str(papers / "lease.pdf"), "-c", "lease").returncode == 0
    payload = chat(
        smol_model, "--docs", "lease", "--prompt", "Who won the football world cup in 1998?"
    )
    assert payload["sources"] == []
    assert "nothing in the documents is relevant" in str(payload["_stderr"])


def test_chat_docs_needs_a_known_collection(smol_model: Path) -> None:
    # Interactive too (tests/docs/test_chat_docs_interactive.py): refused before loading.
    no_prompt = hearth("chat", "--model", str(smol_model), "--docs", "home")
    assert no_prompt.returncode == 1
    assert "No document collection is named 'home'" in no_prompt.stderr
    unknown = hearth("chat", "--model", str(smol_model), "--docs", "nope", "--prompt", "hi")
    assert unknown.returncode == 1
    assert "No document collection is named 'nope'" in unknown.stderr


def test_reindex_replaces_the_collection_whole(papers: Path) -> None:
    assert hearth("docs", "add", str(papers), "-c", "home").returncode == 0
    redone = hearth("docs", "reindex", "HOME")
    assert redone.returncode == 0, redone.stderr
    assert "Collection 'home': 4 indexed" in redone.stderr
    (home,) = json.loads(hearth("docs", "ls", "--json").stdout)
    assert (home["name"], home["indexed"], home["sources"]) == ("home", 4, [str(papers)])
    assert search_json("compost", "--top", "1")[0]["path"] == str(papers / "garden.html")
    unknown = hearth("docs", "reindex", "nope")
    assert unknown.returncode == 1 and "No document collection is named 'nope'" in unknown.stderr


def test_an_unreadable_folder_is_reported_and_the_rest_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    locked = folder / "private"
    locked.mkdir(parents=True)
    (folder / "readable.md").write_text("# Ferry\n\nThe ferry leaves at noon.")
    (locked / "hidden.md").write_text("You cannot read this.")
    locked.chmod(0)
    command = [sys.executable, "-m", "app", "docs", "add", str(folder), "-c", "shared"]
    if os.geteuid() == 0:
        # Root reads any folder; without these two capabilities it obeys permissions.
        setpriv = shutil.which("setpriv")
        assert setpriv, "util-linux's setpriv is needed to drop root's file capabilities"
        drop = "-dac_override,-dac_read_search"
        command = [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}", "--", *command]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == 1, result.stderr
    assert f"hearth: The folder {locked} cannot be read (Permission denied)." in result.stderr
    assert "Collection 'shared': 1 indexed, 1 failed" in result.stderr
    assert search_json("ferry", "--top", "1")[0]["path"] == str(folder / "readable.md")


def test_ls_leaves_out_files_dropped_into_a_conversation_unless_all() -> None:
    from app.core.paths import app_paths
    from app.docs.store import DocStore
    from app.storage import ConversationStore, default_database_path

    database = default_database_path(app_paths().ensure())
    with ConversationStore(database) as conversations, DocStore(database) as store:
        store.create_collection("Home", "all-MiniLM-L6-v2-onnx-int8", 384)
        dropped = store.create_collection("dropped files", "all-MiniLM-L6-v2-onnx-int8", 384)
        conversation = conversations.create_conversation("About the lease")
        conversations.own_collection(conversation.id, dropped.id)
    shown = json.loads(hearth("docs", "ls", "--json").stdout)
    assert [(c["name"], c["private"]) for c in shown] == [("Home", False)]
    everything = json.loads(hearth("docs", "ls", "--json", "--all").stdout)
    assert sorted((c["name"], c["private"]) for c in everything) == [
        ("Home", False),
        ("dropped files", True),
    ]
    assert "dropped files" not in hearth("docs", "ls").stdout
