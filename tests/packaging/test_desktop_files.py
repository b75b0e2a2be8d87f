"""The shipped Linux desktop files: validators, and that the pieces agree with each other.

``desktop-file-validate`` (Debian: desktop-file-utils) and ``appstreamcli`` (appstream)
are installed by ``.ci/run``; without them those two tests are skipped.
"""

from __future__ import annotations

import configparser
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
DESKTOP = LINUX / "hearth.desktop"
METAINFO = LINUX / "org.hearth.Hearth.metainfo.xml"
MIME = LINUX / "hearth-gguf.xml"
ICONS = ROOT / "assets" / "icons" / "hicolor"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install desktop-file-utils appstream)")
    return path


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


def test_desktop_file_validates() -> None:
    result = subprocess.run(
        [_tool("desktop-file-validate"), str(DESKTOP)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def test_metainfo_validates() -> None:
    result = subprocess.run(
        [_tool("appstreamcli"), "validate", "--no-net", str(METAINFO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_desktop_entry_matches_the_app() -> None:
    entry = _desktop_entry()
    assert entry["Exec"] == "hearth %f"  # install.sh rewrites it to the absolute path
    assert entry["Icon"] == "hearth"
    assert entry["Terminal"] == "false"
    # Qt's desktop file name (Wayland app id) must be this file's name.
    launch = (ROOT / "app" / "ui" / "launch.py").read_text(encoding="utf-8")
    assert f'setDesktopFileName("{DESKTOP.stem}")' in launch
    assert "application/x-gguf" in entry["MimeType"].split(";")


def test_mime_type_claims_gguf_files() -> None:
    root = ET.parse(MIME).getroot()
    mime_type = root.find(f"{MIME_NS}mime-type")
    assert mime_type is not None and mime_type.get("type") == "application/x-gguf"
    globs = [g.get("pattern") for g in mime_type.iter(f"{MIME_NS}glob")]
    assert globs == ["*.gguf"]
    magic = mime_type.find(f"{MIME_NS}magic/{MIME_NS}match")
    assert magic is not None and magic.get("value") == "GGUF"  # the file's first 4 bytes


def test_mime_database_accepts_the_type(tmp_path: Path) -> None:
    tool = _tool("update-mime-database")
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(MIME, packages)
    subprocess.run([tool, str(tmp_path / "mime")], check=True, capture_output=True)
    assert "application/x-gguf:*.gguf" in (tmp_path / "mime" / "globs2").read_text()


def test_metainfo_agrees_with_desktop_file_and_screenshots() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("icon") == _desktop_entry()["Icon"]
    provided = {e.text for e in root.iter("mediatype")}
    assert provided == {"application/x-gguf"}
    images = list(root.iter("image"))
    assert images, "the metainfo has no screenshots"
    for image in images:
        name = re.sub(r".*/assets/screenshots/", "", image.text or "")
        local = ROOT / "assets" / "screenshots" / name
        assert local.is_file(), f"screenshot {name} is not in assets/screenshots"
        assert _png_size(local) == (int(image.get("width", 0)), int(image.get("height", 0)))


def test_icons_in_every_size() -> None:
    for size in ICON_SIZES:
        png = ICONS / f"{size}x{size}" / "apps" / "hearth.png"
        assert _png_size(png) == (size, size)
    scalable = ICONS / "scalable" / "apps" / "hearth.svg"
    assert scalable.read_bytes() == (ROOT / "assets" / "icons" / "hearth.svg").read_bytes()


def test_install_scripts_are_posix_sh() -> None:
    for script in ("install.sh", "uninstall.sh"):
        subprocess.run(["sh", "-n", str(LINUX / script)], check=True)
    subprocess.run(["sh", "-n", str(ROOT / "packaging" / "smoke_test.sh")], check=True)
