"""Reading real files of every format into sections, and every bad file's one sentence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.errors import DocumentError
from app.docs.parse import parse_file, supported
from app.docs.read_text import decode_text, looks_binary
from tests.docs.documents import (
    LEASE_PAGES,
    write_binary_text,
    write_corrupt_pdf,
    write_docx,
    write_epub,
    write_html,
    write_lease_pdf,
    write_markdown,
    write_pdf,
    write_scanned_pdf,
)


def test_pdf_pages_keep_their_numbers_and_outline_headings(tmp_path: Path) -> None:
    document = parse_file(write_lease_pdf(tmp_path / "lease.pdf"))
    assert document.kind == "pdf"
    assert document.pages == 3
    assert document.pages_without_text == 0
    assert [s.page for s in document.sections] == [1, 2, 3]
    assert [s.heading for s in document.sections] == ["Agreement", "Pets", "Parking"]
    for section, lines in zip(document.sections, LEASE_PAGES, strict=True):
        for line in lines:
            assert line in section.text


def test_a_pdf_without_outline_has_pages_and_no_headings(tmp_path: Path) -> None:
    document = parse_file(write_pdf(tmp_path / "plain.pdf", [["first page"], ["second page"]]))
    assert [(s.page, s.heading) for s in document.sections] == [(1, ""), (2, "")]


def test_a_scanned_pdf_is_reported_as_without_text(tmp_path: Path) -> None:
    document = parse_file(write_scanned_pdf(tmp_path / "scan.pdf", pages=3))
    assert not document.has_text
    assert document.pages == document.pages_without_text == 3


def test_a_pdf_with_some_scanned_pages_counts_them(tmp_path: Path) -> None:
    document = parse_file(write_pdf(tmp_path / "mixed.pdf", [["typed page"], [], ["more text"]]))
    assert [s.page for s in document.sections] == [1, 3]
    assert document.pages_without_text == 1


def test_an_encrypted_pdf_asks_for_an_unprotected_copy(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "locked.pdf", LEASE_PAGES, encrypted=True)
    with pytest.raises(DocumentError, match=r"locked\.pdf is an encrypted PDF"):
        parse_file(path)


def test_a_damaged_pdf_is_named(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"broken\.pdf is not a readable PDF"):
        parse_file(write_corrupt_pdf(tmp_path / "broken.pdf"))


def test_docx_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    document = parse_file(write_docx(tmp_path / "handbook.docx"))
    assert document.kind == "docx"
    headings = [s.heading for s in document.sections]
    assert headings == ["Household Handbook › Heating", "Household Handbook › Recycling"]
    assert "boiler is serviced every October" in document.sections[0].text
    assert "Paper | Thursday" in document.sections[1].text


def test_a_damaged_or_protected_docx_is_named(tmp_path: Path) -> None:
    zipped = tmp_path / "cut.docx"
    zipped.write_bytes(write_docx(tmp_path / "whole.docx").read_bytes()[:400])
    with pytest.raises(DocumentError, match=r"cut\.docx is not a readable Word document"):
        parse_file(zipped)
    protected = tmp_path / "protected.docx"
    protected.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(1024))
    with pytest.raises(DocumentError, match="password-protected"):
        parse_file(protected)


def test_html_keeps_text_and_headings_and_drops_scripts_and_navigation(tmp_path: Path) -> None:
    document = parse_file(write_html(tmp_path / "garden.html"))
    assert document.title == "Garden notes"
    assert [s.heading for s in document.sections] == ["Garden notes", "Garden notes › Compost"]
    text = "\n".join(s.text for s in document.sections)
    assert "Turn the compost heap every three weeks" in text
    assert "Greens: vegetable scraps" in text
    for absent in ("tracking", "color: red", "Contact", "comment"):
        assert absent not in text


def test_markdown_headings_form_a_trail_and_code_is_not_a_heading(tmp_path: Path) -> None:
    document = parse_file(write_markdown(tmp_path / "notes.md"))
    headings = [s.heading for s in document.sections]
    assert headings == ["Travel checklist", "Travel checklist › Trains", "租房合同"]
    assert "# not a heading: code" in document.sections[1].text
    assert "养一只猫" in document.sections[2].text


def test_setext_headings(tmp_path: Path) -> None:
    path = tmp_path / "setext.md"
    path.write_text("Title\n=====\n\nIntro.\n\nPart\n----\n\nBody text.\n", encoding="utf-8")
    sections = parse_file(path).sections
    assert [(s.heading, s.text) for s in sections] == [
        ("Title", "Intro."),
        ("Title › Part", "Body text."),
    ]


def test_plain_text_in_utf16_and_gb18030(tmp_path: Path) -> None:
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes("Ünïcode text, 中文".encode("utf-16"))
    assert parse_file(utf16).sections[0].text == "Ünïcode text, 中文"
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("房东允许租客养一只猫".encode("gb18030"))
    assert parse_file(gbk).sections[0].text == "房东允许租客养一只猫"


def test_a_binary_file_with_a_text_extension_is_refused(tmp_path: Path) -> None:
    for name in ("photo.txt", "photo.md", "photo.html"):
        with pytest.raises(DocumentError, match="holds binary data"):
            parse_file(write_binary_text(tmp_path / name))


def test_binary_detection() -> None:
    assert looks_binary(b"abc\x00def")
    assert looks_binary(bytes(range(1, 32)) * 4)
    assert not looks_binary(b"plain text\twith tabs\r\n")
    assert not looks_binary("x".encode("utf-16"))
    assert decode_text("é".encode("latin-1") * 3 + b" ok") == "ééé ok"


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as file:  # sparse: 2 GB on paper, no disk used
        file.truncate(2_000_000_000)
    with pytest.raises(DocumentError, match=r"big\.txt is 2\.00 GB, more than the 30\.0 MB"):
        parse_file(big)
    small_limit = {"markdown": 10}
    path = tmp_path / "notes.md"
    path.write_text("more than ten bytes of text")
    with pytest.raises(DocumentError, match="split it"):
        parse_file(path, max_bytes=small_limit)


def test_missing_unsupported_and_folder_paths(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="moved or deleted"):
        parse_file(tmp_path / "gone.pdf")
    with pytest.raises(DocumentError, match=r"does not read \.exe files"):
        parse_file(tmp_path / "setup.exe")
    folder = tmp_path / "folder.md"
    folder.mkdir()
    with pytest.raises(DocumentError, match="is a folder"):
        parse_file(folder)
    assert supported(Path("A.PDF")) and not supported(Path("a.png"))


def test_an_empty_text_file_has_no_text(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n ")
    assert not parse_file(empty).has_text
    blank_html = tmp_path / "blank.html"
    blank_html.write_text("")
    assert not parse_file(blank_html).has_text


def test_epub_chapters_in_spine_order_with_their_headings(tmp_path: Path) -> None:
    document = parse_file(write_epub(tmp_path / "book.epub"))
    assert document.kind == "epub"
    assert [(s.heading, s.text) for s in document.sections] == [
        ("The Lighthouse", "The keeper lit the lamp at dusk every evening."),
        ("The Storm", "Waves broke over the harbour wall all night."),
    ]


def test_a_drm_or_damaged_epub_is_named(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"locked\.epub is a copy-protected \(DRM\) e-book"):
        parse_file(write_epub(tmp_path / "locked.epub", drm=True))
    cut = tmp_path / "cut.epub"
    cut.write_bytes(write_epub(tmp_path / "whole.epub").read_bytes()[:300])
    with pytest.raises(DocumentError, match=r"cut\.epub is not a readable EPUB book"):
        parse_file(cut)
    no_package = tmp_path / "empty.epub"
    import zipfile

    with zipfile.ZipFile(no_package, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
    with pytest.raises(DocumentError, match="not a readable EPUB"):
        parse_file(no_package)
