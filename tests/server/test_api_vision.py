"""Images through the API, end to end: the official ``openai`` client against Hearth's
server with a library holding the tiny vision pair (random weights, tests/fixtures/
vision_gguf.py) and the starter SmolLM2, the engine worker and mtmd for real.

With random weights the words mean nothing, so the tests assert what must hold: the
prompt grows by the projector's image tokens per image, the same request gives the same
greedy reply, different images give different first-token log-probabilities, every
refusal is a 400 with its sentence, and the server answers normally afterwards.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from PIL import Image

from app.catalog.library import CHAT
from app.core.paths import app_paths
from app.core.settings import Settings, save_settings
from app.server.engine_bridge import EngineBridge
from app.server.httpd import HearthServer, ServerConfig
from app.server.openai_api import Limits
from tests.fixtures.vision_gguf import VisionPair
from tests.server.conftest import (
    API_KEY,
    CHAT_MODEL,
    ROOT,
    start_serve,
    starter_library,
    stop_serve,
)
from tests.vision.test_images import png_header_only

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

QUESTION = "What is in this picture?"


def png(colour: tuple[int, int, int], size: int = 48) -> bytes:
    """A picture with some structure (a square in a corner), so colours matter."""
    image = Image.new("RGB", (size, size), colour)
    image.paste((255 - colour[0], 255 - colour[1], 255 - colour[2]), (0, 0, size // 2, size // 2))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def data_url(raw: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


RED, BLUE = png((220, 20, 20)), png((20, 20, 220))


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, "detail": "auto"}}


def text(words: str) -> dict[str, Any]:
    return {"type": "text", "text": words}


@dataclass
class Served:
    server: HearthServer
    vision_model: str  # the tiny pair's name in the library
    image_tokens: int
    allowed: Path  # the folder file:// images may come from
    outside: Path

    def client(self) -> Any:
        """The official client (typed loosely: its overloads do not take plain dicts)."""
        return openai.OpenAI(base_url=self.server.url, api_key=API_KEY, max_retries=0, timeout=240)

    def ask(self, *parts: dict[str, Any], model: str | None = None, **request: Any) -> Any:
        """One user message of ``parts``, greedy, a short reply."""
        request = {"max_tokens": 4, "temperature": 0, "seed": 7, **request}
        return self.client().chat.completions.create(
            model=model or self.vision_model,
            messages=[{"role": "user", "content": list(parts)}],
            **request,
        )

    def refused(self, *parts: dict[str, Any], **request: Any) -> openai.BadRequestError:
        with pytest.raises(openai.BadRequestError) as caught:
            self.ask(*parts, **request)
        assert caught.value.status_code == 400
        return caught.value


def message_of(error: openai.APIStatusError) -> str:
    body = error.body
    assert isinstance(body, dict), body  # the client gives the "error" object itself
    return str(body["message"])


@contextmanager
def serving(folder: Path, pair: VisionPair, *, n_ctx: int = 4096) -> Iterator[Served]:
    """Hearth's API in this process: the starter models and the tiny vision pair (taken
    into the library where it is, its projector found beside it), file:// images
    allowed in one folder."""
    library = starter_library(folder)
    entry = library.import_path(pair.model)[0]
    assert entry.kind == CHAT and entry.vision and entry.mmproj == str(pair.mmproj), entry
    allowed, outside = folder / "allowed", folder / "outside"
    for place in (allowed, outside):
        place.mkdir()
    bridge = EngineBridge(library, n_ctx=n_ctx, n_gpu_layers=0, n_threads=2, max_queue=8)
    config = ServerConfig(
        port=0, api_key=API_KEY, limits=Limits(max_tokens=64), image_folders=(str(allowed),)
    )
    server = HearthServer(library, config, bridge=bridge)
    try:
        server.preload(entry.name)
        server.start()
        yield Served(server, entry.name, pair.image_tokens, allowed, outside)
    finally:
        server.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, vision_pair: VisionPair) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("vision-server"), vision_pair) as running:
        yield running


def still_answers(served: Served) -> None:
    """A good image request right after a refusal is answered normally."""
    reply = served.ask(text(QUESTION), image(data_url(RED)))
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage.completion_tokens >= 1


# -- the models list -------------------------------------------------------------------------
def test_models_say_which_ones_see_images(served: Served) -> None:
    cards = {m.id: m.model_extra for m in served.client().models.list().data}
    assert cards[served.vision_model]["hearth_vision"] is True
    assert cards[CHAT_MODEL]["hearth_vision"] is False
    assert all("hearth_vision" not in c for c in cards.values() if c["hearth_kind"] != "chat")


# -- what a vision model reads ---------------------------------------------------------------
def test_an_image_adds_its_tokens_to_the_prompt_streamed_or_not(served: Served) -> None:
    plain = served.ask(text(QUESTION))
    seen = served.ask(image(data_url(RED)), text(QUESTION))
    assert seen.usage.prompt_tokens == plain.usage.prompt_tokens + served.image_tokens

    chunks = list(
        served.ask(
            image(data_url(RED)),
            text(QUESTION),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].usage.prompt_tokens == seen.usage.prompt_tokens
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == seen.choices[0].message.content  # greedy: the same reply


def test_two_images_in_one_message(served: Served) -> None:
    # Text cut where the tokenizer cuts anyway (a space goes with the word after it), so
    # the pieces read as the whole text does.
    plain = served.ask(text("Compare with."))
    both = served.ask(
        text("Compare"), image(data_url(RED)), text(" with"), image(data_url(BLUE)), text(".")
    )
    assert both.usage.prompt_tokens == plain.usage.prompt_tokens + 2 * served.image_tokens
    first = served.ask(image(data_url(RED)), image(data_url(BLUE)), text("Compare with."))
    assert first.usage.prompt_tokens == both.usage.prompt_tokens


def test_the_same_request_twice_gives_the_same_greedy_reply(served: Served) -> None:
    first = served.ask(image(data_url(BLUE)), text(QUESTION), max_tokens=12)
    second = served.ask(image(data_url(BLUE)), text(QUESTION), max_tokens=12)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.usage == second.usage


def test_different_images_give_different_first_tokens_odds(served: Served) -> None:
    def odds(picture: bytes) -> list[tuple[str, float]]:
        reply = served.ask(
            image(data_url(picture)), text(QUESTION), max_tokens=1, logprobs=True, top_logprobs=5
        )
        first = reply.choices[0].logprobs.content[0]
        return [(t.token, t.logprob) for t in first.top_logprobs]

    red, blue, red_again = odds(RED), odds(BLUE), odds(RED)
    assert [t for t, _ in red] == [t for t, _ in red_again]
    assert all(abs(a - b) < 1e-3 for (_, a), (_, b) in zip(red, red_again, strict=True))
    assert red != blue


# -- refusals ----------------------------------------------------------------------------------
def test_a_text_only_model_refuses_and_names_the_models_that_see(served: Served) -> None:
    for stream in (False, True):
        error = served.refused(
            image(data_url(RED)), text(QUESTION), model=CHAT_MODEL, stream=stream
        )
        message = message_of(error)
        assert f"Model {CHAT_MODEL} reads text only" in message
        assert f"models here that can see images: {served.vision_model}" in message
    still_answers(served)


def test_pairing_or_unpairing_the_projector_counts_from_the_next_request(
    tmp_path: Path, vision_pair: VisionPair
) -> None:
    with serving(tmp_path, vision_pair) as running:
        library = running.server.library
        library.unpair(vision_pair.model)
        error = running.refused(image(data_url(RED)), text(QUESTION))
        assert "reads text only, and no other model here can see images" in message_of(error)
        bridge = running.server.bridge
        assert bridge.status()["loaded_projector"] == str(vision_pair.mmproj)
        plain = running.ask(text(QUESTION))  # loads the model again, without its projector
        assert bridge.status()["loaded_projector"] is None
        library.pair(vision_pair.model, vision_pair.mmproj)
        seen = running.ask(image(data_url(RED)), text(QUESTION))  # and with it again
        assert bridge.status()["loaded_projector"] == str(vision_pair.mmproj)
        assert seen.usage.prompt_tokens == plain.usage.prompt_tokens + running.image_tokens

        # A copy whose projector went missing: said so, without the user's paths.
        copies = tmp_path / "copies"
        copies.mkdir()
        shutil.copy(vision_pair.model, copies / "tiny-copy-F16.gguf")
        shutil.copy(vision_pair.mmproj, copies / "mmproj-tiny-copy-F16.gguf")
        copy = library.import_path(copies / "tiny-copy-F16.gguf")[0]
        assert copy.vision
        (copies / "mmproj-tiny-copy-F16.gguf").unlink()
        error = running.refused(image(data_url(RED)), text(QUESTION), model=copy.name)
        message = message_of(error)
        assert f"Model {copy.name} reads text only for now: its vision projector is missing" in (
            message
        )
        assert message.endswith(f"models here that can see images: {running.vision_model}.")
        assert str(copies) not in message


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local port that would record any connection made to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def test_http_urls_are_refused_without_any_connection(
    served: Served, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    for url in (f"http://127.0.0.1:{port}/cat.png", f"https://127.0.0.1:{port}/cat.png"):
        for stream in (False, True):
            error = served.refused(text(QUESTION), image(url), stream=stream)
            assert "image URLs are not fetched" in message_of(error)
            assert "send the image as a data: URL" in message_of(error)
    # The refusals came back, so any connection would already be in the backlog.
    with pytest.raises(BlockingIOError):
        listener.accept()
    still_answers(served)


def test_file_urls_work_inside_the_allowed_folder_only(served: Served) -> None:
    inside = served.allowed / "red.png"
    inside.write_bytes(RED)
    secret = served.outside / "red.png"
    secret.write_bytes(RED)
    os.symlink(secret, served.allowed / "link.png")

    by_file = served.ask(image(inside.as_uri()), text(QUESTION))
    by_data = served.ask(image(data_url(RED)), text(QUESTION))
    assert by_file.usage.prompt_tokens == by_data.usage.prompt_tokens
    assert by_file.choices[0].message.content == by_data.choices[0].message.content

    for url in (
        secret.as_uri(),
        (served.allowed / "link.png").as_uri(),
        f"file://{served.allowed}/../outside/red.png",
    ):
        error = served.refused(image(url), text(QUESTION))
        assert "outside the folders this server may read images from" in message_of(error)
    still_answers(served)


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("data:image/png;base64,iVBORw0K!!!!", "invalid base64"),
        (data_url(b"%PDF-1.4 not a picture at all"), "not an image"),
        (data_url(RED[: len(RED) // 2]), "damaged"),
        (data_url(png_header_only(20_000, 20_000)), "pixels"),
    ],
    ids=["corrupt-base64", "not-an-image", "truncated", "decompression-bomb"],
)
def test_bad_images_are_a_400_with_their_sentence(served: Served, url: str, sentence: str) -> None:
    error = served.refused(text(QUESTION), image(url))
    assert sentence in message_of(error)
    assert error.body["param"] == "messages[0].content[1]"  # type: ignore[index]
    still_answers(served)


def test_images_over_the_context_are_a_400_before_generation(
    tmp_path: Path, vision_pair: VisionPair
) -> None:
    # 5 images of 64 tokens cannot fit a context of 256.
    with serving(tmp_path, vision_pair, n_ctx=256) as small:
        pictures = [image(data_url(png((40 * i, 90, 200 - 30 * i)))) for i in range(5)]
        for stream in (False, True):
            error = small.refused(text(QUESTION), *pictures, stream=stream)
            assert "context" in message_of(error)
        still_answers(small)
        assert small.server.bridge.counts["error"] == 2


# -- hearth serve ------------------------------------------------------------------------------
def test_hearth_serve_reads_images_in_the_folder_its_settings_allow(
    tmp_path: Path, vision_pair: VisionPair
) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "blue.png").write_bytes(BLUE)
    paths = app_paths().ensure()  # this test's HEARTH_HOME
    save_settings(paths, Settings(api_image_folders=[str(folder)]))
    home = Path(os.environ["HEARTH_HOME"])
    served = start_serve(home, "--api-key", API_KEY, "--model", str(vision_pair.model))
    try:
        client: Any = openai.OpenAI(
            base_url=served.url, api_key=API_KEY, max_retries=0, timeout=240
        )
        name = _vision_name(client)

        def prompt_tokens(*parts: dict[str, Any]) -> int:
            reply = client.chat.completions.create(
                messages=[{"role": "user", "content": list(parts)}],
                model=name,
                max_tokens=2,
            )
            assert reply.usage is not None
            return int(reply.usage.prompt_tokens)

        with_image = prompt_tokens(image((folder / "blue.png").as_uri()), text(QUESTION))
        assert with_image == prompt_tokens(text(QUESTION)) + vision_pair.image_tokens
    finally:
        stop_serve(served)

    missing = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--allow-image-folder", str(tmp_path / "nowhere")],
        check=False,
        cwd=ROOT,
        env={**os.environ, "HEARTH_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode != 0
    assert "is not an existing folder" in missing.stderr


def _vision_name(client: Any) -> str:
    names = [m.id for m in client.models.list().data if (m.model_extra or {}).get("hearth_vision")]
    assert len(names) == 1, names
    return str(names[0])
