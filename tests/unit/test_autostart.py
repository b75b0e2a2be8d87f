"""Start at login: what each system's writer leaves behind (Linux for real; the macOS
writer into a temporary folder; the Windows one through a registry stand-in that
records the winreg calls)."""

from __future__ import annotations

import configparser
import os
import plistlib
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.core import autostart

COMMAND = ["/opt/My Apps/hearth", "--background"]


def test_xdg_autostart_dir_follows_xdg_config_home(tmp_path: Path) -> None:
    assert autostart.autostart_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "autostart"
    home = Path.home() / ".config" / "autostart"
    assert autostart.autostart_dir({}) == home
    # A relative value is ignored, as the specification says.
    assert autostart.autostart_dir({"XDG_CONFIG_HOME": "relative/dir"}) == home


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG desktops only")
def test_linux_writes_and_removes_the_autostart_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    autostart.set_start_at_login(True, COMMAND)
    path = tmp_path / "config" / "autostart" / "hearth.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(path, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "Hearth"
    assert entry["X-GNOME-Autostart-enabled"] == "true"
    # The Exec line quotes the path with a space so that it splits back into the command.
    assert shlex.split(entry["Exec"]) == COMMAND
    if os.name == "posix":
        result = subprocess.run(
            ["sh", "-c", f"printf '%s\\n' {entry['Exec']}"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.splitlines() == COMMAND
    autostart.set_start_at_login(False, COMMAND)
    assert not path.exists()
    autostart.set_start_at_login(False, COMMAND)  # already gone: no error


def test_desktop_exec_escapes_what_the_specification_reserves() -> None:
    line = autostart.desktop_entry(['C:/a "b"/$x', "100%"]).splitlines()[4]
    assert line == 'Exec="C:/a \\"b\\"/\\$x" 100%%'


def test_launch_command_ends_with_background() -> None:
    command = autostart.launch_command()
    assert command[-1] == "--background" and Path(command[0]).exists()


def test_macos_launch_agent_runs_hearth_at_load(tmp_path: Path) -> None:
    path = autostart.set_launch_agent(True, COMMAND, tmp_path / "LaunchAgents")
    assert path == tmp_path / "LaunchAgents" / "org.hearth.Hearth.plist"
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == "org.hearth.Hearth"
    assert agent["ProgramArguments"] == COMMAND and agent["RunAtLoad"] is True
    autostart.set_launch_agent(False, COMMAND, tmp_path / "LaunchAgents")
    assert not path.exists()


class FakeWinreg:
    """The few winreg names the writer uses, recording what it does."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_SET_VALUE = 2
    REG_SZ = 1

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[int, str]] = {}
        self.open: list[str] = []

    def CreateKeyEx(self, root: str, sub: str, reserved: int, access: int) -> str:
        assert (root, reserved, access) == ("HKCU", 0, self.KEY_SET_VALUE)
        self.open.append(sub)
        return sub

    def SetValueEx(self, key: str, name: str, reserved: int, kind: int, value: Any) -> None:
        assert key in self.open and reserved == 0
        self.values[(key, name)] = (kind, value)

    def DeleteValue(self, key: str, name: str) -> None:
        assert key in self.open
        if (key, name) not in self.values:
            raise FileNotFoundError(name)
        del self.values[(key, name)]

    def CloseKey(self, key: str) -> None:
        self.open.remove(key)


def test_windows_run_key_holds_the_quoted_command_line() -> None:
    registry = FakeWinreg()
    command = [r"C:\Program Files\Hearth\hearth.exe", "--background"]
    line = autostart.set_run_key(True, command, registry)
    run = r"Software\Microsoft\Windows\CurrentVersion\Run"
    assert registry.values == {(run, "Hearth"): (FakeWinreg.REG_SZ, line)}
    assert line == r'"C:\Program Files\Hearth\hearth.exe" --background'
    assert registry.open == []  # the key was closed
    assert autostart.set_run_key(False, command, registry) == ""
    assert registry.values == {}
    autostart.set_run_key(False, command, registry)  # already gone: no error
    assert registry.open == []


def test_hearth_understands_the_command_it_writes() -> None:
    from app.cli.parser import build_parser

    command = autostart.launch_command()
    args = command[command.index("--background") :]
    parsed = build_parser().parse_args(args)
    assert parsed.background is True and parsed.command is None  # the window, in the tray
