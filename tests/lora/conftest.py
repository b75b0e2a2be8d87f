"""The window fixture of the GUI tests, for the conversation's LoRA adapters panel."""

from __future__ import annotations

from tests.gui.conftest import make_window

__all__ = ["make_window"]
