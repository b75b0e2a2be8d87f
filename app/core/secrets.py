"""API keys kept out of the settings file: in the OS keyring, else in a private file.

The keyring is the ``keyring`` library's: Secret Service (GNOME Keyring, KWallet) on
Linux, the Keychain on macOS, the Credential Locker on Windows. Where it has no usable
backend (no D-Bus session, a locked or absent Secret Service, a headless server) the
secrets go to ``secrets.json`` in the config folder, mode 0600, and the log says so.
``keyring`` is imported on first use only: most commands never touch a secret.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.private import write_private_text

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from app.core.paths import AppPaths

log = logging.getLogger(__name__)

SERVICE = "Hearth"
SERVER_API_KEY = "server-api-key"  # the key clients must send to the window's API server
REMOTE_API_KEY = "remote-api-key"  # the key Hearth sends to the saved remote endpoint


class SecretStore:
    """Secrets by name; an empty string means none is stored."""

    def __init__(self, fallback_file: Path, service: str = SERVICE) -> None:
        self.fallback_file = fallback_file
        self.service = service
        self._lock = threading.Lock()
        self._checked = False
        self._backend: KeyringBackend | None = None

    @property
    def location(self) -> str:
        """Where new secrets go, in words."""
        backend = self._keyring()
        return f"the system keyring ({backend.name})" if backend else str(self.fallback_file)

    def get(self, name: str) -> str:
        with self._lock:
            backend = self._keyring()
            if backend is not None:
                try:
                    value = backend.get_password(self.service, name)
                except Exception as exc:  # any backend error: D-Bus, locked, denied
                    self._keyring_failed("read", name, exc)
                else:
                    if value:
                        return value
            value = self._read_file().get(name, "")
            if value and self._backend is not None:
                # Kept in the file while there was no keyring: move it there now.
                self._set_locked(name, value)
            return value

    def set(self, name: str, value: str) -> None:
        """Store ``value`` under ``name``; an empty value deletes the secret."""
        with self._lock:
            self._set_locked(name, value)

    def _set_locked(self, name: str, value: str) -> None:
        backend = self._keyring()
        if backend is not None:
            try:
                if value:
                    backend.set_password(self.service, name, value)
                else:
                    self._delete(backend, name)
            except Exception as exc:
                self._keyring_failed("store", name, exc)
            else:
                self._write_file(name, "")  # never a stale copy outside the keyring
                return
        self._write_file(name, value)

    def _delete(self, backend: KeyringBackend, name: str) -> None:
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError):  # nothing stored: already deleted
            backend.delete_password(self.service, name)

    # -- the keyring ---------------------------------------------------------------------
    def _keyring(self) -> KeyringBackend | None:
        """The keyring backend, or None when the system has no usable one (decided once)."""
        if not self._checked:
            self._checked = True
            try:
                import keyring

                backend = keyring.get_keyring()
                usable = backend.priority >= 1  # keyring's own test for "recommended"
            except Exception as exc:
                self._fallback(f"the keyring could not start: {exc}")
                return None
            if usable:
                self._backend = backend
                log.info("secrets are kept in the system keyring (%s)", backend.name)
            else:
                self._fallback(f"no system keyring is available ({backend.name})")
        return self._backend

    def _keyring_failed(self, doing: str, name: str, exc: BaseException) -> None:
        self._backend = None
        self._fallback(f"the system keyring failed to {doing} {name} ({type(exc).__name__}: {exc})")

    def _fallback(self, reason: str) -> None:
        log.warning(
            "%s; secrets are kept in %s instead, readable only by you", reason, self.fallback_file
        )

    # -- the fallback file ---------------------------------------------------------------
    def _read_file(self) -> dict[str, str]:
        try:
            raw: Any = json.loads(self.fallback_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("secrets file %s unreadable (%s); ignoring it", self.fallback_file, exc)
            return {}
        secrets = raw.get("secrets") if isinstance(raw, dict) else None
        if not isinstance(secrets, dict):
            return {}
        return {k: v for k, v in secrets.items() if isinstance(k, str) and isinstance(v, str)}

    def _write_file(self, name: str, value: str) -> None:
        secrets = self._read_file()
        if secrets.get(name, "") == value:
            return
        if value:
            secrets[name] = value
        else:
            secrets.pop(name, None)
        if not secrets and not self.fallback_file.exists():
            return
        self.fallback_file.parent.mkdir(parents=True, exist_ok=True)
        write_private_text(self.fallback_file, json.dumps({"version": 1, "secrets": secrets}))


_stores: dict[Path, SecretStore] = {}
_stores_lock = threading.Lock()


def secret_store(paths: AppPaths) -> SecretStore:
    """The store for this config folder (one per process, so the keyring is probed once)."""
    with _stores_lock:
        store = _stores.get(paths.secrets_file)
        if store is None:
            store = _stores[paths.secrets_file] = SecretStore(paths.secrets_file)
        return store
