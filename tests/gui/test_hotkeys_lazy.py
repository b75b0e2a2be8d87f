"""Global keys cost nothing until one is set: the window starts without importing a
backend's library (python-xlib, jeepney, pynput) and binds nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = """
import sys
from functools import partial
from PySide6.QtWidgets import QApplication
from app.context import open_app_context
from app.ui.launch import build_window, configure_application
from tests.fakes.fake_engine import FakeEngineClient

app = QApplication(sys.argv)
context = open_app_context()
window = build_window(
    context, dark=configure_application(app, context), backend_factory=FakeEngineClient
)
service = window.background.global_keys.service
loaded = sorted(m for m in ("Xlib", "jeepney.io.threading", "pynput") if m in sys.modules)
print(loaded, service.describe(), service.busy)
window.close()
"""


def test_no_backend_is_imported_while_no_key_is_set(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HEARTH_HOME": str(tmp_path / "home"),
        "DISPLAY": ":0",  # an X11 desktop, where Xlib would be used if a key were set
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", BUILD],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last == "[] {'backend': None, 'bound': {}, 'error': None} False", last
