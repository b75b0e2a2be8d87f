"""Start Hearth at login: one plain writer per system, each told where to write.

Linux (and other XDG desktops): a ``.desktop`` file in ``$XDG_CONFIG_HOME/autostart``
(the XDG Autostart specification). macOS: a LaunchAgents property list with
``RunAtLoad``, which launchd reads at login. Windows: a value under
``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``. Hearth starts there with
``--background``: in the tray when the desktop has one, else with its window.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DESKTOP_NAME = "hearth.desktop"
LAUNCH_AGENT_LABEL = "org.hearth.Hearth"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "Hearth"
BACKGROUND_FLAG = "--background"


def launch_command() -> list[str]:
    """How this Hearth is started again: the bundle's executable, the ``hearth`` script
    next to this interpreter (or on PATH), or ``python -m app``."""
    if getattr(sys, "frozen", False):
        return [sys.executable, BACKGROUND_FLAG]
    script = Path(sys.executable).with_name("hearth.exe" if os.name == "nt" else "hearth")
    found = str(script) if script.exists() else shutil.which("hearth")
    if found:
        return [found, BACKGROUND_FLAG]
    return [sys.executable, "-m", "app", BACKGROUND_FLAG]


# -- Linux: XDG autostart ------------------------------------------------------------------
def autostart_dir(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/autostart`` (``~/.config/autostart`` when it is unset or relative,
    as the XDG Base Directory specification says)."""
    env = os.environ if environ is None else environ
    config = env.get("XDG_CONFIG_HOME", "")
    base = Path(config) if config and Path(config).is_absolute() else Path.home() / ".config"
    return base / "autostart"


def _desktop_quote(arg: str) -> str:
    """One argument of an ``Exec`` key, quoted as the Desktop Entry specification asks."""
    if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`="):
        return arg.replace("%", "%%")
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return '"' + escaped.replace("%", "%%") + '"'


def desktop_entry(command: Sequence[str]) -> str:
    """The autostart entry that runs ``command``."""
    exec_line = " ".join(_desktop_quote(arg) for arg in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Hearth\n"
        "Comment=Private, offline AI assistant\n"
        f"Exec={exec_line}\n"
        "Icon=hearth\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def set_xdg_autostart(enabled: bool, command: Sequence[str], folder: Path | None = None) -> Path:
    """Write (or remove) Hearth's autostart entry in ``folder``; returns its path."""
    path = (folder or autostart_dir()) / DESKTOP_NAME
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(desktop_entry(command), encoding="utf-8")
    else:
        path.unlink(missing_ok=True)
    return path


# -- macOS: a LaunchAgent ------------------------------------------------------------------
def launch_agents_dir() -> Path:
    return Path.home() / "Library" / "LaunchAgents"


def set_launch_agent(enabled: bool, command: Sequence[str], folder: Path | None = None) -> Path:
    """Write (or remove) Hearth's LaunchAgent in ``folder``; returns its path."""
    path = (folder or launch_agents_dir()) / f"{LAUNCH_AGENT_LABEL}.plist"
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        agent = {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": list(command),
            "RunAtLoad": True,
            "ProcessType": "Interactive",
        }
        path.write_bytes(plistlib.dumps(agent))
    else:
        path.unlink(missing_ok=True)
    return path


# -- Windows: the Run key ------------------------------------------------------------------
def set_run_key(enabled: bool, command: Sequence[str], registry: Any = None) -> str:
    """Set (or delete) Hearth's value under the current user's Run key through
    ``registry`` (the ``winreg`` module, or an object with its functions); returns the
    command line written ("" when removed)."""
    if registry is None:
        import winreg as registry  # type: ignore[no-redef, unused-ignore]
    line = subprocess.list2cmdline(list(command)) if enabled else ""
    key = registry.CreateKeyEx(registry.HKEY_CURRENT_USER, RUN_KEY, 0, registry.KEY_SET_VALUE)
    try:
        if enabled:
            registry.SetValueEx(key, RUN_VALUE, 0, registry.REG_SZ, line)
        else:
            with contextlib.suppress(FileNotFoundError):  # not there: nothing to remove
                registry.DeleteValue(key, RUN_VALUE)
    finally:
        registry.CloseKey(key)
    return line


def set_start_at_login(enabled: bool, command: Sequence[str] | None = None) -> None:
    """Start Hearth at login (or not) the way this system does it."""
    command = list(command or launch_command())
    if sys.platform == "win32":
        set_run_key(enabled, command)
    elif sys.platform == "darwin":
        set_launch_agent(enabled, command)
    else:
        set_xdg_autostart(enabled, command)
