"""Question-answer sets for the retrieval benchmark, built offline from text on the machine.

- English: Python's standard library docstrings. The one-line summary is the question,
  the body (summary left out) the passage that answers it.
- Chinese: Debian's ``manpages-zh`` (Simplified Chinese manual pages, GFDL/GPL; install
  with ``apt-get install manpages-zh``). The NAME line's description, with the command's
  name taken out, is the question ("列出目录内容"), the DESCRIPTION section the passage.

Every passage is in the collection, so the others are distractors; a question counts as
answered when its own passage is among the results.
"""

from __future__ import annotations

import ast
import gzip
import re
import sysconfig
from pathlib import Path

MANPAGES_ZH = Path("/usr/share/man/zh_CN")

_NAME_HEADING = re.compile(r"NAME|名称|名字|命令名", re.IGNORECASE)
_DESCRIPTION_HEADING = re.compile(r"DESCRIPTION|描述|说明", re.IGNORECASE)
_FONT = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)")  # \fB \fP \f(CW \f[I]
_NAMED_CHAR = re.compile(r"\\\((..)")  # \(em \(lq …
_ESCAPE = re.compile(r"\\[*n]?(?:\(..|\[[^\]]*\]|.)")  # what is left: \& \, \/ \e \*(lq
_CHARS = {"em": "—", "en": "–", "lq": "“", "rq": "”", "aq": "'", "dq": '"', "bu": "•",
          "hy": "-", "mi": "-", "co": "©"}  # fmt: skip
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WIDE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef“”‘’]")  # and punctuation


def english_pairs() -> list[tuple[str, str]]:
    """``(summary, body)`` of stdlib docstrings with a one-line summary and a real body."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.ClassDef):
                continue
            doc = ast.get_docstring(node) or ""
            summary, _, body = doc.partition("\n\n")
            summary = " ".join(summary.split())
            body = " ".join(body.split())
            if 30 <= len(summary) <= 160 and 150 <= len(body) <= 1200 and summary not in seen:
                seen.add(summary)
                pairs.append((summary, body))
    return pairs


def roff_text(line: str) -> str:
    """The words of one line of a manual page's source: requests' arguments kept
    (``.B ls`` -> ``ls``), font changes and escapes taken out, comments dropped."""
    if line.startswith(('.\\"', "'\\\"")) or line.startswith('\\"'):
        return ""
    if line.startswith((".", "'")):
        request, _, rest = line[1:].partition(" ")
        if request.upper() not in ("B", "I", "BR", "RB", "IR", "RI", "BI", "IB", "SM", "SB"):
            return ""
        line = rest.replace('"', "")  # quoted arguments of .BR and the like
    line = _FONT.sub("", line)
    line = line.replace("\\-", "-").replace("\\ ", " ").replace("\\\\", "\\")
    line = _NAMED_CHAR.sub(lambda m: _CHARS.get(m.group(1), ""), line)
    return " ".join(_ESCAPE.sub("", line).split())


def man_sections(source: str) -> dict[str, str]:
    """``{"name": ..., "description": ...}`` of a manual page (either may be missing),
    each as one line of plain text."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in source.splitlines():
        if line.startswith((".SH", ".Sh")):
            heading = line[3:].strip().strip('"')
            if _NAME_HEADING.search(heading) and "name" not in sections:
                current = "name"
            elif _DESCRIPTION_HEADING.search(heading) and "description" not in sections:
                current = "description"
            else:
                current = None
            if current is not None:
                sections[current] = []
            continue
        if current is not None:
            text = roff_text(line).strip()
            if text:
                sections[current].append(text)
    return {key: _join(lines) for key, lines in sections.items()}


def _join(lines: list[str]) -> str:
    """Lines of Chinese (or its punctuation) join without a space, others with one."""
    out = ""
    for line in lines:
        if out and not (_WIDE.match(out[-1]) and _WIDE.match(line[0])):
            out += " "
        out += line
    return " ".join(out.split())


def cjk_share(text: str) -> float:
    """The share of a text's non-space characters that are Chinese."""
    chars = [c for c in text if not c.isspace()]
    return sum(1 for c in chars if _CJK.match(c)) / len(chars) if chars else 0.0


def name_question(name_line: str) -> str:
    """``"ls, dir - 列出目录内容"`` -> ``"列出目录内容"``: the names go, so that the
    question is about meaning, not the command's name."""
    _, dash, described = name_line.partition(" - ")
    return (described if dash else name_line).strip().rstrip("。.")


def chinese_pairs(folder: Path = MANPAGES_ZH, max_chars: int = 600) -> list[tuple[str, str]]:
    """``(question, passage)`` from the Chinese manual pages in ``folder`` (empty when
    manpages-zh is not installed). Pages whose question or description is mostly not
    Chinese (untranslated) are left out; a passage is the description's first
    ``max_chars`` characters, about one passage of an indexed document."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("man*/*.gz")):
        try:
            source = gzip.decompress(path.read_bytes()).decode("utf-8")
        except (OSError, UnicodeDecodeError, EOFError):
            continue
        if source.startswith(".so "):  # a link to another page
            continue
        sections = man_sections(source)
        question = name_question(sections.get("name", ""))
        passage = sections.get("description", "")[:max_chars]
        if not (4 <= len(question) <= 80 and len(passage) >= 60) or question in seen:
            continue
        if cjk_share(question) < 0.5 or cjk_share(passage) < 0.3:
            continue
        seen.add(question)
        pairs.append((question, passage))
    return pairs
