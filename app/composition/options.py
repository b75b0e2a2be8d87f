"""How a model is loaded and which model is the default, worked out in one place.

Every front end (``hearth chat``, ``hearth plan``, ``hearth voice``, ``hearth serve``,
the window and its API server) asks :func:`load_options` for the options of a load and
:func:`default_model` for the model to use when none is named, so a setting such as
Preferences → "CPU threads" reaches llama.cpp whichever front end loads the model.
tests/unit/test_architecture.py checks that no other module derives them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.catalog.library import CHAT, Library, ModelEntry
from app.core.errors import HearthError, ModelNotFoundError
from app.core.i18n import translate
from app.core.settings import Settings
from app.engine import protocol as p
from app.engine.speculative import DRAFT_LOOKUP, parse_draft

log = logging.getLogger(__name__)

AUTO: Literal["auto"] = "auto"


@dataclass(frozen=True)
class LoadOverrides:
    """What a command's options (or a conversation's settings) ask for; None: the settings'.

    ``gpu_layers``: a layer count (-1: all), ``"auto"`` (the offload planner decides), or
    None for the settings' value. ``mmproj``: a vision projector file chosen by hand
    (``--mmproj``); None uses the model's own (paired by hand, else found beside it).
    """

    n_ctx: int | None = None
    gpu_layers: int | Literal["auto"] | None = None
    n_threads: int | None = None
    chat_template: str | None = None
    # Flash attention (--flash-attn): True on, False off, "auto", or None: the settings'.
    flash_attn: bool | Literal["auto"] | None = None
    mmproj: str | None = None
    kv_type: str | None = None  # "f16", "q8_0" or "q4_0" (--kv-type); None: the settings'
    # MoE models: blocks whose experts stay in RAM (--cpu-moe N), "auto", or None: the settings'.
    cpu_moe: int | Literal["auto"] | None = None
    # Speculative decoding (--draft): "lookup", "none", or None: the default (off).
    draft: str | None = None


@dataclass(frozen=True)
class LoadOptions:
    """Everything the engine worker needs to load one model."""

    path: str
    n_ctx: int
    n_gpu_layers: int | None  # None: the offload planner decides; -1: every layer
    n_threads: int | None  # None: the worker's own choice
    chat_template: str | None  # a template name overriding the GGUF's (engine.templates)
    flash_attn: bool | None = None  # None: auto (on for a quantised cache, engine.kv_cache)
    mmproj: str | None = None  # the vision projector to load with it (None: text only)
    kv_type: str = "f16"  # the KV cache's type (engine.kv_cache)
    kv_state_dir: str | None = None  # saved conversation state (engine.kv_state); None: off
    kv_state_mb: int = 0
    cpu_moe: int | None = None  # MoE: experts of the first N blocks in RAM; None: the planner's
    draft: str | None = None  # speculative decoding: "lookup" (engine.speculative) or None
    kv_ram_mb: int = 0  # RAM slots for recent conversations' KV state (engine.kv_state)

    def load_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``EngineClient.load(path, **...)`` (and engine services)."""
        return {
            "n_ctx": self.n_ctx,
            "n_gpu_layers": self.n_gpu_layers,
            "n_threads": self.n_threads,
            "chat_template": self.chat_template,
            "flash_attn": self.flash_attn,
            "mmproj": self.mmproj,
            "kv_type": self.kv_type,
            "kv_state_dir": self.kv_state_dir,
            "kv_state_mb": self.kv_state_mb,
            "cpu_moe": self.cpu_moe,
            "draft": self.draft,
            "kv_ram_mb": self.kv_ram_mb,
        }

    def request(self, request_id: int = 0) -> p.LoadModel:
        """The worker's request for this load."""
        return p.LoadModel(
            request_id,
            self.path,
            self.n_ctx,
            self.n_gpu_layers,
            self.n_threads,
            self.chat_template,
            self.flash_attn,
            self.mmproj,
            kv_type=self.kv_type,
            kv_state_dir=self.kv_state_dir,
            kv_state_mb=self.kv_state_mb,
            cpu_moe=self.cpu_moe,
            draft=self.draft,
            kv_ram_mb=self.kv_ram_mb,
        )


def settings_gpu_layers(settings: Settings) -> int | None:
    """``Settings.gpu_layers`` ("auto" or a number kept as text) as a load takes it."""
    value = str(settings.gpu_layers).strip().lower()
    if value.lstrip("-").isdigit():
        return int(value)
    return None  # "auto"


