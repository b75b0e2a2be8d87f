"""The value types the window displays, re-exported for ``app.ui``.

Widgets import services and core only; this module is their one door to the plain
data classes of the other rooms (no behaviour crosses it).
"""

from app.catalog.catalog import ChatModel
from app.catalog.downloads import DownloadHandle, DownloadProgress, DownloadState
from app.catalog.hub import HubClient, QuantVariant, RepoFiles, RepoSummary
from app.catalog.library import ModelEntry
from app.engine.protocol import ModelLoaded
from app.storage import Conversation, Preset, SearchHit, StoredMessage

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
]
