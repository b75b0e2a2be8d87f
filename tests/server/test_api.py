"""Hearth's OpenAI-compatible API, driven by the official ``openai`` client, on the real
starter models (SmolLM2 through the engine worker, Whisper base, the Piper voice)."""

from __future__ import annotations

import http.client
import io
import json
import re
import socket
import threading
import time
import wave
from collections.abc import Callable
from typing import Any

import numpy as np
import openai
import pytest

from app.core.generation import GenerationParams, Message
from app.server.engine_bridge import JobRecord
from app.server.httpd import HearthServer
from tests.fixtures.reference import Reference
from tests.server.conftest import API_KEY, CHAT_MODEL, recorded_load

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
LONG_STORY = [{"role": "user", "content": "Write a very long story about a dragon and a king."}]
SPOKEN = "What is the capital of France?"


def client(server: HearthServer, key: str = API_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=key, max_retries=0, timeout=60)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def raw_request(
    server: HearthServer, method: str, path: str, body: dict[str, Any] | None = None, **headers: str
) -> http.client.HTTPConnection:
    """Send a request without reading the answer (the caller decides when to hang up)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    conn.request(method, path, body=data, headers={**all_headers, **headers})
    return conn


def hang_up(conn: http.client.HTTPConnection) -> None:
    """Close the connection now (``close`` alone waits for a response object's reference)."""
    assert conn.sock is not None
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()


def cancelled_since(started: float) -> Callable[[JobRecord], bool]:
    return lambda r: r.finish_reason == "cancelled" and r.ended_at >= started


def prompt_tokens(reference: Reference, server: HearthServer, messages: list[Message]) -> int:
    """How many tokens the engine's prompt for ``messages`` holds (its template and
    context policy, as the reference computes them): the whole conversation arrived."""
    return len(reference.prompt_tokens(recorded_load(server), messages, GenerationParams()))


def test_models_lists_chat_and_speech_models(api_server: HearthServer) -> None:
    ids = [m.id for m in client(api_server).models.list()]
    assert CHAT_MODEL in ids
    assert "whisper-base" in ids and "en_US-joe-medium" in ids
    assert client(api_server).models.retrieve(CHAT_MODEL).owned_by == "hearth"


def test_chat_completion_non_streaming(
    fresh_api_server: HearthServer, reference: Reference
) -> None:
    reply = client(fresh_api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=QUESTION,
        max_tokens=40,
        temperature=0,
        seed=7,
    )
    text = reply.choices[0].message.content or ""
    # The words depend on the CPU; the server's first reply must be llama-cpp-python's
    # own for the same model, prompt and sampling, whatever they are.
    expected = reference.answer(
        recorded_load(fresh_api_server),
        QUESTION,
        GenerationParams(max_tokens=40, temperature=0.0, seed=7),
    )
    assert text == expected.text and text.strip()
    assert reply.choices[0].finish_reason == expected.finish_reason
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == expected.prompt_tokens
    assert 0 < reply.usage.completion_tokens <= 40
    assert reply.model == CHAT_MODEL


def test_chat_completion_streams_in_chunks(api_server: HearthServer, reference: Reference) -> None:
    stream = client(api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=QUESTION,
        max_tokens=40,
        temperature=0,
        seed=7,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces: list[str] = []
    finish: str | None = None
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    text = "".join(pieces)
    assert text.strip()
    assert finish in ("stop", "length")
    assert usage is not None and 0 < usage.completion_tokens <= 40
    # Several chunks, unless the model's answer is a word or two on this CPU.
    chunks = len([p for p in pieces if p])
    assert chunks >= min(3, usage.completion_tokens), "the reply should arrive in chunks"
    assert finish == "stop" or usage.completion_tokens == 40
    assert usage.prompt_tokens == prompt_tokens(reference, api_server, QUESTION)


def test_legacy_completions_endpoint(api_server: HearthServer, reference: Reference) -> None:
    prompt = "What is the capital of France?"
    reply = client(api_server).completions.create(
        model=CHAT_MODEL, prompt=prompt, max_tokens=24, temperature=0
    )
    assert reply.choices[0].text.strip()
    assert reply.choices[0].finish_reason in ("stop", "length")
    # The prompt is one user turn in the model's chat template (see parse_completion).
    assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 24
    user_turn: list[Message] = [{"role": "user", "content": prompt}]
    assert reply.usage.prompt_tokens == prompt_tokens(reference, api_server, user_turn)


def test_embeddings_of_the_chat_model(api_server: HearthServer, reference: Reference) -> None:
    from app.catalog.gguf_meta import read_gguf

    api = client(api_server)
    texts = ["The cat sat on the mat.", "A kitten rested on the rug.", "Quarterly tax deadlines"]
    # The official client asks for base64 and decodes it; ask for floats too.
    packed = api.embeddings.create(model=CHAT_MODEL, input=texts)
    plain = api.embeddings.create(model=CHAT_MODEL, input=texts, encoding_format="float")
    entry = api_server.bridge.resolve_model(CHAT_MODEL)
    width = read_gguf(entry.path).arch_value("embedding_length")
    vectors = np.array([d.embedding for d in packed.data])
    assert vectors.shape == (3, width)
    assert [d.index for d in packed.data] == [0, 1, 2]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors, np.array([d.embedding for d in plain.data]), atol=1e-6)
    assert packed.usage.prompt_tokens > len(texts)
    cat, kitten, tax = vectors
    assert cat @ kitten > cat @ tax + 0.05, "related sentences should lie closer"
    one = api.embeddings.create(model=CHAT_MODEL, input=texts[0], encoding_format="float")
    assert np.allclose(one.data[0].embedding, vectors[0], atol=1e-5)
    # The chat model is still there for the next chat.
    reply = api.chat.completions.create(
        model=CHAT_MODEL, messages=QUESTION, max_tokens=24, temperature=0
    )
    assert (reply.choices[0].message.content or "").strip()
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == prompt_tokens(reference, api_server, QUESTION)


def test_embeddings_reject_bad_input_clearly(api_server: HearthServer) -> None:
    api = client(api_server)
    with pytest.raises(openai.BadRequestError, match="split it into smaller pieces"):
        api.embeddings.create(model=CHAT_MODEL, input="word " * 9000, encoding_format="float")
    with pytest.raises(openai.BadRequestError, match="token arrays are not supported"):
        api.embeddings.create(model=CHAT_MODEL, input=[[1, 2, 3]], encoding_format="float")


def test_unknown_model_is_404(api_server: HearthServer) -> None:
    with pytest.raises(openai.NotFoundError, match="gpt-4o"):
        client(api_server).chat.completions.create(model="gpt-4o", messages=QUESTION)


def test_wrong_or_missing_key_is_401(api_server: HearthServer) -> None:
    with pytest.raises(openai.AuthenticationError):
        client(api_server, key="wrong-key-xyz").models.list()
    conn = http.client.HTTPConnection("127.0.0.1", api_server.port, timeout=10)
    conn.request("GET", "/v1/models")
    response = conn.getresponse()
    assert response.status == 401
    assert "API key" in json.loads(response.read())["error"]["message"]


def test_limits_on_max_tokens_and_body_size(api_server: HearthServer) -> None:
    with pytest.raises(openai.BadRequestError, match="at most 3000"):
        client(api_server).chat.completions.create(
            model=CHAT_MODEL,
            messages=QUESTION,
            max_tokens=5000,
        )
    # Refused from the header alone: the 3 MiB body is never sent, nor read.
    with socket.create_connection(("127.0.0.1", api_server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
            + f"Authorization: Bearer {API_KEY}\r\n".encode()
            + f"Content-Length: {3 * 1024 * 1024}\r\n\r\n".encode()
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")


def test_cors_is_off_by_default(api_server: HearthServer) -> None:
    conn = raw_request(api_server, "GET", "/v1/models", Origin="http://localhost:3000")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") is None
    conn.request("OPTIONS", "/v1/chat/completions", headers={"Origin": "http://localhost:3000"})
    assert conn.getresponse().status == 405
    # A page from anywhere else is refused outright (tests/server/test_http_safety.py).
    refused = raw_request(api_server, "GET", "/v1/models", Origin="http://evil.example")
    assert refused.getresponse().status == 403


def test_speech_returns_a_valid_wav(api_server: HearthServer) -> None:
    audio = client(api_server).audio.speech.create(
        model="tts-1", voice="alloy", input=SPOKEN, response_format="wav"
    )
    with wave.open(io.BytesIO(audio.content), "rb") as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        assert wav.getframerate() == 22050
        seconds = wav.getnframes() / wav.getframerate()
    assert 0.8 < seconds < 6.0, seconds


def test_speech_honours_speed_and_refuses_a_bad_one(api_server: HearthServer) -> None:
    api = client(api_server)

    def seconds(**kwargs: object) -> float:
        audio = api.audio.speech.create(
            model="tts-1", voice="alloy", input=SPOKEN, response_format="wav", **kwargs
        )
        with wave.open(io.BytesIO(audio.content), "rb") as wav:
            return wav.getnframes() / wav.getframerate()

    normal, fast = seconds(), seconds(speed=2.0)
    assert 0.4 < fast / normal < 0.75, (normal, fast)  # short text: fixed edges weigh in
    with pytest.raises(openai.BadRequestError, match="'speed' must be a number"):
        seconds(speed=9)


def test_transcribes_piper_speech_back(api_server: HearthServer) -> None:
    api = client(api_server)
    audio = api.audio.speech.create(
        model="tts-1", voice="alloy", input=SPOKEN, response_format="wav"
    )
    transcript = api.audio.transcriptions.create(
        model="whisper-1", file=("question.wav", audio.content, "audio/wav"), language="en"
    )
    # Piper samples its own noise, so a word may come out slurred: most words must be heard.
    heard = words(transcript.text)
    assert len(words(SPOKEN) & heard) >= 4, transcript.text
    assert "capital" in heard, transcript.text


def test_streaming_client_that_hangs_up_cancels_its_generation(api_server: HearthServer) -> None:
    bridge = api_server.bridge
    started = time.monotonic()
    body = {
        "model": CHAT_MODEL,
        "messages": LONG_STORY,
        "max_tokens": 2500,
        "temperature": 0.8,
        "seed": 3,
        "stream": True,
    }
    conn = raw_request(api_server, "POST", "/v1/chat/completions", body)
    response = conn.getresponse()
    assert response.status == 200
    while b'"content": "' not in (line := response.readline()) or b'"content": ""' in line:
        assert line, "the stream ended before any text"
    hang_up(conn)  # mid-reply
    record = bridge.wait_for_record(cancelled_since(started), timeout=60)
    assert record is not None, f"generation was not cancelled: {list(bridge.history)[-3:]}"
    assert record.completion_tokens < 2500
    # The engine is free again: a short request starts at once instead of queueing
    # behind the ~1700 tokens the story would still have taken.
    asked = time.monotonic()
    reply = client(api_server).chat.completions.create(
        model=CHAT_MODEL,
        messages=QUESTION,
        max_tokens=8,
        temperature=0,
    )
    assert reply.choices[0].message.content
    quick = bridge.wait_for_record(lambda r: r.ended_at >= asked, timeout=5)
    assert quick is not None and quick.finish_reason != "cancelled"
    assert quick.queued_s < 1.0, quick


def test_waiting_client_that_hangs_up_cancels_its_generation(api_server: HearthServer) -> None:
    """A non-streaming client writes nothing while it waits; the server watches its socket."""
    bridge = api_server.bridge
    started = time.monotonic()
    body = {"model": CHAT_MODEL, "messages": LONG_STORY, "max_tokens": 2500, "seed": 3}
    conn = raw_request(api_server, "POST", "/v1/chat/completions", body)
    assert bridge.wait_for_record(lambda r: False, timeout=0.0) is None
    hang_up(conn)
    record = bridge.wait_for_record(cancelled_since(started), timeout=60)
    assert record is not None, f"generation was not cancelled: {list(bridge.history)[-3:]}"
    assert record.completion_tokens < 2500


def test_two_concurrent_clients_are_both_answered_in_turn(api_server: HearthServer) -> None:
    bridge = api_server.bridge
    assert bridge.wait_idle(30)
    started = time.monotonic()
    barrier = threading.Barrier(2)
    answers: dict[int, str] = {}
    errors: list[BaseException] = []

    def ask(index: int) -> None:
        try:
            barrier.wait(10)
            stream = client(api_server).chat.completions.create(
                model=CHAT_MODEL,
                messages=[{"role": "user", "content": f"Name {index + 2} colours."}],
                max_tokens=32,
                temperature=0,
                stream=True,
            )
            answers[index] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert set(answers) == {0, 1} and all(answers.values()), answers
    runs = [r for r in bridge.history if r.ended_at >= started and r.source.startswith("api")]
    assert len(runs) == 2
    # One engine, one generation at a time: the second waited while the first ran.
    first, second = sorted(runs, key=lambda r: r.ended_at)
    assert second.queued_s > 0.5 * first.run_s


def test_full_queue_is_429_and_the_queue_stays_fair(api_server: HearthServer) -> None:
    bridge = api_server.bridge
    assert bridge.wait_idle(30)
    saved = bridge.max_queue
    bridge.max_queue = 1
    started = time.monotonic()
    try:
        body = {
            "model": CHAT_MODEL,
            "messages": LONG_STORY,
            "max_tokens": 2500,
            "seed": 3,
            "stream": True,
        }
        running = raw_request(api_server, "POST", "/v1/chat/completions", body)
        assert running.getresponse().status == 200  # headers come once the job is queued
        waiting = raw_request(
            api_server, "POST", "/v1/chat/completions", {**body, "max_tokens": 4, "stream": False}
        )
        deadline = time.monotonic() + 10
        while bridge.queued() < 1:
            assert time.monotonic() < deadline, "the second request never queued"
            threading.Event().wait(0.01)
        with pytest.raises(openai.RateLimitError, match="waiting"):
            client(api_server).chat.completions.create(model=CHAT_MODEL, messages=QUESTION)
        hang_up(running)
        answer = waiting.getresponse()
        assert answer.status == 200
        assert json.loads(answer.read())["choices"][0]["message"]["content"]
    finally:
        bridge.max_queue = saved
    assert bridge.wait_for_record(cancelled_since(started), timeout=60) is not None
