"""Word and character error rates for the voice benchmarks, with the normalisation that
makes "Set a timer for 10 minutes." and "set a timer for ten minutes" the same words.

English (the idea of Whisper's ``EnglishTextNormalizer``, much smaller): lower case,
numbers as words ("10" → "ten", "7:30" → "seven thirty", "3rd" → "third", "25%" →
"twenty five percent"), common contractions spelled out, British spellings as American,
hyphens as spaces, fillers ("um", "uh") and punctuation dropped. Chinese: punctuation and
spaces dropped, Traditional characters as Simplified (OpenCC's dictionaries, and a table
for the benchmark's characters where OpenCC is missing: plain Whisper often writes
Traditional), Arabic numerals as Chinese ones.

The distance is Levenshtein's over words (English) or characters (Chinese), with the
counts of substitutions, deletions and insertions kept. A *duplicated* word is one the
hypothesis says more often than the reference does (and more than once), which is what
joining two pieces of one utterance produces ("tell me about the moon tell me about the
moon": five duplicated words), but also what a mishearing that reuses a word does ("raw
cookie dough" heard as "or cook it though": "it" twice). A *repeated* word is one of a run
said again right after itself ("the moon tell me about the moon" → five; "a lord lord" →
one), beyond the reference's own: the mark joins and decoder loops leave, which a
mishearing rarely does.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"))
_ORDINAL = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip
_CONTRACTIONS = {
    "what's": "what is", "it's": "it is", "that's": "that is", "there's": "there is",
    "here's": "here is", "where's": "where is", "who's": "who is", "how's": "how is",
    "he's": "he is", "she's": "she is", "let's": "let us", "i'm": "i am", "you're": "you are",
    "we're": "we are", "they're": "they are", "i've": "i have", "you've": "you have",
    "we've": "we have", "i'll": "i will", "you'll": "you will", "i'd": "i would",
    "don't": "do not", "doesn't": "does not", "didn't": "did not", "can't": "can not",
    "cannot": "can not", "won't": "will not", "isn't": "is not", "aren't": "are not",
    "wasn't": "was not", "shouldn't": "should not", "wouldn't": "would not",
    "couldn't": "could not", "haven't": "have not", "what're": "what are",
}  # fmt: skip
_SPELLING = {
    "colour": "color", "favourite": "favorite", "centre": "center", "metre": "meter",
    "metres": "meters", "kilometre": "kilometer", "kilometres": "kilometers",
    "theatre": "theater", "grey": "gray", "organise": "organize", "realise": "realize",
    "travelling": "traveling", "okay": "ok", "alright": "all right", "mum": "mom",
    "doughnut": "donut", "flavour": "flavor", "practise": "practice", "tyre": "tire",
    "tyres": "tires",
}  # fmt: skip
_FILLERS = {"um", "uh", "er", "erm", "hmm", "mm", "ah"}


def number_words(n: int) -> str:
    """An integer in words: 1205 → "one thousand two hundred five"."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (" " + _ONES[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + (" " + number_words(rest) if rest else "")
    for size, name in _SCALES:
        if n >= size:
            high, rest = divmod(n, size)
            return number_words(high) + " " + name + (" " + number_words(rest) if rest else "")
    raise AssertionError("unreachable")


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL:
        last = _ORDINAL[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return (head + " " + last).strip()


def _spell_number(match: re.Match[str]) -> str:
    whole, fraction, suffix = match["whole"].replace(",", ""), match["fraction"], match["suffix"]
    words = number_words(int(whole))
    if fraction:
        words += " point " + " ".join(_ONES[int(d)] for d in fraction)
    if suffix:
        words = _ordinal(words)
    return f" {words} "


def _spell_time(match: re.Match[str]) -> str:
    hours, minutes = int(match[1]), int(match[2])
    if minutes == 0:
        return f" {number_words(hours)} "
    spoken = number_words(minutes) if minutes >= 10 else "oh " + number_words(minutes)
    return f" {number_words(hours)} {spoken} "


_NUMBER_RE = re.compile(
    r"(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?(?P<suffix>st|nd|rd|th)?\b"
)


def normalize_english(text: str) -> list[str]:
    """The words of ``text`` as they are compared (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("’", "'").replace("‘", "'")
    text = re.sub(r"\b([ap])\.\s?m\.", r"\1m", text)
    text = re.sub(r"\$(\d[\d,.]*)", r"\1 dollars", text)
    text = re.sub(r"(\d)\s*%", r"\1 percent", text)
    text = re.sub(r"\b(\d{1,2}):(\d{2})\b", _spell_time, text)
    text = re.sub(r"(\d)(am|pm)\b", r"\1 \2", text)
    text = _NUMBER_RE.sub(_spell_number, text)
    text = re.sub(r"[-–—/]", " ", text)
    words = []
    for raw in re.findall(r"[a-z0-9']+", text):
        word = raw.strip("'")
        if not word:
            continue
        word = _CONTRACTIONS.get(word, word).replace("'", "")
        for part in word.split():
            spelled = _SPELLING.get(part, part)
            if spelled not in _FILLERS:
                words.extend(spelled.split())
    return words


# Traditional → Simplified for the characters of the benchmark's Chinese sentences (and a
# few that plain Whisper writes for them), so the script Whisper picks is not an error.
_TRADITIONAL = dict(
    zip(
        "氣麼樣會嗎現幾點請幫設個鬧鐘鍾給講話離遠聽樂飯學廳燈關錢薦書這說時們對還沒長裡裏邊"
        "買東電視開車動語餓熱兒後愛問題覺應該為國種醫藥歲馬讀習漢見",
        "气么样会吗现几点请帮设个闹钟钟给讲话离远听乐饭学厅灯关钱荐书这说时们对还没长里里边"
        "买东电视开车动语饿热儿后爱问题觉应该为国种医药岁马读习汉见",
        strict=True,
    )
)
_CHINESE_DIGITS = "零一二三四五六七八九"


def _chinese_number(match: re.Match[str]) -> str:
    n = int(match[0])
    if n >= 100:
        return "".join(_CHINESE_DIGITS[int(d)] for d in match[0])
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _CHINESE_DIGITS[ones]
    head = "" if tens == 1 else _CHINESE_DIGITS[tens]
    return head + "十" + (_CHINESE_DIGITS[ones] if ones else "")


@functools.cache
def _opencc() -> Any:
    try:
        import opencc  # Hearth's own dependency for its Chinese-script setting
    except ImportError:
        return None
    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> str:
    """Traditional → Simplified with OpenCC's dictionaries when it is installed."""
    converter = _opencc()
    return str(converter.convert(text)) if converter is not None else text


def normalize_chinese(text: str) -> list[str]:
    """The characters of ``text`` as they are compared (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).replace("甚麼", "什么")
    text = re.sub(r"\d+", _chinese_number, text)
    text = _to_simplified(text)
    text = "".join(_TRADITIONAL.get(ch, ch) for ch in text)
    out: list[str] = []
    for token in re.findall(r"[\u4e00-\u9fff]|[a-zA-Z]+", text):
        out.append(token.lower())
    return out


def tokens(text: str, language: str) -> list[str]:
    """Words (English and other space-separated languages) or characters (Chinese)."""
    return normalize_chinese(text) if language == "zh" else normalize_english(text)


@dataclass(frozen=True)
class Score:
    """The error counts of one hypothesis against its reference."""

    reference: int  # words (or characters) in the reference
    substitutions: int
    deletions: int
    insertions: int
    duplicated: int  # see duplicated()
    repeated: int = 0  # see repeated()

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        return self.errors / self.reference if self.reference else float(self.errors > 0)


def score(reference: list[str], hypothesis: list[str]) -> Score:
    """Levenshtein alignment of two token lists; ties prefer substitutions."""
    n, m = len(reference), len(hypothesis)
    # cost[i][j]: edits turning reference[:i] into hypothesis[:j]
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = reference[i - 1] == hypothesis[j - 1]
            cost[i][j] = min(
                cost[i - 1][j - 1] + (0 if same else 1),
                cost[i - 1][j] + 1,
                cost[i][j - 1] + 1,
            )
    subs = dels = 0
    inserted = 0
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            subs += reference[i - 1] != hypothesis[j - 1]
            i, j = i - 1, j - 1
        elif j and cost[i][j] == cost[i][j - 1] + 1:
            inserted += 1
            j -= 1
        else:
            dels += 1
            i -= 1
    return Score(
        n, subs, dels, inserted, duplicated(reference, hypothesis), repeated(reference, hypothesis)
    )


def duplicated(reference: list[str], hypothesis: list[str]) -> int:
    """Words the hypothesis says more often than the reference (and more than once)."""
    said = Counter(reference)
    heard = Counter(hypothesis)
    return sum(
        count - max(said[word], 1)
        for word, count in heard.items()
        if count > 1 and count > said[word]
    )


def _repeats(words: list[str]) -> int:
    """Tokens in runs that come again right after themselves, longest run first."""
    count, i = 0, 1
    while i < len(words):
        for n in range(min(i, len(words) - i), 0, -1):
            if words[i : i + n] == words[i - n : i]:
                count += n
                i += n
                break
        else:
            i += 1
    return count


def repeated(reference: list[str], hypothesis: list[str]) -> int:
    """Words of the hypothesis said again right after themselves, beyond the reference's
    own ("knock knock" said is not a repeat heard)."""
    return max(0, _repeats(hypothesis) - _repeats(reference))


def error_rate(reference: str, hypothesis: str, language: str = "en") -> Score:
    """WER (or CER for ``language="zh"``) of ``hypothesis`` against ``reference``."""
    return score(tokens(reference, language), tokens(hypothesis, language))


def pooled(scores: list[Score]) -> float:
    """Corpus error rate: all errors over all reference tokens (not a mean of rates)."""
    total = sum(s.reference for s in scores)
    return sum(s.errors for s in scores) / total if total else 0.0


def wer(reference: str, hypothesis: str) -> float:
    """English word error rate of one hypothesis (0.0 is right word for word)."""
    return error_rate(reference, hypothesis).rate


def normalize(text: str) -> str:
    """``text`` as the English word error rate compares it, words joined by spaces."""
    return " ".join(normalize_english(text))
