"""Which chat templates may render in the engine worker itself, without the child.

The renderer child (engine.renderer) guards the worker against a GGUF's template that
runs for ever, eats memory or writes gigabytes. It costs a round trip to another process
on every prompt; on a machine whose cores all run llama.cpp that process waits for a
core, which shows in the first token of every reply (about a millisecond through
``hearth serve``).

:func:`renders_in_bounds` reads a template's syntax tree and admits it only when no
value it builds can outgrow the template's size times its input's: then the worker
renders it itself, under the child's time limit (engine.deadline) and output cap.
Everything else goes to the child. The rules:

- No macros, recursion, includes, ``range``, ``*``, ``**`` or ``%`` formatting, no
  attribute starting with ``_``; only filters and methods from short lists.
- An assignment uses at most one variable (but for variables only ever set to numbers
  or constants), and only through steps that keep it a string no bigger than it was
  (``~``, ``+``, ``trim``, ``split(...)[-1]``, indexing; not ``tojson``, ``join``,
  ``list``, ``string`` or a list literal, which ``~`` would write out quoted). So no
  value doubles or multiplies, however often it is set.
- A loop over a top-level value (``messages``, ``tools``) never sits inside another
  loop; a nested loop goes over a part of the innermost loop's item (a message's tool
  calls). Inside a loop, a variable that keeps its value from turn to turn grows by the
  turn's own item only, and no loop writes into a ``{% set %}`` block.

:func:`input_in_bounds` adds the input's side: messages, tools and template variables of
at most ``MAX_INPUT_CHARS`` characters in all. Together: a few hundred MiB in the worst
case a hostile template can build, far less than the model beside it; the time limit
stops the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from jinja2 import nodes

MAX_TEMPLATE_CHARS = 16 * 1024
MAX_INPUT_CHARS = 32 * 1024

# Node types whose evaluation is constant time or linear in their operands.
_ALLOWED = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name,
    nodes.Getattr, nodes.Getitem, nodes.Slice, nodes.Tuple, nodes.List, nodes.Dict,
    nodes.Pair, nodes.Keyword, nodes.Compare, nodes.Operand, nodes.And, nodes.Or,
    nodes.Not, nodes.Neg, nodes.Pos, nodes.Add, nodes.Sub, nodes.Div, nodes.FloorDiv,
    nodes.Concat, nodes.CondExpr, nodes.If, nodes.For, nodes.Assign, nodes.AssignBlock,
    nodes.NSRef, nodes.Filter, nodes.Test, nodes.Call, nodes.Mod,
)  # fmt: skip
# Filters that keep a value's size, shrink it, or give a number or an item of it.
_KEEPING_FILTERS = frozenset(
    {
        "trim", "lower", "upper", "capitalize", "title", "first", "last", "default", "d",
        "length", "count", "reverse", "min", "max", "int", "float", "abs", "round",
        "replace",
    }
)  # fmt: skip
# Filters whose output may be bigger than their input: by a constant factor (tojson's
# escapes), or as a list, which ``~`` then writes out quoted (``['a', 'b']``). Applied
# to a variable turn after turn they would multiply it: never on a variable's way into
# another (or itself).
_FILTERS = _KEEPING_FILTERS | {
    "tojson", "join", "list", "string", "map", "safe", "unique", "sort", "selectattr",
    "rejectattr", "select", "reject", "items", "dictsort",
}  # fmt: skip
_KEEPING_METHODS = frozenset(
    {"get", "strip", "lstrip", "rstrip", "startswith", "endswith", "lower", "upper", "replace"}
)
# Methods that give a list: allowed, but on a variable's way only when one piece is
# taken at once (``content.split('</think>')[-1]``).
_LIST_METHODS = frozenset({"split", "rsplit", "items", "keys", "values"})
_GLOBALS = frozenset({"raise_exception", "strftime_now", "namespace"})
_TESTS = frozenset(
    {
        "defined", "undefined", "none", "string", "mapping", "sequence", "iterable",
        "number", "integer", "float", "true", "false", "boolean", "equalto", "eq", "ne",
        "in", "odd", "even", "sameas", "lower", "upper",
    }
)  # fmt: skip
_LOOP_NUMBERS = frozenset({"index", "index0", "revindex", "revindex0", "length", "depth", "depth0"})


class _Unbounded(Exception):
    """A construct the proof does not admit (the message says which)."""


@lru_cache(maxsize=32)
def renders_in_bounds(template: str) -> bool:
    """True when ``template`` is proven to build nothing bigger than its own size times
    its input's; False sends it to the renderer child."""
    return unbounded_reason(template) is None


