"""app.vision.images on real files written with Pillow and pillow-heif: every format Hearth
reads, EXIF orientation, scaling, the encoded form, and each bad input refused in one
sentence (a 20,000 x 20,000 PNG before any pixel is decoded)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.core.errors import ImageError
from app.vision.images import (
    MAX_PIXELS,
    PreparedImage,
    bytes_from_data_url,
    data_url,
    decode_rgb,
    prepare_image,
    thumbnail_png,
)

REPO = Path(__file__).resolve().parents[2]
RED, BLUE = (255, 0, 0), (0, 0, 255)


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def noise(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A photo-like image: many colours (never the few-colours PNG rule)."""
    return Image.frombytes(mode, (width, height), os.urandom(width * height * len(mode)))


def halves(
    width: int, height: int, left: tuple[int, int, int], right: tuple[int, int, int]
) -> Image.Image:
    image = Image.new("RGB", (width, height), right)
    image.paste(left, (0, 0, width // 2, height))
    return image


def opened(prepared: PreparedImage) -> Image.Image:
    image = Image.open(io.BytesIO(prepared.data))
    image.load()
    return image


def px(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    value = image.getpixel((x, y))
    assert isinstance(value, tuple), value
    return value


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], slack: int = 40) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(pixel[:3], colour, strict=True))


def png_header_only(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of any size, written by hand: all-black rows compress to
    almost nothing, so a 400-megapixel image is a ~50 KB file (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" + bytes((width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(png_header_only(20_000, 20_000))
    return path


# -- formats ---------------------------------------------------------------------------------


def test_png_keeps_every_pixel_and_its_hash_names_the_bytes() -> None:
    source = noise(64, 48)
    prepared = prepare_image(encoded(source, "PNG"), name="shot.png")
    assert (prepared.mime, prepared.width, prepared.height) == ("image/png", 64, 48)
    assert prepared.data.startswith(b"\x89PNG")
    assert prepared.sha256 == hashlib.sha256(prepared.data).hexdigest()
    assert prepared.name == "shot.png"
    assert opened(prepared).tobytes() == source.tobytes()


def test_the_same_input_always_gives_the_same_bytes() -> None:
    data = encoded(noise(80, 60), "JPEG", quality=95)
    assert prepare_image(data).sha256 == prepare_image(data).sha256


def test_a_jpeg_photo_stays_jpeg() -> None:
    prepared = prepare_image(encoded(noise(120, 90), "JPEG", quality=95))
    assert (prepared.mime, prepared.width, prepared.height) == ("image/jpeg", 120, 90)
    assert prepared.data.startswith(b"\xff\xd8")


def test_exif_orientation_6_turns_the_photo_upright(tmp_path: Path) -> None:
    # Stored 80 x 40, left half red; orientation 6 means "rotate 90° clockwise to view".
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    halves(80, 40, RED, BLUE).save(path, format="JPEG", quality=95, exif=exif.tobytes())
    prepared = prepare_image(path)
    assert (prepared.width, prepared.height) == (40, 80)
    assert prepared.name == "phone.jpg"
    upright = opened(prepared).convert("RGB")
    assert close_to(px(upright, 20, 5), RED)  # the left half is now on top
    assert close_to(px(upright, 20, 75), BLUE)
    assert 0x0112 not in upright.getexif()


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_a_damaged_exif_block_costs_nothing_but_the_orientation() -> None:
    # Orientation 9 (no such value) and an IFD cut short.
    junk = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x09"
    data = encoded(noise(40, 20), "JPEG", quality=95, exif=junk)
    prepared = prepare_image(data)
    assert (prepared.mime, prepared.width, prepared.height) == ("image/jpeg", 40, 20)


def test_metadata_such_as_gps_is_dropped() -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # GPS IFD
    data = encoded(noise(50, 50), "JPEG", quality=95, exif=exif.tobytes())
    assert b"PhoneMaker" in data
    prepared = prepare_image(data)
    assert b"PhoneMaker" not in prepared.data
    assert len(opened(prepared).getexif()) == 0


def test_webp_photo_becomes_jpeg_and_webp_with_alpha_stays_transparent() -> None:
    photo = prepare_image(encoded(noise(60, 40), "WEBP", quality=90))
    assert (photo.mime, photo.width, photo.height) == ("image/jpeg", 60, 40)
    sticker = noise(60, 40, "RGBA")
    sticker.putalpha(Image.new("L", (60, 40), 0))
    sticker.paste((10, 200, 10, 255), (0, 0, 30, 40))
    clear = prepare_image(encoded(sticker, "WEBP", lossless=True))
    assert clear.mime == "image/png"
    image = opened(clear)
    assert image.mode == "RGBA"
    assert px(image, 50, 20)[3] == 0 and px(image, 10, 20)[3] == 255


def test_an_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (30, 20), RED), Image.new("RGB", (30, 20), BLUE)]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    prepared = prepare_image(data)
    assert (prepared.mime, prepared.width, prepared.height) == ("image/png", 30, 20)
    assert close_to(px(opened(prepared).convert("RGB"), 15, 10), RED, slack=0)


