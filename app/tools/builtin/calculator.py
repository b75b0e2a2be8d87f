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
        raise ToolError("factorial takes a whole number.")
    if not 0 <= n <= MAX_FACTORIAL:
        raise ToolError(f"factorial takes a whole number from 0 to {MAX_FACTORIAL}.")
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
        raise ToolError(f"the result has more than {MAX_BITS} bits; the calculator stops there.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("the result is too large (or not a number).")
    return value


def _power(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        # Bits of the result, bounded before anything is computed.
        if abs(base) > 1 and (abs(base).bit_length() - 1) * exponent > MAX_BITS:
            raise ToolError(
                f"{base} ** {exponent} has more than {MAX_BITS} bits; the calculator stops there."
            )
    elif isinstance(exponent, int | float) and abs(exponent) > 10_000:
        raise ToolError("the exponent is too large.")
    result = base**exponent
    if isinstance(result, complex):
        raise ToolError("the result is not a real number.")
    return result


class _Evaluator:
    def __init__(self) -> None:
        self.nodes = 0

    def eval(self, node: ast.AST) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ToolError(f"the expression has more than {MAX_NODES} parts.")
        if isinstance(node, ast.Expression):
            return self.eval(node.body)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ToolError(f"{value!r} is not a number.")
            return _check_size(value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.eval(node.left), self.eval(node.right)
            if isinstance(node.op, ast.Pow):
                return _check_size(_power(left, right))
            try:
                return _check_size(_BINARY[type(node.op)](left, right))
            except ZeroDivisionError:
                raise ToolError("division by zero.") from None
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
                raise ToolError(f"{node.func.id} cannot take these values ({exc}).") from None
        if isinstance(node, ast.BinOp):
            raise ToolError(f"the operator {type(node.op).__name__} is not allowed.")
        if isinstance(node, ast.Name):
            known = ", ".join(sorted(_CONSTANTS))
            raise ToolError(f"unknown name {node.id!r} (the known constants are {known}).")
        if isinstance(node, ast.Call):
            known = ", ".join(sorted(_FUNCTIONS))
            raise ToolError(f"only these functions can be called, with 1 or 2 values: {known}.")
        raise ToolError(f"{type(node).__name__} is not allowed in a calculation.")


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic ``expression``; ToolError says why when it has none."""
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not text:
        raise ToolError("the expression is empty.")
    if len(text) > MAX_CHARS:
        raise ToolError(f"the expression is longer than {MAX_CHARS} characters.")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        raise ToolError(f"{expression!r} is not an arithmetic expression.") from None
    try:
        value = _Evaluator().eval(tree)
    except OverflowError:
        raise ToolError("the result is too large.") from None
    except RecursionError:
        raise ToolError("the expression is nested too deeply.") from None
    if not isinstance(value, int | float):
        raise ToolError("the result is not a number.")
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
