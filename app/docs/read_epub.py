"""EPUB books: a zip of XHTML chapters, read in the order of the book's spine with the
HTML reader (``read_html``), so chapter headings become section headings.

No extra library: ``META-INF/container.xml`` names the package file, whose manifest
and spine list the chapters. DRM-protected books (``META-INF/encryption.xml`` over the
chapters) are refused with a sentence.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Any

from app.core.errors import DocumentError
from app.core.i18n import translate
from app.docs.read_html import html_sections
from app.docs.sections import ParsedDocument, Section

_MAX_CHAPTER_BYTES = 50_000_000  # a zip bomb's chapter is refused, not inflated


def _xml(data: bytes) -> Any:
    import lxml.etree

    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        return lxml.etree.fromstring(data, parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise ValueError(f"broken XML ({exc})") from exc


def _chapters(book: zipfile.ZipFile) -> list[str]:
    container = _xml(book.read("META-INF/container.xml"))
    rootfile = container.find(".//{*}rootfile")
    if rootfile is None or not rootfile.get("full-path"):
        raise KeyError("no package file")
    opf_path = str(rootfile.get("full-path"))
    package = _xml(book.read(opf_path))
    base = posixpath.dirname(opf_path)
    manifest = {
        item.get("id"): item.get("href")
        for item in package.iterfind(".//{*}manifest/{*}item")
        if item.get("href")
    }
    chapters: list[str] = []
    for ref in package.iterfind(".//{*}spine/{*}itemref"):
        href = manifest.get(ref.get("idref"))
        if href:
            chapters.append(posixpath.normpath(posixpath.join(base, href.split("#")[0])))
    return chapters


def read_epub(path: Path) -> ParsedDocument:
    try:
        with zipfile.ZipFile(path) as book:
            if "META-INF/encryption.xml" in book.namelist():
                raise DocumentError(
                    translate(
                        "Documents",
                        "{name} is a copy-protected (DRM) e-book; Hearth can only read e-books "
                        "without DRM.",
                    ).format(name=path.name)
                )
            sections: list[Section] = []
            for name in _chapters(book):
                info = book.getinfo(name)
                if info.file_size > _MAX_CHAPTER_BYTES:
                    raise DocumentError(
                        translate("Documents", "{name} has a chapter too large to read.").format(
                            name=path.name
                        )
                    )
                chapter, _title = html_sections(book.read(info))
                sections.extend(chapter)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(
            translate(
                "Documents",
                "{name} is not a readable EPUB book (damaged, or not an EPUB); open it in an "
                "e-book reader to check it.",
            ).format(name=path.name)
        ) from exc
    return ParsedDocument("epub", tuple(sections))