def test_an_animated_webp_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (30, 20), RED), Image.new("RGB", (30, 20), BLUE)]
    data = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    prepared = prepare_image(data)
    assert close_to(px(opened(prepared).convert("RGB"), 15, 10), RED, slack=0)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_lossless_formats_become_png_pixel_for_pixel(fmt: str) -> None:
    source = noise(33, 17)
    prepared = prepare_image(encoded(source, fmt))
    assert (prepared.mime, prepared.width, prepared.height) == ("image/png", 33, 17)
    assert opened(prepared).convert("RGB").tobytes() == source.tobytes()


def test_heic_from_a_phone_is_read(tmp_path: Path) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    path = tmp_path / "IMG_0001.HEIC"
    photo = noise(64, 32)  # many colours: a photo, so JPEG
    photo.paste(RED, (0, 0, 32, 16))
    photo.paste(BLUE, (32, 0, 64, 16))
    photo.save(path, format="HEIF", quality=90)
    assert path.read_bytes()[4:8] == b"ftyp"
    prepared = prepare_image(path)
    assert (prepared.mime, prepared.width, prepared.height) == ("image/jpeg", 64, 32)
    picture = opened(prepared)
    assert close_to(px(picture, 8, 6), RED) and close_to(px(picture, 56, 6), BLUE)


def test_a_cmyk_jpeg_is_converted_to_rgb() -> None:
    cmyk = Image.new("CMYK", (40, 40), (0, 255, 255, 0))  # red in ink
    cmyk.paste((0, 0, 0, 0), (0, 0, 20, 40))  # white in ink
    cmyk.putpixel((0, 0), (10, 20, 30, 40))
    prepared = prepare_image(encoded(cmyk, "JPEG", quality=95))
    picture = opened(prepared)
    assert picture.mode in ("RGB", "L") and picture.size == (40, 40)
    picture = picture.convert("RGB")
    assert close_to(px(picture, 30, 20), RED) and close_to(px(picture, 10, 20), (255, 255, 255))


def test_a_palette_png_with_transparency_keeps_it() -> None:
    palette = Image.new("P", (20, 10), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (10, 0, 20, 10))
    prepared = prepare_image(encoded(palette, "PNG", transparency=1))
    picture = opened(prepared)
    assert (prepared.mime, picture.mode) == ("image/png", "RGBA")
    assert px(picture, 2, 5) == (255, 0, 0, 255)
    assert px(picture, 15, 5)[3] == 0


def test_an_opaque_alpha_channel_is_dropped_and_grey_stays_grey() -> None:
    opaque = noise(16, 16, "RGBA")
    opaque.putalpha(255)
    assert opened(prepare_image(encoded(opaque, "PNG"))).mode == "RGB"
    grey = prepare_image(encoded(noise(16, 16, "L"), "PNG"))
    assert (grey.mime, opened(grey).mode) == ("image/png", "L")
    grey_photo = prepare_image(encoded(noise(64, 64, "L"), "JPEG", quality=95))
    assert (grey_photo.mime, opened(grey_photo).mode) == ("image/jpeg", "L")
    shaded = Image.new("LA", (16, 16), (100, 0))
    assert opened(prepare_image(encoded(shaded, "PNG"))).mode == "LA"


