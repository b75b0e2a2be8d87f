"""Hearth's exception hierarchy.

Every error a user can meet carries a message that says what happened and what to do
next; the CLI prints it as one sentence and the window shows it in a banner::

    HearthError
    ├── ConfigError                 bad settings or arguments
    ├── ModelError                  a model file cannot be used
    │   ├── ModelNotFoundError      no such file or library entry
    │   ├── InvalidModelError       not a GGUF, truncated, corrupt header
    │   ├── UnsupportedModelError   architecture unknown to this llama.cpp
    │   ├── ModelTooLargeError      does not fit in this machine's memory
    │   ├── ChatTemplateError       a chat template is broken, unsafe, or over its budget
    │   └── ProjectorError          a vision projector (mmproj) is missing or not this model's
    ├── EngineError                 the inference worker failed
    │   ├── EngineCrashedError      the worker process died (crash, abort, OOM kill)
    │   └── NoModelLoadedError      generate before load
    ├── ContextOverflowError        the newest message alone exceeds the context window
    ├── ImageError                  an image cannot be read (damaged, not an image, too large)
    ├── VisionUnsupportedError      images sent to a model that reads text only
    ├── CancelledError              the user stopped a long operation
    ├── StorageError                the conversation database cannot be read or written
    ├── DocumentError               a document cannot be read (encrypted, damaged, too big)
    ├── ToolError                   a tool the model called refused its arguments or failed
    │   └── McpError                an MCP server cannot start or answer, or its tool failed
    ├── DownloadError               fetching a model from the Hugging Face Hub failed
    │   ├── ChecksumMismatchError   the bytes differ from the SHA-256 the Hub publishes
    │   ├── InsufficientSpaceError  the models folder's disk lacks room for the file
    │   ├── GatedRepoError          the repo needs an accepted licence and a token
    │   ├── OfflineError            offline mode is on or the Hub cannot be reached
    │   └── UnsafeNameError         a Hub file name is not a portable relative path
    ├── VoiceError                  listening or speaking cannot go on
    │   ├── AudioDeviceError        no microphone or speaker, one vanished, rate refused
    │   └── VoiceModelError         a Whisper model or Piper voice is missing or unusable
    ├── ServerError                 the local API server cannot start or serve
    │   └── ServerBusyError         too many requests are already waiting for the engine
    └── RemoteError                 a remote OpenAI-compatible endpoint failed
        ├── RemoteUnreachableError  no connection (wrong address, server down, offline)
        ├── RemoteAuthError         the API key is missing or refused (401/403)
        ├── RemoteRateLimitError    the endpoint says too many requests (429)
        └── RemoteTimeoutError      the endpoint stopped answering
"""

from __future__ import annotations

from app.core.i18n import localize, translate


class HearthError(Exception):
    """Base class: ``str(error)`` is a complete, user-facing sentence."""


class ConfigError(HearthError):
    """Settings or command-line arguments that cannot be used."""


class ModelError(HearthError):
    """A model file that cannot be used."""


class ModelNotFoundError(ModelError):
    """No model file or library entry by that name."""


class InvalidModelError(ModelError):
    """The file is not a usable GGUF (empty, wrong magic, truncated, absurd header)."""


class UnsupportedModelError(ModelError):
    """The GGUF is well formed but this llama.cpp build cannot run its architecture."""


class ModelTooLargeError(ModelError):
    """The model and its context do not fit in the memory this machine has free."""


class ChatTemplateError(ModelError):
    """A model's chat template does not compile, breaks the sandbox, or runs past its time,
    output or memory budget; the engine then uses a built-in template instead.

    ``reason`` completes "<model>'s chat template …" (e.g. "took longer than 2 s to render").
    """

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or translate("Errors", "could not be rendered")


class ProjectorError(ModelError):
    """A vision projector (``mmproj-*.gguf``) is missing, damaged, or made for another model."""


class EngineError(HearthError):
    """The inference worker reported a failure."""


class EngineCrashedError(EngineError):
    """The worker process died; the next request starts a fresh one."""


class NoModelLoadedError(EngineError):
    """A generation was requested before any model was loaded."""


class ContextOverflowError(HearthError):
    """Even the system prompt plus the newest message do not fit the context window."""


