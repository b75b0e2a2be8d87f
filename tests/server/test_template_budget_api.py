"""The API server on GGUF copies whose chat template loops or escapes the sandbox: the
request is answered with the built-in template, the reply says why (X-Hearth-Notice),
and ``hearth serve`` says it on its terminal."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.server.engine_bridge import EngineBridge
from app.server.httpd import NOTICE_HEADER, HearthServer, ServerConfig
from app.server.openai_api import Limits
from tests.fixtures.templates import bad_template_copy, expected_notice
from tests.server.conftest import API_KEY, CHAT_MODEL, start_serve, starter_library, stop_serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BUDGET_S = 5.0


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory, smol_model: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("templates")
    return {kind: bad_template_copy(smol_model, folder, kind) for kind in ("loop", "escape")}


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, copies: dict[str, Path]
) -> Iterator[tuple[HearthServer, dict[str, str]]]:
    """The API in this process, nothing preloaded: each request loads its model."""
    library = starter_library(tmp_path_factory.mktemp("server-home"))
    names = {kind: library.import_path(path)[0].name for kind, path in copies.items()}
    bridge = EngineBridge(library, n_ctx=512, n_gpu_layers=0, max_queue=8)
    config = ServerConfig(port=0, api_key=API_KEY, limits=Limits(max_tokens=64))
    server = HearthServer(library, config, bridge=bridge)
    server.start()
    yield server, names
    server.close()


def post_chat(
    server: HearthServer, model: str, *, stream: bool = False
) -> tuple[int, dict[str, str], bytes, float]:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 4,
        "temperature": 0,
        "stream": stream,
    }
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read()
    took = time.monotonic() - started
    conn.close()
    # Header names are case-insensitive: keyed in lower case (as the server sends them).
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data, took


@pytest.mark.parametrize("kind", ["loop", "escape"])
def test_api_answers_with_the_builtin_template_and_says_why(
    served: tuple[HearthServer, dict[str, str]], copies: dict[str, Path], kind: str
) -> None:
    server, names = served
    # The starter model, loaded by this request as the copy is by the next: the baseline.
    status, headers, _, base_s = post_chat(server, CHAT_MODEL)
    assert status == 200 and NOTICE_HEADER.lower() not in headers

    status, headers, data, took = post_chat(server, names[kind])
    assert status == 200, data
    reply: dict[str, Any] = json.loads(data)
    assert reply["usage"]["completion_tokens"] > 0
    assert reply["choices"][0]["message"]["content"]
    assert headers[NOTICE_HEADER.lower()] == expected_notice(copies[kind], kind)
    assert took < base_s + BUDGET_S, (took, base_s)

    # Streamed, with the model loaded: answered at once.
    status, _, data, streamed_s = post_chat(server, names[kind], stream=True)
    assert status == 200 and data.rstrip().endswith(b"data: [DONE]")
    assert b'"content"' in data
    print(f"API: starter {base_s:.2f} s, {kind} {took:.2f} s, streamed again {streamed_s:.2f} s")


def test_hearth_serve_says_why_on_its_terminal(tmp_path: Path, copies: dict[str, Path]) -> None:
    process = start_serve(tmp_path / "home", "--model", str(copies["escape"]))
    try:
        status_line = process.url
        assert status_line.startswith("http://127.0.0.1:")
    finally:
        stop_serve(process)
    assert process.process.stderr is not None
    err = process.process.stderr.read()
    assert f"[{expected_notice(copies['escape'], 'escape')}]" in err, err
