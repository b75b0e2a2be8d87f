"""``calculator``: arithmetic on a safe evaluator of Python's expression syntax tree.

Never ``eval``: the expression is parsed with ``ast`` and only numbers, ``+ - * / // %
**``, unary signs, parentheses, the constants ``pi``, ``e``, ``tau`` and a few ``math``
functions are evaluated; any other node (names, attributes, calls of anything else,
strings, comprehensions, lambdas) is refused. Sizes are bounded before computing: the
expression's length, the number of operations and the bits of every whole number (a
power whose result would exceed them is refused, not computed), so no input can use
much memory or time. ``^`` is read as a power, the multiplication and division signs
as ``*`` and ``/``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from app.core.errors import ToolError
from app.core.i18n import translate
from app.tools.tool import Tool, ToolContext

NAME = "calculator"
MAX_CHARS = 200
MAX_NODES = 100
MAX_BITS = 4096  # about 1,233 decimal digits
MAX_FACTORIAL = 450  # 450! has about 3,800 bits

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _factorial(n: float) -> int:
    if isinstance(n, float) and not n.is_integer():
        raise ToolError(translate("Tools", "factorial takes a whole number."))
    if not 0 <= n <= MAX_FACTORIAL:
        raise ToolError(
            translate("Tools", "factorial takes a whole number from 0 to {max_factorial}.").format(
                max_factorial=MAX_FACTORIAL
            )
        )
    return math.factorial(int(n))


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "cbrt": math.cbrt,
    "exp": math.exp,
    "log": math.log,  # log(x) or log(x, base)
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "degrees": math.degrees,
    "radians": math.radians,
    "abs": abs,
    "round": round,  # round(x) or round(x, digits)
    "floor": math.floor,
    "ceil": math.ceil,
    "factorial": _factorial,
}


def _bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def _check_size(value: Any) -> Any:
    if _bits(value) > MAX_BITS:
        raise ToolError(
            translate(
                "Tools", "the result has more than {max_bits} bits; the calculator stops there."
            ).format(max_bits=MAX_BITS)
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError(translate("Tools", "the result is too large (or not a number)."))
    return value


def _power(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        # Bits of the result, bounded before anything is computed.
        if abs(base) > 1 and (abs(base).bit_length() - 1) * exponent > MAX_BITS:
            raise ToolError(
                translate(
                    "Tools",
                    "{base} ** {exponent} has more than {max_bits} bits; the calculator "
                    "stops there.",
                ).format(base=base, exponent=exponent, max_bits=MAX_BITS)
            )
    elif isinstance(exponent, int | float) and abs(exponent) > 10_000:
        raise ToolError(translate("Tools", "the exponent is too large."))
    result = base**exponent
    if isinstance(result, complex):
        raise ToolError(translate("Tools", "the result is not a real number."))
    return result


class _Evaluator:
    def __init__(self) -> None:
        self.nodes = 0

    def eval(self, node: ast.AST) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ToolError(
                translate("Tools", "the expression has more than {max_nodes} parts.").format(
                    max_nodes=MAX_NODES
                )
            )
        if isinstance(node, ast.Expression):
            return self.eval(node.body)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ToolError(
                    translate("Tools", "{value} is not a number.").format(value=repr(value))
                )
            return _check_size(value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.eval(node.left), self.eval(node.right)
            if isinstance(node.op, ast.Pow):
                return _check_size(_power(left, right))
            try:
                return _check_size(_BINARY[type(node.op)](left, right))
            except ZeroDivisionError:
                raise ToolError(translate("Tools", "division by zero.")) from None
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](self.eval(node.operand))
        if isinstance(node, ast.Name) and node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and not node.keywords
            and 1 <= len(node.args) <= 2
        ):
            args = [self.eval(a) for a in node.args]
            try:
                return _check_size(_FUNCTIONS[node.func.id](*args))
            except (ValueError, TypeError) as exc:
                raise ToolError(
                    translate("Tools", "{id} cannot take these values ({exc}).").format(
                        id=node.func.id, exc=exc
                    )
                ) from None
        if isinstance(node, ast.BinOp):
            raise ToolError(
                translate("Tools", "the operator {kind} is not allowed.").format(
                    kind=type(node.op).__name__
                )
            )
        if isinstance(node, ast.Name):
            known = ", ".join(sorted(_CONSTANTS))
            raise ToolError(
                translate("Tools", "unknown name {id} (the known constants are {known}).").format(
                    id=repr(node.id), known=known
                )
            )
        if isinstance(node, ast.Call):
            known = ", ".join(sorted(_FUNCTIONS))
            raise ToolError(
                translate(
                    "Tools", "only these functions can be called, with 1 or 2 values: {known}."
                ).format(known=known)
            )
        raise ToolError(
            translate("Tools", "{kind} is not allowed in a calculation.").format(
                kind=type(node).__name__
            )
        )


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic ``expression``; ToolError says why when it has none."""
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not text:
        raise ToolError(translate("Tools", "the expression is empty."))
    if len(text) > MAX_CHARS:
        raise ToolError(
            translate("Tools", "the expression is longer than {max_chars} characters.").format(
                max_chars=MAX_CHARS
            )
        )
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        raise ToolError(
            translate("Tools", "{expression} is not an arithmetic expression.").format(
                expression=repr(expression)
            )
        ) from None
    try:
        value = _Evaluator().eval(tree)
    except OverflowError:
        raise ToolError(translate("Tools", "the result is too large.")) from None
    except RecursionError:
        raise ToolError(translate("Tools", "the expression is nested too deeply.")) from None
    if not isinstance(value, int | float):
        raise ToolError(translate("Tools", "the result is not a number."))
    return value


def format_number(value: int | float) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(value, ".15g")
    return str(value)


def calculate(arguments: dict[str, Any], _context: ToolContext) -> str:
    return format_number(evaluate(str(arguments["expression"])))


def calculator_tool() -> Tool:
    return Tool(
        name=NAME,
        title="Calculator",
        description=(
            "Evaluate an arithmetic expression exactly: numbers, + - * / // % ** and "
            "parentheses, pi, e, and sqrt, exp, log, log10, log2, sin, cos, tan, asin, "
            "acos, atan, degrees, radians, abs, round, floor, ceil, factorial."
        ),
        parameters={
            "type": "object",
            "properties": {
                "expression": {
                    "type": "string",
                    "description": "The expression, for example (2 + 3) * 4 ** 2.",
                    "maxLength": MAX_CHARS,
                }
            },
            "required": ["expression"],
            "additionalProperties": False,
        },
        handler=calculate,
        default_permission="allow",  # computes only; reads nothing of the user's
        timeout_s=2.0,
    )
