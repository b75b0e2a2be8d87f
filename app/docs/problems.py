"""A file's problem as the index stored it (English, whatever the window's language) shown
again in the window's language.

The indexer stores each reason in English (``i18n.english``): the index is shared by the
CLI, the server and windows in any language. The Documents page reads those sentences
back; :func:`shown_problem` recognises one of the sentences below and makes it again with
``translate``, filling in the parts the stored text carries (file name, sizes, reasons).
"""

from __future__ import annotations

import re
from functools import cache

from app.core.i18n import translate

# The English sentences app/docs stores as a file's error (parse.py, read_*.py, indexer.py);
# tests/gui/test_errors_below_translations.py checks each is made by a translate() call.
STORED: tuple[str, ...] = (
    "{name} is {size}, more than the {limit} Hearth reads for a {kind} file; split it "
    "into smaller files.",
    "{name}: Hearth does not read {suffix} files (it reads {known}).",
    "{name}: Hearth does not read files without an extension (it reads {known}).",
    "{name} was moved or deleted before it could be read.",
    "{name} cannot be read: permission denied; check the file's permissions.",
    "{name} is a folder, not a file.",
    "{name} could not be read ({reason}).",
    "{name} is named like a {kind} file but holds binary data; rename it or leave it out "
    "of the collection.",
    "{name} is password-protected or an old Word (.doc) file; save it unprotected as .docx "
    "to index it.",
    "{name} is not a readable Word document (damaged or not a .docx); open it in a word "
    "processor and save it again.",
    "{name} is an encrypted PDF that needs a password; save an unprotected copy to index it.",
    "{name} is not a readable PDF (damaged or incomplete); open it in a PDF viewer to check "
    "it, or export it again.",
    "{name} is a copy-protected (DRM) e-book; Hearth can only read e-books without DRM.",
    "{name} has a chapter too large to read.",
    "{name} is not a readable EPUB book (damaged, or not an EPUB); open it in an e-book "
    "reader to check it.",
    "{name} has no text layer on any of its {pages} pages (a scan?); Hearth cannot read "
    "scanned pages yet.",
    "{name} holds no text.",
)
_FIELD = re.compile(r"\{(\w+)\}")


@cache
def _pattern(source: str) -> re.Pattern[str]:
    parts, seen, at = [], set(), 0
    for field in _FIELD.finditer(source):
        parts.append(re.escape(source[at : field.start()]))
        name = field.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        at = field.end()
    parts.append(re.escape(source[at:]))
    return re.compile("".join(parts), re.DOTALL)


def shown_problem(stored: str) -> str:
    """``stored`` (a file's error as the index keeps it) in the window's language; a
    sentence that is not one of :data:`STORED` as it is."""
    for source in STORED:
        found = _pattern(source).fullmatch(stored)
        if found is not None:
            return translate("Documents", source).format(**found.groupdict())
    return stored
