"""The API's image parts without a model: parsing, the URL rules, the folder rules, limits.

The whole path with a model and the ``openai`` client is in test_api_vision.py.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.core.errors import ConfigError
from app.core.generation import IMAGE_MARK
from app.server.openai_api import ApiError, CompletionRequest, ImagePart, Limits, parse_chat
from app.server.openai_images import allowed_folders, read_images
from app.vision.images import prepare_image

pytestmark = pytest.mark.timeout(30)
LIMITS = Limits(max_tokens=100)


def png(colour: tuple[int, int, int] = (200, 30, 30), size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="PNG")
    return out.getvalue()


def data_url(raw: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def image_part(url: str, detail: str | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {"url": url}
    if detail is not None:
        inner["detail"] = detail
    return {"type": "image_url", "image_url": inner}


def user(*parts: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": list(parts)}]}


def rejected(body: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_chat(body, LIMITS)
    assert caught.value.status == 400
    return caught.value


def test_interleaved_parts_put_a_mark_where_each_image_was() -> None:
    request = parse_chat(
        user(
            {"type": "text", "text": "Compare "},
            image_part("data:image/png;base64,AAAA", "high"),
            {"type": "text", "text": " with "},
            {"type": "image_url", "image_url": "data:image/png;base64,BBBB"},  # string form
            {"type": "text", "text": "."},
        ),
        LIMITS,
    )
    assert request.messages == (
        {"role": "user", "content": f"Compare {IMAGE_MARK} with {IMAGE_MARK}."},
    )
    assert request.images == (
        ImagePart(0, 1, "data:image/png;base64,AAAA"),
        ImagePart(0, 3, "data:image/png;base64,BBBB"),
    )
    assert request.images[1].param == "messages[0].content[3]"


def test_a_mark_typed_by_a_client_is_dropped() -> None:
    request = parse_chat({"messages": [{"role": "user", "content": f"a{IMAGE_MARK}b"}]}, LIMITS)
    assert request.messages[0]["content"] == "ab" and request.images == ()


@pytest.mark.parametrize("role", ["assistant", "system", "developer", "tool"])
def test_only_user_messages_may_carry_images(role: str) -> None:
    body = {
        "messages": [
            {"role": role, "content": [image_part("data:image/png;base64,AAAA")]},
            {"role": "user", "content": "Hi"},
        ]
    }
    error = rejected(body)
    assert "only user messages may carry images" in error.message
    assert error.param == "messages[0].content[0]"


def test_bad_image_parts_are_named() -> None:
    assert "detail must be auto, low or high" in rejected(user(image_part("x", "huge"))).message
    assert "needs an image_url with a url" in rejected(user({"type": "image_url"})).message
    error = rejected(user({"type": "input_audio", "input_audio": {}}))
    assert "'input_audio' part" in error.message


def test_too_many_images_in_one_request_is_a_400_naming_the_cap() -> None:
    parts = [image_part("data:image/png;base64,AAAA")] * (LIMITS.max_images + 1)
    error = rejected(user(*parts))
    assert f"{LIMITS.max_images + 1} images" in error.message
    assert f"at most {LIMITS.max_images} per request" in error.message


# -- reading the images --------------------------------------------------------------------
def request_with(*urls: str) -> CompletionRequest:
    return parse_chat(user({"type": "text", "text": "Look."}, *map(image_part, urls)), LIMITS)


def read(*urls: str, folders: tuple[str, ...] = (), limits: Limits = LIMITS) -> CompletionRequest:
    return read_images(request_with(*urls), folders, limits)


def refusal(*urls: str, folders: tuple[str, ...] = (), limits: Limits = LIMITS) -> ApiError:
    with pytest.raises(ApiError) as caught:
        read(*urls, folders=folders, limits=limits)
    assert caught.value.status == 400
    return caught.value


def test_data_urls_become_prepared_images_in_order() -> None:
    red, blue = png((255, 0, 0)), png((0, 0, 255))
    message = read(data_url(red), data_url(blue)).messages[0]
    assert message["images"] == [prepare_image(red).data, prepare_image(blue).data]
    assert message["content"] == f"Look.{IMAGE_MARK}{IMAGE_MARK}"


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("http://127.0.0.1:9/cat.png", "http:"),
        ("https://example.com/cat.png", "https:"),
        ("ftp://example.com/cat.png", "ftp:"),
        ("cat.png", "without a data: scheme"),
    ],
)
def test_other_urls_are_never_fetched(url: str, scheme: str) -> None:
    error = refusal(url)
    assert scheme in error.message
    assert "are not fetched" in error.message and "send the image as a data: URL" in error.message


def test_file_urls_need_an_allowed_folder(tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(png())
    error = refusal(image.as_uri())
    assert "file:// image URLs are off" in error.message and "--allow-image-folder" in error.message


def test_file_urls_are_read_only_inside_the_allowed_folders(tmp_path: Path) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (allowed / "sub").mkdir()
    (allowed / "sub" / "in.png").write_bytes(png((1, 2, 3)))
    (outside / "secret.png").write_bytes(png((4, 5, 6)))
    os.symlink(outside / "secret.png", allowed / "link.png")
    os.symlink(outside, allowed / "door")
    folders = allowed_folders([str(allowed)])

    message = read((allowed / "sub" / "in.png").as_uri(), folders=folders).messages[0]
    assert message["images"] == [prepare_image(png((1, 2, 3))).data]

    outside_urls = [
        (outside / "secret.png").as_uri(),
        (outside / "missing.png").as_uri(),  # the same answer whether it exists or not
        (allowed / "link.png").as_uri(),  # a symlink out of the folder
        (allowed / "door" / "secret.png").as_uri(),
        f"file://{allowed}/../outside/secret.png",
        f"file://{allowed}/sub/%2e%2e/%2e%2e/outside/secret.png",
    ]
    messages = {refusal(url, folders=folders).message for url in outside_urls}
    assert len(messages) == 1 and "outside the folders" in messages.pop()

    error = refusal((allowed / "sub" / "gone.png").as_uri(), folders=folders)
    assert "cannot be read" in error.message
    assert "does not name a file" in refusal((allowed / "sub").as_uri(), folders=folders).message
    remote = refusal(f"file://otherhost{allowed}/sub/in.png", folders=folders)
    assert "file on this computer" in remote.message


def test_an_allowed_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not an existing folder"):
        allowed_folders([str(tmp_path / "nowhere")])


def test_the_images_of_a_request_are_capped_in_bytes(tmp_path: Path) -> None:
    small = Limits(max_tokens=100, max_image_bytes=2000)
    raw = png(size=8)  # well under 2000 bytes each
    assert len(read(data_url(raw), limits=small).messages[0]["images"]) == 1
    big = Image.effect_noise((64, 64), 64).convert("RGB")
    out = io.BytesIO()
    big.save(out, format="PNG")
    error = refusal(data_url(out.getvalue()), limits=small)
    assert "more than 2.00 KB, the most this server takes in one request" in error.message
    (tmp_path / "big.png").write_bytes(out.getvalue())
    folders = allowed_folders([str(tmp_path)])
    error = refusal((tmp_path / "big.png").as_uri(), folders=folders, limits=small)
    assert "the most this server takes in one request" in error.message


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("data:image/png;base64,@@@not base64@@@", "invalid base64"),
        (data_url(b"just some text, not a picture"), "not an image"),
        (data_url(png()[:40]), ""),  # truncated: H2's sentence, whichever it is
    ],
)
def test_bad_image_data_is_a_400_with_the_images_sentence(url: str, sentence: str) -> None:
    error = refusal(url)
    assert sentence in error.message
    assert error.message.endswith(".") and error.param == "messages[0].content[1]"
