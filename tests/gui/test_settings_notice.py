"""A settings file with wrong values opens the window all the same, and says which."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gui.conftest import MakeWindow


def test_the_window_names_replaced_settings(make_window: MakeWindow, hearth_home: Path) -> None:
    config = hearth_home / "config"
    config.mkdir(parents=True)
    (config / "settings.json").write_text(
        json.dumps({"n_ctx": "abc", "theme": 7, "voice": {"speed": "fast"}, "n_threads": 2})
    )
    win = make_window()
    banner = win.window.notice_banner
    assert banner.isVisible()
    text = banner.label.text()
    for name in ("n_ctx", "theme", "voice.speed"):
        assert f"The setting {name} is " in text
    assert "n_threads" not in text  # a valid value is kept, and not mentioned
