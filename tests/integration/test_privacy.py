"""Hearth opens no network connection on its own: no telemetry, no update checks.

Every Python process started for the test (the CLI, the window, the engine worker they
spawn) loads a ``sitecustomize`` that records each ``socket.connect`` to a file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SPY = """
import os, socket
_log = os.environ["HEARTH_CONNECT_LOG"]
_real_connect = socket.socket.connect
def _spy(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        with open(_log, "a") as handle:
            handle.write(f"{os.getpid()} {address!r}\\n")
    return _real_connect(self, address)
socket.socket.connect = _spy
"""


def run_spied(tmp_path: Path, args: list[str], command: list[str] | None = None) -> str:
    spy_dir = tmp_path / "spy"
    spy_dir.mkdir(exist_ok=True)
    (spy_dir / "sitecustomize.py").write_text(SPY)
    log = tmp_path / "connects.log"
    log.write_text("")
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(spy_dir), str(root)]),
        "HEARTH_CONNECT_LOG": str(log),
    }
    env.pop("HF_HUB_OFFLINE", None)  # Hearth must stay quiet without being told to
    argv = command or [sys.executable, "-m", "app", *args]
    result = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=180, check=False, cwd=root
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return log.read_text()


def test_chat_opens_no_network_connection(tmp_path: Path, smol_model: Path) -> None:
    connects = run_spied(
        tmp_path,
        ["chat", "--model", str(smol_model), "--prompt", "Hi", "--max-tokens", "8", "--json"],
    )
    assert connects == "", f"unexpected connections:\n{connects}"


def test_models_ls_and_plan_open_no_network_connection(tmp_path: Path) -> None:
    assert run_spied(tmp_path, ["models", "ls", "--json"]) == ""
    assert run_spied(tmp_path, ["plan", "SmolLM2-135M-Instruct", "--json"]) == ""


def test_the_spy_sees_connections(tmp_path: Path) -> None:
    """Guards the guard: a process that does connect is recorded."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = f"import socket; socket.create_connection(('127.0.0.1', {port})).close()"
        connects = run_spied(tmp_path, [], command=[sys.executable, "-c", code])
    assert f"('127.0.0.1', {port})" in connects
