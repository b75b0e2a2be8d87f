"""The user's documents through the API: retrieval opted into per chat request (streamed
and not) and /v1/embeddings on the documents' embedding model, driven by the official
``openai`` client against the real starter chat and embedding models."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from app.core.generation import Message
from app.docs.documents import Documents
from app.docs.embedder import Embedder
from app.docs.embedding_models import STARTER_EMBEDDING_ID, default_embedder
from app.docs.store import DocStore
from app.server.httpd import HearthServer
from tests.docs.documents import write_docx, write_html, write_lease_pdf, write_markdown
from tests.fixtures.embedding_gguf import write_tiny_bert
from tests.fixtures.reference import Reference
from tests.server.conftest import (
    API_KEY,
    CHAT_MODEL,
    serving_in_process,
    start_serve,
    starter_prompt_tokens,
    stop_serve,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PETS = "Can I keep a dog in my flat?"
TINY = "tiny-bert-embed"
OFF_TOPIC = "Who won the football world cup in 1998?"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder(threads=2)


@pytest.fixture(scope="module")
def papers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("papers")
    write_lease_pdf(folder / "lease.pdf")
    write_docx(folder / "handbook.docx")
    write_html(folder / "garden.html")
    write_markdown(folder / "notes.md")
    return folder


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory, papers: Path, embedder: Embedder) -> Path:
    """A conversation database whose collection "home" holds the papers, indexed."""
    path = tmp_path_factory.mktemp("docs-db") / "conversations.sqlite3"
    with Documents(DocStore(path), lambda: embedder) as docs:
        report = docs.add("home", [papers])
    assert not report.problems, report.problems
    return path


@pytest.fixture(scope="module")
def docs(database: Path, embedder: Embedder) -> Iterator[Documents]:
    """The same documents as the server's, for working out what it should send."""
    with Documents(DocStore(database), lambda: embedder) as opened:
        yield opened


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, database: Path, embedder: Embedder
) -> Iterator[HearthServer]:
    home = tmp_path_factory.mktemp("docs-server")
    (home / "models").mkdir()
    write_tiny_bert(home / "models" / f"{TINY}.gguf")  # an embedding GGUF in the library
    with serving_in_process(
        home, documents=lambda: Documents(DocStore(database), lambda: embedder)
    ) as served:
        yield served


def client(server: HearthServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0, timeout=120)


def ask(server: HearthServer, messages: list[Message], **hearth: Any) -> Any:
    return client(server).chat.completions.create(
        model=CHAT_MODEL,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=8,
        temperature=0,
        extra_body={"hearth": hearth} if hearth else None,
    )


def extra(reply: Any) -> dict[str, Any]:
    """The fields the ``openai`` client's types do not know (Hearth's own)."""
    return dict(reply.model_extra or {})


def grounded_tokens(reference: Reference, messages: list[Message]) -> int:
    return starter_prompt_tokens(reference, messages)


# -- chat completions ---------------------------------------------------------------------
def test_a_chat_asks_for_documents_and_gets_the_passages_and_sources(
    server: HearthServer, docs: Documents, reference: Reference, papers: Path
) -> None:
    question: list[Message] = [{"role": "user", "content": PETS}]
    reply = ask(server, question, documents=["home"])

    expected = docs.ground(PETS, ["home"])
    assert expected.found
    sources = extra(reply)["sources"]
    assert sources == json.loads(json.dumps(expected.sources()))
    assert sources[0]["path"] == str(papers / "lease.pdf") and sources[0]["page"] == 2
    # The grounded message (passages, then the question) is what the model read.
    grounded: list[Message] = [{"role": "user", "content": expected.content}]
    assert reply.usage.prompt_tokens == grounded_tokens(reference, grounded)
    assert (reply.choices[0].message.content or "").strip()

    plain = ask(server, question)
    assert "sources" not in extra(plain)
    assert plain.usage.prompt_tokens == grounded_tokens(reference, question)
    assert plain.usage.prompt_tokens < reply.usage.prompt_tokens


def test_only_the_last_user_message_is_grounded(
    server: HearthServer, docs: Documents, reference: Reference
) -> None:
    earlier: list[Message] = [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "Hello."},
        {"role": "assistant", "content": "Hello! How can I help?"},
    ]
    reply = ask(server, [*earlier, {"role": "user", "content": PETS}], documents="home", top_k=2)
    expected = docs.ground(PETS, ["home"], top_k=2)
    assert extra(reply)["sources"] == json.loads(json.dumps(expected.sources()))
    assert len(extra(reply)["sources"]) <= 2
    sent: list[Message] = [*earlier, {"role": "user", "content": expected.content}]
    assert reply.usage.prompt_tokens == grounded_tokens(reference, sent)


