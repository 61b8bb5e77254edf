"""Checking the restricted SQL of measures (đại lượng) before a store ever runs it.

A measure's ``where`` (and ``sum``, and the parts of an ``on_time`` rule) is written by
whoever maintains a definition file and later embedded as written in DuckDB queries by
:mod:`chiso.index.compute` (``CASE WHEN <where> THEN ...``). It is parsed with sqlglot's
DuckDB dialect and every node must be on a whitelist:

- columns of the measure's basis (and, for ``procedure``, the period parameters),
  unqualified;
- literals, ``TRUE``/``FALSE``/``NULL``;
- ``AND``, ``OR``, ``NOT``, comparisons (``= <> < <= > >=``, ``IS [NOT] DISTINCT FROM``,
  ``LIKE``/``ILIKE`` patterns), ``IN`` over a list, ``IS [NOT] NULL``, ``BETWEEN``;
- arithmetic ``+ - * /``, ``CASE``, ``COALESCE``, ``LEAST``, ``GREATEST``;
- date arithmetic: ``INTERVAL n DAY|HOUR|MINUTE|SECOND``, ``to_days``, ``to_hours``,
  ``to_minutes``, ``to_seconds`` (fractions of days: ``to_seconds(x * 86400)``) and
  ``epoch`` (seconds of a timestamp).

Anything else (subqueries, other functions, casts, placeholders, comments, several
statements) is refused with the offending token.

:func:`check_measure` applies the rules of a measure's basis: the columns of its table, and
the period parameters only where the basis is evaluated per period (``procedure``). The
bases that place records in periods themselves (by received day, finished day, the 2.1
settlement rule) need expressions about one record alone, which is what makes their counts
additive by day; a period parameter there is refused with a message that says so.
"""

from __future__ import annotations

from typing import Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from chiso.i18n import _
from chiso.methods.bases import BASES, PERIOD_BASES, PERIOD_PARAMETERS

_STRUCTURE = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren,
    exp.And, exp.Or, exp.Not,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.Like, exp.ILike, exp.In, exp.Is, exp.Between,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg,
    exp.Case, exp.If, exp.Coalesce, exp.Least, exp.Greatest,
    exp.Interval, exp.ToDays, exp.TimeToUnix,
)

#: Functions sqlglot does not model (it parses them as ``Anonymous``) that are allowed.
_FUNCTIONS = {"to_days", "to_hours", "to_minutes", "to_seconds", "epoch"}

_INTERVAL_UNITS = {"DAY", "DAYS", "HOUR", "HOURS", "MINUTE", "MINUTES", "SECOND", "SECONDS"}

_PREDICATES = (
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.NullSafeEQ, exp.NullSafeNEQ, exp.Like, exp.ILike, exp.In, exp.Is, exp.Between, exp.Boolean,
)

MAX_LENGTH = 4000

_DUCKDB = sqlglot.Dialect.get_or_raise("duckdb")


def _token(node: exp.Expression) -> str:
    try:
        text = node.sql(dialect="duckdb")
    except Exception:  # a node sqlglot cannot print back: name its kind instead
        text = type(node).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _node_problem(node: exp.Expression, columns: Mapping[str, str], refused: Mapping[str, str]) -> str | None:
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        if name not in _FUNCTIONS:
            return _("function {name!r} is not allowed").format(name=str(node.this))
        return None
    if isinstance(node, exp.Var):
        if isinstance(node.parent, exp.Interval) and node.name.upper() in _INTERVAL_UNITS:
            return None
        return _("{token!r} is not allowed").format(token=node.name)
    if isinstance(node, (exp.Subquery, exp.Select, exp.Exists)):
        return _("subquery {token!r} is not allowed").format(token=_token(node))
    if isinstance(node, exp.Placeholder):
        return _("placeholder {token!r} is not allowed").format(token=_token(node))
    if not isinstance(node, _STRUCTURE):
        if isinstance(node, exp.Func):
            return _("function {name!r} is not allowed").format(name=node.sql_name().lower())
        return _("{token!r} ({kind}) is not allowed").format(token=_token(node), kind=type(node).__name__)
    if isinstance(node, exp.Column):
        if node.table or node.args.get("db") or node.args.get("catalog"):
            return _("qualified column {token!r} is not allowed").format(token=_token(node))
        if node.name.lower() in refused:
            return refused[node.name.lower()]
        if node.name.lower() not in columns:
            return _("unknown column {name!r}").format(name=node.name)
    if isinstance(node, exp.In) and (node.args.get("query") or node.args.get("unnest") or node.args.get("field")):
        return _("subquery in {token!r} is not allowed: list literal values").format(token=_token(node))
    return None


