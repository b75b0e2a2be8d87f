"""Build the PyInstaller bundle and smoke-test it from outside the tree (Linux).

About 2 minutes for the build (PyInstaller on 2 cores, no cache) and 1 for
``packaging/smoke_test.sh``, which installs it into a temporary HOME and runs
``hearth chat --json``, the voice self-test, "Open with" and uninstall.sh in a clean
environment. Skipped where PyInstaller (the ``package`` extra) is not installed.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1500),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux bundle"),
    pytest.mark.skipif(
        importlib.util.find_spec("PyInstaller") is None,
        reason="PyInstaller is not installed (pip install -e '.[package]')",
    ),
]


def test_bundle_builds_and_runs_outside_the_tree(tmp_path: Path) -> None:
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build.py"), "--out", str(out), "--no-tarball"],
        check=True,
        cwd=ROOT,
    )
    trees = [p for p in (out / "dist").glob("hearth-*-linux-*") if p.is_dir()]
    assert len(trees) == 1, trees
    assert (trees[0] / "hearth" / "hearth").is_file()
    result = subprocess.run(
        ["sh", str(ROOT / "packaging" / "smoke_test.sh"), str(trees[0])],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    shutil.rmtree(out, ignore_errors=True)  # ~1 GB; pytest keeps old tmp folders
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "smoke_test: OK" in result.stdout
