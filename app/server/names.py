"""Models by name among the library's entries: never a path, never the file system."""

from __future__ import annotations

from app.catalog.library import ModelEntry
from app.core.errors import ModelNotFoundError


def named(entries: list[ModelEntry], name: str, what: str) -> ModelEntry:
    """The entry called ``name`` (exactly, else a unique part of it) among ``entries``.

    Only names are compared, so no answer depends on which files exist.
    """
    wanted = name.lower()
    exact = [e for e in entries if e.name.lower() == wanted]
    found = exact or [e for e in entries if wanted in e.name.lower()]
    if len(found) == 1 or exact:
        return found[0]
    if found:
        names = ", ".join(sorted(e.name for e in found))
        raise ModelNotFoundError(f"{name!r} matches several {what}s ({names}); give the full name.")
    raise ModelNotFoundError(f"No {what} named {name!r}; use a name from /v1/models.")