def test_sixteen_bit_grey_is_stretched_not_clipped() -> None:
    deep = Image.new("I;16", (3, 1))
    for x, value in enumerate((0, 30000, 60000)):
        deep.putpixel((x, 0), value)
    picture = opened(prepare_image(encoded(deep, "PNG")))
    assert [picture.getpixel((x, 0)) for x in range(3)] == [0, 127, 255]


def test_a_photo_saved_as_png_becomes_jpeg() -> None:
    many = noise(300, 300)  # ~90,000 colours: more than a screenshot or a diagram has
    prepared = prepare_image(encoded(many, "PNG"))
    assert (prepared.mime, prepared.width, prepared.height) == ("image/jpeg", 300, 300)


def test_a_photo_with_few_colours_is_png() -> None:
    flat = halves(200, 100, RED, BLUE)
    assert prepare_image(encoded(flat, "JPEG", quality=100, subsampling=0)).mime == "image/png"


# -- scaling ---------------------------------------------------------------------------------


def test_large_images_are_scaled_to_max_side_keeping_the_aspect() -> None:
    data = encoded(noise(3000, 1000), "JPEG", quality=80)
    default = prepare_image(data)
    assert (default.width, default.height) == (2048, 683)
    small = prepare_image(data, max_side=300)
    assert (small.width, small.height) == (300, 100)
    assert (opened(small).width, opened(small).height) == (300, 100)


def test_small_images_are_never_enlarged() -> None:
    prepared = prepare_image(encoded(noise(10, 7), "PNG"), max_side=2048)
    assert (prepared.width, prepared.height) == (10, 7)


def test_decode_rgb_gives_upright_scaled_rgb_with_transparency_on_white() -> None:
    sticker = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    sticker.paste((255, 0, 0, 255), (0, 0, 200, 200))
    width, height, rgb = decode_rgb(encoded(sticker, "PNG"), 100)
    assert (width, height, len(rgb)) == (100, 50, 100 * 50 * 3)
    picture = Image.frombytes("RGB", (width, height), rgb)
    assert close_to(px(picture, 20, 25), RED, slack=0)
    assert px(picture, 80, 25) == (255, 255, 255)


def test_decode_rgb_applies_exif_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encoded(halves(80, 40, RED, BLUE), "JPEG", quality=95, exif=exif.tobytes())
    width, height, _ = decode_rgb(data, 1000)
    assert (width, height) == (40, 80)


def test_thumbnail_png_fits_the_size_and_keeps_alpha() -> None:
    sticker = noise(300, 120, "RGBA")
    thumb = thumbnail_png(encoded(sticker, "PNG"), 64)
    picture = Image.open(io.BytesIO(thumb))
    assert picture.format == "PNG" and picture.size == (64, 26) and picture.mode == "RGBA"


# -- bad input --------------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_from_its_header_fast(bomb: Path) -> None:
    assert bomb.stat().st_size < 200_000
    started = time.perf_counter()
    with pytest.raises(ImageError) as caught:
        prepare_image(bomb)
    elapsed = time.perf_counter() - started
    assert "bomb.png is 20000 × 20000 pixels (400 megapixels)" in str(caught.value)
    assert f"up to {MAX_PIXELS // 1_000_000} megapixels: scale it down first." in str(caught.value)
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    for reader in (lambda d: decode_rgb(d, 512), lambda d: thumbnail_png(d, 64)):
        with pytest.raises(ImageError, match="20000 × 20000"):
            reader(bomb.read_bytes())


