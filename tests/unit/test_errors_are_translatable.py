"""Every error a window user can read is translatable where it is made.

The rule, checked on the source of app/ with ``ast``: a :class:`HearthError` (or any class
derived from it, in app.core.errors or next to its use) is never made with literal text
as its message: a string, an f-string, ``"…".format(…)``, ``"…" % …`` or a concatenation
with one. ``str(error)`` of a HearthError is what the window shows (banners, tool cards,
the settings pages, the Documents page), so its message is a ``translate("Context", "…")``
Sentence of app.core.i18n, filled in with ``.format(…)`` after it is translated; the CLI
and the server install no translator, so they still read English. A message handed over
in a variable is not judged here: where it was made, it is a call this test sees or a
Sentence already.

ENGLISH_BY_DESIGN lists what stays English on purpose, each with its reason. A new
entry needs one too: prefer ``translate`` (it costs nothing where no translator is
installed).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

# Folders whose errors only a terminal or an HTTP client reads (relative to the repo).
ENGLISH_FOLDERS = {
    # The command line never installs a translator: its errors are printed in English.
    "app/cli/": "terminal only",
    # The OpenAI-compatible API answers its clients in English (the server makes every
    # Sentence English again); httpd.py is checked, below, for the window starts it.
    "app/server/": "HTTP clients only",
}
# Modules of those folders whose errors the window does show.
CHECKED_ANYWAY = {"app/server/httpd.py"}  # "Cannot listen on …": the Server settings page
# (module, message as written: literal text, with {…} for each f-string field)
ENGLISH_BY_DESIGN = {
    # `hearth models pull` only (the window downloads through app.catalog.downloads):
    # test_pull_is_used_by_the_command_line_only keeps it so.
    ("app/catalog/pull.py", "*"),
    # Never shown: the card lookup the user no longer waits for ends with it.
    ("app/catalog/model_card.py", "The card of {…} is no longer wanted."),
    # Never shown: the marker set on a server's start when the MCP manager shuts down.
    ("app/tools/mcp/client.py", "stopped"),
}


def hearth_error_names(trees: dict[str, ast.Module]) -> set[str]:
    """HearthError and every class in app/ derived from it (by name, to a fixed point)."""
    names = {"HearthError"}
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in names
                    and any(_name(base) in names for base in node.bases)
                ):
                    names.add(node.name)
                    grew = True
    return names


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def literal_text(node: ast.expr) -> str | None:
    """The text of a message written in place (fields shown as {…}), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(part.value) if isinstance(part, ast.Constant) else "{…}" for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        left, right = literal_text(node.left), literal_text(node.right)
        if left is not None or right is not None:
            return (left or "{…}") + (right or "{…}")
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        return literal_text(node.func.value)
    return None


def modules() -> dict[str, ast.Module]:
    root = APP.parent
    return {
        path.relative_to(root).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(APP.rglob("*.py"))
    }


def english_errors(trees: dict[str, ast.Module]) -> Iterator[tuple[str, int, str]]:
    """(module, line, text) of every HearthError made with literal text as its message,
    written in the call or assigned to the variable the call is given in the same
    function (``message = f"…"`` then ``raise ConfigError(message)``)."""
    errors = hearth_error_names(trees)
    seen: set[tuple[str, int, str]] = set()
    for module, tree in trees.items():
        for scope in ast.walk(tree):
            if not isinstance(scope, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            # Assignments are followed within a function only (a module's are constants).
            texts = {} if isinstance(scope, ast.Module) else _assigned_texts(scope)
            for node in ast.walk(scope):
                if not (isinstance(node, ast.Call) and _name(node.func) in errors):
                    continue
                message = node.args[0] if node.args else None
                for keyword in node.keywords:
                    if keyword.arg == "message":
                        message = keyword.value
                if message is None:
                    continue
                text = literal_text(message)
                found = [(node.lineno, text)] if text is not None else []
                if isinstance(message, ast.Name):
                    found += texts.get(message.id, [])
                for line, said in found:
                    if (module, line, said) not in seen:
                        seen.add((module, line, said))
                        yield module, line, said


def _assigned_texts(scope: ast.AST) -> dict[str, list[tuple[int, str]]]:
    """Variable name → (line, text) of each literal text assigned to it in ``scope``."""
    texts: dict[str, list[tuple[int, str]]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            text = literal_text(node.value)
            for target in targets:
                if text is not None and isinstance(target, ast.Name):
                    texts.setdefault(target.id, []).append((node.lineno, text))
    return texts


def allowed(module: str, text: str) -> bool:
    if module not in CHECKED_ANYWAY and any(module.startswith(f) for f in ENGLISH_FOLDERS):
        return True
    return (module, "*") in ENGLISH_BY_DESIGN or (module, text) in ENGLISH_BY_DESIGN


def test_every_error_the_window_shows_is_made_with_translate() -> None:
    found = [
        f"{module}:{line}: {text}"
        for module, line, text in english_errors(modules())
        if not allowed(module, text)
    ]
    assert not found, "English errors; make them translate(...) Sentences:\n" + "\n".join(found)


def test_every_english_by_design_entry_is_still_there() -> None:
    """A stale entry would let a new English error in under an old excuse."""
    made = {(module, text) for module, _line, text in english_errors(modules())}
    stale = {entry for entry in ENGLISH_BY_DESIGN if entry[1] != "*" and entry not in made}
    assert not stale, stale
    assert all((APP.parent / module).is_file() for module, _text in ENGLISH_BY_DESIGN)
    assert all((APP.parent / module).is_file() for module in CHECKED_ANYWAY)


def test_pull_is_used_by_the_command_line_only() -> None:
    users = {
        module
        for module, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (
            node.module == "app.catalog.pull"
            or (node.module == "app.catalog" and any(a.name == "pull" for a in node.names))
        )
    }
    assert users and all(module.startswith("app/cli/") for module in users), users


def test_the_rule_sees_each_way_of_writing_text_in_place() -> None:
    source = """
class OwnError(ConfigError): ...
raise ConfigError("plain")
raise ModelError(f"f {x}")
raise OwnError("a {} b".format(x))
raise ImageError("a " + reason)
raise StorageError(message="kw %s" % x)
raise ConfigError(translate("Errors", "fine {x}").format(x=x))
raise ConfigError(message)
raise ValueError("a programmer's error, never shown")
def later(x):
    said = f"made {x}"
    error = ConfigError(said)
    raise error
"""
    trees = {**modules(), "app/x.py": ast.parse(source)}
    found = [text for module, _l, text in english_errors(trees) if module == "app/x.py"]
    assert sorted(found) == sorted(["plain", "f {…}", "a {} b", "a {…}", "kw %s{…}", "made {…}"])
