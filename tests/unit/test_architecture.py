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


# -- layers: ranks between packages, no import cycles, one place for load options ---------
# Lowest first. A package may import from lower tiers only (never from its own tier's
# other packages, never upwards). ``app`` is the package root (the version), ``context``
# the app.context shim of app.composition.
TIERS: tuple[tuple[str, ...], ...] = (
    ("app", "core"),
    ("vision",),  # images and projectors: Pillow and GGUF headers, below the engine
    ("engine",),
    ("catalog", "storage"),
    ("docs",),
    ("tools",),  # the search_documents tool reads the documents
    ("voice",),
    ("composition", "context"),
    ("server", "remote"),
    ("services",),
    ("ui",),
    ("cli",),
    ("__main__",),
)
RANK = {package: rank for rank, tier in enumerate(TIERS) for package in tier}
SAME_ROOM = {"context": "composition"}  # a shim counts as the package it stands for

# The one module that works out how a model is loaded (app.composition.options), and the
# ones that may touch those settings for another reason: they are defined, checked and
# edited there. The engine client only forwards the fields it is given to the worker.
LOAD_OPTIONS_HOME = "app.composition.options"
SETTINGS_EDITORS = ("app.core.settings", "app.core.settings_rules", "app.ui.settings_dialog")
LOAD_SETTINGS = frozenset({"n_ctx", "n_threads", "gpu_layers", "template_overrides"})
LOAD_KEYWORDS = frozenset({"n_ctx", "n_gpu_layers", "n_threads", "chat_template", "flash_attn"})
BUILDERS = {
    "LoadOptions": (LOAD_OPTIONS_HOME,),
    "LoadModel": (LOAD_OPTIONS_HOME, "app.engine.client"),
}


def module_sources(root: Path) -> dict[str, str]:
    """``{module name: source}`` for every module under ``root`` (an ``app`` folder)."""
    sources: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        sources[".".join(parts)] = path.read_text(encoding="utf-8")
    return sources


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``: imports that never run."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def import_graph(sources: dict[str, str], *, runtime_only: bool) -> dict[str, set[str]]:
    """Which modules each module imports (anywhere in it, lazily too). ``runtime_only``
    leaves out imports under ``if TYPE_CHECKING:``, which never run."""
    graph: dict[str, set[str]] = {}
    for name, source in sources.items():
        tree = ast.parse(source)
        skipped = _type_checking_nodes(tree) if runtime_only else set()
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from app.storage import health`` imports the submodule, not the package.
                subs = [f"{node.module}.{alias.name}" for alias in node.names]
                targets = [s for s in subs if s in sources]
                if len(targets) < len(subs):
                    targets.append(node.module)
            for target in targets:
                known = target
                while known and known not in sources:
                    known = known.rpartition(".")[0]
                if known and known != name:
                    deps.add(known)
        graph[name] = deps
    return graph


def package_of(module: str) -> str:
    parts = module.split(".")
    package = parts[1] if len(parts) > 1 else parts[0]
    return SAME_ROOM.get(package, package)


def rank_violations(sources: dict[str, str]) -> list[str]:
    """Every import of a package from its own tier or a higher one, one sentence each."""
    found: list[str] = []
    for module, deps in import_graph(sources, runtime_only=False).items():
        mine = package_of(module)
        for dep in sorted(deps):
            theirs = package_of(dep)
            if theirs == mine:
                continue
            if theirs not in RANK or mine not in RANK:
                found.append(
                    f"{module} -> {dep}: give {theirs if theirs not in RANK else mine} a tier"
                )
            elif RANK[theirs] >= RANK[mine]:
                found.append(f"{module} ({mine}) imports {dep} ({theirs}), which is not below it")
    return found


def import_cycles(sources: dict[str, str]) -> list[list[str]]:
    """Strongly connected groups of modules that import each other at run time."""
    graph = import_graph(sources, runtime_only=True)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative (no recursion limit)
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def _is_settings(node: ast.expr) -> bool:
    """``settings``, ``self.settings``, ``context.settings``, ``settings()``..."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id == "settings"
    return isinstance(node, ast.Attribute) and node.attr in ("settings", "_settings")


def load_option_violations(sources: dict[str, str]) -> list[str]:
    """Places outside app.composition.options that work out how a model is loaded: reading
    a load setting, passing load options to a ``.load(...)`` call one by one, or building
    the options or the worker's request themselves."""
    found: list[str] = []
    for module, source in sources.items():
        if module == LOAD_OPTIONS_HOME:
            continue
        for node in ast.walk(ast.parse(source)):
            where = f"{module}:{getattr(node, 'lineno', '?')}"
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Load)
                and node.attr in LOAD_SETTINGS
                and _is_settings(node.value)
                and module not in SETTINGS_EDITORS
            ):
                found.append(f"{where} reads the setting {node.attr!r}; use load_options()")
            elif isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                keywords = {k.arg for k in node.keywords if k.arg} & LOAD_KEYWORDS
                if called == "load" and keywords:
                    found.append(
                        f"{where} passes {sorted(keywords)} to .load(); "
                        "pass **load_options(...).load_kwargs()"
                    )
                if called in BUILDERS and module not in BUILDERS[called]:
                    found.append(f"{where} builds {called} itself; use load_options()")
    return found


