"""``search_documents`` on real indexed files with the real starter embedding model, run
through run_tool as the tool loop runs it; then called by the real starter chat model
in ``hearth chat --tools``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.docs.documents import Documents
from app.docs.embedder import Embedder
from app.docs.grounding import source_label
from app.docs.store import DocStore
from app.storage import ConversationStore
from app.tools.builtin import builtin_tools
from app.tools.builtin.documents import MAX_CHARS, NAME
from app.tools.calls import ToolCall
from app.tools.registry import ToolContext
from app.tools.runner import ToolResult, run_tool
from tests.docs.documents import write_docx, write_html, write_lease_pdf, write_markdown

TOOL = next(t for t in builtin_tools() if t.name == NAME)
DOG = "Can I keep a dog in my flat?"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from app.docs.embedding_models import default_embedder

    return default_embedder(threads=2)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    folder = tmp_path_factory.mktemp("papers")
    write_lease_pdf(folder / "lease.pdf")
    write_docx(folder / "handbook.docx")
    write_html(folder / "garden.html")
    write_markdown(folder / "notes.md")
    path = folder / "conversations.sqlite3"
    with Documents(DocStore(path), lambda: embedder) as docs:
        assert not docs.add("lease", [folder / "lease.pdf"]).problems
        assert not docs.add("home", [folder]).problems
    return path


@pytest.fixture(scope="module")
def docs(database: Path, embedder: Embedder) -> Iterator[Documents]:
    with Documents(DocStore(database), lambda: embedder) as opened:
        yield opened


def run(context: ToolContext, **arguments: Any) -> ToolResult:
    return run_tool(TOOL, ToolCall.make(NAME, arguments), context)


def test_the_best_passages_come_back_with_their_sources(docs: Documents) -> None:
    result = run(ToolContext(documents=docs), query=DOG, collection="home", top_k=3)
    assert result.ok, result.text
    expected = [p for p in docs.search(DOG, ["home"], top_k=3) if p.relevant]
    assert expected
    assert result.text.startswith(f"{len(expected)} passages from the collection 'home'")
    blocks = result.text.split("\n\n")[1:]
    for number, (block, passage) in enumerate(zip(blocks, expected, strict=True), start=1):
        assert block == f"[{number}] {source_label(passage)}\n{passage.text}"
    assert "[1] lease.pdf, page 2 — Pets" in result.text and "one small dog" in result.text


def test_every_collection_is_searched_by_default(docs: Documents) -> None:
    result = run(ToolContext(documents=docs), query="Where do I keep my bicycle?")
    assert result.ok and "from the user's documents" in result.text
    assert "lease.pdf, page 3" in result.text


def test_nothing_relevant_is_said_plainly(docs: Documents) -> None:
    query = "Who won the football world cup in 1998?"
    result = run(ToolContext(documents=docs), query=query, collection="lease")
    assert result.ok
    assert result.text == f"Nothing in the collection 'lease' is about {query!r}."


def test_refusals_say_why(docs: Documents) -> None:
    unknown = run(ToolContext(documents=docs), query=DOG, collection="nope")
    assert not unknown.ok and "nope" in unknown.text and "home" in unknown.text
    assert run(ToolContext(documents=docs), query="   ").text == "Error: the query is empty."
    extra = run(ToolContext(documents=docs), query=DOG, folder="/etc")
    assert extra.status == "refused"


def test_a_result_holds_at_most_max_chars_of_passages(docs: Documents) -> None:
    result = run(ToolContext(documents=docs), query="lease rent pets parking", top_k=10)
    assert result.ok
    passages = "".join(block.split("\n", 1)[1] for block in result.text.split("\n\n")[1:])
    assert 0 < len(passages) <= MAX_CHARS


def test_without_documents_in_the_context_the_stores_database_is_read(
    database: Path, docs: Documents
) -> None:
    with ConversationStore(database) as store:
        result = run(ToolContext(store=store), query=DOG, collection="lease", top_k=2)
    assert result.ok, result.text
    direct = run(ToolContext(documents=docs), query=DOG, collection="lease", top_k=2)
    assert result.text == direct.text


def test_no_documents_at_all_is_one_sentence(tmp_path: Path) -> None:
    with ConversationStore(tmp_path / "empty.sqlite3") as store:
        result = run(ToolContext(store=store), query=DOG)
    assert not result.ok
    assert "no indexed documents" in result.text and "hearth docs add" in result.text


# -- the model calls it ----------------------------------------------------------------
@pytest.mark.slow
def test_the_model_searches_the_documents_in_hearth_chat(smol_model: Path, tmp_path: Path) -> None:
    lease = write_lease_pdf(tmp_path / "lease.pdf")

    def hearth(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=240,
            env=os.environ.copy(),
            check=False,
        )

    assert hearth("docs", "add", str(lease), "-c", "lease").returncode == 0
    result = hearth(
        "chat", "--model", str(smol_model), "--ctx", "2048", "--max-tokens", "40",
        "--temperature", "0", "--seed", "1", "--prompt", DOG,
        "--tools", NAME, "--tool-choice", "required", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # The call ran (allowed without asking) and answered: passages, or nothing about it.
    call = next(line for line in result.stderr.splitlines() if line.startswith(f"[{NAME} "))
    assert "→" in call and "Error" not in call, result.stderr
    print(call)
    outcome = call.split("→", 1)[1].strip()
    assert outcome.startswith((*[f"{n} passages" for n in range(1, 5)], "Nothing")), call
    payload = json.loads(result.stdout)
    assert payload["text"].strip() and not payload["text"].lstrip().startswith("{")
