"""The import rules of DESIGN.md, checked on the source (any new module is covered)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
HEAVY = (
    "llama_cpp",
    "faster_whisper",
    "piper",
    "onnxruntime",
    "ctranslate2",
    "sounddevice",
    "huggingface_hub",
    "gguf",
)
NO_QT_ROOMS = ("core", "engine", "catalog", "storage", "voice", "cli")
UI_FORBIDDEN = ("app.engine", "app.voice", "app.catalog", "app.storage")


def modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def imports(path: Path, *, top_level_only: bool) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(APP)))
def test_heavy_libraries_are_imported_lazily(path: Path) -> None:
    eager = [m for m in imports(path, top_level_only=True) if m.split(".")[0] in HEAVY]
    assert not eager, f"{path.name} imports {eager} at module level; import inside the function"


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if p.relative_to(APP).parts[0] in NO_QT_ROOMS],
    ids=lambda p: str(p.relative_to(APP)),
)
def test_plain_python_rooms_never_import_qt(path: Path) -> None:
    qt = [m for m in imports(path, top_level_only=False) if m.startswith("PySide6")]
    assert not qt, f"{path} imports {qt}: keep Qt in app.services and app.ui"


@pytest.mark.parametrize(
    "path",
    [p for p in (APP / "ui").glob("*.py") if p.name != "launch.py"],
    ids=lambda p: p.name,
)
def test_widgets_talk_to_services_only(path: Path) -> None:
    direct = [m for m in imports(path, top_level_only=False) if m.startswith(UI_FORBIDDEN)]
    assert not direct, f"{path.name} imports {direct}; go through app.services"


def test_window_start_up_imports_nothing_heavy() -> None:
    """What the window imports before it is shown: no inference library, not even numpy."""
    code = (
        "import sys, app.ui.launch, app.cli.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{(*HEAVY, 'numpy')!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=APP.parent
    )
    assert result.stdout.strip() == "[]", result.stdout
