"""Every sentence of the tray, background mode and quick ask has its 简体中文 translation."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator

APP = Path(__file__).resolve().parents[2] / "app"
MODULES = ["ui/tray.py", "ui/background.py", "ui/quick_ask.py", "services/quick_ask_service.py"]
NAMES = {"Hearth"}  # the same in every language


def translatable(path: Path) -> list[tuple[str, str]]:
    """(context, source) of each ``self.tr("…")`` (context: the class) and ``_tr("…")``
    (context: the module's translate helper's)."""
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST, context: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.ClassDef) else context
            if isinstance(child, ast.Call) and child.args:
                func, first = child.func, child.args[0]
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    pass
                elif isinstance(func, ast.Attribute) and func.attr == "tr":
                    found.append((context, first.value))
                elif isinstance(func, ast.Name) and func.id == "_tr":
                    found.append(("QuickAskService", first.value))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


@pytest.mark.parametrize("module", MODULES)
def test_every_sentence_is_translated(qapp: Any, module: str) -> None:
    translator = QTranslator()
    qm = APP.parent / "assets" / "translations" / "hearth_zh_CN.qm"
    assert translator.load(str(qm))
    QCoreApplication.installTranslator(translator)
    try:
        sentences = translatable(APP / module)
        assert sentences
        missing = [
            (context, source)
            for context, source in sentences
            if source not in NAMES and QCoreApplication.translate(context, source) == source
        ]
        assert not missing, missing
    finally:
        QCoreApplication.removeTranslator(translator)