def unbounded_reason(template: str) -> str | None:
    """Why ``template`` is not admitted (None when it is)."""
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    if len(template) > MAX_TEMPLATE_CHARS:
        return "too long"
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    try:
        tree = env.parse(template)
    except (TemplateError, RecursionError):
        return "does not parse"
    try:
        _Proof(tree).check()
    except _Unbounded as exc:
        return str(exc)
    return None


def input_in_bounds(*values: Any) -> bool:
    """True when ``values`` (messages, tools, variables) hold at most
    ``MAX_INPUT_CHARS`` characters of text and items in all."""
    budget = [MAX_INPUT_CHARS]

    def spend(value: Any) -> bool:
        if isinstance(value, str | bytes):
            budget[0] -= len(value) + 1
        elif isinstance(value, dict):
            budget[0] -= len(value) + 1
            return budget[0] >= 0 and all(spend(k) and spend(v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            budget[0] -= len(value) + 1
            return budget[0] >= 0 and all(spend(v) for v in value)
        else:
            budget[0] -= 1
        return budget[0] >= 0

    return all(spend(value) for value in values)


class _Proof:
    def __init__(self, tree: nodes.Template) -> None:
        self.tree = tree
        self.assigned = _assigned_keys(tree)
        # Variables set from another variable: they may hold more than one input value.
        self.growing = {
            key
            for assign, key, value in _assignments(tree)
            if any(_key(ref) in self.assigned for ref in _refs(value, self.assigned))
        }
        self.numbers = _number_keys(tree)
        # Variables only ever set to constants: as big as the template at most.
        self.constant = {
            key
            for key in self.assigned
            if all(
                isinstance(v, nodes.Const | nodes.Test | nodes.Compare | nodes.Not)
                for _a, k, v in _assignments(tree)
                if k == key
            )
        }

    def check(self) -> None:
        for node in self.tree.find_all(nodes.Node):
            self._node(node)
        for assign, key, value in _assignments(self.tree):
            self._assignment(assign, key, value)
        self._walk(self.tree.body, items=frozenset(), near=frozenset(), depth=0)

    # -- each node on its own ------------------------------------------------------------
    def _node(self, node: nodes.Node) -> None:
        if not isinstance(node, _ALLOWED):
            raise _Unbounded(type(node).__name__)
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            raise _Unbounded(f"attribute {node.attr}")
        if isinstance(node, nodes.Getitem) and _private(node.arg):
            raise _Unbounded("a private item")
        if isinstance(node, nodes.Filter):
            self._filter(node)
        elif isinstance(node, nodes.Test) and node.name not in _TESTS:
            raise _Unbounded(f"test {node.name}")
        elif isinstance(node, nodes.Call):
            self._call(node)
        elif isinstance(node, nodes.Mod):
            if not (_numeric(node.left, self.numbers) and isinstance(node.right, nodes.Const)):
                raise _Unbounded("% formatting")
        elif isinstance(node, nodes.For) and node.recursive:
            raise _Unbounded("a recursive loop")

    def _filter(self, node: nodes.Filter) -> None:
        if node.name not in _FILTERS or node.dyn_args or node.dyn_kwargs:
            raise _Unbounded(f"filter {node.name}")
        if node.name == "join" and not all(isinstance(a, nodes.Const) for a in node.args):
            raise _Unbounded("join with a computed separator")
        if node.name == "replace" and not _shrinking_replace(node.args):
            raise _Unbounded("a replace that grows")
        if node.name == "tojson" and (
            node.args or any(not _small_int(k.value) for k in node.kwargs)
        ):
            raise _Unbounded("tojson with a wide indent")
        if node.name in ("map", "select", "reject") and node.args:
            first = node.args[0]
            if not isinstance(first, nodes.Const) or first.value not in _KEEPING_FILTERS | _TESTS:
                raise _Unbounded(f"{node.name} through something else")

    def _call(self, node: nodes.Call) -> None:
        if node.dyn_args or node.dyn_kwargs:
            raise _Unbounded("a call with spread arguments")
        callee = node.node
        if isinstance(callee, nodes.Name) and callee.name in _GLOBALS:
            return
        if isinstance(callee, nodes.Getattr) and callee.attr in _KEEPING_METHODS | _LIST_METHODS:
            if callee.attr == "replace" and not _shrinking_replace(node.args):
                raise _Unbounded("a replace that grows")
            return
        raise _Unbounded("a call of something else")

    # -- what each assignment may build --------------------------------------------------
    def _assignment(self, assign: nodes.Node, key: tuple[str, ...], value: nodes.Node) -> None:
        growing = [
            ref
            for ref in _refs(value, self.assigned)
            if _key(ref) not in self.numbers and _key(ref) not in self.constant
        ]
        if len(growing) > 1:
            raise _Unbounded(f"{'.'.join(key)} is set from two variables")
        for ref in growing:
            if not _keeps_size(value, ref):
                raise _Unbounded(f"{'.'.join(key)} is set through something that grows")
        if isinstance(assign, nodes.AssignBlock) and any(assign.find_all(nodes.For)):
            raise _Unbounded(f"{'.'.join(key)} is written by a loop")

    # -- loops ---------------------------------------------------------------------------
    def _walk(
        self, body: Iterable[nodes.Node], items: frozenset[str], near: frozenset[str], depth: int
    ) -> None:
        """``items``: the enclosing loops' items and their parts; ``near``: those of the
        innermost loop only."""
        for node in body:
            if isinstance(node, nodes.For):
                self._loop(node, items, near, depth)
                continue
            if depth:
                self._per_turn(node, items)
            if isinstance(node, nodes.If):
                for branch in (node.body, *(e.body for e in node.elif_), node.else_):
                    self._walk(branch, items, near, depth)
            elif isinstance(node, nodes.AssignBlock):
                self._walk(node.body, items, near, depth)

    def _loop(
        self, node: nodes.For, items: frozenset[str], near: frozenset[str], depth: int
    ) -> None:
        # A nested loop goes over a part of the innermost item: all of a nest's turns
        # together visit each piece of input once.
        if depth and _root(node.iter) not in near:
            raise _Unbounded("a loop over a top-level value inside a loop")
        own = _names(node.target)
        inner = items | own | _item_parts(node.body, items | own)
        self._walk(node.body, inner, own | _item_parts(node.body, own), depth + 1)
        self._walk(node.else_, items, near, depth)

    def _per_turn(self, node: nodes.Node, items: frozenset[str]) -> None:
        """A variable set on every turn grows by the turn's item only."""
        if not isinstance(node, nodes.Assign | nodes.AssignBlock):
            return
        for _assign, key, value in _assignments_of(node):
            if key not in self.growing:
                continue  # set afresh on each turn: as big as one turn's value
            growing = {id(r) for r in _refs(value, self.assigned) if _key(r) in self.growing}
            for name in _all_names(value):
                if name.name in items or name.name == "loop" or id(name) in growing:
                    continue
                if _part_of(value, name, growing) or _scalar_use(value, name):
                    continue
                raise _Unbounded(f"{'.'.join(key)} grows by a top-level value on every turn")


# -- tree helpers ---------------------------------------------------------------------------
def _assigned_keys(tree: nodes.Template) -> set[tuple[str, ...]]:
    return {key for _assign, key, _value in _assignments(tree)}


def _assignments(tree: nodes.Node) -> Iterator[tuple[nodes.Node, tuple[str, ...], nodes.Node]]:
    """``(statement, variable, value)`` for each assignment in ``tree``, ``namespace()``
    keywords included (``ns.attr`` is set from each)."""
    for node in tree.find_all((nodes.Assign, nodes.AssignBlock)):
        yield from _assignments_of(node)


def _assignments_of(node: nodes.Node) -> Iterator[tuple[nodes.Node, tuple[str, ...], nodes.Node]]:
    if isinstance(node, nodes.AssignBlock):
        body = nodes.Output([n for n in node.find_all(nodes.Output)])
        for target in _targets(node.target):
            yield node, _target_key(target), body
        return
    assert isinstance(node, nodes.Assign)
    for target in _targets(node.target):
        key = _target_key(target)
        yield node, key, node.node
        value = node.node
        if (
            isinstance(value, nodes.Call)
            and isinstance(value.node, nodes.Name)
            and value.node.name == "namespace"
        ):
            for keyword in value.kwargs:
                yield node, (*key, keyword.key), keyword.value


def _targets(target: nodes.Node) -> Iterator[nodes.Node]:
    if isinstance(target, nodes.Tuple):
        yield from target.items
    else:
        yield target


def _target_key(target: nodes.Node) -> tuple[str, ...]:
    if isinstance(target, nodes.NSRef):
        return (target.name, target.attr)
    if isinstance(target, nodes.Name):
        return (target.name,)
    raise _Unbounded("an unusual assignment target")


def _key(ref: nodes.Node) -> tuple[str, ...]:
    if isinstance(ref, nodes.Getattr) and isinstance(ref.node, nodes.Name):
        return (ref.node.name, ref.attr)
    if isinstance(ref, nodes.Name):
        return (ref.name,)
    return ()


def _refs(value: nodes.Node, assigned: set[tuple[str, ...]]) -> list[nodes.Node]:
    """The references in ``value`` to assigned variables: ``ns.attr`` as one."""
    found: list[nodes.Node] = []

    def visit(node: nodes.Node) -> None:
        if (
            isinstance(node, nodes.Getattr)
            and isinstance(node.node, nodes.Name)
            and (node.node.name, node.attr) in assigned
        ):
            found.append(node)
            return
        if isinstance(node, nodes.Name):
            if (node.name,) in assigned:
                found.append(node)
            return
        for child in node.iter_child_nodes():
            visit(child)

    visit(value)
    return found


def _parents(value: nodes.Node, target: nodes.Node) -> list[nodes.Node] | None:
    """The nodes from ``value`` down to ``target`` (both included), or None."""
    if value is target:
        return [value]
    for child in value.iter_child_nodes():
        path = _parents(child, target)
        if path is not None:
            return [value, *path]
    return None


def _keeps_size(value: nodes.Node, ref: nodes.Node) -> bool:
    """Every step from ``ref`` up to ``value`` keeps it a string no bigger than it was
    (or makes it a number or a truth value, after which size no longer matters)."""
    path = _parents(value, ref)
    assert path is not None
    steps = list(reversed(path))  # ref first, value last
    for at in range(1, len(steps)):
        parent, child = steps[at], steps[at - 1]
        if isinstance(parent, nodes.Test | nodes.Compare | nodes.Not):
            return True
        if isinstance(parent, nodes.Filter):
            if parent.node is not child:  # an argument: only default(x) gives it back
                if parent.name not in ("default", "d"):
                    return False
            elif parent.name in ("length", "count"):
                return True
            elif parent.name not in _KEEPING_FILTERS:
                return False
        elif isinstance(parent, nodes.Call):
            callee = parent.node
            if not isinstance(callee, nodes.Getattr) or callee is not child:
                # An argument: only get(key, default) gives it back.
                if not (isinstance(callee, nodes.Getattr) and callee.attr == "get"):
                    return False
            elif callee.attr in _LIST_METHODS:
                above = steps[at + 1] if at + 1 < len(steps) else None
                if not (isinstance(above, nodes.Getitem) and above.node is parent):
                    return False
                if isinstance(above.arg, nodes.Slice):
                    return False
            elif callee.attr not in _KEEPING_METHODS:
                return False
        elif isinstance(parent, nodes.Getattr) and isinstance(child, nodes.Call):
            continue  # the method's name on the way to its call
        elif isinstance(parent, nodes.Getattr | nodes.Getitem):
            if isinstance(parent, nodes.Getitem) and parent.arg is child:
                return True  # used as an index: what comes out is the indexed value's
        elif not isinstance(
            parent,
            nodes.Concat
            | nodes.Add
            | nodes.CondExpr
            | nodes.And
            | nodes.Or
            | nodes.Slice
            | nodes.Output
            | nodes.Operand,
        ):
            return False  # a list, tuple or dict literal among others
    return True


def _names(target: nodes.Node) -> frozenset[str]:
    found = {n.name for n in target.find_all(nodes.Name)}
    if isinstance(target, nodes.Name):
        found.add(target.name)
    return frozenset(found)


def _item_parts(body: list[nodes.Node], items: frozenset[str]) -> frozenset[str]:
    """Names a loop's body sets from its item, numbers and constants only
    (``set content = message.content``, ``set index = messages|length - loop.index0``)."""
    found: set[str] = set()
    for node in body:
        for assign in [node, *node.find_all(nodes.Assign)]:
            if isinstance(assign, nodes.Assign) and isinstance(assign.target, nodes.Name):
                known = items | found | {"loop"}
                if _root(assign.node) in known or all(
                    name.name in known or _scalar_use(assign.node, name)
                    for name in _all_names(assign.node)
                ):
                    found.add(assign.target.name)
    return frozenset(found)


def _all_names(value: nodes.Node) -> list[nodes.Name]:
    return [value] if isinstance(value, nodes.Name) else list(value.find_all(nodes.Name))


def _root(node: nodes.Node) -> str | None:
    """The variable an expression is a part of: ``message`` for ``message.content[0]``,
    ``message.content|trim`` or ``message.content.split('x')``."""
    while True:
        if isinstance(node, nodes.Name):
            return node.name
        if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Filter):
            if node.node is None:
                return None
            node = node.node
        elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            node = node.node.node
        else:
            return None


def _part_of(value: nodes.Node, name: nodes.Name, growing: set[int]) -> bool:
    """``name`` is the namespace of a growing ``ns.attr`` reference."""
    path = _parents(value, name)
    return bool(path and len(path) >= 2 and id(path[-2]) in growing)


def _scalar_use(value: nodes.Node, name: nodes.Name) -> bool:
    """``name`` is used for a number or a truth value only (``messages|length``)."""
    path = _parents(value, name) or []
    return any(
        isinstance(p, nodes.Test | nodes.Compare | nodes.Not)
        or (isinstance(p, nodes.Filter) and p.name in ("length", "count"))
        for p in path[:-1]
    )


def _number_keys(tree: nodes.Template) -> set[tuple[str, ...]]:
    """Variables only ever set to numbers (``ns.index = ns.index + 1``)."""
    values: dict[tuple[str, ...], list[nodes.Node]] = {}
    for _assign, key, value in _assignments(tree):
        values.setdefault(key, []).append(value)
    numbers = set(values)
    while True:
        kept = {k for k in numbers if all(_numeric(v, numbers) for v in values[k])}
        if kept == numbers:
            return numbers
        numbers = kept


def _numeric(node: nodes.Node, numbers: set[tuple[str, ...]]) -> bool:
    """An expression that is surely a number (so ``%`` is a remainder, not formatting)."""
    if isinstance(node, nodes.Const):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        if node.node.name == "loop":
            return node.attr in _LOOP_NUMBERS
        return (node.node.name, node.attr) in numbers
    if isinstance(node, nodes.Name):
        return (node.name,) in numbers
    if isinstance(node, nodes.Filter):
        return node.name in ("length", "count", "int")
    if isinstance(node, nodes.Add | nodes.Sub | nodes.FloorDiv | nodes.Mod):
        return _numeric(node.left, numbers) and _numeric(node.right, numbers)
    if isinstance(node, nodes.Neg | nodes.Pos):
        return _numeric(node.node, numbers)
    return False


def _small_int(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Const) and isinstance(node.value, int) and node.value <= 8


def _private(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Const)
        and isinstance(node.value, str)
        and (node.value.startswith("_"))
    )


def _shrinking_replace(args: Sequence[nodes.Node]) -> bool:
    """``replace(old, new)`` with constants where the text cannot grow."""
    if len(args) != 2 or not all(isinstance(a, nodes.Const) for a in args):
        return False
    old, new = (a.value for a in args)  # type: ignore[attr-defined]
    return isinstance(old, str) and isinstance(new, str) and len(old) > 0 and len(new) <= len(old)
