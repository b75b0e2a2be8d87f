"""``hearth chat --docs NAME`` without ``--prompt``: the interactive chat answers each
question from the collection and shows its sources; a real process, real files, the
real starter embedding and chat models, the prompt sizes checked with llama-cpp-python."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.generation import GenerationParams, Message
from app.docs.documents import Documents
from app.docs.embedder import Embedder
from app.docs.store import DocStore
from app.engine import protocol as p
from tests.docs.documents import write_docx, write_lease_pdf
from tests.fixtures.reference import Reference

pytestmark = pytest.mark.slow

DOG = "Can I keep a dog in my flat?"
CUP = "Who won the football world cup in 1998?"


def hearth(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=240,
        env=os.environ.copy(),
        check=False,
    )


def test_each_question_is_answered_from_the_documents_with_its_sources(
    tmp_path: Path, smol_model: Path, reference: Reference, embedder: Embedder
) -> None:
    papers = tmp_path / "papers"
    papers.mkdir()
    lease = write_lease_pdf(papers / "lease.pdf")
    write_docx(papers / "handbook.docx")
    assert hearth("docs", "add", str(papers), "-c", "home").returncode == 0

    result = hearth(
        "chat", "--model", str(smol_model), "--ctx", "2048", "--max-tokens", "8",
        "--temperature", "0", "--seed", "1", "--docs", "home",
        stdin=f"{DOG}\n{CUP}\n/exit\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    err = result.stderr
    # The sources follow each reply; the second question found nothing.
    assert "[1] lease.pdf, page 2 — Pets" in err, err
    assert "[nothing in the documents is relevant to the question]" in err
    assert err.index("[1] lease.pdf") < err.index("[nothing in the documents")

    from app.core.paths import app_paths
    from app.storage import default_database_path

    with Documents(DocStore(default_database_path(app_paths())), lambda: embedder) as docs:
        first = docs.ground(DOG, ["home"])
        second = docs.ground(CUP, ["home"])
    assert first.sources()[0]["path"] == str(lease)
    sent = [int(n) for n in re.findall(r"^\[(\d+) tokens in", err, re.MULTILINE)]
    assert len(sent) == 2, err
    load = p.LoadModel(0, str(smol_model), n_ctx=2048, n_gpu_layers=0)

    def tokens(messages: list[Message]) -> int:
        return len(reference.prompt_tokens(load, messages, GenerationParams()))

    # The first question went with its passages.
    assert sent[0] == tokens([{"role": "user", "content": first.content}])
    # The second with its own statement; the first stays in the history as typed.
    reply = result.stdout.split("> ")[1].rstrip("\n")
    history: list[Message] = [
        {"role": "user", "content": DOG},
        {"role": "assistant", "content": reply},
        {"role": "user", "content": second.content},
    ]
    assert sent[1] == tokens(history), (reply, sent)


def test_an_unknown_collection_is_one_sentence_naming_the_collections(
    smol_model: Path, tmp_path: Path
) -> None:
    lease = write_lease_pdf(tmp_path / "lease.pdf")
    assert hearth("docs", "add", str(lease), "-c", "lease").returncode == 0
    result = hearth("chat", "--model", str(smol_model), "--docs", "nope", stdin="hi\n")
    assert result.returncode == 1
    assert "No document collection is named 'nope'" in result.stderr
    assert "lease" in result.stderr  # the ones there are


def test_the_interactive_chat_with_an_endpoint_sends_the_passages(
    tmp_path: Path, reference: Reference, embedder: Embedder
) -> None:
    from tests.server.conftest import API_KEY, CHAT_MODEL, serving_in_process, starter_prompt_tokens

    lease = write_lease_pdf(tmp_path / "lease.pdf")
    assert hearth("docs", "add", str(lease), "-c", "lease").returncode == 0
    with serving_in_process(tmp_path / "server") as server:
        result = hearth(
            "chat", "--endpoint", server.url, "--api-key", API_KEY, "--model", CHAT_MODEL,
            "--docs", "lease", "--max-tokens", "8", stdin=f"{DOG}\n/exit\n",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "[1] lease.pdf, page" in result.stderr and "— Pets" in result.stderr
    from app.core.paths import app_paths
    from app.storage import default_database_path

    with Documents(DocStore(default_database_path(app_paths())), lambda: embedder) as docs:
        content = docs.ground(DOG, ["lease"]).content
    sent = [int(n) for n in re.findall(r"^\[(\d+) tokens in", result.stderr, re.MULTILINE)]
    assert sent == [starter_prompt_tokens(reference, [{"role": "user", "content": content}])]
