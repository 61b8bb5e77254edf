"""Published results (kết quả đã công bố) imported into a round, at any node.

A province compares itself with others from their published figures (e.g. the DTI
main-indicator values published nationally) without their component data. A file has rows
of ``unit``, ``node``, ``value`` (CSV, XLSX, or JSON: a list of such objects or
``{unit: {node: value}}``); the value is what the node takes (its ``input``: a rate on the
method's one scale, e.g. DTI main indicators as the fraction points / max, or points), a
leaf's value in the form its rule reads. A unit is any registry unit (a
registry or official code). Units not yet in the round are added to the given group with
the source ``published`` and the status published; their values are read as given (a value
at an inner node replaces its children) and never as a self-assessment. Units the round
assesses itself are refused.

The import is atomic: a file with any rejected row imports nothing, and each rejected row
is written with its line (for JSON: the entry's position) and reason to
``<file>.rejects.csv`` beside the input (as the survey import does). Running it again with
the same file changes nothing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from sqlalchemy.orm import Session

from chiso.assessments import service
from chiso.assessments.journal import log_event, value_row
from chiso.assessments.models import Assessment
from chiso import sheets
from chiso.audit import service as audit
from chiso.imports import ImportSummary, Reject, write_rejects as write_rejects_file
from chiso.errors import ChisoError, NotFound
from chiso.db import utcnow
from chiso.i18n import _
from chiso.scoring import tree as engine
from chiso.units import service as units

if TYPE_CHECKING:
    from chiso.auth.permissions import Actor

PUBLISHED = "published"
DEFAULT_GROUP = "published"

#: Canonical column → names accepted in a header (lower-cased, trimmed).
COLUMNS: dict[str, tuple[str, ...]] = {
    "unit": ("unit", "unit_code", "don_vi", "đơn vị", "ma_don_vi", "mã đơn vị"),
    "node": ("node", "node_id", "indicator", "chi_so", "chỉ số", "ma_chi_so", "mã chỉ số"),
    "value": ("value", "gia_tri", "giá trị"),
}


def _table_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    yield from sheets.table(
        path, columns=COLUMNS, required=list(COLUMNS),
        unsupported=_("Cannot read {path}: a published-results file is CSV, XLSX or JSON.").format(path=path),
        missing=_("{path}: missing column(s): {columns} (a published-results file has {expected})."))


def _json_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ChisoError(_("Cannot read {path}: {reason}").format(path=path, reason=exc)) from None
    except json.JSONDecodeError as exc:
        raise ChisoError(_("{path}: not valid JSON: {reason}").format(path=path, reason=exc)) from None
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        entries = [{"unit": u, "node": n, "value": v} for u, nodes in data.items() for n, v in nodes.items()]
    elif isinstance(data, list) and all(isinstance(v, dict) for v in data):
        entries = [{c: item.get(c, "") for c in COLUMNS} for item in data]
    else:
        raise ChisoError(_("{path}: expected a JSON list of {{unit, node, value}} objects or an object of unit → "
                           "{{node: value}}.").format(path=path))
    yield from enumerate(entries, start=1)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, {unit, node, value}) of every row of a CSV, XLSX or JSON file."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _json_rows(path)
    if suffix in (".csv", ".txt", ".xlsx"):
        return _table_rows(path)
    raise ChisoError(_("Cannot read {path}: a published-results file is CSV, XLSX or JSON.").format(path=path))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(str(value).strip().replace(",", "."))
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def import_published(session: Session, *, round_code: str, path: str | Path, actor: Actor,
                     group: str = DEFAULT_GROUP, write_rejects: bool = True) -> ImportSummary:
    """Import one file of published results into the round (see the module docstring); an
    import that happens is recorded in the audit trail."""
    path = Path(path)
    group = (group or "").strip()
    if not group:
        raise ChisoError(_("A ranking group is required."))
    rnd = service.get_round(session, round_code)
    method = service.method_of(rnd)
    members = {a.unit_id: a for a in rnd.assessments}

    summary = ImportSummary(kind="published", extra={"units_added": 0})
    seen: dict[tuple[int, str], int] = {}
    accepted: dict[int, tuple[Any, dict[str, float]]] = {}
    for line, raw in read_rows(path):
        summary.read += 1
        values = {c: raw.get(c, "") for c in COLUMNS}
        texts = {c: ("" if v is None else str(v).strip()) for c, v in values.items()}
        reason = None
        unit = None
        empty = [c for c, v in texts.items() if not v]
        if empty:
            reason = _("{column} is empty").format(column=empty[0])
        else:
            try:
                unit = units.get(session, texts["unit"])
            except NotFound:
                reason = _("unknown unit {unit}").format(unit=texts["unit"])
        node = method.nodes.get(texts["node"]) if reason is None else None
        number = _number(values["value"]) if reason is None else None
        if reason is not None:
            pass
        elif unit.id in members and members[unit.id].source != PUBLISHED:
            reason = _("unit {unit} is assessed in round {round}: published results are imported only for units "
                       "from outside").format(unit=unit.code, round=rnd.code)
        elif node is None:
            reason = _("method {method} has no node {node}").format(method=method.id, node=texts["node"])
        elif number is None:
            reason = _("value {value!r} is not a number").format(value=texts["value"])
        else:
            try:
                if node.is_leaf:
                    service.check_value(method, node.id, number)
                else:
                    engine.given_points(node, number)
            except ChisoError as exc:
                reason = str(exc)
        if reason is None:
            key = (unit.id, node.id)
            if key in seen:
                reason = _("{unit} {node} is given twice (first at line {line})").format(
                    unit=unit.code, node=node.id, line=seen[key])
            else:
                seen[key] = line
                accepted.setdefault(unit.id, (unit, {}))[1][node.id] = number
        if reason is not None:
            summary.rejects.append(Reject(line=line, reason=reason, values=texts))
    summary.rejected = len(summary.rejects)

    if write_rejects:
        summary.rejects_path = write_rejects_file(path, summary.rejects, COLUMNS)
    if summary.rejects:
        summary.refused = True
        return summary  # atomic: a file with any rejected row imports nothing

    for unit, given in sorted(accepted.values(), key=lambda item: item[0].code):
        a = members.get(unit.id)
        if a is None:
            a = Assessment(round=rnd, unit=unit, group_code=group, status="published", source=PUBLISHED, inputs={},
                           updated_at=utcnow())
            session.add(a)
            session.flush()
            log_event(session, rnd, "unit_added", actor.name, assessment=a, to_status="published",
                      detail=f"{group}; {PUBLISHED} ({path.name})")
            summary.extra["units_added"] += 1
        changed = []
        for node_id, number in sorted(given.items()):
            row = next((r for r in a.values if r.node_id == node_id), None)
            if row is not None and row.published_value == number:
                summary.unchanged += 1
                continue
            if row is None:
                row = value_row(a, node_id)
                summary.inserted += 1
            else:
                summary.updated += 1
            row.published_value = number
            row.updated_by, row.updated_at = actor.name, utcnow()
            changed.append(f"{node_id}={number:g}")
        if changed:
            a.updated_at = utcnow()
            log_event(session, rnd, "published_imported", actor.name, assessment=a,
                      detail=f"{path.name}: {', '.join(changed)}")
    session.flush()
    audit.record(session, actor=actor, action="round.import_published", object_type="round", object_key=round_code,
                 after={"file": path.name, "read": summary.read, "units_added": summary.extra["units_added"],
                        "inserted": summary.inserted, "updated": summary.updated, "unchanged": summary.unchanged})
    return summary
