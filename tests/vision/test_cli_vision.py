"""``hearth chat --image`` as a user runs it: a real process, the tiny vision pair (random
weights: the words mean nothing, so only what must hold is checked), real image files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.errors import ImageError
from app.core.paths import app_paths
from app.vision.images import prepare_image
from tests.fixtures.vision_gguf import VisionPair, write_tiny_projector

pytestmark = pytest.mark.slow

TIMEOUT = 180
QUESTION = "What is in this picture?"
# Greedy, short, one context size: runs differ only in what is asked.
SAMPLING = ("--max-tokens", "4", "--temperature", "0", "--seed", "1", "--ctx", "1024")


def hearth(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        input=input_text,
        timeout=TIMEOUT,
        env=os.environ.copy(),  # HEARTH_HOME: this test's own (tests/conftest.py)
        check=False,
    )


def ask(model: Path, *extra: str, prompt: str = QUESTION) -> dict[str, object]:
    """``hearth chat --json`` with ``prompt``; its JSON object (the run must succeed)."""
    result = hearth("chat", "--model", str(model), "--prompt", prompt, *SAMPLING, "--json", *extra)
    assert result.returncode == 0, result.stderr
    payload: dict[str, object] = json.loads(result.stdout)
    return payload


def refused(*args: str) -> str:
    """The one sentence ``hearth`` ends with (exit status 1) for ``args``."""
    result = hearth(*args)
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hearth: "), result.stderr
    return lines[0].removeprefix("hearth: ")


def write_photo(path: Path, seed: int, size: int = 512) -> Path:
    """A ``size`` x ``size`` PNG of noise (a different picture per ``seed``)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def photos(tmp_path: Path) -> tuple[Path, Path]:
    return write_photo(tmp_path / "first.png", 1), write_photo(tmp_path / "second.png", 2)


def stats(payload: dict[str, object]) -> dict[str, int]:
    found = payload["stats"]
    assert isinstance(found, dict)
    return found


def test_image_tokens_add_to_the_prompt(vision_pair: VisionPair, photos: tuple[Path, Path]) -> None:
    first, second = photos
    # Images go before the message's text, which starts on a line of its own.
    text_only = ask(vision_pair.model, prompt="\n" + QUESTION)
    one = ask(vision_pair.model, "--image", str(first))
    two = ask(vision_pair.model, "--image", str(first), "--image", str(second))

    # The projector beside the model was found and loaded without being named.
    assert one["mmproj"] == two["mmproj"] == str(vision_pair.mmproj)
    tokens = vision_pair.image_tokens
    assert stats(text_only)["image_tokens"] == 0 and text_only["images"] == []
    assert stats(one)["image_tokens"] == tokens
    assert stats(one)["prompt_tokens"] == stats(text_only)["prompt_tokens"] + tokens
    assert stats(two)["image_tokens"] == 2 * tokens
    assert stats(two)["prompt_tokens"] == stats(text_only)["prompt_tokens"] + 2 * tokens
    # The images as the model was given them: in order, scaled no further than 2048.
    assert two["images"] == [
        {"name": "first.png", "width": 512, "height": 512},
        {"name": "second.png", "width": 512, "height": 512},
    ]
    for payload in (one, two):
        assert stats(payload)["completion_tokens"] >= 1
        assert payload["finish_reason"] in {"stop", "length"}


def test_a_moved_model_finds_no_projector_until_one_is_chosen(
    vision_pair: VisionPair, photos: tuple[Path, Path], tmp_path: Path
) -> None:
    moved = tmp_path / "moved" / vision_pair.model.name
    moved.parent.mkdir()
    shutil.copy(vision_pair.model, moved)  # without its projector

    sentence = refused("chat", "--model", str(moved), "--image", str(photos[0]), "-p", QUESTION)
    assert "reads text only" in sentence and sentence.endswith(".")

    # --mmproj names it: the image is read through it.
    chosen = ask(moved, "--mmproj", str(vision_pair.mmproj), "--image", str(photos[0]))
    assert chosen["mmproj"] == str(vision_pair.mmproj)
    assert stats(chosen)["image_tokens"] == vision_pair.image_tokens

    # A projector named that is not there: said before any model loads.
    gone = tmp_path / "mmproj-gone.gguf"
    sentence = refused(
        "chat", "--model", str(moved), "--mmproj", str(gone), "--image", str(photos[0]), "-p", "Hi"
    )
    assert str(gone) in sentence and "does not exist" in sentence


def test_a_projector_paired_by_hand_then_moved_is_named(
    vision_pair: VisionPair, photos: tuple[Path, Path], tmp_path: Path
) -> None:
    model = Path(shutil.copy(vision_pair.model, tmp_path / vision_pair.model.name))
    (tmp_path / "projectors").mkdir()
    mmproj = Path(shutil.copy(vision_pair.mmproj, tmp_path / "projectors"))
    paired = hearth("models", "pair", str(model), str(mmproj))
    assert paired.returncode == 0, paired.stderr
    assert ask(model, "--image", str(photos[0]))["mmproj"] == str(mmproj)

    (tmp_path / "elsewhere").mkdir()
    mmproj.rename(tmp_path / "elsewhere" / mmproj.name)  # not where it was paired
    sentence = refused("chat", "--model", str(model), "--image", str(photos[0]), "-p", "Hi")
    assert str(mmproj) in sentence and "missing" in sentence, sentence


