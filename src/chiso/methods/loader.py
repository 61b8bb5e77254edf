"""Reading and validating method definition files (tệp định nghĩa phương pháp).

A definition file is YAML; :func:`validate` returns every problem it finds, each as one
line ``<file>:<line>: <node>: <problem>`` (the node is e.g. ``indicator 3.3`` or ``measure
dossiers_received``), and :func:`load` refuses a file with any problem. Checks: the schema
(unknown or missing keys, types), duplicate ids and keys, a group's maximum against its
indicators' (unless its points come from a formula), measure names, rule types and their
parameters, every measure's SQL per its basis (see :mod:`chiso.methods.sqlcheck`: no period
parameter where the basis places records in periods itself), ``on_time`` rules (settlement
measures only, both parts), derived measures (names of measures, no cycle, a value for any
inputs), group formulas (see :mod:`chiso.scoring.expression`), a note on every ``?``
confidence mark, band coverage of 0–100, and every worked example against the scoring
engine.

Two kinds of file share this reader and its line numbers: ``flat`` (the default: groups
of indicators over measures, the 766 index) and ``kind: tree`` (criteria trees of the
assessed indexes), which :mod:`chiso.methods.treeloader` reads.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable

import yaml

from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.methods import sqlcheck
from chiso.methods.model import (
    BASES,
    BASIS_NAMES,
    DERIVED,
    DISTINCT_BASES,
    ON_TIME_BASIS,
    CONFIDENCE_ASPECTS,
    KINDS,
    LEVELS,
    MARKS,
    OUTSIDE_SCOPE,
    RATE_UNITS,
    RULE_TYPES,
    ZERO_DENOMINATOR,
    Band,
    Confidence,
    Example,
    Group,
    GroupExample,
    Indicator,
    LegalBasis,
    Measure,
    Method,
    Rule,
    Source,
    TreeMethod,
)
from chiso.scoring.expression import ExpressionError, compile_formula, evaluate

__all__ = [
    "DEFINITIONS", "AnyMethod", "DefinitionError", "Band", "Confidence", "Group", "Indicator", "Measure", "Method",
    "TreeMethod", "default_method", "file_kind", "load", "load_shipped", "shipped", "validate",
]

DEFINITIONS = Path(__file__).parent / "definitions"

#: A worked example matches when the engine's points are within this of the written ones,
#: so an author may write points rounded to 2 decimals as the portal shows them.
EXAMPLE_TOLERANCE = 0.005


class DefinitionError(ChisoError):
    """A definition file with problems; ``problems`` lists them all, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = len(problems) - 1
        message = problems[0] if problems else _("invalid definition")
        if more > 0:
            message += " " + _("(and {n} more problems: run `chiso methods validate`)").format(n=more)
        super().__init__(message)


# --- YAML with line numbers ---------------------------------------------------------------


