"""A download's own files are opened without following links (real files, real links)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.catalog.partfiles import open_for_reading, open_own, own_file_size, write_own
from app.core.errors import DownloadError

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the models folder that a link points to."""
    path = tmp_path / "outside" / "precious.bin"
    path.parent.mkdir()
    path.write_bytes(b"precious bytes")
    return path


@pytest.fixture
def models(tmp_path: Path) -> Path:
    path = tmp_path / "models"
    path.mkdir()
    return path


def _untouched(victim: Path) -> bool:
    return victim.read_bytes() == b"precious bytes"


def test_a_symlink_is_removed_not_followed(models: Path, victim: Path) -> None:
    part = models / "m.gguf.part"
    part.symlink_to(victim)

    assert own_file_size(part) is None
    assert not part.exists() and not part.is_symlink()
    assert _untouched(victim)


def test_a_dangling_symlink_is_removed_without_creating_its_target(
    models: Path, tmp_path: Path
) -> None:
    part = models / "m.gguf.part"
    target = tmp_path / "elsewhere.bin"
    part.symlink_to(target)

    assert own_file_size(part) is None
    assert not part.is_symlink() and not target.exists()


def test_a_hard_link_is_removed_and_the_other_name_keeps_its_bytes(
    models: Path, victim: Path
) -> None:
    part = models / "m.gguf.part"
    os.link(victim, part)

    assert own_file_size(part) is None
    assert not part.exists() and _untouched(victim)


def test_a_folder_in_the_way_is_a_clear_error(models: Path) -> None:
    (models / "m.gguf.part").mkdir()
    with pytest.raises(DownloadError, match="is a folder"):
        own_file_size(models / "m.gguf.part")


def test_opening_never_follows_a_link_put_there_after_the_check(models: Path, victim: Path) -> None:
    part = models / "m.gguf.part"
    part.symlink_to(victim)  # as if it appeared between own_file_size and the open

    with pytest.raises(DownloadError, match="replaced by a link"):
        open_own(part, create=True)
    if hasattr(os, "O_NOFOLLOW"):
        with pytest.raises(DownloadError, match="replaced by a link"):
            open_own(part, create=False)
        with pytest.raises(DownloadError, match="replaced by a link"):
            open_for_reading(part)
    assert _untouched(victim)


def test_a_hard_link_is_refused_for_writing_but_readable(models: Path, victim: Path) -> None:
    part = models / "m.gguf.part"
    os.link(victim, part)
    with pytest.raises(DownloadError, match="hard link"):
        open_own(part, create=False)
    with open_for_reading(part) as handle:
        assert handle.read() == b"precious bytes"
    assert _untouched(victim)


def test_own_files_are_created_and_resumed(models: Path) -> None:
    part = models / "m.gguf.part"
    with open_own(part, create=True) as out:
        out.write(b"abc")
    assert own_file_size(part) == 3
    with open_own(part, create=False) as out:
        out.seek(3)
        out.write(b"def")
    assert part.read_bytes() == b"abcdef"


def test_write_own_replaces_links_instead_of_writing_through_them(
    models: Path, victim: Path
) -> None:
    sidecar = models / "m.gguf.part.json"
    sidecar.symlink_to(victim)
    (models / "m.gguf.part.json.tmp").symlink_to(victim)

    write_own(sidecar, b"{}")

    assert not sidecar.is_symlink() and sidecar.read_bytes() == b"{}"
    assert not (models / "m.gguf.part.json.tmp").exists()
    assert _untouched(victim)
