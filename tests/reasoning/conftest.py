"""The window fixture of the GUI tests, for the Thinking block's."""

from __future__ import annotations

from tests.gui.conftest import make_window

__all__ = ["make_window"]
