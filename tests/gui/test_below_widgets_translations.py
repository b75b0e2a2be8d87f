"""Every sentence made below the widgets (``translate("Context", "…")`` of app.core.i18n,
in any module of app/) has its 简体中文 translation with the same placeholders, and
pyside6-lupdate finds each of them where the code makes it."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication

from tests.gui.zh import chinese_translator

APP = Path(__file__).resolve().parents[2] / "app"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
NAMES: set[str] = set()  # the same in every language (none yet)


def seam_calls(path: Path) -> list[tuple[str, str]]:
    """(context, source) of each ``translate("…", "…")`` call in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "translate"
            and len(node.args) == 2
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
        ):
            context, source = (str(a.value) for a in node.args if isinstance(a, ast.Constant))
            found.append((context, source))
    return found


def seam_modules() -> dict[Path, list[tuple[str, str]]]:
    modules = {path: seam_calls(path) for path in sorted(APP.rglob("*.py"))}
    return {path: calls for path, calls in modules.items() if calls}


@pytest.fixture(scope="module")
def chinese(qapp: Any) -> Any:
    with chinese_translator() as translator:
        yield translator


def test_the_plan_and_the_fit_verdicts_are_looked_at() -> None:
    names = {path.relative_to(APP).as_posix() for path in seam_modules()}
    assert {"engine/planner.py", "catalog/fit.py"} <= names, names


@pytest.mark.parametrize("module", sorted(p.relative_to(APP).as_posix() for p in seam_modules()))
def test_every_sentence_below_the_widgets_is_translated(chinese: Any, module: str) -> None:
    missing: list[tuple[str, ...]] = []
    for context, source in seam_calls(APP / module):
        translated = QCoreApplication.translate(context, source)
        if source not in NAMES and translated == source:
            missing.append((context, source))
        # The same placeholders, so .format() fills the translation whole.
        elif sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(translated)):
            missing.append((context, source, translated))
    assert not missing, missing


def test_lupdate_extracts_every_sentence(tmp_path: Path) -> None:
    """The seam is spelt the way pyside6-lupdate reads it: a .ts made from the modules
    holds exactly the sentences the code passes to ``translate``."""
    lupdate = shutil.which("pyside6-lupdate", path=str(Path(sys.executable).parent))
    assert lupdate is not None
    modules = seam_modules()
    ts = tmp_path / "below.ts"
    subprocess.run(
        [lupdate, *map(str, modules), "-ts", str(ts)], check=True, capture_output=True, timeout=120
    )
    extracted = {
        (context.findtext("name"), message.findtext("source"))
        for context in ET.parse(ts).getroot().iter("context")
        for message in context.iter("message")
    }
    expected = {pair for calls in modules.values() for pair in calls}
    assert expected <= extracted, expected - extracted