def test_a_projector_made_for_another_model_is_refused(
    vision_pair: VisionPair, photos: tuple[Path, Path], tmp_path: Path
) -> None:
    # Projects to 576 (the starter SmolLM2's width), not the tiny model's 64.
    other = write_tiny_projector(tmp_path / "mmproj-other-F16.gguf", projection_dim=576)
    sentence = refused(
        "chat",
        "--model",
        str(vision_pair.model),
        "--mmproj",
        str(other),
        "--image",
        str(photos[0]),
        "-p",
        QUESTION,
    )
    assert "mmproj-other-F16.gguf" in sentence or "projector" in sentence.lower()


def test_a_text_only_model_names_the_models_that_can_see(
    smol_model: Path, vision_pair: VisionPair, photos: tuple[Path, Path]
) -> None:
    args = ("chat", "--model", str(smol_model), "--image", str(photos[0]), "-p", QUESTION)
    # No vision model installed: the sentence says so and how to get one.
    alone = refused(*args)
    assert "reads text only" in alone and "no installed model can see images" in alone

    # The tiny pair in the models folder: the sentence names it.
    models = app_paths().default_models_dir
    models.mkdir(parents=True, exist_ok=True)
    shutil.copy(vision_pair.model, models)
    shutil.copy(vision_pair.mmproj, models)
    listed = json.loads(hearth("models", "ls", "--json").stdout)
    seeing = [m["name"] for m in listed if m.get("vision")]
    assert seeing, listed
    named = refused(*args)
    assert named.endswith(f"installed models that can see images: {', '.join(seeing)}."), named


def test_a_damaged_image_is_one_sentence(vision_pair: VisionPair, tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "photo.png", 3).read_bytes()
    broken = tmp_path / "broken.png"
    broken.write_bytes(photo[: len(photo) // 3])  # cut off mid-way
    with pytest.raises(ImageError) as expected:
        prepare_image(broken)
    sentence = refused(
        "chat", "--model", str(vision_pair.model), "--image", str(broken), "-p", "Hi"
    )
    assert sentence == str(expected.value)

    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("shopping: eggs, milk\n")
    with pytest.raises(ImageError) as expected:
        prepare_image(not_an_image)
    sentence = refused(
        "chat", "--model", str(vision_pair.model), "--image", str(not_an_image), "-p", "Hi"
    )
    assert sentence == str(expected.value)


def test_image_command_in_the_interactive_chat(
    vision_pair: VisionPair, photos: tuple[Path, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ImageError) as expected:
        prepare_image(broken)
    typed = "\n".join(
        [
            f"/image {broken}",  # refused, the chat goes on
            f"/image {photos[0]}",
            QUESTION,
            "And now?",  # the image stays in the history
            f"/image {photos[0]}",
            f"/image {photos[1]}",
            "/image",  # both dropped again
            "Without them?",
        ]
    )
    result = hearth("chat", "--model", str(vision_pair.model), *SAMPLING, input_text=typed + "\n")
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert f"[{expected.value}]" in err
    assert "[first.png attached (512x512); your next message carries 1 image]" in err
    assert "[second.png attached (512x512); your next message carries 2 images]" in err
    assert "[no image attached]" in err
    turns = [line for line in err.splitlines() if " tokens in" in line]
    assert len(turns) == 3, err
    # The first question's image, then kept in the history; the dropped two never sent.
    counts = [int(line.split(" tokens in")[0].strip("[")) for line in turns]
    for line in turns:
        assert f"({vision_pair.image_tokens} from images)" in line, line
    assert counts[0] < counts[1] < counts[2]


def test_images_go_to_a_remote_hearth_as_they_go_to_a_local_model(
    vision_pair: VisionPair, photos: tuple[Path, Path], tmp_path: Path
) -> None:
    """``--endpoint`` sends the images as data: URLs (image_url parts): a Hearth server
    with the same pair builds the same prompt, and answers greedily the same."""
    from tests.server.conftest import start_serve, stop_serve

    folder = tmp_path / "served"
    folder.mkdir()
    model = Path(shutil.copy2(vision_pair.model, folder / vision_pair.model.name))
    shutil.copy2(vision_pair.mmproj, folder / vision_pair.mmproj.name)
    local = ask(model, "--image", str(photos[0]))
    key = "vision-test-key"
    served = start_serve(tmp_path / "serve-home", "--model", str(model), "--api-key", key)
    try:
        result = hearth(
            "chat", "--endpoint", served.url, "--api-key", key, "-m", model.stem,
            "--image", str(photos[0]), "--prompt", QUESTION, "--json",
            *SAMPLING[:-2],  # --ctx is the server's
        )  # fmt: skip
    finally:
        stop_serve(served)
    assert result.returncode == 0, result.stderr
    remote = json.loads(result.stdout)
    assert stats(remote)["prompt_tokens"] == stats(local)["prompt_tokens"]
    assert remote["text"] == local["text"]
