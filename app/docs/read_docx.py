"""Word documents (.docx) with python-docx: paragraphs and tables in order, headings
from the paragraph styles ("Title", "Heading 1".."Heading 9")."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from app.core.errors import DocumentError
from app.core.i18n import translate
from app.docs.sections import HeadingTrail, ParsedDocument, Section

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .docx and old .doc files
_HEADING_STYLE = re.compile(r"^(?:heading\s*(\d)|title)$", re.IGNORECASE)


def _heading_level(style_name: str) -> int | None:
    match = _HEADING_STYLE.match(style_name.strip())
    if match is None:
        return None
    return int(match.group(1)) if match.group(1) else 0


def read_docx(path: Path) -> ParsedDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    with path.open("rb") as file:
        magic = file.read(len(_OLE_MAGIC))
    if magic == _OLE_MAGIC:
        raise DocumentError(
            translate(
                "Documents",
                "{name} is password-protected or an old Word (.doc) file; save it unprotected "
                "as .docx to index it.",
            ).format(name=path.name)
        )
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(
            translate(
                "Documents",
                "{name} is not a readable Word document (damaged or not a .docx); open it in a "
                "word processor and save it again.",
            ).format(name=path.name)
        ) from exc
    trail = HeadingTrail()
    sections: list[Section] = []
    body: list[str] = []

    def close() -> None:
        text = "\n\n".join(body).strip()
        if text:
            sections.append(Section(text, heading=str(trail)))
        body.clear()

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [" | ".join(c.text.strip() for c in row.cells) for row in block.rows]
            body.append("\n".join(r for r in rows if r.strip(" |")))
            continue
        style = block.style.name if block.style is not None else ""
        level = _heading_level(style or "")
        if level is not None and block.text.strip():
            close()
            trail.enter(level, block.text)
        elif block.text.strip():
            body.append(block.text.strip())
    close()
    title = document.core_properties.title or ""
    return ParsedDocument("docx", tuple(sections), title=title)
