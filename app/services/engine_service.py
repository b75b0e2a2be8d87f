"""EngineService: the engine client as a QObject whose signals fire on the GUI thread.

The client delivers events on its reader thread; this service re-emits each one through
a queued signal, so every slot (and every widget it touches) runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.core.generation import GenerationParams, Message
from app.core.i18n import Sentence, localize
from app.engine import protocol as p


class EngineHandle(Protocol):
    request_id: int


class EngineBackend(Protocol):
    """What the service needs from an engine client (the real one or a test fake)."""

    def load(
        self,
        path: str,
        *,
        n_ctx: int = ...,
        n_gpu_layers: int | None = ...,
        n_threads: int | None = ...,
        chat_template: str | None = ...,
    ) -> EngineHandle: ...

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> EngineHandle: ...

    def cancel(self, target: EngineHandle | int) -> None: ...

    def shutdown(self, timeout: float = ...) -> None: ...


class EngineService(QObject):
    """Starts loads and generations; reports their events as typed signals."""

    load_progress = Signal(int, float)  # request id, fraction
    model_loaded = Signal(object)  # protocol.ModelLoaded
    prompt_prepared = Signal(object)  # protocol.PromptPrepared
    delta_received = Signal(int, str)  # request id, text
    generation_finished = Signal(object)  # protocol.GenerationDone
    request_failed = Signal(object)  # protocol.ErrorEvent
    _event_arrived = Signal(object)

    def __init__(self, backend_factory: type | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._event_arrived.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        if backend_factory is None:
            from app.engine.client import EngineClient

            backend_factory = EngineClient
        self.backend: EngineBackend = backend_factory(on_event=self._event_arrived.emit)
        self.local = self.backend  # the engine worker; a remote endpoint may stand in
        self._remote: EngineBackend | None = None
        self._remote_key: object = None

    @property
    def is_remote(self) -> bool:
        return self.backend is not self.local

    def use_remote(self, key: object, factory: Callable[..., EngineBackend]) -> None:
        """Send what follows to a remote endpoint (``key`` names it: URL and API key).

        The local worker stays up with its model, so switching back costs nothing.
        """
        if self._remote is None or self._remote_key != key:
            if self._remote is not None:
                self._remote.shutdown()
            self._remote = factory(on_event=self._event_arrived.emit)
            self._remote_key = key
        self.backend = self._remote

    def use_local(self) -> None:
        self.backend = self.local

    def load(self, path: str, **options: object) -> int:
        return self.backend.load(path, **options).request_id  # type: ignore[arg-type]

    def generate(self, messages: Sequence[Message], params: GenerationParams) -> int:
        return self.backend.generate(messages, params).request_id

    def forget_state(self, keys: Sequence[str] = (), *, everything: bool = False) -> None:
        """Delete the saved KV state of these conversations (or of all), wherever it is:
        the local worker's RAM and the state folder (engine.kv_files)."""
        from app.composition.options import kv_state_folder

        forget = getattr(self.local, "forget_state", None)
        folder = str(kv_state_folder())
        if forget is not None:
            forget(folder, keys, everything=everything)
            return
        from app.engine.kv_files import clear_folder, forget_files

        if everything:  # a test's engine without a worker: the files at least
            clear_folder(Path(folder))
        else:
            forget_files(Path(folder), keys)

    def unload(self) -> None:
        unload = getattr(self.backend, "unload", None)
        if unload is not None:
            unload()

    def post(self, event: p.Event) -> None:
        """Deliver an event made elsewhere (a tool turn's) as the backend's own: from any
        thread, its signal fires on the GUI thread."""
        self._event_arrived.emit(event)

    def cancel(self, request_id: int) -> None:
        # The request may belong to the backend used before a switch; ids never overlap.
        for backend in (self.local, self._remote):
            if backend is not None:
                backend.cancel(request_id)

    def shutdown(self) -> None:
        if self._remote is not None:
            self._remote.shutdown()
        self.local.shutdown()

    @Slot(object)
    def _dispatch(self, event: p.Event) -> None:
        notice = getattr(event, "notice", None)
        if isinstance(notice, Sentence):  # the worker's notice, in the window's language
            event = replace(event, notice=localize(notice))
        if isinstance(event, p.Delta):
            self.delta_received.emit(event.request_id, event.text)
        elif isinstance(event, p.LoadProgress):
            self.load_progress.emit(event.request_id, event.fraction)
        elif isinstance(event, p.ModelLoaded):
            self.model_loaded.emit(event)
        elif isinstance(event, p.PromptPrepared):
            self.prompt_prepared.emit(event)
        elif isinstance(event, p.GenerationDone):
            self.generation_finished.emit(event)
        elif isinstance(event, p.ErrorEvent):
            # The worker says it in English; the window shows it in its own language.
            self.request_failed.emit(replace(event, message=localize(event.message)))


def saved_state_bytes() -> int:
    """The disk the saved KV state of conversations takes (engine.kv_files)."""
    from app.composition.options import kv_state_folder
    from app.engine.kv_files import folder_bytes

    return folder_bytes(kv_state_folder())


def clear_saved_state() -> int:
    """Delete every conversation's saved KV state file now; how many (a file being
    written is finished first: the writer holds the folder's lock)."""
    from app.composition.options import kv_state_folder
    from app.engine.kv_files import clear_folder

    return clear_folder(kv_state_folder())
