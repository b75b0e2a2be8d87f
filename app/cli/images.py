"""Images named on the command line (``hearth chat --image``, ``hearth voice --image``):
read and checked before any model loads, and the refusal a model that cannot see gives."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.errors import HearthError, ProjectorError, VisionUnsupportedError

if TYPE_CHECKING:
    from app.catalog.library import Library, ModelEntry
    from app.engine import protocol as p
    from app.vision.images import PreparedImage


def read_images(paths: Sequence[str]) -> list[PreparedImage]:
    """Each file decoded, checked and scaled as the window does (``ImageError`` names a
    file that is not a readable image)."""
    from app.vision.images import prepare_image

    return [prepare_image(Path(path)) for path in paths]


def vision_models(library: Library) -> list[str]:
    """The installed chat models that can see images (a projector paired with them)."""
    from app.catalog.library import CHAT

    return [e.name for e in library.entries(CHAT) if e.vision and e.error is None]


def text_only(name: str, library: Library) -> VisionUnsupportedError:
    """``name`` cannot see images: the sentence names the installed models that can."""
    others = [other for other in vision_models(library) if other != name]
    if others:
        return VisionUnsupportedError(
            f"{name} reads text only; installed models that can see images: {', '.join(others)}."
        )
    return VisionUnsupportedError(
        f"{name} reads text only and no installed model can see images; download one "
        "with its projector (see 'hearth models catalog') or pass --mmproj FILE."
    )


def cannot_see(entry: ModelEntry, library: Library) -> HearthError:
    """Why ``entry`` (loaded with no projector) cannot look at images: the projector it
    had is gone or does not fit (the library's sentence), or it reads text only."""
    if entry.mmproj_problem:
        return ProjectorError(entry.mmproj_problem)
    return text_only(entry.name, library)


def check_projector(mmproj: str | None) -> None:
    """A projector chosen with ``--mmproj`` must be a file (said before the model loads)."""
    if mmproj is not None and not Path(mmproj).is_file():
        raise ProjectorError(
            f"The projector {mmproj} does not exist; pass the mmproj-*.gguf file that came "
            "with the model."
        )


def check_sees(
    entry: ModelEntry, mmproj: str | None, loaded: p.ModelLoaded, library: Library
) -> None:
    """After the load: the model can see images, else the sentence that says why not."""
    if loaded.vision:
        return
    if mmproj is not None:  # a projector was given but the engine could not use it
        raise ProjectorError(
            loaded.notice
            or f"The projector {Path(mmproj).name} does not fit {entry.name}; choose the "
            "mmproj-*.gguf file made for this model."
        )
    raise cannot_see(entry, library)
