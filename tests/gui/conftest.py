"""Window fixtures: the real MainWindow, offscreen, over a fake or the real engine."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.context import open_app_context
from app.ui.launch import Window, build_window, configure_application
from tests.fakes.fake_engine import FakeEngineClient

MakeWindow = Callable[..., Window]


@pytest.fixture
def make_window(qtbot: QtBot, qapp: Any) -> Iterator[MakeWindow]:
    built: list[Window] = []

    def make(backend_factory: Any = None, hub: Any = None, **fake_options: Any) -> Window:
        context = open_app_context()
        dark = configure_application(qapp, context)
        factory = backend_factory or partial(FakeEngineClient, **fake_options)
        window = build_window(context, dark=dark, backend_factory=factory, hub=hub)
        qtbot.addWidget(window.window)
        window.window.show()
        qtbot.waitExposed(window.window)
        built.append(window)
        return window

    yield make
    for window in built:
        window.close()
