"""The first-run welcome: the starter model answering, a better model for this computer
by the planner's fit verdict, and the microphone test; shown once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.core.settings import Settings
from app.voice.mic_check import MicCheck  # light: the audio stack loads when it listens

if TYPE_CHECKING:
    from app.catalog.catalog import ChatModel
    from app.catalog.fit import QuantFit
    from app.engine.hardware import HardwareInfo
    from app.services.engine_service import EngineService
    from app.services.preferences import Preferences

__all__ = [
    "DEMO_QUESTION",
    "MicCheck",
    "Suggestion",
    "WelcomeDemo",
    "catalog_fit",
    "check_microphone",
    "mark_welcome_shown",
    "suggest_model",
    "welcome_shown",
]
log = logging.getLogger(__name__)

GROUP = "welcome"  # Settings.extra group: {"shown": true} once it was shown
# The demo question: one the smallest model answers sensibly in a sentence or two.
DEMO_QUESTION = "Say hello and tell me in one short sentence what you can help with."
DEMO_MAX_TOKENS = 60


def welcome_shown(settings: Settings) -> bool:
    group = settings.extra.get(GROUP)
    return isinstance(group, dict) and bool(group.get("shown"))


def mark_welcome_shown(preferences: Preferences) -> None:
    """Remember that the welcome was shown, so it never comes back by itself."""
    settings = preferences.settings
    group = settings.extra.get(GROUP)
    settings.extra[GROUP] = {**(group if isinstance(group, dict) else {}), "shown": True}
    preferences.save(settings)


@dataclass(frozen=True)
class Suggestion:
    """A catalog model worth downloading here, the planner's verdict for it, and the
    decode speed expected here (:func:`app.catalog.speed.estimate_tokens_per_s`)."""

    model: ChatModel
    fit: QuantFit
    tokens_per_s: float = 0.0


def catalog_fit(
    model: ChatModel, hardware: HardwareInfo, *, gpu_offload_supported: bool
) -> QuantFit:
    """The planner's verdict for a catalog model on ``hardware``, from its listed size
    (nothing is downloaded to read its header)."""
    from app.catalog.fit import estimate_info, fit_info, guess_parameters

    size = int(model.approx_size_gb * 1e9)
    info = estimate_info(
        size,
        name=model.file,
        quant=model.quant,
        parameters=guess_parameters(model.parameters, model.name),
    )
    return fit_info(
        info,
        hardware,
        name=model.file,
        quant=model.quant,
        size_bytes=size,
        basis="size",
        gpu_offload_supported=gpu_offload_supported,
    )


def suggest_model(
    installed_files: Iterable[str],
    hardware: HardwareInfo | None = None,
    gpu_offload_supported: bool | None = None,
) -> Suggestion | None:
    """The best catalog chat model for this machine (heaviest tier first) that the
    planner says runs here and that answers at a comfortable speed (a model that fits in
    memory but writes two tokens a second makes every reply a wait); None when it is
    installed already, or when nothing answers comfortably here (nothing better)."""
    from app.catalog.catalog import for_machine
    from app.catalog.fit import Verdict, machine
    from app.catalog.speed import comfortable, estimate_tokens_per_s

    if hardware is None or gpu_offload_supported is None:
        hardware, gpu_offload_supported = machine()
    installed = {name.rsplit("/", 1)[-1] for name in installed_files}
    for model in for_machine(hardware).chat:
        fit = catalog_fit(model, hardware, gpu_offload_supported=gpu_offload_supported)
        if fit.verdict is Verdict.TOO_BIG:
            continue
        speed = estimate_tokens_per_s(fit, hardware, gpu_offload_supported=gpu_offload_supported)
        if not comfortable(speed):
            log.debug("%s fits but would write about %.1f tokens/s here", model.name, speed)
            continue
        return None if model.file in installed else Suggestion(model, fit, speed)
    return None


def check_microphone(voice_settings: dict[str, Any]) -> MicCheck:
    """Listen three seconds on the microphone chosen in Voice settings."""
    from app.voice.mic_check import check_microphone as listen

    return listen(voice_settings.get("input_device") or None)


class WelcomeDemo(QObject):
    """One answer of the loaded model to :data:`DEMO_QUESTION`, streamed, stored nowhere."""

    delta = Signal(str)
    finished = Signal(object)  # protocol.GenerationDone
    failed = Signal(str)

    def __init__(self, engine: EngineService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.request_id: int | None = None
        self.text = ""
        engine.delta_received.connect(self._delta)
        engine.generation_finished.connect(self._finished)
        engine.request_failed.connect(self._failed)

    def start(self) -> None:
        from app.services.chat_service import params_from_settings

        self.text = ""
        params = params_from_settings({"max_tokens": DEMO_MAX_TOKENS, "temperature": 0.0})
        messages = [{"role": "user", "content": DEMO_QUESTION}]
        self.request_id = self.engine.generate(messages, params)

    def cancel(self) -> None:
        if self.request_id is not None:
            self.engine.cancel(self.request_id)
            self.request_id = None

    def _delta(self, request_id: int, text: str) -> None:
        if request_id == self.request_id:
            self.text += text
            self.delta.emit(text)

    def _finished(self, event: Any) -> None:
        if event.request_id == self.request_id:
            self.request_id = None
            self.finished.emit(event)

    def _failed(self, event: Any) -> None:
        if event.request_id == self.request_id:
            self.request_id = None
            self.failed.emit(str(event.message))
