"""Assessment rounds' operations (đợt đánh giá). Pages, API and CLI call these; nothing else
touches the tables.

Workflow of one unit in a round::

    draft → self_assessed → submitted → appraised → approved → published
            (tự đánh giá)   (gửi)        (thẩm định)  (phê duyệt) (công bố)

Approved and published data is locked: every write is refused until the unit is reopened,
an audited act (who, when, why) recorded in the append-only event log.

Scores come from the pure tree engine (:func:`chiso.scoring.tree.score_tree`): for each
leaf the appraised value where there is one, else the survey rate (survey leaves), else
the self-assessed value.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso.assessments import evidence as evidence_store
from chiso.assessments.journal import log_event, value_row
from chiso.assessments.models import (
    Assessment,
    AssessmentRound,
    Evidence,
    RoundEvent,
    SurveyRate,
)
from chiso.assessments.models import Assignment
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.methods import loader
from chiso.scoring.model import Node, TreeMethod
from chiso.scoring import tree as engine
from chiso.scoring.ranking import competition_rank, podium
from chiso.units import service as units
from chiso.units.models import Unit
from chiso.audit import service as audit
from chiso.db import utcnow as _now

if TYPE_CHECKING:
    from chiso.auth.permissions import Actor

STATUSES = ("draft", "self_assessed", "submitted", "appraised", "approved", "published")
LOCKED = ("approved", "published")
#: Where a reopened assessment may be sent back to.
REOPEN_TO = ("draft", "self_assessed", "submitted", "appraised")


def status_name(status: str) -> str:
    return {
        "draft": _("draft"), "self_assessed": _("self-assessed"), "submitted": _("submitted"),
        "appraised": _("appraised"), "approved": _("approved"), "published": _("published"),
    }.get(status, status)


# --------------------------------------------------------------------------- rounds and methods


def load_method(source: str | Path) -> TreeMethod:
    method = loader.load(source, kind="tree")
    assert isinstance(method, TreeMethod)
    return method


def method_of(rnd: AssessmentRound) -> TreeMethod:
    """The round's method, refused if its definition has changed version since."""
    method = load_method(rnd.method_source)
    if method.id != rnd.method_id or method.version != rnd.method_version:
        raise ChisoError(_(
            "Round {round} was created with method {id} version {version}; {source} now holds {id2} version "
            "{version2}. Create a new round for the new version.").format(
            round=rnd.code, id=rnd.method_id, version=rnd.method_version, source=rnd.method_source,
            id2=method.id, version2=method.version))
    return method


def get_round(session: Session, code: str) -> AssessmentRound:
    rnd = session.scalar(select(AssessmentRound).where(AssessmentRound.code == code))
    if rnd is None:
        raise NotFound(_("Unknown assessment round: {code}").format(code=code))
    return rnd


def create_round(session: Session, *, code: str, method: str, year: int, actor: Actor,
                 name: str | None = None) -> AssessmentRound:
    """A new round of ``method`` (a shipped id or a definition file) for ``year``."""
    if session.scalar(select(AssessmentRound).where(AssessmentRound.code == code)) is not None:
        raise ChisoError(_("Assessment round {code} already exists.").format(code=code))
    tm = load_method(method)
    engine.check_scorable(tm)
    source = str(Path(method).resolve()) if Path(method).suffix in (".yaml", ".yml") or Path(method).exists() else method
    rnd = AssessmentRound(code=code, name=name or f"{tm.name} {year}", method_id=tm.id, method_family=tm.family,
                          method_version=tm.version, method_source=source, year=year, created_by=actor.name,
                          created_at=_now())
    session.add(rnd)
    session.flush()
    log_event(session, rnd, "created", actor.name, detail=f"{tm.id} {tm.version}")
    audit.record(session, actor=actor, action="round.create", object_type="round", object_key=rnd.code,
                 after={"code": rnd.code, "name": rnd.name, "method": rnd.method_id, "version": rnd.method_version,
                        "year": rnd.year})
    return rnd


def list_rounds(session: Session) -> list[dict]:
    rows = []
    for rnd in session.scalars(select(AssessmentRound).order_by(AssessmentRound.year, AssessmentRound.code)):
        counts: dict[str, int] = {}
        for a in rnd.assessments:
            counts[a.status] = counts.get(a.status, 0) + 1
        rows.append({"code": rnd.code, "name": rnd.name, "method": rnd.method_id, "version": rnd.method_version,
                     "family": rnd.method_family, "year": rnd.year, "units": len(rnd.assessments), "statuses": counts})
    return rows


