"""Plain text and Markdown: decoding (refusing binary files), and Markdown's headings."""

from __future__ import annotations

import re

from app.docs.sections import HeadingTrail, Section

# Control characters that never occur in text (tab, newlines, form feed and escape do).
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 27))
_PROBE = 8192


class NotTextError(ValueError):
    """The bytes are not text in any encoding we read."""


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file are binary: a NUL byte (outside UTF-16), or more
    than 5 % control characters."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = sum(head.count(bytes([c])) for c in _CONTROL)
    return controls / len(head) > 0.05


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, then GB18030 (Chinese files saved by
    older Windows editors); raises NotTextError for binary data."""
    if looks_binary(data[:_PROBE]):
        raise NotTextError("binary data")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise NotTextError("broken UTF-16") from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    # Latin-1 decodes anything; only used when the text is otherwise plausible.
    return data.decode("latin-1")


def plain_sections(text: str) -> tuple[Section, ...]:
    """Plain text has no structure the reader can trust beyond its paragraphs, which
    the chunker keeps together: one section."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return (Section(text),) if text.strip() else ()


_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def markdown_sections(text: str) -> tuple[Section, ...]:
    """A section per heading (ATX ``#`` and setext underlines), headings kept as a trail;
    lines in fenced code blocks are never headings."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    trail = HeadingTrail()
    sections: list[Section] = []
    body: list[str] = []
    fence: str | None = None

    def close() -> None:
        chunk = "\n".join(body).strip("\n")
        if chunk.strip():
            sections.append(Section(chunk, heading=str(trail)))
        body.clear()

    for index, line in enumerate(lines):
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            body.append(line)
            continue
        if opener:
            fence = opener.group(1)
            body.append(line)
            continue
        atx = _ATX.match(line)
        if atx:
            close()
            trail.enter(len(atx.group(1)), atx.group(2) or "")
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip() and _SETEXT.match(following) and not _SETEXT.match(line):
            if body and body[-1].strip():
                # A paragraph's last line over '---' is a heading only after a blank line.
                body.append(line)
                continue
            close()
            trail.enter(1 if following.strip().startswith("=") else 2, line.strip())
            lines[index + 1] = ""  # the underline is not text
            continue
        body.append(line)
    close()
    return tuple(sections)