def test_a_stream_sends_the_sources_in_its_first_chunk(
    server: HearthServer, docs: Documents, reference: Reference
) -> None:
    chunks = list(
        client(server).chat.completions.create(
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": PETS}],
            max_tokens=8,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"hearth": {"documents": ["home"]}},
        )
    )
    expected = docs.ground(PETS, ["home"])
    first = chunks[0]
    assert first.choices[0].delta.role == "assistant"
    assert extra(first)["sources"] == json.loads(json.dumps(expected.sources()))
    assert all("sources" not in extra(c) for c in chunks[1:])
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    usage = chunks[-1].usage
    assert usage is not None
    grounded: list[Message] = [{"role": "user", "content": expected.content}]
    assert usage.prompt_tokens == grounded_tokens(reference, grounded)


def test_nothing_relevant_gives_no_sources_and_tells_the_model(
    server: HearthServer, docs: Documents, reference: Reference
) -> None:
    reply = ask(server, [{"role": "user", "content": OFF_TOPIC}], documents=["home"])
    assert extra(reply)["sources"] == []
    expected = docs.ground(OFF_TOPIC, ["home"])
    assert not expected.found and "nothing in them is relevant" in expected.content
    told: list[Message] = [{"role": "user", "content": expected.content}]
    assert reply.usage.prompt_tokens == grounded_tokens(reference, told)


@pytest.mark.parametrize(
    ("hearth", "param", "message"),
    [
        ({"documents": ["nope"]}, "hearth.documents", "home"),
        ({"documents": 3}, "hearth.documents", "collection name or a list"),
        ({"documents": [""]}, "hearth.documents", "collection name or a list"),
        ({"documents": ["home"], "top_k": 0}, "hearth.top_k", "from 1 to 20"),
        ({"documents": ["home"], "top_k": True}, "hearth.top_k", "from 1 to 20"),
        ({"documents": ["home"], "folder": "/etc"}, "hearth.folder", "Unknown field"),
        ("home", "hearth", "must be an object"),
    ],
)
def test_a_bad_documents_request_is_a_400_naming_the_field(
    server: HearthServer, hearth: Any, param: str, message: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=message) as caught:
        client(server).chat.completions.create(
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": PETS}],
            max_tokens=4,
            extra_body={"hearth": hearth},
        )
    assert caught.value.body["param"] == param  # type: ignore[index]


def test_documents_need_a_user_message_and_are_not_for_legacy_completions(
    server: HearthServer,
) -> None:
    with pytest.raises(openai.BadRequestError, match="last user message"):
        client(server).chat.completions.create(
            model=CHAT_MODEL,
            messages=[{"role": "system", "content": "Be brief."}],
            max_tokens=4,
            extra_body={"hearth": {"documents": ["home"]}},
        )
    with pytest.raises(openai.BadRequestError, match="Unknown parameter 'hearth'"):
        client(server).completions.create(
            model=CHAT_MODEL, prompt=PETS, max_tokens=4, extra_body={"hearth": {"documents": []}}
        )


# -- embeddings ---------------------------------------------------------------------------
TEXTS = ["The cat sat on the mat.", "A kitten rested on the rug.", "Quarterly tax deadlines"]


def test_embeddings_are_the_embedding_models_own(server: HearthServer, embedder: Embedder) -> None:
    api = client(server)
    direct = embedder.embed(TEXTS)
    packed = api.embeddings.create(model=STARTER_EMBEDDING_ID, input=TEXTS)  # base64
    plain = api.embeddings.create(model=STARTER_EMBEDDING_ID, input=TEXTS, encoding_format="float")
    assert packed.model == plain.model == STARTER_EMBEDDING_ID
    for reply in (packed, plain):
        vectors = np.array([d.embedding for d in reply.data], dtype=np.float32)
        assert vectors.shape == (3, embedder.dimensions)
        assert [d.index for d in reply.data] == [0, 1, 2]
        assert np.array_equal(vectors, direct)  # float32 sent whole, either way
        assert reply.usage.prompt_tokens == sum(embedder.count_tokens(TEXTS))
        assert reply.usage.total_tokens == reply.usage.prompt_tokens
    # One text, and no model named: the embedding model is the default.
    one = api.embeddings.create(model="", input=TEXTS[1], encoding_format="float")
    assert one.model == STARTER_EMBEDDING_ID
    assert np.array_equal(np.array(one.data[0].embedding, dtype=np.float32), direct[1])
    raw = httpx.post(
        f"{server.url}/embeddings",
        json={"input": [TEXTS[0]]},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=60,
    )
    assert raw.status_code == 200, raw.text
    assert np.array_equal(np.array(raw.json()["data"][0]["embedding"], np.float32), direct[0])


def test_embeddings_refuse_what_the_model_would_cut(
    server: HearthServer, embedder: Embedder
) -> None:
    api = client(server)
    limit = embedder.max_tokens - 2
    fits = " ".join(["word"] * limit)
    assert embedder.count_tokens([fits]) == [limit]
    reply = api.embeddings.create(model=STARTER_EMBEDDING_ID, input=fits, encoding_format="float")
    assert reply.usage.prompt_tokens == limit
    with pytest.raises(openai.BadRequestError, match="split it into smaller pieces") as caught:
        api.embeddings.create(
            model=STARTER_EMBEDDING_ID, input=["short", fits + " word"], encoding_format="float"
        )
    assert "input[1]" in str(caught.value)
    with pytest.raises(openai.BadRequestError, match="token arrays are not supported"):
        api.embeddings.create(model=STARTER_EMBEDDING_ID, input=[[1, 2, 3]])


