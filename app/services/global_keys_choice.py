"""Which global-keys backend this desktop offers, and opening one (its library is
imported only here, when a key is set). Plain Python: no Qt."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from app.core.i18n import translate
from app.services.global_keys import HotkeyError, KeyBackend


def wayland(env: Mapping[str, str]) -> bool:
    return bool(env.get("WAYLAND_DISPLAY")) or env.get("XDG_SESSION_TYPE", "") == "wayland"


def choose_backend(
    env: Mapping[str, str] | None = None, portal: Callable[[], bool] | None = None
) -> str:
    """``pynput`` on macOS and Windows; elsewhere ``portal`` when the session bus offers
    GlobalShortcuts, else ``x11`` on an X11 display (not under Wayland, whose X server sees
    only X clients' keys), else ``none``."""
    if sys.platform in ("darwin", "win32"):
        return "pynput"
    env = os.environ if env is None else env
    probe = portal if portal is not None else _portal_offered
    if probe():
        return "portal"
    if env.get("DISPLAY") and not wayland(env):
        return "x11"
    return "none"


def _portal_offered() -> bool:
    try:
        from app.services.global_keys_portal import portal_offered
    except ImportError:  # jeepney is missing (not Linux)
        return False
    return portal_offered()


def open_backend(kind: str) -> KeyBackend:
    """A new backend of ``kind`` (``portal``, ``x11`` or ``pynput``); its library is
    imported here."""
    if kind == "portal":
        from app.services.global_keys_portal import PortalKeys

        return PortalKeys()
    if kind == "x11":
        from app.services.global_keys_x11 import X11Keys

        return X11Keys()
    if kind == "pynput":
        from app.services.global_keys_pynput import PynputKeys

        return PynputKeys()
    raise HotkeyError(
        translate("KeyBackends", "Global keys are not available on this desktop."), kind="failed"
    )
