"""Streaming sentence splitting and text cleaning for speech.

The LLM's reply arrives as token deltas. :class:`SentenceSplitter` hands out each sentence
as soon as it is complete, so the first one can be synthesised while the model is still
writing the rest. To start speaking sooner, the reply's first sentence may be cut at a
clause (a comma after a few words) or, in English, where a new phrase begins ("The capital
of France | is Paris."): a short first piece is generated and synthesised in a fraction of
the time of a whole sentence, and the next piece follows it without a pause. Code blocks
are not read out: each becomes one short spoken note. :func:`clean_for_speech` turns
Markdown, URLs and emoji into what a person would say. References to the user's documents
are for the eyes (the sources are shown): :func:`drop_references` takes citation marks
("[1]") and file names out of a piece before it is said, and out of what it keeps as said.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

CODE_BLOCK_SPOKEN = "I've left out a code block."

_CLOSERS = "\"')]}»”’"
_TERMINATORS = ".!?…"
_CJK_TERMINATORS = "。！？；"
_CLAUSE = ",;:，、"
# Words that begin a new phrase in English: a first piece may end just before one of them.
_PHRASE_STARTS = {
    "is", "are", "was", "were", "has", "have", "had", "will", "would", "can", "could",
    "should", "may", "might", "must", "does", "do", "did",
    "of", "in", "on", "at", "to", "for", "with", "from", "by", "about", "into", "over",
    "under", "after", "before", "between", "through", "during", "near", "around",
    "and", "but", "or", "so", "because", "which", "that", "who", "where", "when", "while",
    "if", "than", "as",
}  # fmt: skip
# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "e.g", "i.e", "eg", "ie",
    "fig", "approx", "no", "inc", "ltd", "co", "mt", "ft", "cf", "al", "u.s", "u.k",
}  # fmt: skip


class PieceEnd(enum.Enum):
    """How a piece ends, which decides the pause after it."""

    SENTENCE = "sentence"
    CLAUSE = "clause"  # at a comma: a short pause
    PHRASE = "phrase"  # mid-sentence, before a new phrase: no pause at all


@dataclass(frozen=True)
class Sentence:
    """One piece of a reply to speak: the text as written, and as it should be said."""

    index: int
    raw: str
    spoken: str
    ends: PieceEnd = PieceEnd.SENTENCE


class SentenceSplitter:
    """Feed deltas, get finished sentences; ``flush()`` at the end of the reply."""

    def __init__(
        self,
        *,
        first_clause_words: int = 4,
        first_phrase_words: int = 0,
        max_chars: int = 220,
        drop_refs: bool = False,
    ) -> None:
        """``first_clause_words``: the first piece may end at a comma after this many words
        (0: never); ``first_phrase_words``: ... or before a word that starts a new phrase,
        after at least this many (0: never); ``drop_refs``: the reply answers from the
        user's documents, so citation marks and file names are not said."""
        self.drop_refs = drop_refs
        self.first_clause_words = first_clause_words
        self.first_phrase_words = first_phrase_words
        self.max_chars = max_chars
        self._buf = ""
        self._in_code = False
        self._count = 0

    @property
    def emitted(self) -> int:
        return self._count

    def feed(self, text: str) -> list[Sentence]:
        self._buf += text
        return self._drain(final=False)

    def flush(self) -> list[Sentence]:
        out = self._drain(final=True)
        if self._in_code:  # an unclosed block at the end of the reply
            self._in_code = False
            out.extend(self._make(CODE_BLOCK_SPOKEN, CODE_BLOCK_SPOKEN))
        tail, self._buf = self._buf, ""
        out.extend(self._make(tail))
        return out

    # -- internals -----------------------------------------------------------------------
    def _make(
        self, raw: str, spoken: str | None = None, ends: PieceEnd = PieceEnd.SENTENCE
    ) -> list[Sentence]:
        if spoken is None and self.drop_refs:
            raw = drop_references(raw)
        said = clean_for_speech(raw) if spoken is None else spoken
        if not any(ch.isalnum() for ch in said):
            return []
        sentence = Sentence(self._count, raw.strip(), said, ends)
        self._count += 1
        return [sentence]

    def _drain(self, *, final: bool) -> list[Sentence]:
        out: list[Sentence] = []
        while True:
            if self._in_code:
                end = self._buf.find("```")
                if end < 0:
                    # Keep only what could be the start of a closing fence.
                    self._buf = self._buf[-2:]
                    return out
                line_end = self._buf.find("\n", end + 3)
                if line_end < 0 and not final:
                    return out  # wait: the rest of the fence line may still come
                self._buf = self._buf[line_end + 1 :] if line_end >= 0 else ""
                self._in_code = False
                out.extend(self._make(CODE_BLOCK_SPOKEN, CODE_BLOCK_SPOKEN))
                continue
            fence = self._buf.find("```")
            cut = self._boundary(self._buf if fence < 0 else self._buf[:fence])
            if cut is None and fence >= 0:
                out.extend(self._make(self._buf[:fence]))
                self._buf = self._buf[fence + 3 :]
                self._in_code = True
                continue
            if cut is None:
                # A backtick at the very end may be the start of a fence: wait for it.
                return out
            cut_at, ends = cut
            out.extend(self._make(self._buf[:cut_at], ends=ends))
            self._buf = self._buf[cut_at:]

    def _boundary(self, text: str) -> tuple[int, PieceEnd] | None:
        """End index of the first complete piece in ``text`` and how it ends, or None."""
        first = self._count == 0
        clause_ok = first and self.first_clause_words > 0
        phrase_ok = first and self.first_phrase_words > 0
        words = 0
        in_word = False
        word_start = 0
        last_space = -1
        i = 0
        n = len(text)
        while i < n:
            ch = text[i]
            if ch.isspace():
                if in_word:
                    words += 1
                    # Cut before a completed word that starts a new phrase, once the
                    # piece before it has enough words to say on its own.
                    if (
                        phrase_ok
                        and words - 1 >= self.first_phrase_words
                        and text[word_start:i].lower() in _PHRASE_STARTS
                    ):
                        return word_start, PieceEnd.PHRASE
                in_word = False
                last_space = i
                if ch == "\n" and text[:i].strip():
                    return i + 1, PieceEnd.SENTENCE
            else:
                if not in_word:
                    word_start = i
                in_word = True
            if ch in _CJK_TERMINATORS:
                j = i + 1
                while j < n and text[j] in _CLOSERS:
                    j += 1
                return j, PieceEnd.SENTENCE
            if ch in _TERMINATORS:
                j = i + 1
                while j < n and (text[j] in _TERMINATORS or text[j] in _CLOSERS):
                    j += 1
                if j >= n:
                    return None  # the next character decides; flush() takes the tail
                if text[j].isspace() and not self._is_abbreviation(text, i):
                    return j, PieceEnd.SENTENCE
                i = j
                continue
            if (
                clause_ok
                and ch in _CLAUSE
                and words + 1 >= self.first_clause_words
                and (i + 1 < n and text[i + 1].isspace())
                and not _inside_brackets(text, i)  # not in "[1, 2]" nor "(lease.pdf, page 2)"
            ):
                return i + 1, PieceEnd.CLAUSE
            if i >= self.max_chars and last_space > 0:
                return last_space + 1, PieceEnd.PHRASE
            i += 1
        # The word still arriving already reads as a phrase start ("The capital of"): cut
        # now rather than a token later. Should it grow into another word ("often"), the
        # cut is still between two whole words, only not before a new phrase.
        if (
            in_word
            and phrase_ok
            and words >= self.first_phrase_words
            and text[word_start:].lower() in _PHRASE_STARTS
        ):
            return word_start, PieceEnd.PHRASE
        return None

    @staticmethod
    def _is_abbreviation(text: str, dot: int) -> bool:
        if text[dot] != ".":
            return False
        start = dot
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
            start -= 1
        word = text[start:dot].lower()
        if not word:
            return False
        if word.isdigit():
            # "1." at the start of a line is a list number, not the end of a sentence.
            line_start = text.rfind("\n", 0, start) + 1
            return not text[line_start:start].strip()
        return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


