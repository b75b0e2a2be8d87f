"""Whether two transcripts ask the same question: the draft's reply stands if they do.

Whisper writes the same words differently from one pass to the next: "Where's" or
"Where is", "ten" or "10", with or without a comma. Comparing the draft and the final
transcript character for character would redo replies that answered the right question.
Only spellings of the same words are folded; any other word makes another question.
"""

from __future__ import annotations

import re
import unicodedata

from app.voice.spoken_numbers import fold_number_words

# English contractions written out. "'s" only after words where it is "is" or "has"
# either way (never a possessive: "John's" stays); both transcripts are folded alike,
# so a contraction read two ways ("he's": is/has) still compares equal.
_WHOLE = {
    "can't": "can not",
    "cannot": "can not",
    "won't": "will not",
    "shan't": "shall not",
    "let's": "let us",
}
_S_WORDS = [
    "what",
    "where",
    "when",
    "who",
    "how",
    "why",
    "it",
    "that",
    "there",
    "here",
    "he",
    "she",
]
_WHOLE_WORD = re.compile(r"\b(?:" + "|".join(_WHOLE) + r")\b")
_CONTRACTION = re.compile(r"\b(?:(" + "|".join(_S_WORDS) + r")'s|(\w+)n't|(\w+)'(re|m|ll|ve|d))\b")
_SUFFIXES = {"re": "are", "m": "am", "ll": "will", "ve": "have", "d": "would"}


def _written_out(match: re.Match[str]) -> str:
    s_word, not_word, stem, suffix = match.groups()
    if s_word:
        return f"{s_word} is"
    if not_word:
        return f"{not_word} not"
    return f"{stem} {_SUFFIXES[suffix]}"


def expand_contractions(text: str) -> str:
    """``text`` (lower case, straight apostrophes) with English contractions written out."""
    text = _WHOLE_WORD.sub(lambda match: _WHOLE[match.group(0)], text)
    return _CONTRACTION.sub(_written_out, text)


def question_key(text: str) -> str:
    """``text`` without case, punctuation or spacing, its contractions written out and
    its number words as digits: a draft and a final transcript with the same key ask the
    same question, so the draft's reply stands."""
    lowered = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    folded = fold_number_words(expand_contractions(lowered))
    return "".join(
        ch for ch in folded if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )
