"""PDF text, page by page, with pypdfium2 (PDFium, the PDF engine of Chrome).

Each page becomes a section carrying its page number; the outline (bookmarks), where
the file has one, gives each page the heading that covers it. Pages without a text
layer (scans) are counted: OCR is not done here.
"""

from __future__ import annotations

from pathlib import Path

from app.core.errors import DocumentError
from app.core.i18n import translate
from app.docs.sections import HEADING_SEPARATOR, ParsedDocument, Section


def _outline(pdf: object) -> dict[int, str]:
    """``{page index: heading trail}`` where an outline entry points."""
    marks: dict[int, str] = {}
    trail: list[str] = []
    try:
        for bookmark in pdf.get_toc():  # type: ignore[attr-defined]
            title = " ".join((bookmark.get_title() or "").split())
            del trail[bookmark.level :]
            trail.append(title)
            dest = bookmark.get_dest()
            index = dest.get_index() if dest is not None else None
            if index is not None and index not in marks:
                marks[index] = HEADING_SEPARATOR.join(t for t in trail if t)
    except Exception:  # a broken outline costs headings, never the text
        return {}
    return marks


def read_pdf(path: Path) -> ParsedDocument:
    import pypdfium2 as pdfium
    from pypdfium2 import raw

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (raw.FPDF_ERR_PASSWORD, raw.FPDF_ERR_SECURITY):
            raise DocumentError(
                translate(
                    "Documents",
                    "{name} is an encrypted PDF that needs a password; save an unprotected copy "
                    "to index it.",
                ).format(name=path.name)
            ) from exc
        raise DocumentError(
            translate(
                "Documents",
                "{name} is not a readable PDF (damaged or incomplete); open it in a PDF viewer to "
                "check it, or export it again.",
            ).format(name=path.name)
        ) from exc
    try:
        headings = _outline(pdf)
        sections: list[Section] = []
        empty = 0
        heading = ""
        for index in range(len(pdf)):
            heading = headings.get(index, heading)
            try:
                page = pdf[index]
                textpage = page.get_textpage()
                text = textpage.get_text_range()
                textpage.close()
                page.close()
            except pdfium.PdfiumError:
                text = ""
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
            if text.strip():
                sections.append(Section(text, page=index + 1, heading=heading))
            else:
                empty += 1
        return ParsedDocument("pdf", tuple(sections), pages=len(pdf), pages_without_text=empty)
    finally:
        pdf.close()