class _Map(dict):
    """A YAML mapping that remembers where it and each of its keys start (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]


class _Seq(list):
    line: int = 0


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml parses 10× faster
    duplicates: list[tuple[int, Any]]


def _construct_map(loader: _YamlLoader, node: yaml.MappingNode):
    mapping = _Map()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    yield mapping
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            loader.duplicates.append((line, f"unhashable key {key!r}"))
            continue
        if key in mapping:
            # PyYAML would silently keep the last one: a duplicated measure or id must not
            # disappear without a word.
            loader.duplicates.append((line, key))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line


def _construct_seq(loader: _YamlLoader, node: yaml.SequenceNode):
    seq = _Seq()
    seq.line = node.start_mark.line + 1
    yield seq
    seq.extend(loader.construct_object(child, deep=True) for child in node.value)


_YamlLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_YamlLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _line(value: Any, default: int = 1) -> int:
    return getattr(value, "line", default) or default


# --- the reader -------------------------------------------------------------------------------


class _Reader:
    """Walks one parsed file, collecting problems and building the dataclasses."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[str] = []
        #: Line of each worked example, by node ("indicator 3.3", "group TTTT").
        self.example_lines: dict[str, int] = {}

    def problem(self, line: int, node: str, message: str) -> None:
        self.problems.append(f"{self.file}:{line}: {node}: {message}")

    # Field access -------------------------------------------------------------------------

    def mapping(self, value: Any, line: int, node: str, what: str) -> _Map | None:
        if isinstance(value, _Map):
            return value
        self.problem(line, node, _("{what} must be a mapping").format(what=what))
        return None

    def keys(self, m: _Map, node: str, required: Iterable[str], optional: Iterable[str] = ()) -> None:
        required, allowed = set(required), set(required) | set(optional)
        for key in m:
            if key not in allowed:
                self.problem(m.key_lines.get(key, m.line), node, _("unknown key {key!r}").format(key=key))
        for key in sorted(required - set(m)):
            self.problem(m.line, node, _("missing key {key!r}").format(key=key))

    def at(self, m: _Map, key: str) -> int:
        return m.key_lines.get(key, m.line)

    def text(self, m: _Map, key: str, node: str, *, required: bool = True) -> str | None:
        value = m.get(key)
        if value is None:
            return None  # a missing required key is reported by keys()
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(self.at(m, key), node, _("{key} must be a non-empty text").format(key=key))
            return None
        return value.strip()

    def number(self, m: _Map, key: str, node: str, *, minimum: float | None = None) -> float | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.problem(self.at(m, key), node, _("{key} must be a number, not {value!r}").format(key=key, value=value))
            return None
        if minimum is not None and value < minimum:
            self.problem(self.at(m, key), node, _("{key} must be at least {min}").format(key=key, min=minimum))
            return None
        return float(value)

    def choice(self, m: _Map, key: str, node: str, choices: Iterable[str]) -> str | None:
        value = m.get(key)
        if value is None:
            return None
        if value not in tuple(choices):
            self.problem(
                self.at(m, key), node,
                _("{key} {value!r} is not one of {choices}").format(key=key, value=value, choices=", ".join(choices)),
            )
            return None
        return value

    def ident(self, m: _Map, key: str, node: str) -> str | None:
        value = m.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            # YAML reads 1.10 as the number 1.1: ids must be quoted to stay what was written.
            self.problem(self.at(m, key), node, _("{key} must be a quoted text, not {value!r}").format(key=key, value=value))
            return None
        return value.strip()

    def confidence(self, value: Any, line: int, node: str) -> Confidence | None:
        if isinstance(value, str):
            mark, note = value.strip(), ""
        elif isinstance(value, _Map):
            self.keys(value, node, ("mark",), ("note",))
            mark, note = value.get("mark"), value.get("note") or ""
            line = value.line
            if not isinstance(note, str):
                self.problem(line, node, _("a confidence note must be a text"))
                note = ""
        else:
            self.problem(line, node, _("confidence must be a mark (V, S or ?) or {mark, note}"))
            return None
        if mark not in MARKS:
            self.problem(line, node, _("confidence mark {mark!r} is not one of V, S, ?").format(mark=mark))
            return None
        if mark == "?" and not note.strip():
            self.problem(line, node, _("an unconfirmed element [?] needs a note saying what is assumed"))
        return Confidence(mark, note.strip())

    def indicator_confidence(self, value: Any, line: int, node: str) -> dict[str, Confidence]:
        # One mark for the whole indicator, or one per aspect (rule, scope, ...).
        if isinstance(value, _Map) and "mark" not in value:
            out: dict[str, Confidence] = {}
            for aspect, item in value.items():
                if aspect not in CONFIDENCE_ASPECTS:
                    self.problem(value.key_lines.get(aspect, value.line), node,
                                 _("unknown confidence aspect {aspect!r}").format(aspect=aspect))
                    continue
                conf = self.confidence(item, value.key_lines.get(aspect, value.line), f"{node} confidence.{aspect}")
                if conf:
                    out[aspect] = conf
            if "definition" not in value:
                self.problem(value.line, node, _("confidence needs at least a 'definition' mark"))
            return out
        conf = self.confidence(value, line, node)
        return {"definition": conf} if conf else {}


def _parse_yaml(text: str, reader: _Reader) -> Any:
    loader = _YamlLoader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        reader.problem(line, "file", _("not valid YAML: {reason}").format(reason=reason))
        return None
    finally:
        loader.dispose()
    for line, key in loader.duplicates:
        reader.problem(line, "file", _("duplicate key {key!r}").format(key=key))
    return data


# --- building ---------------------------------------------------------------------------------

_TOP_REQUIRED = (
    "id", "family", "version", "default", "name", "name_en", "legal_basis", "sources", "confidence",
    "levels", "parameters", "bands", "measures", "groups",
)
_TOP_OPTIONAL = ("kind", "effective_from", "notes")
_INDICATOR_REQUIRED = (
    "id", "name", "name_en", "max", "scope", "numerator", "denominator", "rule", "zero_denominator",
    "formula", "confidence", "example",
)
_INDICATOR_OPTIONAL = ("outside_scope", "rate_unit")


def _header(reader: _Reader, top: _Map, required: Iterable[str], optional: Iterable[str]) -> tuple[str, dict[str, Any]]:
    """What every kind of definition starts with: identity, names, legal basis, sources,
    confidence, notes and levels. Returns the node name for problems and the fields."""
    method_id = reader.ident(top, "id", "method") or "?"
    node = f"method {method_id}"
    reader.keys(top, node, required, optional)
    family = reader.ident(top, "family", node)
    version = reader.ident(top, "version", node)
    default = top.get("default")
    if "default" in top and not isinstance(default, bool):
        reader.problem(reader.at(top, "default"), node, _("default must be true or false"))
    name = reader.text(top, "name", node)
    name_en = reader.text(top, "name_en", node)
    effective = top.get("effective_from")
    if effective is not None and not isinstance(effective, date):
        reader.problem(reader.at(top, "effective_from"), node, _("effective_from must be a date YYYY-MM-DD"))
        effective = None
    confidence = reader.confidence(top.get("confidence"), reader.at(top, "confidence"), node) if "confidence" in top else None
    notes = tuple(
        c for i, item in enumerate(_seq(reader, top, "notes", node) or [])
        if (c := reader.confidence(item, _line(item, reader.at(top, "notes")), f"{node} notes[{i}]"))
    )
    legal = _legal_basis(reader, top, node)
    sources = _sources(reader, top, node)

    levels: tuple[str, ...] = ()
    raw_levels = _seq(reader, top, "levels", node)
    if raw_levels is not None:
        bad = [lv for lv in raw_levels if lv not in LEVELS]
        if bad or not raw_levels:
            reader.problem(reader.at(top, "levels"), node,
                           _("levels must be a list drawn from {levels}").format(levels=", ".join(LEVELS)))
        levels = tuple(lv for lv in raw_levels if lv in LEVELS)
    return node, {
        "id": method_id, "family": family or "", "version": version or "", "default": bool(default),
        "name": name or "", "name_en": name_en or "", "legal_basis": legal, "sources": sources,
        "confidence": confidence or Confidence("?", ""), "levels": levels, "notes": notes, "effective_from": effective,
    }