def test_models_list_the_embedding_models(server: HearthServer) -> None:
    cards = {m.id: m for m in client(server).models.list()}
    assert extra(cards[STARTER_EMBEDDING_ID])["hearth_kind"] == "embedding"
    assert extra(cards[TINY])["hearth_kind"] == "embedding"
    assert extra(cards[CHAT_MODEL])["hearth_kind"] == "chat"


def test_an_embedding_gguf_of_the_library_is_served_by_name(server: HearthServer) -> None:
    from llama_cpp import Llama

    from app.catalog.library import EMBEDDING

    [entry] = [e for e in server.library.entries(EMBEDDING) if e.name == TINY]
    reply = client(server).embeddings.create(model=TINY, input=TEXTS, encoding_format="float")
    assert reply.model == TINY
    llama = Llama(str(entry.path), embedding=True, n_ctx=512, n_batch=512, verbose=False)
    direct = np.array([llama.embed(t, normalize=True) for t in TEXTS], dtype=np.float32)
    assert np.allclose(np.array([d.embedding for d in reply.data]), direct, atol=1e-5)
    assert reply.usage.prompt_tokens == sum(len(llama.tokenize(t.encode())) for t in TEXTS)
    # Never a chat model.
    with pytest.raises(openai.NotFoundError):
        client(server).chat.completions.create(
            model=TINY, messages=[{"role": "user", "content": "Hi"}], max_tokens=2
        )


# -- hearth serve -----------------------------------------------------------------------
def test_hearth_serve_reads_the_users_collections(
    tmp_path: Path, hearth_home: Path, papers: Path
) -> None:
    import subprocess
    import sys

    added = subprocess.run(
        [sys.executable, "-m", "app", "docs", "add", str(papers / "lease.pdf"), "-c", "lease"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    served = start_serve(hearth_home, "--api-key", API_KEY)
    try:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        body = {
            "messages": [{"role": "user", "content": "Where do I keep my bicycle?"}],
            "max_tokens": 4,
            "hearth": {"documents": ["lease"], "top_k": 1},
        }
        url = f"{served.url}/chat/completions"
        reply = httpx.post(url, json=body, headers=headers, timeout=120)
        assert reply.status_code == 200, reply.text
        sources = reply.json()["sources"]
        assert [(s["path"], s["page"]) for s in sources] == [(str(papers / "lease.pdf"), 3)]
        vectors = httpx.post(
            f"{served.url}/embeddings", json={"input": "bicycle"}, headers=headers, timeout=60
        )
        assert vectors.status_code == 200, vectors.text
        assert vectors.json()["model"] == STARTER_EMBEDDING_ID
    finally:
        stop_serve(served)


# -- the window's server ----------------------------------------------------------------
def test_the_windows_server_embeds_outside_the_windows_process(
    qtbot: Any, tmp_path: Path, embedder: Embedder
) -> None:
    from app.services.server_service import ServerService, ServerSettings
    from tests.server.conftest import starter_library

    service = ServerService(starter_library(tmp_path), ServerSettings(port=0, api_key=API_KEY))
    try:
        assert service.start()
        assert service.url is not None
        api = openai.OpenAI(base_url=service.url, api_key=API_KEY, max_retries=0, timeout=120)
        reply = api.embeddings.create(input=TEXTS, model="", encoding_format="float")
        vectors = np.array([d.embedding for d in reply.data], dtype=np.float32)
        assert np.allclose(vectors, embedder.embed(TEXTS), atol=1e-6)
        served = service._server
        assert served is not None
        child = served.docs.documents.embedder
        pid = getattr(child, "pid", None)
        assert pid is not None and pid != os.getpid(), type(child)
    finally:
        service.shutdown()


def test_the_windows_server_borrows_the_windows_documents(
    qtbot: Any, tmp_path: Path, database: Path
) -> None:
    """Lent the window's documents, the server reads that index through that embedding
    process (no second one) and leaves them open when it stops."""
    from app.services.server_service import ServerService, ServerSettings
    from tests.server.conftest import starter_library

    documents = Documents.open(database, out_of_process=True)
    service = ServerService(
        starter_library(tmp_path),
        ServerSettings(port=0, api_key=API_KEY),
        documents=lambda: documents,
    )
    try:
        assert service.start()
        assert service.url is not None
        api = openai.OpenAI(base_url=service.url, api_key=API_KEY, max_retries=0, timeout=120)
        api.embeddings.create(input=TEXTS, model="", encoding_format="float")
        served = service._server
        assert served is not None and served.docs.documents is documents
        service.stop()
        # Still the window's, still working: its embedding process answers.
        assert documents.embedder.embed(["still here"]).shape[0] == 1
        assert documents.summaries()
    finally:
        service.shutdown()
        documents.close()