class ImageError(HearthError):
    """An image cannot be used: damaged, truncated, not an image, or too many pixels."""


class VisionUnsupportedError(HearthError):
    """Images were sent to a model that reads text only (no vision projector is loaded)."""


class CancelledError(HearthError):
    """A long operation (a load, a download) was stopped by the user."""


class DownloadError(HearthError):
    """Searching the Hub or fetching a file from it failed."""


class ChecksumMismatchError(DownloadError):
    """The downloaded bytes do not match the SHA-256 (or size) the Hub publishes."""


class InsufficientSpaceError(DownloadError):
    """The disk holding the models folder has too little free space for the file."""


class GatedRepoError(DownloadError):
    """The repo is gated: its licence must be accepted and a token with access given."""


class OfflineError(DownloadError):
    """Offline mode is on (HF_HUB_OFFLINE) or the Hub cannot be reached."""


class UnsafeNameError(DownloadError):
    """A Hub file name is not a portable relative path (``..``, ``C:\\``, ``CON`` ...)."""


class VoiceError(HearthError):
    """The voice conversation cannot go on (audio devices, speech models)."""


class AudioDeviceError(VoiceError):
    """No usable microphone or speaker, one disappeared, or it refused every sample rate."""


class VoiceModelError(VoiceError):
    """A Whisper model or Piper voice is missing, incomplete or cannot be loaded."""


class ServerError(HearthError):
    """The local API server (``hearth serve``) cannot start or serve a request."""


class ServerBusyError(ServerError):
    """The server's queue of generations is full; the client should retry later."""


class RemoteError(HearthError):
    """A remote OpenAI-compatible endpoint failed or answered with an error."""


class RemoteUnreachableError(RemoteError):
    """No connection to the endpoint: wrong address, server not running, or offline."""


class RemoteAuthError(RemoteError):
    """The endpoint refused the API key (HTTP 401 or 403)."""


class RemoteRateLimitError(RemoteError):
    """The endpoint is busy or rate-limits this key (HTTP 429); retry later."""


class RemoteTimeoutError(RemoteError):
    """The endpoint accepted the connection but stopped answering."""


class RemoteCutOffError(RemoteError):
    """The endpoint's reply stopped before its end (server killed, connection lost)."""


class StorageError(HearthError):
    """The conversation database cannot be opened, upgraded, read or written."""


class DocumentError(HearthError):
    """A document cannot be indexed: encrypted, damaged, too big, not text, or unreadable."""


class ToolError(HearthError):
    """A tool the model called refused its arguments or failed; the model is told why."""


class McpError(ToolError):
    """An MCP server cannot start or answer in time, or the tool it ran reported an error.

    ``stderr_tail`` holds the last lines the server wrote to stderr (empty for URL servers).
    """

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


# Error kinds travel between processes as strings; this maps them back to classes.
ERROR_KINDS: dict[str, type[HearthError]] = {
    cls.__name__: cls
    for cls in (
        HearthError,
        ConfigError,
        ModelError,
        ModelNotFoundError,
        InvalidModelError,
        UnsupportedModelError,
        ModelTooLargeError,
        ChatTemplateError,
        ProjectorError,
        EngineError,
        EngineCrashedError,
        NoModelLoadedError,
        ContextOverflowError,
        ImageError,
        VisionUnsupportedError,
        CancelledError,
        DownloadError,
        ChecksumMismatchError,
        InsufficientSpaceError,
        GatedRepoError,
        OfflineError,
        UnsafeNameError,
        StorageError,
        DocumentError,
        ToolError,
        VoiceError,
        AudioDeviceError,
        VoiceModelError,
        ServerError,
        ServerBusyError,
        RemoteError,
        RemoteUnreachableError,
        RemoteAuthError,
        RemoteCutOffError,
        RemoteRateLimitError,
        RemoteTimeoutError,
        McpError,
    )
}


def error_from_kind(kind: str, message: str) -> HearthError:
    """Rebuild an error that crossed a process boundary as ``(kind, message)``; a message
    made translatable (app.core.i18n) is made again in this process's language."""
    return ERROR_KINDS.get(kind, EngineError)(localize(message))