def _read(reader: _Reader, data: Any) -> Method | TreeMethod | None:
    top = reader.mapping(data, 1, "file", _("the file"))
    if top is None:
        return None
    kind = top.get("kind", "flat")
    if kind == "tree":
        from chiso.methods import treeloader

        return treeloader.read(reader, top)
    if kind != "flat":
        reader.problem(reader.at(top, "kind"), "file",
                       _("kind {kind!r} is not one of {kinds}").format(kind=kind, kinds=", ".join(KINDS)))
        return None
    node, head = _header(reader, top, _TOP_REQUIRED, _TOP_OPTIONAL)
    levels = head["levels"]

    outside_scope, rate_rounding = "full", None
    params = top.get("parameters")
    if "parameters" in top and (pm := reader.mapping(params, reader.at(top, "parameters"), node, "parameters")):
        reader.keys(pm, f"{node} parameters", ("outside_scope",), ("rate_rounding",))
        outside_scope = reader.choice(pm, "outside_scope", f"{node} parameters", OUTSIDE_SCOPE) or "full"
        rr = pm.get("rate_rounding")
        if rr is not None and (isinstance(rr, bool) or not isinstance(rr, int) or rr < 0):
            reader.problem(reader.at(pm, "rate_rounding"), f"{node} parameters",
                           _("rate_rounding must be null or a number of decimals (e.g. 2)"))
        else:
            rate_rounding = rr

    bands = _bands(reader, top, node)
    measures = _measures(reader, top, node)
    groups, sound = _groups(reader, top, node, measures, levels)

    method = Method(
        **head, outside_scope=outside_scope, rate_rounding=rate_rounding, bands=bands,
        measures=MappingProxyType({m.name: m for m in measures.values()}), groups=groups,
    )
    _check_usage(reader, top, node, method)
    _check_examples(reader, method, sound)
    return method


def _seq(reader: _Reader, m: _Map, key: str, node: str) -> _Seq | None:
    value = m.get(key)
    if value is None:
        return None
    if not isinstance(value, _Seq):
        reader.problem(reader.at(m, key), node, _("{key} must be a list").format(key=key))
        return None
    return value


def _legal_basis(reader: _Reader, top: _Map, node: str) -> tuple[LegalBasis, ...]:
    out = []
    for i, item in enumerate(_seq(reader, top, "legal_basis", node) or []):
        where = f"{node} legal_basis[{i}]"
        m = reader.mapping(item, reader.at(top, "legal_basis"), where, "legal_basis")
        if m is None:
            continue
        reader.keys(m, where, ("document", "title", "title_en", "confidence"), ("date",))
        conf = reader.confidence(m.get("confidence"), reader.at(m, "confidence"), where) if "confidence" in m else None
        d = m.get("date")
        if d is not None and not isinstance(d, date):
            reader.problem(reader.at(m, "date"), where, _("date must be YYYY-MM-DD"))
            d = None
        out.append(LegalBasis(
            document=reader.text(m, "document", where) or "", title=reader.text(m, "title", where) or "",
            title_en=reader.text(m, "title_en", where) or "", confidence=conf or Confidence("?", ""), date=d,
        ))
    if "legal_basis" in top and not out:
        reader.problem(reader.at(top, "legal_basis"), node, _("legal_basis must list at least one document"))
    return tuple(out)


def _sources(reader: _Reader, top: _Map, node: str) -> tuple[Source, ...]:
    out = []
    for i, item in enumerate(_seq(reader, top, "sources", node) or []):
        where = f"{node} sources[{i}]"
        m = reader.mapping(item, reader.at(top, "sources"), where, "a source")
        if m is None:
            continue
        reader.keys(m, where, ("title",), ("url", "note"))
        out.append(Source(title=reader.text(m, "title", where) or "", url=reader.text(m, "url", where, required=False),
                          note=reader.text(m, "note", where, required=False) or ""))
    return tuple(out)


