"""Every front end loads a model with the same options (app.composition.options).

The window used to drop Preferences → "CPU threads" and the template overrides, and
``hearth voice`` turned ``--gpu-layers auto`` into 0 and loaded a 2,048-token context,
so voice ran on the CPU where ``hearth chat`` used the GPU.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import psutil
import pytest
from pytestqt.qtbot import QtBot

from app.catalog.starter import STARTER_CHAT_NAME
from app.cli.parser import build_parser
from app.composition.context import open_app_context
from app.core.settings import Settings, save_settings
from app.engine import protocol as p
from app.engine.client import EngineClient, EventCallback, RequestHandle
from app.ui.launch import default_chat_model
from tests.fixtures.reference import RecordingEngineClient
from tests.gui.conftest import MakeWindow


class Captured(Exception):
    """Raised once the load request is built: what the test compares is already kept."""


class CapturingEngineClient(EngineClient):
    """An engine client that keeps each load request and sends none (no model is loaded)."""

    loads: ClassVar[list[p.LoadModel]] = []

    def _submit(
        self, request: p.Request, kind: str, listener: EventCallback | None = None
    ) -> RequestHandle:
        if isinstance(request, p.LoadModel):
            CapturingEngineClient.loads.append(request)
            raise Captured
        return super()._submit(request, kind, listener)


def _settings_for_every_front_end() -> Settings:
    """Settings a front end could get wrong: threads, a short context, a template override."""
    paths = open_app_context().paths
    settings = Settings(
        n_threads=1,
        n_ctx=1024,
        gpu_layers="auto",
        template_overrides={STARTER_CHAT_NAME: "chatml"},
    )
    save_settings(paths, settings)
    return settings


def _args(*argv: str) -> argparse.Namespace:
    args = build_parser().parse_args(list(argv))
    args.verbose = False
    return args


def _without_id(request: p.LoadModel) -> p.LoadModel:
    return dataclasses.replace(request, request_id=0)


@pytest.mark.slow
def test_voice_chat_and_the_window_send_the_same_load_request(
    make_window: MakeWindow, smol_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings_for_every_front_end()
    CapturingEngineClient.loads = []
    import app.cli.chat
    import app.engine.client
    import app.voice.audio_io
    from app.cli.chat import run_chat
    from app.cli.voice import run_voice

    # hearth chat, as typed with no option.
    monkeypatch.setattr(app.cli.chat, "EngineClient", CapturingEngineClient)
    with pytest.raises(Captured):
        run_chat(_args("chat", "--prompt", "Hello"))
    # hearth voice, as typed with no option (the devices are not what is checked here).
    monkeypatch.setattr(app.engine.client, "EngineClient", CapturingEngineClient)
    monkeypatch.setattr(app.voice.audio_io, "resolve_device", lambda *_a, **_k: None)
    with pytest.raises(Captured):
        run_voice(_args("voice", "--once"))
    # The window, loading its default model at start.
    win = make_window(backend_factory=CapturingEngineClient)
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None and entry.name == STARTER_CHAT_NAME
    with pytest.raises(Captured):
        win.window.load_model(entry)

    chat, voice, window = (_without_id(r) for r in CapturingEngineClient.loads)
    assert chat == voice == window
    # So the same GPU plan: on a GPU laptop voice offloads as chat does (it used to get 0).
    assert _gpu_plan(voice) == _gpu_plan(chat) > 0
    # The settings, all of them: the planner chooses the GPU layers ("auto", not 0).
    assert (chat.n_ctx, chat.n_gpu_layers, chat.n_threads, chat.chat_template) == (
        1024,
        None,
        1,
        "chatml",
    )


def _gpu_plan(request: p.LoadModel) -> int:
    """The GPU layers the worker's planner gives ``request`` on a laptop with a 6 GB GPU
    (the plan the worker makes: this machine has no GPU to show it on)."""
    from app.core.gguf_meta import read_gguf
    from app.engine.hardware import GIB, GPUInfo, HardwareInfo
    from app.engine.planner import plan_offload

    laptop = HardwareInfo(
        8, 16, 16 * GIB, 12 * GIB, (GPUInfo(0, "GPU", "nvidia", 6 * GIB, 5 * GIB),)
    )
    plan = plan_offload(
        read_gguf(request.path),
        laptop,
        n_ctx=request.n_ctx,
        gpu_layers=request.n_gpu_layers,
        gpu_offload_supported=True,
        flash_attn=request.flash_attn,
    )
    return plan.n_gpu_layers


def _other_thread_count() -> int:
    """A thread count the worker would not choose by itself (it takes the physical cores)."""
    own = psutil.cpu_count(logical=False) or 1
    return 1 if own != 1 else 2


@pytest.mark.slow
def test_preferences_cpu_threads_reach_llama_cpp(
    qtbot: QtBot, make_window: MakeWindow, smol_model: Path
) -> None:
    engines: list[RecordingEngineClient] = []

    def recording_engine(**kwargs: Any) -> RecordingEngineClient:
        engines.append(RecordingEngineClient(**kwargs))
        return engines[-1]

    threads = _other_thread_count()
    win = make_window(backend_factory=recording_engine)
    dialog: Any = win.window.open_preferences()
    dialog.threads.setValue(threads)
    dialog.accept()
    assert win.window.preferences is not None
    assert win.window.preferences.settings.n_threads == threads
    entry = default_chat_model(open_app_context(), win.models)
    assert entry is not None
    with qtbot.waitSignal(win.models.model_ready, timeout=120_000):
        win.window.load_model(entry)
    (engine,) = engines
    assert engine.loads[-1].n_threads == threads
    # As llama.cpp's own context reports it (llama_n_threads), in the engine worker.
    report = engine.stats().wait(timeout=30)
    assert isinstance(report, p.StatsReport)
    assert report.stats["n_threads"] == threads