def _is_boolean(node: exp.Expression, columns: Mapping[str, str]) -> bool:
    if isinstance(node, exp.Paren):
        return _is_boolean(node.this, columns)
    if isinstance(node, _PREDICATES):
        return True
    if isinstance(node, exp.Column):
        return columns.get(node.name.lower()) == "BOOLEAN"
    # CASE and COALESCE may be boolean; DuckDB checks the type when it runs.
    return isinstance(node, (exp.Case, exp.Coalesce))


def check(
    text: object, columns: Mapping[str, str], *, boolean: bool = True, refused: Mapping[str, str] | None = None
) -> list[str]:
    """Every problem of one expression (empty when it is allowed).

    ``columns`` maps allowed column and parameter names (lower case) to their SQL type.
    ``boolean`` requires a predicate (a ``where``); otherwise a value (a ``sum``).
    ``refused`` maps names (lower case) that must not be read to the problem to report.
    """
    refused = refused or {}
    if not isinstance(text, str) or not text.strip():
        return [_("empty expression")]
    if len(text) > MAX_LENGTH:
        return [_("longer than {n} characters").format(n=MAX_LENGTH)]
    try:
        tokens = _DUCKDB.tokenize(text)
        trees = [t for t in sqlglot.parse(text, read="duckdb") if t is not None]
    except SqlglotError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [_("not valid SQL: {reason}").format(reason=first)]
    # The text is embedded as written in the store's query: a statement separator or a
    # comment there could end or hide the rest of that query.
    if any(t.token_type == TokenType.SEMICOLON for t in tokens) or len(trees) != 1:
        return [_("one expression only: {token!r} is not allowed").format(token=";")]
    if any(t.comments for t in tokens):
        return [_("comment {token!r} is not allowed").format(token=next(t.comments[0] for t in tokens if t.comments).strip())]
    tree = trees[0]
    problems: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        problem = _node_problem(node, columns, refused)
        if problem:
            # One message per refused subtree: its parts add nothing.
            if problem not in problems:
                problems.append(problem)
            continue
        stack.extend(reversed(list(node.iter_expressions())))
    if not problems:
        if boolean and not _is_boolean(tree, columns):
            problems.append(_("{token!r} is not a true/false condition").format(token=_token(tree)))
        if not boolean and isinstance(tree, _PREDICATES):
            problems.append(_("{token!r} is a condition, not a number").format(token=_token(tree)))
    return problems


def columns_for(basis: str) -> Mapping[str, str]:
    """The names (lower case) an expression of a measure of ``basis`` may read, with their
    SQL types: the columns of its table, and the period parameters for a basis evaluated
    per period."""
    columns = dict(BASES[basis])
    if basis in PERIOD_BASES:
        columns.update(PERIOD_PARAMETERS)
    return columns


def check_measure(text: object, basis: str, *, boolean: bool = True) -> list[str]:
    """Every problem of one expression of a measure of ``basis`` (a basis of
    :data:`~chiso.methods.bases.BASES`): its ``where``, ``sum`` or ``on_time`` parts."""
    refused: dict[str, str] = {}
    if basis not in PERIOD_BASES:
        refused = {
            name: _(
                "{name!r} is not allowed in a {basis} measure: the basis places each record in a period itself, "
                "so the expression must be about one record alone"
            ).format(name=name, basis=basis)
            for name in PERIOD_PARAMETERS
        }
    return check(text, columns_for(basis), boolean=boolean, refused=refused)