def test_a_decompression_bomb_allocates_no_pixels(bomb: Path) -> None:
    """In a fresh process: decoding 400 MP would take >= 400 MB. VmHWM is the peak of this
    program's own memory (ru_maxrss would carry the forking test process's peak over)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("VmHWM is read from Linux's /proc")
    code = (
        "import re, sys\n"
        "from pathlib import Path\n"
        "from app.core.errors import ImageError\n"
        "from app.vision.images import prepare_image\n"
        "try:\n"
        "    prepare_image(Path(sys.argv[1]))\n"
        "except ImageError:\n"
        "    status = Path('/proc/self/status').read_text()\n"
        "    print(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(bomb)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    peak_kib = int(result.stdout.strip())
    assert peak_kib < 200 * 1024, f"peak {peak_kib / 1024:.0f} MiB"


def test_an_image_just_over_the_limit_is_refused_below_pillows_own_guard() -> None:
    data = png_header_only(10_000, 8_000)  # 80 MP: over MAX_PIXELS, under Pillow's error
    assert MAX_PIXELS < 10_000 * 8_000
    with pytest.raises(ImageError, match=r"The image is 10000 × 8000 pixels \(80 megapixels\)"):
        prepare_image(data)


def test_a_truncated_jpeg_is_damaged(tmp_path: Path) -> None:
    data = encoded(noise(200, 200), "JPEG", quality=95)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"^cut.jpg is damaged or cut short, .*again"):
        prepare_image(path)


def test_a_truncated_png_is_damaged() -> None:
    data = encoded(noise(200, 200), "PNG")
    with pytest.raises(ImageError, match="damaged or cut short"):
        prepare_image(data[: len(data) // 2])


def test_random_bytes_are_not_an_image() -> None:
    with pytest.raises(ImageError, match=r"^The image is not an image Hearth can read \(PNG"):
        prepare_image(os.urandom(4096))


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"^empty.png is empty \(0 bytes\); choose an image"):
        prepare_image(path)


def test_a_text_file_renamed_png_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("shopping list: eggs, milk\n" * 20)
    with pytest.raises(ImageError, match=r"^notes.png is not an image Hearth can read"):
        prepare_image(path)


def test_a_missing_file_or_a_folder_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="does not exist; check the path"):
        prepare_image(tmp_path / "gone.png")
    with pytest.raises(ImageError, match="is a folder; choose an image file"):
        prepare_image(tmp_path)


def test_an_unreadable_file_is_one_sentence(tmp_path: Path) -> None:
    # A path through a file: unreadable for every user, root included (a chmod 0 file
    # is not, for root).
    blocker = tmp_path / "photos"
    blocker.write_bytes(b"not a folder")
    with pytest.raises(ImageError, match=r"^Hearth cannot read .*photos/a.png \(Not a directory\)"):
        prepare_image(blocker / "a.png")
    if os.geteuid() != 0:
        path = tmp_path / "locked.png"
        path.write_bytes(encoded(noise(4, 4), "PNG"))
        path.chmod(0)
        with pytest.raises(ImageError, match=r"^Hearth cannot read .*locked.png \(Permission"):
            prepare_image(path)


# -- data URLs --------------------------------------------------------------------------------


def test_data_url_round_trip() -> None:
    prepared = prepare_image(encoded(noise(8, 8), "PNG"))
    url = data_url(prepared)
    assert url.startswith("data:image/png;base64,")
    assert bytes_from_data_url(url) == prepared.data
    wrapped = url[:40] + "\n" + url[40:]  # base64 broken over lines still reads
    assert bytes_from_data_url(wrapped) == prepared.data


def test_data_url_refusals() -> None:
    with pytest.raises(ImageError, match="not base64-encoded"):
        bytes_from_data_url("data:image/png,%89PNG")
    with pytest.raises(ImageError, match=r"is a https: URL; send the image itself"):
        bytes_from_data_url("https://example.com/cat.png")
    with pytest.raises(ImageError, match=r"is a file: URL"):
        bytes_from_data_url("file:///etc/passwd")
    with pytest.raises(ImageError, match="invalid base64"):
        bytes_from_data_url("data:image/png;base64,@@@not base64@@@")
    with pytest.raises(ImageError, match="is empty"):
        bytes_from_data_url("data:image/png;base64,")
    assert bytes_from_data_url("data:;base64," + base64.b64encode(b"xy").decode()) == b"xy"


# -- start-up -------------------------------------------------------------------------------


def test_importing_the_module_loads_no_imaging_library() -> None:
    code = (
        "import sys, app.vision.images as m\n"
        "print(sorted(k for k in ('PIL', 'pillow_heif') if k in sys.modules))\n"
        "m.prepare_image(m.bytes_from_data_url(sys.argv[1]))\n"
        "print(sorted(k for k in ('PIL', 'pillow_heif') if k in sys.modules))\n"
    )
    url = data_url(prepare_image(encoded(noise(4, 4), "PNG")))
    result = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "['PIL']"]  # pillow-heif only for HEIC
