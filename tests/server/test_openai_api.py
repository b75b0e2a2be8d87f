"""Request parsing of the OpenAI wire format: what is accepted, and the 400s for the rest."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from app.catalog.library import Library
from app.core.errors import ServerError
from app.server.assemble import assemble_server
from app.server.httpd import ServerConfig, is_loopback
from app.server.openai_api import ApiError, Limits, parse_chat, parse_completion

pytestmark = pytest.mark.timeout(30)
LIMITS = Limits(max_tokens=1000)


def chat(**body: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "Hi"}], **body}


def test_chat_maps_sampling_settings_and_roles() -> None:
    request = parse_chat(
        chat(
            model="m",
            messages=[
                {"role": "developer", "content": "Be brief."},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}],
                },
            ],
            max_tokens=64,
            temperature=0.2,
            top_p=0.5,
            seed=9,
            stop="END",
            stream=True,
            stream_options={"include_usage": True},
        ),
        LIMITS,
    )
    assert request.model == "m" and request.stream and request.include_usage
    assert request.messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there"},
    )
    params = request.params
    assert (params.max_tokens, params.temperature, params.top_p, params.seed) == (64, 0.2, 0.5, 9)
    assert params.stop == ("END",)


def test_missing_max_tokens_means_the_servers_limit() -> None:
    assert parse_chat(chat(), LIMITS).params.max_tokens == 1000
    assert parse_chat(chat(max_completion_tokens=12), LIMITS).params.max_tokens == 12


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": []}, "non-empty list"),
        (chat(max_tokens=1001), "at most 1000"),
        (chat(max_tokens=0), "at least 1"),
        (chat(temperature=3), "'temperature' must be a number from 0 to 2"),
        (chat(temperature=-3), "'temperature' must be a number from 0 to 2"),
        (chat(temperature="hot"), "must be a number"),
        (chat(top_p=7), "'top_p' must be a number from 0 to 1"),
        (chat(top_k=2.5), "'top_k' must be a whole number from 0 to 1000"),
        (chat(min_p=-0.1), "'min_p' must be a number from 0 to 1"),
        (chat(repeat_penalty=0), "'repeat_penalty' must be a number above 0 and at most 4"),
        (chat(n=2), "n=1"),
        (chat(stop=["a", "b", "c", "d", "e"]), "up to 4"),
        (chat(tools=[{"type": "function"}]), "Each tool must be"),
        (chat(functions=[{"name": "f"}]), "not supported"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "needs an image_url with a url",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            "takes text and image_url parts",
        ),
    ],
)
def test_bad_chat_requests_are_400(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiError, match=message) as caught:
        parse_chat(body, LIMITS)
    assert caught.value.status == 400
    assert caught.value.body()["error"]["type"] == "invalid_request_error"


def test_completion_prompt_becomes_one_user_turn() -> None:
    request = parse_completion({"prompt": ["Once upon"], "max_tokens": 5}, LIMITS)
    assert request.messages == ({"role": "user", "content": "Once upon"},)
    with pytest.raises(ApiError, match="echo"):
        parse_completion({"prompt": "x", "echo": True}, LIMITS)
    with pytest.raises(ApiError, match="one string"):
        parse_completion({"prompt": [1, 2]}, LIMITS)


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")


def test_cors_when_asked_for(tmp_path: Path) -> None:
    library = Library(tmp_path / "library.json", [tmp_path])
    config = ServerConfig(port=0, cors_origin="http://app.example")
    server = assemble_server(library, config)  # the engine worker starts only when needed
    server.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("OPTIONS", "/v1/chat/completions", headers={"Origin": "http://app.example"})
        preflight = conn.getresponse()
        preflight.read()
        assert preflight.status == 204
        assert preflight.getheader("Access-Control-Allow-Origin") == "http://app.example"
        assert "Authorization" in (preflight.getheader("Access-Control-Allow-Headers") or "")
        conn.request("GET", "/v1/models")
        listing = conn.getresponse()
        listed = json.loads(listing.read())
        # An empty library: only the documents' embedding model (a package) is listed.
        assert listed["object"] == "list"
        assert [m for m in listed["data"] if m["hearth_kind"] != "embedding"] == []
        assert listing.getheader("Access-Control-Allow-Origin") == "http://app.example"
        assert server.bridge.engine.worker_pid is None
    finally:
        server.close()


def test_busy_port_is_a_clear_server_error(tmp_path: Path) -> None:
    library = Library(tmp_path / "library.json", [tmp_path])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerError, match=f"Cannot listen on 127.0.0.1:{port}"):
            assemble_server(library, ServerConfig(port=port))
