"""``hearth serve`` takes its key from $HEARTH_API_KEY or ``--api-key-file`` as well as
``--api-key``, so the key need not show in the process list."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.server.conftest import CHAT_MODEL, ROOT, ServeProcess, start_serve, stop_serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

KEY = "key-from-elsewhere-0123456789"


def status_of_models(served: ServeProcess, key: str | None) -> tuple[int, str]:
    request = urllib.request.Request(f"{served.url}/models")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def assert_serves_with_that_key_only(served: ServeProcess) -> None:
    status, body = status_of_models(served, KEY)
    assert status == 200 and CHAT_MODEL in body
    assert status_of_models(served, None)[0] == 401
    assert status_of_models(served, "wrong-key-0123456789")[0] == 401
    if sys.platform == "linux":  # what `ps` shows every user
        cmdline = Path(f"/proc/{served.process.pid}/cmdline").read_bytes().decode()
        assert KEY not in cmdline


def test_key_from_the_environment(tmp_path: Path) -> None:
    served = start_serve(tmp_path, env_vars={"HEARTH_API_KEY": KEY}, api_key=KEY)
    try:
        assert_serves_with_that_key_only(served)
    finally:
        stop_serve(served)


def test_key_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text(f"{KEY}\n")
    key_file.chmod(0o600)
    served = start_serve(tmp_path, "--api-key-file", str(key_file), api_key=KEY)
    try:
        assert_serves_with_that_key_only(served)
    finally:
        stop_serve(served)


def serve_fails(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_HOME": str(tmp_path)}
    env.pop("HEARTH_API_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "0", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    return result


def test_a_missing_or_empty_key_file_is_one_sentence(tmp_path: Path) -> None:
    missing = serve_fails(tmp_path, "--api-key-file", str(tmp_path / "nope"))
    assert f"The API key file {tmp_path / 'nope'} cannot be read" in missing.stderr
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert "is empty" in serve_fails(tmp_path, "--api-key-file", str(empty)).stderr


def test_the_flag_and_the_file_exclude_each_other(tmp_path: Path) -> None:
    result = serve_fails(tmp_path, "--api-key", KEY, "--api-key-file", str(tmp_path / "k"))
    assert result.returncode == 2 and "not allowed with" in result.stderr
