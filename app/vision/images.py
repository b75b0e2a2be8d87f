"""Reading images safely: one small, upright, metadata-free copy of what the user attached.

Every image Hearth takes (a file, a paste, an API ``data:`` URL) goes through
``prepare_image``: its size is checked from the header before any pixel is decoded
(a decompression bomb is refused in milliseconds), the first frame is taken (GIF,
animated WebP), EXIF orientation is applied, it is scaled so its longest side is at most
``max_side``, and it is encoded again, which drops EXIF and GPS metadata:

- PNG when the image has transparency, has at most 256 colours (a colour image), or came
  from a lossless format (PNG, GIF, BMP, TIFF) with at most 65,536 colours: screenshots,
  diagrams and scans keep every pixel;
- JPEG (quality 90) otherwise: photos (JPEG, HEIC, lossy WebP, and photos saved as PNG,
  which would take about five times the room as PNG).

The same input always gives the same bytes, so the SHA-256 of ``data`` names an image
(the conversation store keeps one copy per hash). Pillow is imported lazily (start-up stays
fast) and pillow-heif only when a file looks like HEIC/HEIF.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.errors import ImageError
from app.core.i18n import translate

if TYPE_CHECKING:
    from PIL import Image

MAX_PIXELS = 64_000_000
"""The most pixels (width × height, from the header) Hearth decodes: a 48 MP phone photo
or a 61 MP camera raw export passes; a 20,000 × 20,000 bomb is refused before decoding."""

MAX_FILE_BYTES = 256 * 1024 * 1024
"""Files larger than this are refused before they are read into memory."""

JPEG_QUALITY = 90
FEW_COLOURS = 256  # PNG whatever the source
GRAPHIC_COLOURS = 65_536  # PNG when the source was lossless (screenshots have far fewer)
LOSSLESS_FORMATS = frozenset({"PNG", "GIF", "BMP", "TIFF"})
_FORMATS_SENTENCE = "PNG, JPEG, WebP, HEIC, GIF, BMP or TIFF"
# ISO base media files (HEIC, HEIF, AVIF) carry "ftyp" at offset 4; these brands are HEIF.
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
_DATA_URL = re.compile(r"data:(?P<mime>[^;,]*)(?P<params>(;[^;,]*)*),(?P<payload>.*)", re.S)


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to store and to send to a model."""

    data: bytes  # PNG (alpha or few colours) or JPEG (photos), EXIF orientation applied
    mime: str  # "image/png" | "image/jpeg"
    width: int
    height: int
    sha256: str  # hex of data
    name: str | None = None  # the file name it came from, for display


def prepare_image(
    source: bytes | Path, *, name: str | None = None, max_side: int = 2048
) -> PreparedImage:
    """Read ``source`` (bytes or a file) into a ``PreparedImage`` no larger than ``max_side``.

    Raises ``ImageError`` (one sentence: what and what to do) for an empty or unreadable
    file, something that is not an image, a damaged or truncated image, or one with more
    than ``MAX_PIXELS`` pixels.
    """
    if isinstance(source, Path):
        name = name or source.name
        data = _read_file(source)
    else:
        data = bytes(source)
    label = name or "The image"
    image, source_format = _open(data, label)
    with image:
        picture = _decode(image, label, max_side)
    alpha = picture.mode in ("RGBA", "LA")
    lossless = source_format in LOSSLESS_FORMATS
    colours = picture.getcolors(maxcolors=GRAPHIC_COLOURS if lossless else FEW_COLOURS)
    # A grey photo has at most 256 values too: "few colours" means few for a colour image.
    few = colours is not None and len(colours) <= FEW_COLOURS and picture.mode != "L"
    graphic = lossless and colours is not None
    out = io.BytesIO()
    if alpha or few or graphic:
        picture.save(out, format="PNG")
        mime = "image/png"
    else:
        picture.save(out, format="JPEG", quality=JPEG_QUALITY)
        mime = "image/jpeg"
    encoded = out.getvalue()
    return PreparedImage(
        data=encoded,
        mime=mime,
        width=picture.width,
        height=picture.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
        name=name,
    )


def decode_rgb(data: bytes, max_side: int) -> tuple[int, int, bytes]:
    """``(width, height, RGB bytes)`` of an image, upright, scaled down to ``max_side``.

    Transparent areas are laid on white (a dark drawing on a transparent background stays
    readable). Raises ``ImageError`` as ``prepare_image`` does.
    """
    image, _ = _open(bytes(data), "The image")
    with image:
        picture = _decode(image, "The image", max_side)
    rgb = _flatten(picture)
    return rgb.width, rgb.height, rgb.tobytes()


def thumbnail_png(data: bytes, size: int) -> bytes:
    """A PNG of the image whose longest side is at most ``size`` pixels (alpha kept)."""
    image, _ = _open(bytes(data), "The image")
    with image:
        picture = _decode(image, "The image", size)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def data_url(image: PreparedImage) -> str:
    """``data:image/png;base64,...`` for the image (the API's and Markdown export's form)."""
    return f"data:{image.mime};base64,{base64.b64encode(image.data).decode('ascii')}"


def bytes_from_data_url(url: str) -> bytes:
    """The bytes a base64 ``data:`` URL carries; ``ImageError`` for anything else."""
    match = _DATA_URL.fullmatch(url.strip())
    if match is None:
        scheme = url.split(":", 1)[0][:20] if ":" in url else ""
        what = f"a {scheme}: URL" if scheme else "not a URL"
        raise ImageError(
            translate(
                "Errors",
                "The image address is {what}; send the image itself as a base64 data: "
                "URL (data:image/png;base64,...).",
            ).format(what=what)
        )
    params = [p.strip().lower() for p in match["params"].split(";") if p.strip()]
    if "base64" not in params:
        raise ImageError(
            translate(
                "Errors",
                "The image data: URL is not base64-encoded; send it as data:image/png;base64,...",
            )
        )
    payload = re.sub(r"\s+", "", match["payload"])
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(
            translate(
                "Errors",
                "The image data: URL holds invalid base64; encode the image bytes again.",
            )
        ) from None
    if not data:
        raise ImageError(
            translate("Errors", "The image data: URL is empty; send the image's bytes in it.")
        )
    return data


