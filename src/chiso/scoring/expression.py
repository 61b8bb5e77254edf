"""A tiny, safe evaluator for group formulas (công thức tính điểm nhóm).

Some groups of the live 766 portal are scored by one formula over several ratios, e.g.
``6 * A + min(2, 2.5 * B) + 2.5 * C``. Definition files are data that administrators edit,
so the formula is parsed with :mod:`ast` and only a whitelist is accepted: numbers, names,
``+ - * /``, unary minus, parentheses, ``min`` and ``max``. No attribute access, no other
call, no comparison: nothing that could run code.

A formula that is a sum of terms each over a single ratio (``min(2, 2 * A / 0.8) + 4 * B``)
lets every indicator report the points of its own term; see :func:`term_points`.
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass
from types import CodeType
from typing import Callable, Mapping

from chiso.errors import ChisoError
from chiso.i18n import _

MAX_LENGTH = 500

_FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max}
_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_UNARY: dict[type, Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class ExpressionError(ChisoError):
    """A formula that is not in the whitelist, or cannot be evaluated."""


@dataclass(frozen=True)
class Term:
    """One additive term of a formula: its sign, its text and the ratio names it reads."""

    sign: int
    text: str
    names: frozenset[str]
    node: ast.expr
    #: The checked node compiled once: scoring a province's units for every period
    #: evaluates formulas tens of thousands of times.
    code: CodeType | None = None


@dataclass(frozen=True)
class Formula:
    """A checked formula, ready to evaluate."""

    text: str
    names: frozenset[str]
    terms: tuple[Term, ...]
    tree: ast.Expression
    code: CodeType | None = None


def _check(node: ast.AST, text: str) -> None:
    if isinstance(node, ast.Expression):
        _check(node.body, text)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(_("{value} is not a number").format(value=repr(node.value)))
    elif isinstance(node, ast.Name):
        pass
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(_("operator in {expr} is not allowed (only + - * /)").format(expr=repr(ast.unparse(node))))
        _check(node.left, text)
        _check(node.right, text)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ExpressionError(_("operator in {expr} is not allowed (only + - * /)").format(expr=repr(ast.unparse(node))))
        _check(node.operand, text)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise ExpressionError(_("call {name} is not allowed (only min, max)").format(name=repr(ast.unparse(node.func))))
        if node.keywords or not node.args or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(_("{expr}: min and max take plain arguments").format(expr=repr(ast.unparse(node))))
        for arg in node.args:
            _check(arg, text)
    else:
        raise ExpressionError(_("{expr} is not allowed").format(expr=repr(ast.unparse(node))))


def _flatten(node: ast.expr, sign: int) -> list[tuple[int, ast.expr]]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _flatten(node.left, sign) + _flatten(node.right, sign)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
        return _flatten(node.left, sign) + _flatten(node.right, -sign)
    return [(sign, node)]


def _names(node: ast.AST) -> frozenset[str]:
    # Function names are Name nodes too, but only inside Call.func.
    calls = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in calls)


def compile_formula(text: str, *, names: set[str] | frozenset[str] | None = None) -> Formula:
    """Parse and check ``text``; with ``names``, refuse any other name."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(_("empty formula"))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(_("formula longer than {n} characters").format(n=MAX_LENGTH))
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(_("syntax error at column {column}: {reason}").format(column=exc.offset, reason=exc.msg)) from None
    _check(tree, text)
    used = _names(tree)
    if names is not None:
        unknown = sorted(used - set(names))
        if unknown:
            raise ExpressionError(_("unknown name {name}").format(name=repr(unknown[0])))
    terms = tuple(
        Term(sign=sign, text=ast.unparse(node), names=_names(node), node=node, code=_compile(node))
        for sign, node in _flatten(tree.body, 1)
    )
    return Formula(text=text.strip(), names=used, terms=terms, tree=tree, code=_compile(tree.body))


def _compile(node: ast.expr) -> CodeType:
    # Only after _check: the node holds numbers, names, + - * /, min and max, nothing else.
    return compile(ast.fix_missing_locations(ast.Expression(body=node)), "<formula>", "eval")


_SAFE_GLOBALS = {"__builtins__": {}, **_FUNCTIONS}


def _run(code: CodeType, node: ast.AST, values: Mapping[str, float]) -> float:
    try:
        return float(eval(code, _SAFE_GLOBALS, {k: float(v) for k, v in values.items()}))  # noqa: S307
    except NameError:
        missing = sorted(_names(node) - set(values))
        raise ExpressionError(_("no value for {name}").format(name=repr(missing[0] if missing else "?"))) from None
    except ZeroDivisionError:
        raise ExpressionError(_("division by zero in {expr}").format(expr=repr(ast.unparse(node)))) from None


def _eval(node: ast.AST, values: Mapping[str, float]) -> float:
    if isinstance(node, ast.Expression):
        return _eval(node.body, values)
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, (int, float))  # the parser admits numbers only
        return float(node.value)
    if isinstance(node, ast.Name):
        try:
            return float(values[node.id])
        except KeyError:
            raise ExpressionError(_("no value for {name}").format(name=repr(node.id))) from None
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, values), _eval(node.right, values)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ExpressionError(_("division by zero in {expr}").format(expr=repr(ast.unparse(node))))
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, values))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _FUNCTIONS[node.func.id](*(_eval(a, values) for a in node.args))
    raise ExpressionError(_("{expr} is not allowed").format(expr=repr(ast.unparse(node))))  # unreachable after _check


def evaluate(formula: Formula, values: Mapping[str, float]) -> float:
    """The value of ``formula`` with each name bound to ``values[name]``."""
    result = _run(formula.code, formula.tree, values) if formula.code else _eval(formula.tree, values)
    if not math.isfinite(result):
        raise ExpressionError(_("{expr} is not finite").format(expr=repr(formula.text)))
    return result


def term_points(formula: Formula, names: set[str] | frozenset[str], values: Mapping[str, float]) -> float | None:
    """The part of ``formula`` attributable to ``names``: the sum of the terms that read
    only those names (and at least one). ``None`` when no term is theirs alone, e.g. a
    term mixing two ratios, where no honest split exists."""
    own = [t for t in formula.terms if t.names and t.names <= set(names)]
    if not own:
        return None
    return sum(t.sign * (_run(t.code, t.node, values) if t.code else _eval(t.node, values)) for t in own)
