"""Small real documents made on the spot: PDFs written byte by byte (text pages, scanned
pages without text, an outline, encryption, damage), DOCX with python-docx, HTML, and
Markdown; plus the texts they hold, for asserting what search finds."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

LEASE_PAGES: tuple[tuple[str, ...], ...] = (
    (
        "Residential Lease Agreement",
        "This lease is made between the landlord, Harbour Homes Ltd, and the tenant.",
        "The monthly rent is 1,250 euros, due on the first day of each month.",
    ),
    (
        "Pets",
        "The tenant may keep one cat or one small dog in the flat.",
        "Any other animal requires the landlord's written permission in advance.",
    ),
    (
        "Parking and bicycles",
        "One parking space in the underground garage is included, number 14.",
        "Bicycles must be stored in the basement bicycle room, never in the stairwell.",
    ),
)


def _escape(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return escaped.encode("latin-1")


def _page_stream(lines: Sequence[str]) -> bytes:
    if not lines:  # a "scanned" page: a grey picture-like rectangle, no text layer
        return b"0.6 g 72 72 450 650 re f"
    body = b" T* ".join(b"(" + _escape(line) + b") Tj" for line in lines)
    return b"BT /F1 12 Tf 16 TL 72 720 Td " + body + b" ET"


def write_pdf(
    path: Path,
    pages: Sequence[Sequence[str]],
    *,
    outline: Sequence[tuple[str, int]] = (),
    encrypted: bool = False,
) -> Path:
    """A PDF with one page per entry of ``pages`` (lines of Helvetica text; an empty
    entry is a page without text), an outline of ``(title, page index)`` entries, and,
    with ``encrypted``, the standard security handler with a user password."""
    objects: dict[int, bytes] = {}
    n_pages = len(pages)
    page_ids = [4 + 2 * i for i in range(n_pages)]
    outline_id = 4 + 2 * n_pages
    catalog = b"<< /Type /Catalog /Pages 2 0 R"
    if outline:
        catalog += f" /Outlines {outline_id} 0 R /PageMode /UseOutlines".encode()
    objects[1] = catalog + b" >>"
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode()
    objects[3] = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    for page_id, lines in zip(page_ids, pages, strict=True):
        stream = _page_stream(lines)
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {page_id + 1} 0 R"
            " /Resources << /Font << /F1 3 0 R >> >> >>"
        ).encode()
        objects[page_id + 1] = (
            f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
        )
    if outline:
        item_ids = [outline_id + 1 + i for i in range(len(outline))]
        objects[outline_id] = (
            f"<< /Type /Outlines /First {item_ids[0]} 0 R /Last {item_ids[-1]} 0 R"
            f" /Count {len(outline)} >>"
        ).encode()
        for n, ((title, index), item_id) in enumerate(zip(outline, item_ids, strict=True)):
            links = f" /Prev {item_ids[n - 1]} 0 R" if n else ""
            links += f" /Next {item_ids[n + 1]} 0 R" if n + 1 < len(item_ids) else ""
            objects[item_id] = (
                b"<< /Title (" + _escape(title) + b")"
                + f" /Parent {outline_id} 0 R /Dest [{page_ids[index]} 0 R /XYZ 0 792 0]{links} >>"
                .encode()
            )  # fmt: skip
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    encrypt_id = size
    trailer_extra = b""
    if encrypted:
        # Random /O and /U: no password opens it, as with a file whose password the
        # user does not have.
        offsets[encrypt_id] = len(out)
        out += (
            f"{encrypt_id} 0 obj\n<< /Filter /Standard /V 1 /R 2 /P -44"
            f" /O <{os.urandom(32).hex()}> /U <{os.urandom(32).hex()}> >>\nendobj\n"
        ).encode()
        size += 1
        file_id = os.urandom(16).hex()
        trailer_extra = f" /Encrypt {encrypt_id} 0 R /ID [<{file_id}> <{file_id}>]".encode()
    xref_at = len(out)
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for number in range(1, size):
        out += f"{offsets[number]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {size} /Root 1 0 R".encode() + trailer_extra + b" >>\n"
    out += f"startxref\n{xref_at}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def write_lease_pdf(path: Path) -> Path:
    return write_pdf(
        path,
        LEASE_PAGES,
        outline=[("Agreement", 0), ("Pets", 1), ("Parking", 2)],
    )


def write_scanned_pdf(path: Path, pages: int = 2) -> Path:
    return write_pdf(path, [() for _ in range(pages)])


def write_corrupt_pdf(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    return path


def write_docx(path: Path) -> Path:
    """A Word file with a title, two headings, paragraphs and a table."""
    import docx

    document = docx.Document()
    document.add_heading("Household Handbook", 0)
    document.add_heading("Heating", 1)
    document.add_paragraph(
        "The boiler is serviced every October. Bleed the radiators if they are cold at the top."
    )
    document.add_heading("Recycling", 1)
    document.add_paragraph("Glass bottles go to the green container behind the building.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Waste"
    table.cell(0, 1).text = "Collection day"
    table.cell(1, 0).text = "Paper"
    table.cell(1, 1).text = "Thursday"
    document.save(str(path))
    return path


HTML_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Garden notes</title>
<style>body { color: red }</style><script>var tracking = "do not index me";</script></head>
<body><nav>Home | About | Contact</nav>
<h1>Garden notes</h1>
<p>Tomatoes need six hours of direct sun and deep watering twice a week.</p>
<h2>Compost</h2>
<p>Turn the compost heap every <b>three weeks</b> to keep it aerobic.</p>
<ul><li>Greens: vegetable scraps</li><li>Browns: dry leaves</li></ul>
<!-- a comment that is not text -->
</body></html>
"""


def write_html(path: Path) -> Path:
    path.write_text(HTML_PAGE, encoding="utf-8")
    return path


MARKDOWN_NOTES = """# Travel checklist

Pack the passport and check that it is valid for six more months.

## Trains

The night train to Vienna leaves at 21:40 from platform 7.

```python
# not a heading: code
print("hello")
```

# 租房合同

房东允许租客养一只猫，但不允许养狗。每月租金在五号之前支付。
"""


def write_markdown(path: Path) -> Path:
    path.write_text(MARKDOWN_NOTES, encoding="utf-8")
    return path


def write_binary_text(path: Path) -> Path:
    """Binary bytes under a text extension (an image renamed to .txt)."""
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2048))
    return path


def write_epub(path: Path, *, drm: bool = False) -> Path:
    """A two-chapter EPUB 3 (its spine lists chapter 2 before chapter 1's file name
    order would, to show the spine decides)."""
    import zipfile

    container = (
        '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        "<metadata/><manifest>"
        '<item id="a" href="text/b-first.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="b" href="text/a-second.xhtml" media-type="application/xhtml+xml"/>'
        '</manifest><spine><itemref idref="a"/><itemref idref="b"/></spine></package>'
    )

    def chapter(title: str, body: str) -> str:
        return (
            '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
            f"<head><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p></body></html>"
        )

    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr("META-INF/container.xml", container)
        if drm:
            book.writestr("META-INF/encryption.xml", "<encryption/>")
        book.writestr("OEBPS/content.opf", opf)
        book.writestr(
            "OEBPS/text/b-first.xhtml",
            chapter("The Lighthouse", "The keeper lit the lamp at dusk every evening."),
        )
        book.writestr(
            "OEBPS/text/a-second.xhtml",
            chapter("The Storm", "Waves broke over the harbour wall all night."),
        )
    return path
