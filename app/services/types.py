"""The value types the window displays, re-exported for ``app.ui``.

Widgets import services and core only; this module is their one door to the plain
data classes of the other rooms (no behaviour crosses it). Each name is imported on
first use, so a widget naming a download type does not load the download code at
start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.catalog.catalog import ChatModel
    from app.catalog.downloads import (
        DownloadHandle,
        DownloadProgress,
        DownloadState,
    )
    from app.catalog.hub import (
        HubClient,
        QuantVariant,
        RepoFiles,
        RepoSummary,
    )
    from app.catalog.library import ModelEntry
    from app.catalog.whisper_pick import WhisperPick
    from app.engine.protocol import ModelLoaded
    from app.storage import (
        Conversation,
        Preset,
        SearchHit,
        StoredMessage,
    )

_HOMES = {
    "ChatModel": "app.catalog.catalog",
    "DownloadHandle": "app.catalog.downloads",
    "DownloadProgress": "app.catalog.downloads",
    "DownloadState": "app.catalog.downloads",
    "HubClient": "app.catalog.hub",
    "QuantVariant": "app.catalog.hub",
    "RepoFiles": "app.catalog.hub",
    "RepoSummary": "app.catalog.hub",
    "ModelEntry": "app.catalog.library",
    "WhisperPick": "app.catalog.whisper_pick",
    "ModelLoaded": "app.engine.protocol",
    "Conversation": "app.storage",
    "Preset": "app.storage",
    "SearchHit": "app.storage",
    "StoredMessage": "app.storage",
}

__all__ = [
    "ChatModel",
    "Conversation",
    "DownloadHandle",
    "DownloadProgress",
    "DownloadState",
    "HubClient",
    "ModelEntry",
    "ModelLoaded",
    "Preset",
    "QuantVariant",
    "RepoFiles",
    "RepoSummary",
    "SearchHit",
    "StoredMessage",
    "WhisperPick",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
