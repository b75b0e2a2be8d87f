"""Read one file into sections, or say in one sentence why it cannot be read.

The format comes from the file's extension; content that contradicts it (a binary file
named ``.txt``) is refused. Files above a size limit are refused before any byte is read
into memory.
"""

from __future__ import annotations

from pathlib import Path

from app.core.errors import DocumentError
from app.core.i18n import translate
from app.core.units import format_bytes
from app.docs.read_text import NotTextError, decode_text, markdown_sections, plain_sections
from app.docs.sections import ParsedDocument

KINDS: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".log": "text",
    ".csv": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".epub": "epub",
}
# PDFs, Word files and e-books carry images and fonts; text formats are read whole.
MAX_BYTES: dict[str, int] = {
    "pdf": 500_000_000,
    "docx": 200_000_000,
    "epub": 200_000_000,
    "markdown": 30_000_000,
    "text": 30_000_000,
    "html": 30_000_000,
}


def kind_of(path: Path) -> str | None:
    """The format Hearth reads ``path`` as, or None when it does not read such files."""
    return KINDS.get(path.suffix.lower())


def supported(path: Path) -> bool:
    return kind_of(path) is not None


def size_problem(path: Path, size: int, *, max_bytes: dict[str, int] | None = None) -> str | None:
    """The sentence refusing a file of ``size`` bytes as too big for its kind, or None."""
    kind = kind_of(path)
    if kind is None:
        return None
    limit = (max_bytes or MAX_BYTES).get(kind, MAX_BYTES[kind])
    if size <= limit:
        return None
    return translate(
        "Documents",
        "{name} is {size}, more than the {limit} Hearth reads for a {kind} file; split it "
        "into smaller files.",
    ).format(name=path.name, size=format_bytes(size), limit=format_bytes(limit), kind=kind)


def parse_file(path: Path, *, max_bytes: dict[str, int] | None = None) -> ParsedDocument:
    """The document's sections. Raises DocumentError with a sentence naming the file."""
    kind = kind_of(path)
    if kind is None:
        known = ", ".join(sorted({s.lstrip(".") for s in KINDS}))
        if path.suffix:
            problem = translate(
                "Documents", "{name}: Hearth does not read {suffix} files (it reads {known})."
            ).format(name=path.name, suffix=path.suffix, known=known)
        else:
            problem = translate(
                "Documents",
                "{name}: Hearth does not read files without an extension (it reads {known}).",
            ).format(name=path.name, known=known)
        raise DocumentError(problem)
    try:
        too_big = size_problem(path, path.stat().st_size, max_bytes=max_bytes)
        if too_big is not None:
            raise DocumentError(too_big)
        if kind == "pdf":
            from app.docs.read_pdf import read_pdf

            return read_pdf(path)
        if kind == "docx":
            from app.docs.read_docx import read_docx

            return read_docx(path)
        if kind == "epub":
            from app.docs.read_epub import read_epub

            return read_epub(path)
        return _read_textual(path, kind)
    except FileNotFoundError as exc:
        raise DocumentError(moved_message(path.name)) from exc
    except PermissionError as exc:
        raise DocumentError(
            translate(
                "Documents",
                "{name} cannot be read: permission denied; check the file's permissions.",
            ).format(name=path.name)
        ) from exc
    except IsADirectoryError as exc:
        raise DocumentError(
            translate("Documents", "{name} is a folder, not a file.").format(name=path.name)
        ) from exc
    except OSError as exc:
        raise DocumentError(unreadable_message(path.name, exc)) from exc


def _read_textual(path: Path, kind: str) -> ParsedDocument:
    data = path.read_bytes()
    if kind == "html":
        from app.docs.read_html import html_sections

        if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise _binary(path, kind)
        sections, title = html_sections(data)
        return ParsedDocument(kind, sections, title=title)
    try:
        text = decode_text(data)
    except NotTextError as exc:
        raise _binary(path, kind) from exc
    if kind == "markdown":
        return ParsedDocument(kind, markdown_sections(text))
    return ParsedDocument(kind, plain_sections(text))


def _binary(path: Path, kind: str) -> DocumentError:
    return DocumentError(
        translate(
            "Documents",
            "{name} is named like a {kind} file but holds binary data; rename it or leave it "
            "out of the collection.",
        ).format(name=path.name, kind=kind)
    )


def moved_message(name: str) -> str:
    return translate("Documents", "{name} was moved or deleted before it could be read.").format(
        name=name
    )


def unreadable_message(name: str, exc: OSError) -> str:
    return translate("Documents", "{name} could not be read ({reason}).").format(
        name=name, reason=exc.strerror or exc
    )