def _bands(reader: _Reader, top: _Map, node: str) -> tuple[Band, ...]:
    out: list[Band] = []
    seen: set[str] = set()
    items = _seq(reader, top, "bands", node)
    for item in items or []:
        m = reader.mapping(item, reader.at(top, "bands"), f"{node} bands", "a band")
        if m is None:
            continue
        band_id = reader.ident(m, "id", f"{node} bands") or "?"
        where = f"band {band_id}"
        reader.keys(m, where, ("id", "name", "name_en", "min", "max", "confidence"))
        if band_id in seen:
            reader.problem(m.line, where, _("duplicate band id {id!r}").format(id=band_id))
        seen.add(band_id)
        lo, hi = reader.number(m, "min", where), reader.number(m, "max", where)
        conf = reader.confidence(m.get("confidence"), reader.at(m, "confidence"), where) if "confidence" in m else None
        if lo is not None and hi is not None and lo >= hi:
            reader.problem(m.line, where, _("min must be below max"))
        out.append(Band(band_id, reader.text(m, "name", where) or "", reader.text(m, "name_en", where) or "",
                        lo if lo is not None else 0.0, hi if hi is not None else 0.0, conf or Confidence("?", "")))
    ordered = sorted(out, key=lambda b: b.min)
    if items is not None and ordered:
        # Bands must tile 0–100 so that every total has exactly one band.
        line = reader.at(top, "bands")
        if ordered[0].min != 0 or ordered[-1].max != 100:
            reader.problem(line, f"{node} bands", _("bands must cover 0 to 100"))
        for a, b in zip(ordered, ordered[1:]):
            if a.max != b.min:
                reader.problem(line, f"{node} bands",
                               _("bands {a} and {b} leave a gap or overlap").format(a=a.id, b=b.id))
    elif items is not None:
        reader.problem(reader.at(top, "bands"), f"{node} bands", _("at least one band is needed"))
    return tuple(ordered)


_MEASURE_REQUIRED = ("basis", "description", "description_en")
_RECORD_KEYS = ("where", "sum", "distinct", "on_time")


def _measures(reader: _Reader, top: _Map, node: str) -> dict[str, Measure]:
    out: dict[str, Measure] = {}
    raw = top.get("measures")
    if raw is None:
        return out
    m_all = reader.mapping(raw, reader.at(top, "measures"), node, "measures")
    if m_all is None:
        return out
    derived: dict[str, _Map] = {}
    for name, item in m_all.items():
        where_node = f"measure {name}"
        line = m_all.key_lines.get(name, m_all.line)
        if not isinstance(name, str) or not name.isidentifier():
            reader.problem(line, where_node, _("a measure name must be a plain identifier (letters, digits, _)"))
            continue
        m = reader.mapping(item, line, where_node, "a measure")
        if m is None:
            continue
        basis = reader.choice(m, "basis", where_node, BASIS_NAMES)
        conf = reader.confidence(m["confidence"], reader.at(m, "confidence"), where_node) if "confidence" in m else None
        description = reader.text(m, "description", where_node) or ""
        description_en = reader.text(m, "description_en", where_node) or ""
        if basis == DERIVED:
            reader.keys(m, where_node, (*_MEASURE_REQUIRED, "expression"), ("confidence", *_RECORD_KEYS))
            for key in _RECORD_KEYS:
                if key in m:
                    reader.problem(reader.at(m, key), where_node,
                                   _("a derived measure is computed from other measures: it has no {key}").format(key=key))
            expression = reader.text(m, "expression", where_node)
            if expression is not None:
                derived[name] = m
            out[name] = Measure(
                name=name, basis=basis, where="", description=description, description_en=description_en,
                confidence=conf, expression=expression,
            )
            continue
        if basis is None:
            # Unknown or missing basis (reported): check the keys without knowing which apply.
            reader.keys(m, where_node, _MEASURE_REQUIRED, ("confidence", "expression", *_RECORD_KEYS))
            continue
        reader.keys(m, where_node, (*_MEASURE_REQUIRED, "where"), ("sum", "distinct", "on_time", "confidence", "expression"))
        if "expression" in m:
            reader.problem(reader.at(m, "expression"), where_node,
                           _("expression is only for a measure of basis {basis}").format(basis=DERIVED))
        where = m.get("where")
        if "where" in m:
            for p in sqlcheck.check_measure(where, basis, boolean=True):
                reader.problem(reader.at(m, "where"), where_node, _("where: {problem}").format(problem=p))
        total = m.get("sum")
        if "sum" in m:
            for p in sqlcheck.check_measure(total, basis, boolean=False):
                reader.problem(reader.at(m, "sum"), where_node, _("sum: {problem}").format(problem=p))
        distinct = m.get("distinct")
        if "distinct" in m:
            if basis not in DISTINCT_BASES:
                reader.problem(reader.at(m, "distinct"), where_node,
                               _("distinct is only supported on basis {bases}, not {basis}").format(
                                   bases=", ".join(DISTINCT_BASES), basis=basis))
            elif not isinstance(distinct, str) or distinct not in BASES[basis]:
                reader.problem(reader.at(m, "distinct"), where_node,
                               _("distinct: {value!r} is not a column of basis {basis}").format(value=distinct, basis=basis))
        if "sum" in m and "distinct" in m:
            reader.problem(m.line, where_node, _("a measure is a count, a sum or a distinct count: not several"))
        finished, open_until = _on_time(reader, m, where_node, basis)
        out[name] = Measure(
            name=name, basis=basis, where=where if isinstance(where, str) else "",
            description=description, description_en=description_en,
            sum=total if isinstance(total, str) else None, distinct=distinct if isinstance(distinct, str) else None,
            confidence=conf, on_time_finished=finished, on_time_open_until=open_until,
        )
    _check_derived(reader, m_all, derived)
    return out