def add_units(session: Session, *, round_code: str, units_groups: Mapping[str, str] | Iterable[tuple[str, str]],
              actor: Actor) -> dict[str, int]:
    """Put units (registry codes) into the round, each in its ranking group; a unit already
    there moves group unless its data is locked. Returns inserted / updated / unchanged."""
    rnd = get_round(session, round_code)
    pairs = list(units_groups.items()) if isinstance(units_groups, Mapping) else list(units_groups)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    for code, group in pairs:
        group = (group or "").strip()
        if not group:
            raise ChisoError(_("Unit {unit}: a ranking group is required.").format(unit=code))
        unit = units.get(session, code)
        a = _find(session, rnd, unit)
        if a is None:
            a = Assessment(round=rnd, unit=unit, group_code=group, status="draft", inputs={}, updated_at=_now())
            session.add(a)
            session.flush()
            log_event(session, rnd, "unit_added", actor.name, assessment=a, to_status="draft", detail=group)
            counts["inserted"] += 1
        elif a.group_code == group:
            counts["unchanged"] += 1
        else:
            _require_unlocked(rnd, a)
            log_event(session, rnd, "group_changed", actor.name, assessment=a, detail=f"{a.group_code} -> {group}")
            a.group_code = group
            counts["updated"] += 1
    audit.record(session, actor=actor, action="round.add_units", object_type="round", object_key=rnd.code,
                 after={"units": {code: group for code, group in pairs}, **counts})
    return counts


def _find(session: Session, rnd: AssessmentRound, unit: Unit) -> Assessment | None:
    return session.scalar(select(Assessment).where(Assessment.round_id == rnd.id, Assessment.unit_id == unit.id))


def get_assessment(session: Session, *, round_code: str, unit_code: str) -> Assessment:
    rnd = get_round(session, round_code)
    unit = units.get(session, unit_code)
    a = _find(session, rnd, unit)
    if a is None:
        raise NotFound(_("Unit {unit} is not in round {round}.").format(unit=unit_code, round=round_code))
    return a


# --------------------------------------------------------------------------- the workflow


def _require_unlocked(rnd: AssessmentRound, a: Assessment) -> None:
    if a.status in LOCKED:
        raise ChisoError(_(
            "{unit} in round {round} is {status}: its data is locked. Reopen it with a reason first "
            "(`chiso rounds reopen`).").format(unit=a.unit.code, round=rnd.code, status=status_name(a.status)))


def _require_status(rnd: AssessmentRound, a: Assessment, allowed: tuple[str, ...], action: str) -> None:
    _require_unlocked(rnd, a)
    if a.status not in allowed:
        raise ChisoError(_("{unit} in round {round} is {status}: cannot {action} (only when {allowed}).").format(
            unit=a.unit.code, round=rnd.code, status=status_name(a.status), action=action,
            allowed=", ".join(status_name(s) for s in allowed)))


def _move(session: Session, a: Assessment, to: str, actor: Actor, action: str, reason: str | None = None,
          detail: str | None = None, before: dict | None = None,
          after: dict | None = None) -> None:
    log_event(session, a.round, action, actor.name, assessment=a, from_status=a.status, to_status=to, reason=reason,
              detail=detail)
    audit.record(session, actor=actor, action=f"assessment.{action}", object_type="assessment",
                 object_key=f"{a.round.code}/{a.unit.code}", unit_id=a.unit_id,
                 before={"status": a.status, **(before or {})},
                 after={"status": to, **({"reason": reason} if reason else {}), **(after or {})})
    a.status = to
    a.updated_at = _now()


def _leaf(method: TreeMethod, node_id: str) -> Node:
    node = method.nodes.get(node_id)
    if node is None:
        raise ChisoError(_("Method {method} has no node {node!r}.").format(method=method.id, node=node_id))
    if not node.is_leaf:
        raise ChisoError(_("Node {node} has parts: enter values for its leaves.").format(node=node_id))
    assert node.rule is not None
    if node.rule.type == "formula":
        raise ChisoError(_("Node {node} is computed from its formula: give its inputs, not a value.").format(node=node_id))
    return node