# Each part of the app is built in one place (the composition root and its helpers); every
# front end calls that function, none builds the part itself.
BUILT_IN_ONE_PLACE = {
    "Library": ("app.composition.context",),
    "read_settings": ("app.composition.context", "app.core.settings"),
    "open_resilient": ("app.composition.store",),
    "VoiceLoop": ("app.composition.voice",),
    "open_voice_parts": ("app.composition.voice",),
    "EngineBridge": ("app.server.assemble",),
    "HearthServer": ("app.server.assemble",),
}


def builder_violations(sources: dict[str, str]) -> list[str]:
    """Calls that build one of BUILT_IN_ONE_PLACE's parts outside its home."""
    found: list[str] = []
    for module, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            homes = BUILT_IN_ONE_PLACE.get(called)
            if homes is not None and module not in homes:
                found.append(f"{module}:{node.lineno} builds {called}; call {homes[0]}")
    return found


TREE = module_sources(APP)


def test_every_package_imports_only_lower_tiers() -> None:
    assert rank_violations(TREE) == []


def test_no_module_imports_itself_back() -> None:
    assert import_cycles(TREE) == []


def test_load_options_are_worked_out_in_one_place() -> None:
    assert load_option_violations(TREE) == []


def test_each_part_is_built_in_one_place() -> None:
    assert builder_violations(TREE) == []


def _planted(tmp_path: Path, relative: str, code: str) -> dict[str, str]:
    """The app tree copied to ``tmp_path`` with ``code`` appended to one module."""
    import shutil

    root = tmp_path / "app"
    shutil.copytree(APP, root, ignore=shutil.ignore_patterns("__pycache__"))
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    existing = target.read_text(encoding="utf-8") if target.exists() else ""
    target.write_text(existing + "\n" + code, encoding="utf-8")
    return module_sources(root)


def test_a_planted_cycle_fails(tmp_path: Path) -> None:
    # app.catalog.fit imports app.catalog.hub; hub importing fit back closes a cycle.
    tree = _planted(
        tmp_path, "catalog/hub.py", "def _late() -> None:\n    import app.catalog.fit\n"
    )
    assert any({"app.catalog.fit", "app.catalog.hub"} <= set(c) for c in import_cycles(tree))


def test_a_planted_type_only_import_is_no_cycle(tmp_path: Path) -> None:
    code = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import app.catalog.fit\n"
    assert import_cycles(_planted(tmp_path, "catalog/hub.py", code)) == []


def test_a_planted_upward_import_fails(tmp_path: Path) -> None:
    tree = _planted(
        tmp_path, "engine/hardware.py", "def _late() -> None:\n    import app.catalog.library\n"
    )
    assert any(
        v.startswith("app.engine.hardware (engine) imports app.catalog.library")
        for v in rank_violations(tree)
    )


def test_a_planted_unranked_package_fails(tmp_path: Path) -> None:
    tree = _planted(tmp_path, "images/__init__.py", "from app.core.errors import HearthError\n")
    assert any("give images a tier" in v for v in rank_violations(tree))


SECOND_LOAD_OPTIONS = {
    "reads the settings": (
        "def my_options(entry, context):\n"
        "    return min(context.settings.n_ctx, entry.context_length), context.settings.n_threads\n"
    ),
    "passes options one by one": (
        "def my_load(client, entry):\n"
        "    return client.load(entry.path, n_ctx=4096, n_gpu_layers=0)\n"
    ),
    "builds the options": (
        "from app.composition.options import LoadOptions\n"
        "def my_options(entry):\n"
        "    return LoadOptions(entry.path, 4096, None, None, None)\n"
    ),
    "builds the request": (
        "from app.engine import protocol as p\n"
        "def my_request(entry):\n"
        "    return p.LoadModel(1, entry.path, 2048)\n"
    ),
}


@pytest.mark.parametrize("code", SECOND_LOAD_OPTIONS.values(), ids=SECOND_LOAD_OPTIONS.keys())
def test_a_planted_second_load_options_function_fails(tmp_path: Path, code: str) -> None:
    tree = _planted(tmp_path, "services/second_options.py", code)
    found = load_option_violations(tree)
    assert found and all(v.startswith("app.services.second_options:") for v in found), found


SECOND_BUILDERS = {
    "a second voice loop": (
        "cli/voice_again.py",
        "from app.voice.loop import VoiceLoop\n"
        "def my_loop(**parts):\n"
        "    return VoiceLoop(**parts)\n",
    ),
    "a second server": (
        "services/server_again.py",
        "from app.server.httpd import HearthServer\n"
        "def my_server(library, config, bridge):\n"
        "    return HearthServer(library, config, bridge=bridge)\n",
    ),
    "a second history opener": (
        "cli/history_again.py",
        "from app.storage import ConversationStore\n"
        "def my_store(path):\n"
        "    return ConversationStore.open_resilient(path)\n",
    ),
}


@pytest.mark.parametrize("planted", SECOND_BUILDERS.values(), ids=SECOND_BUILDERS.keys())
def test_a_planted_second_builder_fails(tmp_path: Path, planted: tuple[str, str]) -> None:
    relative, code = planted
    module = "app." + relative.removesuffix(".py").replace("/", ".")
    found = builder_violations(_planted(tmp_path, relative, code))
    assert found and all(v.startswith(module + ":") for v in found), found