def context_length(settings: Settings, asked: int | None = None, trained: int | None = None) -> int:
    """The context a model is loaded (or planned) with: ``asked`` as asked, else the
    settings' capped at the length the model was ``trained`` for (longer only costs memory)."""
    if asked:
        return asked
    return min(settings.n_ctx, trained or settings.n_ctx)


def load_options(
    entry: ModelEntry,
    settings: Settings,
    overrides: LoadOverrides | None = None,
    *,
    library: Library | None = None,
) -> LoadOptions:
    """The options to load ``entry`` with: the overrides, else the settings, else automatic.
    ``library`` finds a draft model given by name (``--draft NAME``)."""
    asked = overrides or LoadOverrides()
    n_ctx = context_length(settings, asked.n_ctx, entry.context_length)
    if asked.gpu_layers is None:
        n_gpu_layers = settings_gpu_layers(settings)
    elif asked.gpu_layers == AUTO:
        n_gpu_layers = None
    else:
        n_gpu_layers = int(asked.gpu_layers)
    return LoadOptions(
        path=entry.path,
        n_ctx=n_ctx,
        n_gpu_layers=n_gpu_layers,
        n_threads=asked.n_threads or settings.n_threads,
        chat_template=asked.chat_template or settings.template_overrides.get(entry.name),
        flash_attn=_flash_attn(asked.flash_attn, settings),
        mmproj=asked.mmproj or entry.mmproj,
        kv_type=asked.kv_type or settings.kv_type,
        kv_state_dir=str(kv_state_folder()) if settings.kv_state_mb > 0 else None,
        kv_state_mb=settings.kv_state_mb,
        cpu_moe=_cpu_moe(asked.cpu_moe, settings),
        draft=draft_model(parse_draft(asked.draft), library),
        kv_ram_mb=KV_RAM_MB,
    )


def _flash_attn(asked: bool | Literal["auto"] | None, settings: Settings) -> bool | None:
    """LoadModel.flash_attn: the override, else Preferences' "on"/"off"/"auto" (None: auto)."""
    from app.engine.kv_cache import flash_mode

    if asked == AUTO:
        return None
    if asked is not None:
        return bool(asked)
    return flash_mode(settings.flash_attn)


def draft_model(draft: str | None, library: Library | None) -> str | None:
    """LoadModel.draft for ``--draft``'s parsed value: None, "lookup", or a draft model's
    path (a library name resolved, a missing file one sentence)."""
    if draft is None or draft == DRAFT_LOOKUP:
        return draft
    if library is not None:
        return str(Path(_usable(library.resolve(draft, CHAT)).path).resolve())
    path = Path(draft).expanduser()
    if not path.is_file():
        raise ModelNotFoundError(
            translate(
                "Errors",
                "No draft model at {path}. Check the path or run 'hearth models ls'.",
            ).format(path=path)
        )
    return str(path.resolve())


def _cpu_moe(asked: int | Literal["auto"] | None, settings: Settings) -> int | None:
    """``--cpu-moe`` as asked, else the setting ("auto" or a number kept as text)."""
    value = str(settings.cpu_moe if asked is None else asked).strip().lower()
    return int(value) if value.isdigit() else None


# RAM for the KV state of recent conversations, so switching between them (the window,
# the API server and voice share one worker) does not read them again (engine.kv_state).
KV_RAM_MB = 256


def kv_state_folder() -> Path:
    """Where saved conversation state goes: the app's cache folder (engine.kv_state)."""
    from app.core.paths import app_paths

    return app_paths().cache_dir / "kv-state"


def default_model(library: Library, settings: Settings, requested: str | None = None) -> ModelEntry:
    """The chat model named by ``requested``, else the settings' default, else the first one.

    A model named on purpose must exist (:class:`ModelNotFoundError` says what to do);
    a default model in the settings that is gone falls back to the first usable one, so a
    deleted model never keeps Hearth from starting.
    """
    if requested:
        return _usable(library.resolve(requested, CHAT))
    if settings.default_model:
        try:
            return _usable(library.resolve(settings.default_model, CHAT))
        except HearthError as exc:
            log.warning("the default model cannot be used (%s); using the first one", exc)
    usable = [e for e in library.entries(CHAT) if e.error is None]
    if not usable:
        raise ModelNotFoundError(
            translate(
                "Errors",
                "No chat model is installed. Install the starter set with 'pip install "
                '"hearth[starter]"\' or pass --model PATH.',
            )
        )
    return usable[0]


def _usable(entry: ModelEntry) -> ModelEntry:
    if entry.error:
        raise ModelNotFoundError(entry.error)
    return entry
