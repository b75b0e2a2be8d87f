"""HTML to sections with lxml (already required by python-docx for DOCX).

Why lxml: libxml2's HTML parser reads broken real-world pages, honours the page's
declared encoding and is maintained; it comes with python-docx anyway, so HTML adds no
dependency. (html2text is GPL-3.0; selectolax would be a second native HTML parser.)
Headings ``h1``-``h6`` start sections; scripts, styles, navigation and forms are left
out; block elements end paragraphs.
"""

from __future__ import annotations

from typing import Any

from app.docs.sections import HeadingTrail, Section

_SKIP = frozenset(
    {"script", "style", "noscript", "template", "head", "nav", "form", "svg", "button", "iframe"}
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "main", "aside", "header", "footer", "li", "ul",
        "ol", "dl", "dt", "dd", "pre", "blockquote", "table", "tr", "figure", "figcaption",
        "br", "hr", "address", "details", "summary", "body",
    }
)  # fmt: skip
_CELLS = frozenset({"td", "th"})


class _Collector:
    def __init__(self) -> None:
        self.trail = HeadingTrail()
        self.sections: list[Section] = []
        self.parts: list[str] = []

    def text(self, value: str | None) -> None:
        if value:
            self.parts.append(value)

    def close(self) -> None:
        paragraphs = ["".join(p).strip() for p in _split(self.parts)]
        text = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
        if text:
            self.sections.append(Section(text, heading=str(self.trail)))
        self.parts.clear()

    def walk(self, element: Any) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        tag = tag.lower()
        if tag in _SKIP or not tag:  # comments and processing instructions are not text
            self.text(element.tail)
            return
        if tag in _HEADINGS:
            self.close()
            self.trail.enter(_HEADINGS[tag], element.text_content())
            self.text(element.tail)
            return
        if tag in _BLOCKS:
            self.parts.append("\n\n")
        self.text(element.text)
        for child in element:
            self.walk(child)
        if tag in _CELLS:
            self.parts.append(" | ")
        if tag in _BLOCKS:
            self.parts.append("\n\n")
        self.text(element.tail)


def _split(parts: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for part in parts:
        if part == "\n\n":
            paragraphs.append([])
        else:
            paragraphs[-1].append(part)
    return paragraphs


def html_sections(data: bytes) -> tuple[tuple[Section, ...], str]:
    """``(sections, title)`` of an HTML page given as bytes (the parser finds the
    encoding the page declares)."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.document_fromstring(data)
    except (lxml.etree.ParserError, ValueError):  # an empty or whitespace-only page
        return (), ""
    title_element = root.find(".//title")
    title = " ".join((title_element.text_content() if title_element is not None else "").split())
    body = root.find("body")
    collector = _Collector()
    collector.walk(body if body is not None else root)
    collector.close()
    return tuple(collector.sections), title
