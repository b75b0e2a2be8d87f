"""What a reader makes of a document: sections of text, each with its page or heading."""

from __future__ import annotations

from dataclasses import dataclass, field

HEADING_SEPARATOR = " › "


@dataclass(frozen=True)
class Section:
    """A run of text under one heading (Markdown, DOCX, HTML) or on one page (PDF).

    ``page`` counts from 1 and is None for formats without pages; ``heading`` is the
    trail of headings above the text, outermost first, joined by HEADING_SEPARATOR
    (empty before the first heading).
    """

    text: str
    page: int | None = None
    heading: str = ""


@dataclass(frozen=True)
class ParsedDocument:
    """A readable document. ``pages`` is the PDF's page count (None for other formats);
    ``pages_without_text`` counts pages that hold no text layer (scans)."""

    kind: str
    sections: tuple[Section, ...]
    pages: int | None = None
    pages_without_text: int = 0
    title: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def has_text(self) -> bool:
        return any(s.text.strip() for s in self.sections)


class HeadingTrail:
    """The headings above the current point: a level-2 heading replaces the previous
    level-2 one and everything below it."""

    def __init__(self) -> None:
        self._levels: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        self._levels = [(lv, t) for lv, t in self._levels if lv < level]
        title = " ".join(title.split())
        if title:
            self._levels.append((level, title))

    def __str__(self) -> str:
        return HEADING_SEPARATOR.join(t for _, t in self._levels)
