"""The images of a chat request: ``data:`` URLs, and ``file://`` URLs inside allowed folders.

Hearth makes no network request for an image: an ``http(s)`` URL (or any other scheme)
is a 400 that says to send the image as a ``data:`` URL. A ``file://`` URL is read only
when the user allowed a folder for them (``hearth serve --allow-image-folder DIR`` or
the ``api_image_folders`` setting), and only inside it, after symlinks and ``..`` are
resolved; a path outside gets the same answer whether it exists or not. Each image then
goes through :func:`app.vision.images.prepare_image` (size and decompression-bomb
limits) and into its message as ``"images"``, in order.

Blocking (decoding and scaling): run :func:`read_images` off the event loop.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from app.core.errors import ConfigError, ImageError
from app.core.generation import Message
from app.core.units import format_bytes
from app.server.openai_api import ApiError, CompletionRequest, ImagePart, Limits

FOLDER_FLAG = "hearth serve --allow-image-folder DIR, or the api_image_folders setting"


def allowed_folders(folders: Iterable[str]) -> tuple[str, ...]:
    """The folders ``file://`` images may come from, as real paths; ConfigError for one
    that is not an existing folder."""
    resolved: list[str] = []
    for folder in folders:
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise ConfigError(
                f"The image folder {folder} is not an existing folder; give a folder that "
                "exists to --allow-image-folder (or the api_image_folders setting)."
            )
        resolved.append(os.path.realpath(path))
    return tuple(resolved)


def read_images(
    request: CompletionRequest, folders: Sequence[str], limits: Limits
) -> CompletionRequest:
    """``request`` with each image part read, checked and put in its message's
    ``"images"``; an :class:`ApiError` (400) for any image that cannot be used."""
    if not request.images:
        return request
    from app.vision.images import prepare_image

    budget = limits.max_image_bytes
    found: dict[int, list[bytes]] = {}
    for part in request.images:
        raw, name = _raw_image(part, folders, budget, limits)
        budget -= len(raw)
        try:
            prepared = prepare_image(raw, name=name)
        except ImageError as exc:
            raise ApiError(400, str(exc), param=part.param) from None
        found.setdefault(part.message, []).append(prepared.data)
    messages: list[Message] = [
        {**message, "images": found[index]} if index in found else message
        for index, message in enumerate(request.messages)
    ]
    return replace(request, messages=tuple(messages))


def _too_large(part: ImagePart, limits: Limits) -> ApiError:
    return ApiError(
        400,
        f"The images of this request come to more than {format_bytes(limits.max_image_bytes)}, "
        "the most this server takes in one request; send fewer or smaller images.",
        param=part.param,
    )


def _raw_image(
    part: ImagePart, folders: Sequence[str], budget: int, limits: Limits
) -> tuple[bytes, str | None]:
    """The image's bytes as sent (and its file name, for a file), within ``budget``."""
    url = part.url
    scheme = urlsplit(url).scheme.lower() if ":" in url else ""
    if scheme == "data":
        if len(url) * 3 // 4 > budget + 1024:  # base64's size, before decoding it
            raise _too_large(part, limits)
        from app.vision.images import bytes_from_data_url

        try:
            raw = bytes_from_data_url(url)
        except ImageError as exc:
            raise ApiError(400, str(exc), param=part.param) from None
        if len(raw) > budget:
            raise _too_large(part, limits)
        return raw, None
    if scheme == "file":
        return _file_image(part, folders, budget, limits)
    shown = f"{scheme}: image URLs" if scheme else "Image URLs without a data: scheme"
    raise ApiError(
        400,
        f"{shown} are not fetched, since Hearth makes no network request for an image: "
        "send the image as a data: URL.",
        param=part.param,
    )


def _file_image(
    part: ImagePart, folders: Sequence[str], budget: int, limits: Limits
) -> tuple[bytes, str]:
    """A ``file://`` image, read only inside ``folders`` (real paths)."""
    if not folders:
        raise ApiError(
            400,
            "file:// image URLs are off on this server, as no folder is allowed for them "
            f"({FOLDER_FLAG}): send the image as a data: URL.",
            param=part.param,
        )
    split = urlsplit(part.url)
    path = url2pathname(split.path)
    if split.netloc not in ("", "localhost") or not os.path.isabs(path):
        raise ApiError(
            400,
            "A file:// image URL must name a file on this computer by its full path "
            "(file:///folder/image.png); send the image as a data: URL otherwise.",
            param=part.param,
        )
    # Symlinks and ".." resolved before the check; the answer for a path outside is the
    # same whether it exists or not, so a client learns nothing about other files.
    real = os.path.realpath(path)
    if not any(_inside(real, folder) for folder in folders):
        raise ApiError(
            400,
            "The file:// image is outside the folders this server may read images from; "
            "send it as a data: URL or move it into an allowed folder.",
            param=part.param,
        )
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        # No symlink is followed now (the real path has none): one swapped in since the
        # check is refused rather than followed out of the folder.
        fd = os.open(real, flags | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ApiError(
            400,
            f"The file:// image cannot be read ({exc.strerror or exc}); check its path.",
            param=part.param,
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # a folder, a device, a pipe
            raise ApiError(
                400,
                "The file:// image URL does not name a file; name an image file.",
                param=part.param,
            )
        if info.st_size > budget:
            raise _too_large(part, limits)
        with os.fdopen(fd, "rb", closefd=False) as file:
            raw = file.read(budget + 1)
    finally:
        os.close(fd)
    if len(raw) > budget:
        raise _too_large(part, limits)
    return raw, os.path.basename(real)


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.normcase(path), os.path.normcase(folder)
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive (Windows)
        return False