def check_value(method: TreeMethod, node_id: str, value: Any) -> tuple[float, float]:
    """(the value as stored, the points it gives), or an error naming the node."""
    node = _leaf(method, node_id)
    assert node.rule is not None
    if isinstance(value, bool):
        number = 1.0 if value else 0.0
    elif isinstance(value, (int, float)) and math.isfinite(value):
        number = float(value)
    else:
        raise ChisoError(_("Node {node}: {value!r} is not a number.").format(node=node_id, value=value))
    if node.rule.type == "steps" and number < 0:
        raise ChisoError(_("Node {node}: {value:g} is below 0.").format(node=node_id, value=number))
    points = engine.leaf_points(node, value if isinstance(value, bool) else number)
    return number, points


def _check_inputs(method: TreeMethod, inputs: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for name, value in inputs.items():
        if name not in method.inputs:
            raise ChisoError(_("Method {method} has no input {input!r}.").format(method=method.id, input=name))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ChisoError(_("Input {input}: {value!r} is not a number.").format(input=name, value=value))
        out[name] = float(value)
    return out


def _leaf_state(a: Assessment, nodes, fields: tuple[str, ...]) -> dict[str, dict]:
    rows = {r.node_id: r for r in a.values}
    return {nid: {f: getattr(rows[nid], f) for f in fields} if nid in rows else None for nid in sorted(nodes)}


def self_assess(session: Session, *, round_code: str, unit_code: str, values: Mapping[str, Any], actor: Actor,
                notes: Mapping[str, str] | None = None, inputs: Mapping[str, Any] | None = None) -> Assessment:
    """Save the unit's own values (and notes on its evidence) for leaves; checked against the
    method's tree as a whole before anything is written."""
    a = get_assessment(session, round_code=round_code, unit_code=unit_code)
    rnd = a.round
    _require_status(rnd, a, ("draft", "self_assessed"), _("self-assess"))
    method = method_of(rnd)
    checked = {nid: check_value(method, nid, v) for nid, v in values.items()}
    for nid in (notes or {}):
        _leaf(method, nid)
    new_inputs = _check_inputs(method, inputs or {})
    touched = set(checked) | set(notes or {})
    fields = ("self_value", "note")
    before = {"values": _leaf_state(a, touched, fields), "inputs": {k: (a.inputs or {}).get(k) for k in new_inputs}}
    for nid, (number, points) in checked.items():
        row = value_row(a, nid)
        row.self_value, row.self_points = number, points
        row.updated_by, row.updated_at = actor.name, _now()
    for nid, note in (notes or {}).items():
        row = value_row(a, nid)
        row.note = note
        row.updated_by, row.updated_at = actor.name, _now()
    if new_inputs:
        a.inputs = {**(a.inputs or {}), **new_inputs}
    _move(session, a, "self_assessed", actor, "self_assessed", detail=", ".join(sorted(checked)) or None,
          before=before, after={"values": _leaf_state(a, touched, fields), "inputs": new_inputs})
    session.flush()
    return a


def attach_evidence(session: Session, *, round_code: str, unit_code: str, node_id: str, path: str | Path,
                    actor: Actor, name: str | None = None) -> Evidence:
    """Check and store an evidence file for one leaf (see :mod:`chiso.assessments.evidence`)."""
    a = get_assessment(session, round_code=round_code, unit_code=unit_code)
    rnd = a.round
    _require_status(rnd, a, ("draft", "self_assessed"), _("attach evidence"))
    _leaf(method_of(rnd), node_id)
    stored = evidence_store.store(Path(path), name, where=session)
    ev = Evidence(node_id=node_id, original_name=stored.name, size=stored.size, media_type=stored.media_type,
                  sha256=stored.sha256, uploaded_by=actor.name, uploaded_at=_now())
    a.evidence.append(ev)
    session.flush()
    log_event(session, rnd, "evidence", actor.name, assessment=a,
              detail=f"{node_id}: {stored.name} sha256={stored.sha256}")
    audit.record(session, actor=actor, action="assessment.evidence", object_type="assessment",
                 object_key=f"{rnd.code}/{a.unit.code}", unit_id=a.unit_id,
                 after={"node": node_id, "name": stored.name, "size": stored.size, "media_type": stored.media_type,
                        "sha256": stored.sha256})
    return ev


def submit(session: Session, *, round_code: str, unit_code: str, actor: Actor) -> Assessment:
    a = get_assessment(session, round_code=round_code, unit_code=unit_code)
    _require_status(a.round, a, ("self_assessed",), _("submit"))
    _move(session, a, "submitted", actor, "submitted")
    return a


def appraise(session: Session, *, round_code: str, unit_code: str, values: Mapping[str, Any], actor: Actor,
             comments: Mapping[str, str] | None = None) -> Assessment:
    """The appraisal council's value and comment per leaf; the unit sees both next to its own."""
    a = get_assessment(session, round_code=round_code, unit_code=unit_code)
    rnd = a.round
    _require_status(rnd, a, ("submitted", "appraised"), _("appraise"))
    method = method_of(rnd)
    checked = {nid: check_value(method, nid, v) for nid, v in values.items()}
    for nid in (comments or {}):
        _leaf(method, nid)
    touched = set(checked) | set(comments or {})
    fields = ("appraised_value", "appraiser_comment")
    before = {"values": _leaf_state(a, touched, fields)}
    for nid, (number, points) in checked.items():
        row = value_row(a, nid)
        row.appraised_value, row.appraised_points = number, points
        row.updated_by, row.updated_at = actor.name, _now()
    for nid, comment in (comments or {}).items():
        row = value_row(a, nid)
        row.appraiser_comment = comment
        row.updated_by, row.updated_at = actor.name, _now()
    _move(session, a, "appraised", actor, "appraised", detail=", ".join(sorted(checked)) or None,
          before=before, after={"values": _leaf_state(a, touched, fields)})
    session.flush()
    return a


def _targets(session: Session, round_code: str, unit_code: str | None) -> list[Assessment]:
    if unit_code is not None:
        return [get_assessment(session, round_code=round_code, unit_code=unit_code)]
    rnd = get_round(session, round_code)
    return sorted(rnd.assessments, key=lambda a: a.unit.code)


def approve(session: Session, *, round_code: str, actor: Actor, unit_code: str | None = None) -> list[Assessment]:
    """Approve one unit, or every unit of the round (all must be submitted or appraised); locks them."""
    targets = [a for a in _targets(session, round_code, unit_code) if unit_code or a.status not in LOCKED]
    for a in targets:
        _require_status(a.round, a, ("submitted", "appraised"), _("approve"))
    for a in targets:
        _move(session, a, "approved", actor, "approved")
    return targets


def publish(session: Session, *, round_code: str, actor: Actor, unit_code: str | None = None) -> list[Assessment]:
    """Publish one approved unit, or every unit of the round (all must be approved)."""
    targets = [a for a in _targets(session, round_code, unit_code) if unit_code or a.status != "published"]
    for a in targets:
        if a.status != "approved":
            raise ChisoError(_("{unit} in round {round} is {status}: only approved data can be published.").format(
                unit=a.unit.code, round=a.round.code, status=status_name(a.status)))
    for a in targets:
        _move(session, a, "published", actor, "published")
    return targets


def reopen(session: Session, *, round_code: str, actor: Actor, reason: str, unit_code: str | None = None,
           to: str = "appraised") -> list[Assessment]:
    """Unlock approved or published data, sending it back to ``to``; recorded with who and why."""
    if not reason or not reason.strip():
        raise ChisoError(_("Reopening approved data needs a reason."))
    if to not in REOPEN_TO:
        raise ChisoError(_("Cannot reopen to {status}: use one of {allowed}.").format(
            status=to, allowed=", ".join(REOPEN_TO)))
    targets = _targets(session, round_code, unit_code)
    if unit_code is None:
        targets = [a for a in targets if a.status in LOCKED]
    for a in targets:
        if a.status not in LOCKED:
            raise ChisoError(_("{unit} in round {round} is {status}: it is not locked, there is nothing to reopen.").format(
                unit=a.unit.code, round=a.round.code, status=status_name(a.status)))
    for a in targets:
        _move(session, a, to, actor, "reopened", reason=reason.strip())
    return targets


def events(session: Session, *, round_code: str, unit_code: str | None = None) -> list[dict]:
    rnd = get_round(session, round_code)
    query = select(RoundEvent).where(RoundEvent.round_id == rnd.id).order_by(RoundEvent.id)
    if unit_code is not None:
        query = query.where(RoundEvent.assessment_id == get_assessment(
            session, round_code=round_code, unit_code=unit_code).id)
    by_id = {a.id: a.unit.code for a in rnd.assessments}
    return [{"at": e.at, "unit": by_id.get(e.assessment_id), "action": e.action, "from": e.from_status,
             "to": e.to_status, "actor": e.actor, "reason": e.reason, "detail": e.detail}
            for e in session.scalars(query)]


def assessment_view(session: Session, *, round_code: str, unit_code: str) -> dict:
    """What the unit sees: per leaf its own value and note, the appraised value and comment,
    the evidence files."""
    a = get_assessment(session, round_code=round_code, unit_code=unit_code)
    leaves = {}
    for row in sorted(a.values, key=lambda r: r.node_id):
        leaves[row.node_id] = {"self_value": row.self_value, "self_points": row.self_points, "note": row.note,
                               "appraised_value": row.appraised_value, "appraised_points": row.appraised_points,
                               "appraiser_comment": row.appraiser_comment, "evidence": []}
        if a.source == "published":
            leaves[row.node_id]["published_value"] = row.published_value
    for ev in a.evidence:
        leaves.setdefault(ev.node_id, {"evidence": []})["evidence"].append(
            {"name": ev.original_name, "size": ev.size, "media_type": ev.media_type, "sha256": ev.sha256,
             "uploaded_by": ev.uploaded_by, "uploaded_at": ev.uploaded_at})
    return {"round": a.round.code, "unit": a.unit.code, "group": a.group_code, "status": a.status, "source": a.source,
            "inputs": dict(a.inputs or {}), "leaves": leaves}


def assign_appraiser(session: Session, *, user: str, round_code: str, unit: str | None = None,
                     actor: Actor) -> Assignment:
    """Assign an appraiser to a round (all its units, or one). Here and not in
    :mod:`chiso.auth`, which only reads assignments into the actor: a round is this
    package's, and auth stays below the domains."""
    from chiso.auth.service import get_user

    owner = get_user(session, user)
    if owner.role != "appraiser":
        raise ChisoError(_("Only appraisers are assigned to rounds; {name} is {role}.").format(name=owner.name, role=owner.role))
    rnd = get_round(session, round_code)
    unit_row = units.get(session, unit) if unit else None
    existing = session.scalar(select(Assignment).where(
        Assignment.user_id == owner.id, Assignment.round_id == rnd.id,
        Assignment.unit_id.is_(None) if unit_row is None else Assignment.unit_id == unit_row.id))
    if existing is not None:
        return existing
    row = Assignment(user_id=owner.id, round_id=rnd.id, unit_id=unit_row.id if unit_row else None)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="appraiser.assign", object_type="round", object_key=rnd.code,
                 unit_id=row.unit_id, after={"user": owner.name, "unit": unit_row.code if unit_row else None})
    return row


