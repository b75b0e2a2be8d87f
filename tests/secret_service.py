"""A real, throwaway Secret Service for tests: a private D-Bus session bus with an
unlocked GNOME Keyring on it, both children of the test and gone after it.

Nothing touches the developer's own session or keyrings: the bus is a new one, and the
keyring lives under the test's temporary folder (XDG_DATA_HOME).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.desktop_session import stop_process

PASSWORD = b"hearth-test-keyring"
START_TIMEOUT_S = 20
SERVICE_NAME = "org.freedesktop.secrets"

# The programs and the Debian packages that hold them.
PROGRAMS = {
    "dbus-daemon": "dbus-daemon (or dbus)",
    "gnome-keyring-daemon": "gnome-keyring",
    "secret-tool": "libsecret-tools",
}


@dataclass
class SecretService:
    """The running service: ``env`` points a process (or this one) at it."""

    env: dict[str, str]

    def lookup(self, service: str, username: str) -> str | None:
        """The secret as ``secret-tool`` (libsecret, not Python) reads it."""
        result = subprocess.run(
            ["secret-tool", "lookup", "service", service, "username", username],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return result.stdout if result.returncode == 0 else None


def skip_without_programs() -> None:
    missing = [f"{p} (Debian: {pkg})" for p, pkg in PROGRAMS.items() if not shutil.which(p)]
    if missing:
        pytest.skip("a real Secret Service needs " + ", ".join(missing))


@contextmanager
def running_secret_service(folder: Path) -> Iterator[SecretService]:
    """Start the bus and an unlocked keyring in ``folder``; stop both on exit."""
    skip_without_programs()
    runtime = folder / "runtime"
    runtime.mkdir(mode=0o700, parents=True)
    data = folder / "data"
    data.mkdir(parents=True)
    bus = subprocess.Popen(
        [
            "dbus-daemon",
            "--session",
            "--nofork",
            "--print-address=1",
            f"--address=unix:path={runtime / 'bus'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    keyring: subprocess.Popen[bytes] | None = None
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        assert address.startswith("unix:"), f"dbus-daemon gave no address ({address!r})"
        env = {
            "DBUS_SESSION_BUS_ADDRESS": address,
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_DATA_HOME": str(data),
        }
        with (folder / "keyring.log").open("wb") as log:  # read it when a test fails
            keyring = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                env={**os.environ, **env},
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        assert keyring.stdin is not None
        keyring.stdin.write(PASSWORD)
        keyring.stdin.close()
        try:
            _wait_until_unlocked(address, keyring)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {(folder / 'keyring.log').read_text()}") from None
        yield SecretService(env)
    finally:
        for process in (keyring, bus):
            if process is not None:
                stop_process(process)


def _wait_until_unlocked(address: str, keyring: subprocess.Popen[bytes]) -> None:
    """Poll until our daemon owns the Secret Service name and its login keyring (made
    from the password it was given) is the unlocked default collection.

    Nothing may call the service before the daemon owns the name: the bus would start
    another, password-less keyring daemon for that call (D-Bus activation), and ours
    would then exit.
    """
    import secretstorage
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    deadline = time.monotonic() + START_TIMEOUT_S
    last: Exception | None = None
    with open_dbus_connection(address) as connection:
        while time.monotonic() < deadline:
            if keyring.poll() is not None:
                raise AssertionError(f"gnome-keyring-daemon exited ({keyring.returncode})")
            owned = connection.send_and_get_reply(message_bus.NameHasOwner(SERVICE_NAME))
            if owned.body[0]:
                try:
                    # The default alias only: get_default_collection would create a
                    # collection, which asks the user through a prompt.
                    if not secretstorage.Collection(connection).is_locked():
                        return
                except secretstorage.exceptions.SecretStorageException as exc:
                    last = exc  # the login keyring is not made yet
            time.sleep(0.05)
    raise AssertionError(f"the Secret Service did not come up in time ({last})")