# -- reading -------------------------------------------------------------------------------


def _read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageError(
                translate(
                    "Errors",
                    "{file} is {size:.0f} MB; Hearth reads image files up to {limit} MB: "
                    "scale it down first.",
                ).format(file=path.name, size=size / 2**20, limit=MAX_FILE_BYTES // 2**20)
            )
        return path.read_bytes()
    except IsADirectoryError:
        raise ImageError(
            translate(
                "Errors",
                "{path} is a folder; choose an image file.",
            ).format(path=path)
        ) from None
    except FileNotFoundError:
        raise ImageError(
            translate(
                "Errors",
                "{path} does not exist; check the path and try again.",
            ).format(path=path)
        ) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise ImageError(
            translate(
                "Errors",
                "Hearth cannot read {path} ({reason}); check that the file is readable.",
            ).format(path=path, reason=reason)
        ) from None


def _too_many_pixels(label: str, width: int, height: int) -> ImageError:
    return ImageError(
        translate(
            "Errors",
            "{label} is {width} × {height} pixels ({megapixels:.0f} megapixels); Hearth "
            "reads images up to {limit} megapixels: scale it down first.",
        ).format(
            label=label,
            width=width,
            height=height,
            megapixels=width * height / 1e6,
            limit=MAX_PIXELS // 1_000_000,
        )
    )


def _damaged(label: str) -> ImageError:
    return ImageError(
        translate(
            "Errors",
            "{label} is damaged or cut short, so Hearth cannot read it; save it "
            "again from the program that made it.",
        ).format(label=label)
    )


def _open(data: bytes, label: str) -> tuple[Image.Image, str]:
    """The image opened lazily (header only) and its format; the pixel count is checked."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ImageError(
            translate(
                "Errors",
                "{label} is empty (0 bytes); choose an image file.",
            ).format(label=label)
        )
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        _register_heif()
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        # Pillow's own guard (above twice its limit) fired inside open: read the header's
        # size again without the check, only for the sentence.
        width, height = _header_size(data)
        raise _too_many_pixels(label, width, height) from None
    except UnidentifiedImageError:
        raise ImageError(
            translate(
                "Errors",
                "{label} is not an image Hearth can read ({formats}); save it "
                "in one of these formats and attach it again.",
            ).format(label=label, formats=_FORMATS_SENTENCE)
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise _damaged(label) from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise _too_many_pixels(label, width, height)
    return image, (image.format or "").upper()


def _header_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header, with no decompression-bomb check and no decoding."""
    from PIL import Image

    prefix = data[:16]
    for format_id in Image.ID:
        factory, accept = Image.OPEN[format_id]
        if accept is not None and not accept(prefix):
            continue
        try:
            opened = factory(io.BytesIO(data), "")
        except Exception:  # not this format: try the next plugin
            continue
        with opened:
            return opened.size
    return 0, 0


@functools.cache
def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF (once; pillow-heif costs start-up time, so only when needed)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def _decode(image: Image.Image, label: str, max_side: int) -> Image.Image:
    """The first frame decoded, upright, in RGB/RGBA/L/LA, longest side <= ``max_side``."""
    from PIL import Image, ImageOps

    if max_side < 1:
        raise ValueError("max_side must be at least 1")
    try:
        if image.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that is still >= max_side:
            # a 48 MP photo then never needs its full-size buffer.
            image.draft(None, (max_side, max_side))
        image.seek(0)
        image.load()
        try:
            upright = ImageOps.exif_transpose(image)
        except Exception:  # a malformed EXIF block must not cost the picture: keep it as is
            upright = image.copy()
        picture = _normalise_mode(upright)
        if max(picture.size) > max_side:
            picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    except Image.DecompressionBombError:
        raise _too_many_pixels(label, *image.size) from None
    except MemoryError:
        raise _too_many_pixels(label, *image.size) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, struct.error):
        raise _damaged(label) from None
    return picture


def _normalise_mode(image: Image.Image) -> Image.Image:
    """RGB, RGBA, L or LA: palettes, CMYK, 16-bit and 1-bit images converted, alpha kept
    only where some pixel is not fully opaque."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or ("transparency" in image.info)
    if has_alpha:
        converted = image.convert("LA" if image.mode in ("LA", "La", "L") else "RGBA")
        lowest, _ = converted.getchannel("A").getextrema()
        if isinstance(lowest, (int, float)) and lowest >= 255:
            return converted.convert("L" if converted.mode == "LA" else "RGB")
        return converted
    if image.mode in ("RGB", "L"):
        return image
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I") or image.mode == "F":
        # 16- and 32-bit grey (scans, TIFFs): stretch the used range onto 0-255, since a
        # plain convert would clip everything above 255 to white.
        low, high = image.getextrema()
        assert isinstance(low, (int, float)) and isinstance(high, (int, float))
        scale = 255 / (high - low) if high > low else 0.0
        return image.convert("F").point(lambda v: (v - low) * scale).convert("L")
    return image.convert("RGB")


def _flatten(picture: Image.Image) -> Image.Image:
    """RGB with transparent areas laid on white."""
    from PIL import Image

    if picture.mode in ("RGBA", "LA"):
        rgba = picture.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return picture.convert("RGB")
