"""Portable relative file names: what a Hub path must look like before Hearth saves it.

A repo path becomes a path under the models folder, on Linux, macOS and Windows alike, so a
name has to mean the same relative path on all three: ``/``-separated, no backslash (a
separator on Windows), no drive (``C:\\x``, ``C:x``), no ``.``/``..`` or empty component,
no Windows device name (``CON``, ``nul.gguf``, ``COM1.txt`` ...: opening one opens the
device), no component ending in a dot or space (Windows drops them, so two names collide),
no control characters or ``<>:"|?*``, and no component longer than 255 bytes.
"""

from __future__ import annotations

import re

from app.core.errors import UnsafeNameError
from app.core.i18n import translate

_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_FORBIDDEN = frozenset('<>:"|?*')
# As Python 3.13's ntpath.isreserved: the console's own names and ¹ ² ³ ports count too.
_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{digit}" for port in ("COM", "LPT") for digit in "123456789\u00b9\u00b2\u00b3"}
)
_MAX_COMPONENT_BYTES = 255


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a portable relative path (a phrase), or None when it is."""
    if not name:
        return "is empty"
    if name.startswith(("/", "\\")):
        return "is an absolute path"
    if _DRIVE_RE.match(name):
        return "starts with a drive letter"
    if "\\" in name:
        return "contains a backslash"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "contains a control character"
    forbidden = next((ch for ch in name if ch in _FORBIDDEN), None)
    if forbidden is not None:
        return f"contains {forbidden!r}, which Windows does not allow in file names"
    for part in name.split("/"):
        problem = _component_problem(part)
        if problem is not None:
            return problem
    return None


def _component_problem(part: str) -> str | None:
    if not part:
        return "has an empty path component"
    if part in (".", ".."):
        return f"has a {part!r} path component"
    if part.endswith((".", " ")):
        return f"has a component ending in a dot or a space ({part!r})"
    # "CON", "con.gguf", "Nul .tar.gz": Windows ignores the extension and trailing spaces.
    if part.split(".", 1)[0].rstrip(" ").upper() in _DEVICES:
        return f"uses the reserved Windows device name {part.split('.', 1)[0]!r}"
    if len(part.encode("utf-8", "surrogatepass")) > _MAX_COMPONENT_BYTES:
        return f"has a component longer than {_MAX_COMPONENT_BYTES} bytes"
    return None


def is_portable(name: str) -> bool:
    """Whether ``name`` is a portable relative path (see the module docstring)."""
    return name_problem(name) is None


def check_portable(name: str, what: str = "file name") -> None:
    """Raise :class:`UnsafeNameError` unless ``name`` is a portable relative path."""
    problem = name_problem(name)
    if problem is not None:
        raise UnsafeNameError(
            translate(
                "Errors",
                "The Hub {what} {name} {problem}, so Hearth cannot save it safely on "
                "every system and did not download it; pick another file or repo.",
            ).format(what=what, name=shown(name), problem=problem)
        )


def shown(name: str) -> str:
    """``name`` quoted for a message: as it is, or escaped when it holds control codes."""
    return f"'{name}'" if name.isprintable() else repr(name)
