"""PyInstaller runtime hook: runs in the frozen app before ``app`` is imported.

* PortAudio: ``sounddevice`` looks its library up with ``ctypes.util.find_library``,
  which on Linux asks ``ldconfig`` and so never sees the copy inside the bundle. When
  the bundle carries ``libportaudio`` the lookup is pointed at it, so audio works on a
  machine without the system package (the system one still wins when present, because
  it matches the machine's ALSA/PulseAudio plugins).
* ``HEARTH_BUNDLE`` is set to the bundle's folder, for logs and ``hearth --version``
  diagnostics.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from pathlib import Path

_BUNDLE = Path(getattr(sys, "_MEIPASS", os.path.dirname(sys.executable)))
os.environ.setdefault("HEARTH_BUNDLE", str(_BUNDLE))

_original_find_library = ctypes.util.find_library


def _bundled(name: str) -> str | None:
    """The bundled copy of ``lib<name>``, if any."""
    for pattern in (f"lib{name}.so*", f"lib{name}*.dylib", f"lib{name}*.dll", f"{name}*.dll"):
        for candidate in sorted(_BUNDLE.glob(pattern)):
            return str(candidate)
    return None


def _find_library(name: str) -> str | None:
    """``find_library`` that falls back to the bundle's own copy."""
    found = _original_find_library(name)
    if found is None and name == "portaudio":
        found = _bundled(name)
    return found


ctypes.util.find_library = _find_library

# ``HEARTH_SELFTEST=1 hearth``: check the bundled voice stack instead of starting the app
# (popped first, so processes it starts never see it).
if os.environ.pop("HEARTH_SELFTEST", None) and "--multiprocessing-fork" not in sys.argv:
    from hearth_bundle_selftest import main as _selftest

    sys.exit(_selftest())