# --------------------------------------------------------------------------- results


def leaf_values(session: Session, a: Assessment, method: TreeMethod) -> dict[str, float]:
    """The value scored for each leaf: appraised, else the survey rate (survey leaves), else self-assessed.
    For a unit whose results were published elsewhere: the imported values, at any node, as given."""
    if a.source == "published":
        return {row.node_id: row.published_value for row in a.values
                if row.published_value is not None and row.node_id in method.nodes}
    rates: dict[str, list[SurveyRate]] = {}
    for r in session.scalars(select(SurveyRate).where(SurveyRate.round_id == a.round_id, SurveyRate.unit_id == a.unit_id)):
        rates.setdefault(r.node_id, []).append(r)
    out: dict[str, float] = {}
    for nid, rs in rates.items():
        answers = sum(r.answers for r in rs)
        if answers and nid in method.nodes:
            # A survey's rate is a fraction; the leaf reads it on the method's scale.
            out[nid] = engine.to_scale(method.node(nid), sum(r.satisfied for r in rs) / answers)
    for row in a.values:
        if row.node_id not in method.nodes:
            continue
        if row.appraised_value is not None:
            out[row.node_id] = row.appraised_value
        elif row.self_value is not None and row.node_id not in out:
            out[row.node_id] = row.self_value
    return out