# -- references -------------------------------------------------------------------------
def _inside_brackets(text: str, index: int) -> bool:
    """Whether ``text[index]`` lies inside an open ( or [."""
    head = text[:index]
    return head.count("[") > head.count("]") or head.count("(") > head.count(")")


# A citation mark: [1], [2, 3], [1-3] (not a Markdown link's text, which "(" follows).
_CITATION = re.compile(r"\s*\[\s*\d{1,3}(?:\s*[,;\u2013-]\s*\d{1,3})*\s*\](?!\()")
_DOC_FILE = r"[\w-]+(?:\.[\w-]+)*\.(?:pdf|docx?|epub|md|markdown|txt|text|html?|rst)\b"
# A file name in brackets, with what goes with it: "(lease.pdf, page 2)".
_FILE_NOTE = re.compile(r"\s*[(\[][^()\[\]]*?" + _DOC_FILE + r"[^()\[\]]*[)\]]", re.IGNORECASE)
# A bare file name, with its page: "lease.pdf, page 2".
_FILE_NAME = re.compile(_DOC_FILE + r"(?:,?\s+(?:on\s+)?pages?\s+\d+)?", re.IGNORECASE)
_SPACE_BEFORE_MARK = re.compile(r"[ \t]+([.,;:!?])")
# A source's label on a line of its own, as the prompt shows it: "[1] lease.pdf, page 2 — Pets".
_LABEL_LINE = re.compile(
    r"^[ \t]*(?:\[\d{1,3}\]|\d{1,3}[.)])?[ \t]*" + _DOC_FILE + r"(?:,?[ \t]*pages?[ \t]+\d+)?"
    r"(?:[ \t]*[\u2014\u2013-][^\n]*)?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def drop_references(text: str) -> str:
    """``text`` without citation marks and document file names: "Pets are allowed [1]."
    is said "Pets are allowed.", "lease.pdf says" is said "the document says"."""
    if "[" not in text and "." not in text:
        return text
    text = _LABEL_LINE.sub("", text)
    text = _CITATION.sub("", text)
    text = _FILE_NOTE.sub("", text)
    text = _FILE_NAME.sub("the document", text)
    return _SPACE_BEFORE_MARK.sub(r"\1", text)


# -- cleaning ---------------------------------------------------------------------------
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\"']+", re.IGNORECASE)
_INLINE_CODE = re.compile(r"`([^`]*)`")
_EMPHASIS = re.compile(r"(\*\*|~~|\*)(?=\S)(.+?)(?<=\S)\1")
# Underscores only around words, so snake_case names keep theirs.
_UNDERSCORE = re.compile(r"(?<!\w)(__|_)(?=\S)(.+?)(?<=\S)\1(?!\w)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE)
_QUOTE = re.compile(r"^\s*>+\s?", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+", re.MULTILINE)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$", re.MULTILINE)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")
_RULE = re.compile(r"^\s*([-*_])\s*(\1\s*){2,}$", re.MULTILINE)


def _speak_url(match: re.Match[str]) -> str:
    url = match.group(0).rstrip(".,;:!?")
    trailing = match.group(0)[len(url) :]
    host = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    host = host.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    return (host or "a link") + trailing


def clean_for_speech(text: str) -> str:
    """What to say for a piece of Markdown: no symbols, links read as their words."""
    text = text.replace("```", " ")
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(_speak_url, text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _TABLE_RULE.sub("", text)
    text = _RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub("", text)
    for _ in range(2):  # nested emphasis (***both***)
        text = _EMPHASIS.sub(r"\2", text)
        text = _UNDERSCORE.sub(r"\2", text)
    text = _HTML_TAG.sub(" ", text)
    text = _EMOJI.sub("", text)
    if "|" in text:  # table cells read as a list
        cells = [c.strip() for c in text.strip().strip("|").split("|")]
        text = ", ".join(c for c in cells if c)
    text = text.replace("*", "").replace("#", " ")
    return re.sub(r"\s+", " ", text).strip()