def _on_time(reader: _Reader, m: _Map, where_node: str, basis: str) -> tuple[str | None, str | None]:
    """The ``on_time`` rule of a settlement measure: (finished, open_until), each checked."""
    if "on_time" not in m:
        return None, None
    if basis != ON_TIME_BASIS:
        reader.problem(reader.at(m, "on_time"), where_node,
                       _("on_time is only allowed on basis {allowed}, not {basis}").format(allowed=ON_TIME_BASIS, basis=basis))
        return None, None
    om = reader.mapping(m["on_time"], reader.at(m, "on_time"), where_node, "on_time")
    if om is None:
        return None, None
    node = f"{where_node} on_time"
    reader.keys(om, node, ("finished", "open_until"))
    parts: dict[str, str | None] = {}
    for key, boolean in (("finished", True), ("open_until", False)):
        if key not in om:
            parts[key] = None
            continue
        for p in sqlcheck.check_measure(om[key], basis, boolean=boolean):
            reader.problem(reader.at(om, key), node, _("{key}: {problem}").format(key=key, problem=p))
        parts[key] = om[key].strip() if isinstance(om[key], str) else None
    if parts["finished"] is None or parts["open_until"] is None:
        return None, None
    return parts["finished"], parts["open_until"]


def _check_derived(reader: _Reader, m_all: _Map, derived: dict[str, _Map]) -> None:
    """Derived measures read measures of this file, without a cycle, and have a value for
    any values of those (the evaluator cannot leave a unit without one)."""
    names = {n for n in m_all if isinstance(n, str) and n.isidentifier()}
    reads: dict[str, frozenset[str]] = {}
    for name, m in derived.items():
        try:
            formula = compile_formula(m["expression"], names=names)
        except ExpressionError as exc:
            reader.problem(reader.at(m, "expression"), f"measure {name}", _("expression: {reason}").format(reason=exc))
            continue
        reads[name] = formula.names
        for probe in (0.0, 1.0):
            try:
                evaluate(formula, {n: probe for n in formula.names})
            except ExpressionError as exc:
                reader.problem(reader.at(m, "expression"), f"measure {name}",
                               _("expression: {reason}: a derived measure needs a value whatever the measures it reads, "
                                 "0 included").format(reason=exc))
                break
    for name in reads:
        cycle = _cycle_from(name, reads)
        if cycle:
            reader.problem(reader.at(derived[name], "expression"), f"measure {name}",
                           _("expression: derived measures read each other in a cycle: {cycle}").format(
                               cycle=" → ".join(cycle)))


