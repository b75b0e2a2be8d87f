"""A user turn's images as OpenAI parts, for a remote endpoint (app.remote.client)."""

from __future__ import annotations

import base64

from app.core.generation import IMAGE_MARK
from app.remote.client import openai_message

PNG = b"\x89PNG\r\n\x1a\n" + b"png-bytes"
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-bytes"


def url_of(part: dict[str, object]) -> str:
    assert part["type"] == "image_url"
    image_url = part["image_url"]
    assert isinstance(image_url, dict)
    return str(image_url["url"])


def test_marked_images_go_where_their_marks_are() -> None:
    message = {
        "role": "user",
        "content": f"Compare {IMAGE_MARK} with {IMAGE_MARK}.",
        "images": [PNG, JPEG],
    }
    parts = openai_message(message)["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
    assert [p.get("text") for p in parts if p["type"] == "text"] == ["Compare ", " with ", "."]
    first, second = url_of(parts[1]), url_of(parts[3])
    assert first == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert second == "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
    assert "images" not in openai_message(message)


def test_unmarked_images_go_first_with_the_text_on_its_own_line() -> None:
    parts = openai_message({"role": "user", "content": "What is it?", "images": [PNG]})["content"]
    assert [p["type"] for p in parts] == ["image_url", "text"]
    assert parts[1]["text"] == "\nWhat is it?"
    alone = openai_message({"role": "user", "content": "", "images": [PNG, PNG]})["content"]
    assert [p["type"] for p in alone] == ["image_url", "image_url"]


def test_a_message_without_images_is_sent_as_it_is() -> None:
    message = {"role": "assistant", "content": "Hello"}
    assert openai_message(message) is message
