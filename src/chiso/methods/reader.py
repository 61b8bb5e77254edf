"""Reading a definition file: YAML that keeps line numbers, and the reader that walks it,
collecting every problem as one line ``<file>:<line>: <node>: <problem>``.

Shared by both kinds of definition (:mod:`chiso.methods.flatloader`,
:mod:`chiso.methods.treeloader`), below them and :mod:`chiso.methods.loader`.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import yaml

from chiso.i18n import _
from chiso.scoring.model import CONFIDENCE_ASPECTS, MARKS, Confidence


#: A worked example matches when the engine's points are within this of the written ones,
#: so an author may write points rounded to 2 decimals as the portal shows them.
EXAMPLE_TOLERANCE = 0.005


# --- YAML with line numbers ---------------------------------------------------------------


class Map(dict):
    """A YAML mapping that remembers where it and each of its keys start (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]


class Seq(list):
    line: int = 0


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml parses 3× faster
    duplicates: list[tuple[int, Any]]


def _construct_map(loader: _YamlLoader, node: yaml.MappingNode):
    mapping = Map()
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
    seq = Seq()
    seq.line = node.start_mark.line + 1
    yield seq
    seq.extend(loader.construct_object(child, deep=True) for child in node.value)


_YamlLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_YamlLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def line_of(value: Any, default: int = 1) -> int:
    return getattr(value, "line", default) or default


# --- the reader -------------------------------------------------------------------------------


class Reader:
    """Walks one parsed file, collecting problems and building the dataclasses."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[str] = []
        #: Line of each worked example, by node ("indicator 3.3", "group TTTT").
        self.example_lines: dict[str, int] = {}

    def problem(self, line: int, node: str, message: str) -> None:
        self.problems.append(f"{self.file}:{line}: {node}: {message}")

    # Field access -------------------------------------------------------------------------

    def mapping(self, value: Any, line: int, node: str, what: str) -> Map | None:
        if isinstance(value, Map):
            return value
        self.problem(line, node, _("{what} must be a mapping").format(what=what))
        return None

    def keys(self, m: Map, node: str, required: Iterable[str], optional: Iterable[str] = ()) -> None:
        required, allowed = set(required), set(required) | set(optional)
        for key in m:
            if key not in allowed:
                self.problem(m.key_lines.get(key, m.line), node, _("unknown key {key!r}").format(key=key))
        for key in sorted(required - set(m)):
            self.problem(m.line, node, _("missing key {key!r}").format(key=key))

    def at(self, m: Map, key: str) -> int:
        return m.key_lines.get(key, m.line)

    def text(self, m: Map, key: str, node: str, *, required: bool = True) -> str | None:
        value = m.get(key)
        if value is None:
            return None  # a missing required key is reported by keys()
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(self.at(m, key), node, _("{key} must be a non-empty text").format(key=key))
            return None
        return value.strip()

    def number(self, m: Map, key: str, node: str, *, minimum: float | None = None) -> float | None:
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

    def choice(self, m: Map, key: str, node: str, choices: Iterable[str]) -> str | None:
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

    def ident(self, m: Map, key: str, node: str) -> str | None:
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
        elif isinstance(value, Map):
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
        if isinstance(value, Map) and "mark" not in value:
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


def parse_yaml(text: str, reader: Reader) -> Any:
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


def seq_of(reader: Reader, m: Map, key: str, node: str) -> Seq | None:
    value = m.get(key)
    if value is None:
        return None
    if not isinstance(value, Seq):
        reader.problem(reader.at(m, key), node, _("{key} must be a list").format(key=key))
        return None
    return value



def cycle_from(start: str, reads: dict[str, frozenset[str]]) -> list[str] | None:
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