def _score(session: Session, a: Assessment, method: TreeMethod) -> engine.TreeScore:
    try:
        return engine.score_tree(method, leaf_values(session, a, method), inputs=a.inputs or {}, missing="zero")
    except ChisoError as exc:
        raise ChisoError(f"{a.unit.code}: {exc}") from None


def _round_scores(session: Session, rnd: AssessmentRound) -> list[dict]:
    method = method_of(rnd)
    rows = []
    for a in sorted(rnd.assessments, key=lambda x: x.unit.code):
        s = _score(session, a, method)
        rows.append({"unit": a.unit.code, "name": a.unit.name, "group": a.group_code, "status": a.status,
                     "source": a.source, "total_points": s.total_points, "max": s.max, "value": s.value, "percent": s.percent,
                     "band": s.band, "missing": list(s.missing),
                     "nodes": {k: v.to_dict() for k, v in s.nodes.items()}, "_unit_id": a.unit_id})
    tolerance = method.rank_tolerance
    for group in {r["group"] for r in rows}:
        members = [r for r in rows if r["group"] == group]
        # A draft is not a result: nothing has been declared yet, so it takes no rank (an
        # empty draft must not stand "1st of 2" with 0 points).
        ranks = competition_rank({r["unit"]: None if r["status"] == "draft" else r["total_points"]
                                  for r in members}, tolerance=tolerance)
        for r in members:
            r["rank"] = ranks[r["unit"]]
    return rows


