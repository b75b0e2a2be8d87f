"""A spoken yes or no: the answer to "May I use the calculator?" asked by voice.

Only a clear answer counts. Anything else ("maybe", "what?", silence) is no answer, and
a tool that needed permission is then not run: a tool never runs on a guess.
"""

from __future__ import annotations

import re
import unicodedata

_YES_EN = {
    "yes", "yeah", "yep", "yup", "sure", "ok", "okay", "allow", "allowed", "go", "please",
    "fine", "affirmative", "absolutely", "certainly", "definitely", "correct", "right",
}  # fmt: skip
_NO_EN = {
    "no", "nope", "nah", "don't", "dont", "deny", "denied", "stop", "cancel", "never",
    "not", "negative", "refuse", "wait",
}  # fmt: skip
# Chinese: a "no" word contains 不/别/没 ("不要", "不行", "别", "没有"), checked first.
_NO_ZH = ("不", "别", "没", "否")
_YES_ZH = ("是", "好", "可以", "行", "对", "允许", "同意", "嗯")


def heard_consent(text: str) -> bool | None:
    """True for a spoken yes, False for a no, None when the answer is neither (or both)."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    words = set(re.findall(r"[a-z']+", folded))
    yes = bool(words & _YES_EN)
    no = bool(words & _NO_EN)
    han = "".join(re.findall(r"[\u4e00-\u9fff]", folded))
    if han:
        if any(mark in han for mark in _NO_ZH):
            no = True
        elif any(mark in han for mark in _YES_ZH):
            yes = True
    if yes == no:
        return None
    return yes


def permission_question(tool_label: str, language: str | None) -> str:
    """What Hearth says to ask for a tool's use, in the conversation's language."""
    if (language or "").startswith("zh"):
        return f"我可以使用{tool_label}吗？请说可以或者不行。"
    return f"May I use {tool_label}? Say yes or no."