def _cycle_from(start: str, reads: dict[str, frozenset[str]]) -> list[str] | None:
    """A path start → ... → start through the derived measures, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for nxt in sorted(reads.get(name, ())):
            if nxt == start:
                return path + [start]
            if nxt in reads and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def _groups(
    reader: _Reader, top: _Map, node: str, measures: dict[str, Measure], levels: tuple[str, ...]
) -> tuple[tuple[Group, ...], set[str]]:
    """The groups, and the ids of indicators (and formula groups) sound enough to check
    their worked examples."""
    groups: list[Group] = []
    sound: set[str] = set()
    group_ids: set[str] = set()
    indicator_ids: set[str] = set()
    for item in _seq(reader, top, "groups", node) or []:
        gm = reader.mapping(item, reader.at(top, "groups"), f"{node} groups", "a group")
        if gm is None:
            continue
        gid = reader.ident(gm, "id", f"{node} groups") or "?"
        gnode = f"group {gid}"
        before = len(reader.problems)
        reader.keys(gm, gnode, ("id", "name", "name_en", "max", "confidence", "indicators"), ("rule", "example"))
        if gid in group_ids:
            reader.problem(gm.line, gnode, _("duplicate group id {id!r}").format(id=gid))
        group_ids.add(gid)
        gmax = reader.number(gm, "max", gnode, minimum=0)
        gconf = reader.confidence(gm.get("confidence"), reader.at(gm, "confidence"), gnode) if "confidence" in gm else None
        rule = _group_rule(reader, gm, gnode)

        indicators: list[Indicator] = []
        for raw in _seq(reader, gm, "indicators", gnode) or []:
            ind, ok = _indicator(reader, raw, gm, gid, measures, levels)
            if ind is None:
                continue
            if ind.id in indicator_ids:
                reader.problem(_line(raw, gm.line), f"indicator {ind.id}", _("duplicate indicator id {id!r}").format(id=ind.id))
                ok = False
            indicator_ids.add(ind.id)
            indicators.append(ind)
            if ok:
                sound.add(ind.id)

        formula_ok = rule is not None and _check_formula_group(reader, gm, gnode, rule, indicators, gmax)
        if rule is None:
            for ind in indicators:
                if ind.rule.type == "term":
                    reader.problem(gm.line, f"indicator {ind.id}",
                                   _("rule 'term' is only for indicators of a group with a formula rule"))
                    sound.discard(ind.id)
            total = sum(i.max for i in indicators)
            if gmax is not None and abs(total - gmax) > 1e-9:
                reader.problem(reader.at(gm, "max"), gnode,
                               _("max is {max:g} but its indicators add up to {total:g}").format(max=gmax, total=total))
        elif not formula_ok:
            sound.difference_update(i.id for i in indicators)

        example = _group_example(reader, gm, gnode, rule)
        if formula_ok and len(reader.problems) == before:
            sound.add(gid)
        groups.append(Group(
            id=gid, name=reader.text(gm, "name", gnode) or "", name_en=reader.text(gm, "name_en", gnode) or "",
            max=gmax if gmax is not None else 0.0, indicators=tuple(indicators),
            confidence=gconf or Confidence("?", ""), rule=rule, example=example,
        ))
    if "groups" in top and not groups:
        reader.problem(reader.at(top, "groups"), node, _("at least one group is needed"))
    return tuple(groups), sound


def _group_rule(reader: _Reader, gm: _Map, gnode: str) -> Rule | None:
    if "rule" not in gm:
        return None
    rm = reader.mapping(gm["rule"], reader.at(gm, "rule"), gnode, "rule")
    if rm is None:
        return None
    if rm.get("type") != "formula":
        reader.problem(reader.at(rm, "type"), gnode,
                       _("unknown group rule type {type!r}: a group rule is {{type: formula, ...}}").format(type=rm.get("type")))
        return None
    reader.keys(rm, gnode, ("type", "expression", "ratios"))
    expression = reader.text(rm, "expression", gnode)
    ratios: dict[str, str] = {}
    rmap = rm.get("ratios")
    if "ratios" in rm and (rr := reader.mapping(rmap, reader.at(rm, "ratios"), gnode, "ratios")):
        for name, target in rr.items():
            if not isinstance(name, str) or not name.isidentifier() or not isinstance(target, str):
                reader.problem(rr.key_lines.get(name, rr.line), gnode,
                               _("ratio {name!r}: write NAME: \"<indicator id>\"").format(name=name))
                continue
            ratios[name] = target
    return Rule(type="formula", expression=expression, ratios=MappingProxyType(ratios))


def _check_formula_group(
    reader: _Reader, gm: _Map, gnode: str, rule: Rule, indicators: list[Indicator], gmax: float | None
) -> bool:
    rm: _Map = gm["rule"]
    ok = True
    line = reader.at(rm, "expression")
    if not rule.expression:
        return False
    try:
        formula = compile_formula(rule.expression, names=set(rule.ratios))
    except ExpressionError as exc:
        reader.problem(line, gnode, _("formula: {reason}").format(reason=exc))
        return False
    unused = sorted(set(rule.ratios) - formula.names)
    if unused:
        reader.problem(reader.at(rm, "ratios"), gnode, _("ratio {name!r} is not used by the formula").format(name=unused[0]))
        ok = False
    by_id = {i.id: i for i in indicators}
    for name, ind_id in rule.ratios.items():
        ind = by_id.get(ind_id)
        if ind is None:
            reader.problem(reader.at(rm, "ratios"), gnode,
                           _("ratio {name}: {id!r} is not an indicator of this group").format(name=name, id=ind_id))
            ok = False
        elif ind.zero_denominator not in ("full", "zero"):
            # A formula needs a number for every ratio.
            reader.problem(reader.at(rm, "ratios"), f"indicator {ind.id}",
                           _("an indicator read by a group formula needs zero_denominator full or zero"))
            ok = False
    referenced = set(rule.ratios.values())
    for ind in indicators:
        if ind.id in referenced and ind.rule.type != "term":
            reader.problem(reader.at(gm, "indicators"), f"indicator {ind.id}",
                           _("an indicator read by its group's formula needs rule {type: term}"))
            ok = False
        if ind.id not in referenced and ind.rule.type != "info":
            reader.problem(reader.at(gm, "indicators"), f"indicator {ind.id}",
                           _("not read by its group's formula: its rule must be {type: info}"))
            ok = False
    for probe in (0.0, 0.5, 1.0):
        try:
            evaluate(formula, {n: probe for n in rule.ratios})
        except ExpressionError as exc:
            reader.problem(line, gnode, _("formula: {reason}").format(reason=exc))
            return False
    return ok


def _group_example(reader: _Reader, gm: _Map, gnode: str, rule: Rule | None) -> GroupExample | None:
    if "example" not in gm:
        return None
    em = reader.mapping(gm["example"], reader.at(gm, "example"), gnode, "example")
    if em is None:
        return None
    reader.example_lines[gnode] = reader.at(gm, "example")
    if rule is None:
        reader.problem(reader.at(gm, "example"), gnode, _("only a group with a formula rule has its own example"))
        return None
    reader.keys(em, f"{gnode} example", ("ratios", "points"))
    points = reader.number(em, "points", f"{gnode} example")
    values: dict[str, float] = {}
    rm = em.get("ratios")
    if "ratios" in em and (rr := reader.mapping(rm, reader.at(em, "ratios"), f"{gnode} example", "ratios")):
        for k in rr:
            v = reader.number(rr, k, f"{gnode} example")
            if v is not None:
                values[str(k)] = v
    if points is None:
        return None
    return GroupExample(ratios=MappingProxyType(values), points=points)


def _indicator(
    reader: _Reader, raw: Any, gm: _Map, gid: str, measures: dict[str, Measure], levels: tuple[str, ...]
) -> tuple[Indicator | None, bool]:
    m = reader.mapping(raw, reader.at(gm, "indicators"), f"group {gid}", "an indicator")
    if m is None:
        return None, False
    before = len(reader.problems)
    iid = reader.ident(m, "id", f"group {gid}") or "?"
    node = f"indicator {iid}"
    reader.keys(m, node, _INDICATOR_REQUIRED, _INDICATOR_OPTIONAL)
    maximum = reader.number(m, "max", node, minimum=0)

    scope: tuple[str, ...] = ()
    raw_scope = _seq(reader, m, "scope", node)
    if raw_scope is not None:
        bad = [s for s in raw_scope if s not in levels]
        if bad or not raw_scope:
            reader.problem(reader.at(m, "scope"), node,
                           _("scope must list levels of this method ({levels}), not {bad}").format(
                               levels=", ".join(levels), bad=", ".join(map(str, bad)) or "nothing"))
        scope = tuple(s for s in raw_scope if s in levels)

    for key in ("numerator", "denominator"):
        name = m.get(key)
        if name is not None and (not isinstance(name, str) or name not in measures):
            reader.problem(reader.at(m, key), node, _("{key}: unknown measure {name!r}").format(key=key, name=name))

    rule = Rule(type="info")
    if "rule" in m and (rm := reader.mapping(m["rule"], reader.at(m, "rule"), node, "rule")):
        rtype = rm.get("type")
        if rtype not in RULE_TYPES:
            reader.problem(reader.at(rm, "type"), node,
                           _("unknown rule type {type!r}: use one of {types}").format(type=rtype, types=", ".join(RULE_TYPES)))
        else:
            reader.keys(rm, node, ("type",), ("target",) if rtype == "target" else ())
            target = None
            if rtype == "target":
                target = reader.number(rm, "target", node)
                if "target" not in rm:
                    reader.problem(rm.line, node, _("a target rule needs a target, e.g. 0.8"))
                elif target is not None and not 0 < target <= 1:
                    reader.problem(reader.at(rm, "target"), node, _("target must be a fraction above 0 and at most 1"))
                    target = None
            rule = Rule(type=rtype, target=target)
            if maximum is not None:
                if rtype == "info" and maximum != 0:
                    reader.problem(reader.at(m, "max"), node, _("an info indicator has max 0"))
                if rtype in ("linear", "target") and maximum == 0:
                    reader.problem(reader.at(m, "max"), node, _("a scored indicator needs max above 0 (or rule info)"))

    zero = reader.choice(m, "zero_denominator", node, ZERO_DENOMINATOR)
    outside = reader.choice(m, "outside_scope", node, OUTSIDE_SCOPE) if "outside_scope" in m else None
    rate_unit = reader.choice(m, "rate_unit", node, RATE_UNITS) if "rate_unit" in m else "fraction"
    if rate_unit == "days" and rule.type != "info":
        reader.problem(reader.at(m, "rate_unit"), node, _("only an info indicator may have a rate in days"))

    fvi = fen = ""
    if "formula" in m and (fm := reader.mapping(m["formula"], reader.at(m, "formula"), node, "formula")):
        reader.keys(fm, f"{node} formula", ("vi", "en"))
        fvi, fen = reader.text(fm, "vi", node) or "", reader.text(fm, "en", node) or ""

    conf = reader.indicator_confidence(m.get("confidence"), reader.at(m, "confidence"), node) if "confidence" in m else {}

    example = None
    if "example" in m and (em := reader.mapping(m["example"], reader.at(m, "example"), node, "example")):
        reader.example_lines[node] = reader.at(m, "example")
        reader.keys(em, f"{node} example", ("numerator", "denominator", "points"))
        n, d, p = (reader.number(em, k, f"{node} example", minimum=None) for k in ("numerator", "denominator", "points"))
        if d is not None and d < 0:
            reader.problem(reader.at(em, "denominator"), f"{node} example", _("denominator must not be negative"))
        if None not in (n, d, p):
            example = Example(numerator=n, denominator=d, points=p)  # type: ignore[arg-type]

    ok = len(reader.problems) == before and example is not None and zero is not None
    ind = Indicator(
        id=iid, group=gid, name=reader.text(m, "name", node) or "", name_en=reader.text(m, "name_en", node) or "",
        max=maximum if maximum is not None else 0.0, scope=scope,
        numerator=m.get("numerator") if isinstance(m.get("numerator"), str) else "",
        denominator=m.get("denominator") if isinstance(m.get("denominator"), str) else "",
        rule=rule, zero_denominator=zero or "not_applicable", formula_vi=fvi, formula_en=fen,
        confidence=MappingProxyType(conf), example=example or Example(0, 0, 0),
        outside_scope=outside, rate_unit=rate_unit or "fraction",
    )
    return ind, ok


def _check_usage(reader: _Reader, top: _Map, node: str, method: Method) -> None:
    used = {n for i in method.indicators for n in (i.numerator, i.denominator)}
    for m in method.measures.values():
        if m.expression:
            try:
                used |= compile_formula(m.expression).names
            except ExpressionError:
                pass  # reported with the measure
    mm = top.get("measures")
    lines = mm.key_lines if isinstance(mm, _Map) else {}
    for name in method.measures:
        if name not in used:
            reader.problem(lines.get(name, 1), f"measure {name}", _("not used by any indicator"))


def _check_examples(reader: _Reader, method: Method, sound: set[str]) -> None:
    from chiso.scoring.rules import example_points, group_formula_points

    for group in method.groups:
        if group.is_formula and group.example and group.id in sound:
            try:
                points, _raw = group_formula_points(group, group.example.ratios)
            except ExpressionError as exc:
                reader.problem(reader.example_lines.get(f"group {group.id}", 1), f"group {group.id}", _("example: {reason}").format(reason=exc))
            else:
                if abs(points - group.example.points) > EXAMPLE_TOLERANCE:
                    reader.problem(reader.example_lines.get(f"group {group.id}", 1), f"group {group.id}", _("example gives {got} points, not {want:g}").format(
                        got=f"{points:.4g}", want=group.example.points))
        for ind in group.indicators:
            if ind.id not in sound or (group.is_formula and group.id not in sound):
                continue
            ex = ind.example
            got = example_points(method, ind, ex.numerator, ex.denominator)
            want = ex.points
            if got is None or abs(got - want) > EXAMPLE_TOLERANCE:
                reader.problem(reader.example_lines.get(f"indicator {ind.id}", 1), f"indicator {ind.id}", _("example gives {got} points, not {want:g}").format(
                    got="no" if got is None else f"{got:.4g}", want=want))


# --- public API ------------------------------------------------------------------------------


AnyMethod = Method | TreeMethod


def _parse(path: Path) -> tuple[AnyMethod | None, list[str]]:
    reader = _Reader(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{path}:1: file: " + _("cannot read: {reason}").format(reason=exc)]
    data = _parse_yaml(text, reader)
    method = _read(reader, data) if data is not None or not reader.problems else None
    if method is not None:
        method = replace(method, path=str(path))
    return method, reader.problems


def validate(path: str | Path) -> list[str]:
    """Every problem of a definition file of either kind, one line each (empty when it is valid)."""
    return _parse(Path(path))[1]


_KIND_LINE = re.compile(r"^kind:\s*[\"']?(\w+)", re.MULTILINE)


def file_kind(path: str | Path) -> str:
    """The kind a definition file declares (``kind:`` at the top; ``flat`` without one),
    read without parsing the whole file."""
    match = _KIND_LINE.search(Path(path).read_text(encoding="utf-8"))
    return match.group(1) if match else "flat"


def shipped(kind: str | None = "flat") -> list[Path]:
    """The definition files shipped with chiso, sorted by name: the flat ones (the 766
    index) by default, the ``tree`` ones (assessed indexes), or every one with ``None``."""
    paths = sorted(DEFINITIONS.glob("*.yaml"))
    return paths if kind is None else [p for p in paths if file_kind(p) == kind]


#: Methods already parsed, by file, modification time and size: parsing the YAML takes
#: longer than scoring a province, and the definitions (frozen objects) rarely change.
_PARSED: dict[tuple[str, int, int], AnyMethod] = {}


def load(id_or_path: str | Path, *, kind: str | None = None) -> AnyMethod:
    """A method by the id of a shipped definition (``766-portal-2025``) or by file path:
    a :class:`Method` or a :class:`TreeMethod` as the file says. With ``kind``, a method of
    another kind is refused."""
    path = Path(id_or_path)
    if not (path.suffix in (".yaml", ".yml") or path.exists()):
        path = DEFINITIONS / f"{id_or_path}.yaml"
        if not path.exists():
            known = ", ".join(p.stem for p in shipped(kind))
            raise NotFound(_("no method {id!r}: shipped methods are {known}").format(id=str(id_or_path), known=known))
    elif not path.exists():
        raise NotFound(_("no definition file {path}").format(path=path))
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    method = _PARSED.get(key)
    if method is None:
        method, problems = _parse(path)
        if problems or method is None:
            raise DefinitionError(problems or [f"{path}:1: file: " + _("empty definition")])
        if len(_PARSED) >= 64:
            _PARSED.clear()
        _PARSED[key] = method
    if kind is not None and method.kind != kind:
        raise ChisoError(_("{id} is a {found} method; this needs a {kind} one").format(
            id=method.id, found=method.kind, kind=kind))
    return method


def load_shipped(kind: str | None = "flat") -> list[AnyMethod]:
    """Every shipped method of ``kind`` (flat by default; ``None`` for every kind)."""
    return [load(p) for p in shipped(kind)]


def default_method(family: str = "766") -> Method:
    """The shipped flat method of ``family`` marked ``default: true``."""
    for method in load_shipped():
        if method.family == family and method.default:
            return method
    raise NotFound(_("no default method for family {family!r}").format(family=family))