def previous_round(session: Session, rnd: AssessmentRound) -> AssessmentRound | None:
    """The latest round of the same method family in an earlier year."""
    return session.scalar(
        select(AssessmentRound)
        .where(AssessmentRound.method_family == rnd.method_family, AssessmentRound.year < rnd.year)
        .order_by(AssessmentRound.year.desc(), AssessmentRound.id.desc())
        .limit(1)
    )


def latest_rounds_of(session: Session, *, unit_code: str) -> list[tuple[AssessmentRound, str]]:
    """The latest round of each method family the unit is in, with its group there, by
    round code (what a unit's scorecard shows beside the 766 index)."""
    unit = units.get(session, unit_code)
    found: dict[str, tuple[AssessmentRound, str]] = {}
    q = (select(AssessmentRound, Assessment.group_code).join(Assessment, Assessment.round_id == AssessmentRound.id)
         .where(Assessment.unit_id == unit.id).order_by(AssessmentRound.year, AssessmentRound.id))
    for rnd, group in session.execute(q):
        found[rnd.method_family] = (rnd, group)
    return sorted(found.values(), key=lambda x: x[0].code)


def results(session: Session, *, round_code: str, group: str | None = None) -> list[dict]:
    """Per unit: points and value at every node, total, band, rank in its group, and change
    against the previous round of the same family. Sorted by group, then rank."""
    rnd = get_round(session, round_code)
    rows = _round_scores(session, rnd)
    prev = previous_round(session, rnd)
    before = {r["unit"]: r for r in _round_scores(session, prev)} if prev is not None else {}
    by_unit_id = {r["_unit_id"]: r for r in before.values()}
    for r in rows:
        old = before.get(r["unit"])
        r["previous_round"] = prev.code if prev is not None else None
        if old is not None:
            same_group = old["group"] == r["group"]
            r["rank_change"] = old["rank"] - r["rank"] if same_group and None not in (old["rank"], r["rank"]) else None
            r["value_change"] = _diff(r["value"], old["value"])
            r["previous_value"] = old["value"]
            continue
        # A unit formed by a merger: its former units' values, unweighted mean (the DTI 2024
        # rule); its rank is not comparable with any former unit's.
        formers = [by_unit_id[u.id] for u in units.feeders(session, session.get(Unit, r["_unit_id"]))
                   if u.id in by_unit_id and u.id != r["_unit_id"]]
        values = [f["value"] for f in formers if f["value"] is not None]
        previous_value = math.fsum(values) / len(values) if values else None
        r["rank_change"] = None
        r["value_change"] = _diff(r["value"], previous_value)
        r["previous_value"] = previous_value
    for r in rows:
        del r["_unit_id"]
    if group is not None:
        if not any(r["group"] == group for r in rows):
            raise NotFound(_("Round {round} has no group {group}.").format(round=round_code, group=group))
        rows = [r for r in rows if r["group"] == group]
    return sorted(rows, key=lambda r: (r["group"], r["rank"] is None, r["rank"] or 0, r["unit"]))


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def announcement(rows: list[dict]) -> list[dict]:
    """Per group: the 1st, 2nd, 3rd and last (several where tied; the rule is
    :func:`chiso.scoring.ranking.podium`), then the full table."""
    out = []
    for group in sorted({r["group"] for r in rows}):
        table = [r for r in rows if r["group"] == group]
        out.append({"group": group, **podium({r["unit"]: r["rank"] for r in table}), "table": table})
    return out
