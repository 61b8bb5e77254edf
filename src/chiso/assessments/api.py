"""``/api/v1/assessments``: rounds, results, one unit's assessment and its workflow, and
``/api/v1/public``: the published results anyone may read.

Every route asks the one permission check; a unit outside the reader's scope answers like
an unknown one. The objects are those of ``chiso rounds … --format json``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from chiso.assessments import evidence as evidence_store
from chiso.assessments import service
from chiso.assessments.cli import RESULT_KEYS
from chiso.assessments.schemas import (AssessmentOut, EventOut, EvidenceSaved, PublicRound, ResultRow, RoundOut,
                                        UnitState)
from chiso.auth.permissions import Actor, require
from chiso.errors import NotFound
from chiso.http.deps import get_actor, get_db, get_user_actor
from chiso.http.paging import Limit, Offset, page
from chiso.http.schemas import EXACT
from chiso.http.scope import unit_ids, unknown_unit
from chiso.http.uploads import clean_filename, saved_upload
from chiso.i18n import _

router = APIRouter(prefix="/assessments", tags=["assessments"])
public_router = APIRouter(prefix="/public", tags=["public"])

Code = Query(..., max_length=64)
NodeId = str


class SelfAssessment(BaseModel):
    values: dict[NodeId, float | bool] = Field(default_factory=dict, description="Leaf id → value.")
    notes: dict[NodeId, str] = Field(default_factory=dict, description="Leaf id → note on the evidence.")
    inputs: dict[str, float] = Field(default_factory=dict, description="Method input → number.")


class Appraisal(BaseModel):
    values: dict[NodeId, float | bool] = Field(default_factory=dict, description="Leaf id → appraised value.")
    comments: dict[NodeId, str] = Field(default_factory=dict, description="Leaf id → appraiser's comment.")


class Step(BaseModel):
    unit: str | None = Field(None, max_length=64, description="One unit of the round; none: the whole round.")


class Reopen(Step):
    reason: str = Field(..., min_length=1, max_length=2000)
    to: Literal["draft", "self_assessed", "submitted", "appraised"] = "appraised"


def _round(session: Session, code: str):
    return service.get_round(session, code)


def _assessment(session: Session, actor: Actor, round_code: str, unit_code: str, action: str = "read"):
    """The assessment of ``unit_code`` in the round, checked for ``action``; NotFound alike
    for an unknown unit and one outside the actor's scope."""
    from chiso.units import service as units

    rnd = _round(session, round_code)
    try:
        unit = units.get(session, unit_code)
    except NotFound:
        raise NotFound(unknown_unit(unit_code)) from None
    if not (actor.sees(unit.id) or actor.assigned(rnd.id, unit.id)):
        raise NotFound(unknown_unit(unit_code))
    a = service.get_assessment(session, round_code=rnd.code, unit_code=unit.code)
    require(actor, action, unit_id=unit.id, round_id=rnd.id, what=unknown_unit(unit_code))
    return a


def _visible(actor: Actor, a) -> bool:
    return actor.sees(a.unit_id) or actor.assigned(a.round_id, a.unit_id)


def _round_json(rnd, actor: Actor) -> dict[str, Any]:
    counts: dict[str, int] = {}
    seen = [a for a in rnd.assessments if _visible(actor, a)]
    for a in seen:
        counts[a.status] = counts.get(a.status, 0) + 1
    return {"code": rnd.code, "name": rnd.name, "method": rnd.method_id, "version": rnd.method_version,
            "family": rnd.method_family, "year": rnd.year, "units": len(seen), "statuses": counts}


def _view(session: Session, a) -> dict[str, Any]:
    return service.assessment_view(session, round_code=a.round.code, unit_code=a.unit.code)


def _states(rows) -> list[dict[str, str]]:
    return [{"unit": a.unit.code, "status": a.status} for a in rows]


# --------------------------------------------------------------------------- reading


@router.get("/rounds", summary="Assessment rounds, with the statuses of the units in one's scope", response_model=list[RoundOut], **EXACT)
def list_rounds(response: Response, limit: int = Limit, offset: int = Offset, actor: Actor = Depends(get_user_actor),
                session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from chiso.assessments.models import AssessmentRound

    require(actor, "read")
    rounds = session.scalars(select(AssessmentRound).order_by(AssessmentRound.year, AssessmentRound.code))
    return page(response, [_round_json(r, actor) for r in rounds], limit, offset)


@router.get("/rounds/{code}", summary="One round", response_model=RoundOut, **EXACT)
def get_round(code: str, actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    require(actor, "read")
    return _round_json(_round(session, code), actor)


@router.get("/rounds/{code}/results", summary="Scores, ranks per group and change (as `chiso rounds results --format json`)", response_model=list[ResultRow], **EXACT)
def round_results(code: str, response: Response, group: str | None = Query(None, max_length=64),
                  limit: int = Limit, offset: int = Offset, actor: Actor = Depends(get_user_actor),
                  session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    require(actor, "read")
    rnd = _round(session, code)
    rows = service.results(session, round_code=rnd.code, group=group)
    if actor.units is not None:
        ids = unit_ids(session)
        rows = [r for r in rows if actor.sees(ids.get(r["unit"])) or actor.assigned(rnd.id, ids.get(r["unit"]))]
    return page(response, [{k: r.get(k) for k in RESULT_KEYS} for r in rows], limit, offset)


@router.get("/rounds/{code}/units/{unit}", summary="One unit's assessment: values, appraisal, evidence", response_model=AssessmentOut, **EXACT)
def get_assessment(code: str, unit: str, actor: Actor = Depends(get_user_actor),
                   session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    return _view(session, _assessment(session, actor, code, unit))


@router.get("/rounds/{code}/units/{unit}/events", summary="The unit's log in the round: every change of status", response_model=list[EventOut], **EXACT)
def assessment_events(code: str, unit: str, actor: Actor = Depends(get_user_actor),
                      session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    a = _assessment(session, actor, code, unit)
    return service.events(session, round_code=a.round.code, unit_code=a.unit.code)


# --------------------------------------------------------------------------- the unit's own work


@router.put("/rounds/{code}/units/{unit}/values", summary="Save the unit's self-assessment (values, notes, inputs)", response_model=AssessmentOut, **EXACT)
def save_values(code: str, unit: str, body: SelfAssessment, actor: Actor = Depends(get_user_actor),
                session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    a = _assessment(session, actor, code, unit, "assessments:write")
    service.self_assess(session, round_code=a.round.code, unit_code=a.unit.code, values=body.values,
                        notes=body.notes, inputs=body.inputs, actor=actor)
    return _view(session, a)


@router.post("/rounds/{code}/units/{unit}/evidence", status_code=201,
             summary="Attach an evidence file to a leaf (at most 20 MB; PDF, images, office documents, text)", response_model=EvidenceSaved, **EXACT)
def upload_evidence(code: str, unit: str, node: str = Form(..., max_length=128), file: UploadFile = File(...),
                    actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    a = _assessment(session, actor, code, unit, "assessments:write")
    with saved_upload(file, limit=evidence_store.MAX_BYTES) as path:
        ev = service.attach_evidence(session, round_code=a.round.code, unit_code=a.unit.code, node_id=node, path=path,
                                     name=clean_filename(file.filename, "evidence"), actor=actor)
    return {"node": ev.node_id, "name": ev.original_name, "size": ev.size, "media_type": ev.media_type,
            "sha256": ev.sha256}


@router.post("/rounds/{code}/units/{unit}/submit", summary="Submit the self-assessment to the appraisers", response_model=AssessmentOut, **EXACT)
def submit(code: str, unit: str, actor: Actor = Depends(get_user_actor),
           session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    a = _assessment(session, actor, code, unit, "assessments:write")
    service.submit(session, round_code=a.round.code, unit_code=a.unit.code, actor=actor)
    return _view(session, a)


@router.put("/rounds/{code}/units/{unit}/appraisal",
            summary="The appraisers' value and comment per leaf (an assigned appraiser, or an administrator)", response_model=AssessmentOut, **EXACT)
def appraise(code: str, unit: str, body: Appraisal, actor: Actor = Depends(get_user_actor),
             session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    a = _assessment(session, actor, code, unit, "appraise")
    service.appraise(session, round_code=a.round.code, unit_code=a.unit.code, values=body.values,
                     comments=body.comments, actor=actor)
    return _view(session, a)


# --------------------------------------------------------------------------- the round's workflow (manage)


def _manage(session: Session, actor: Actor, code: str, unit: str | None):
    rnd = _round(session, code)
    if unit:
        _assessment(session, actor, rnd.code, unit, "manage")
    require(actor, "manage")
    return rnd


@router.post("/rounds/{code}/approve", summary="Approve one unit, or every unit of the round; approved data is locked", response_model=list[UnitState], **EXACT)
def approve(code: str, body: Step, actor: Actor = Depends(get_user_actor),
            session: Session = Depends(get_db, scope="function")) -> list[dict[str, str]]:
    rnd = _manage(session, actor, code, body.unit)
    return _states(service.approve(session, round_code=rnd.code, unit_code=body.unit or None, actor=actor))


@router.post("/rounds/{code}/publish", summary="Publish approved results of one unit, or of the whole round", response_model=list[UnitState], **EXACT)
def publish(code: str, body: Step, actor: Actor = Depends(get_user_actor),
            session: Session = Depends(get_db, scope="function")) -> list[dict[str, str]]:
    rnd = _manage(session, actor, code, body.unit)
    return _states(service.publish(session, round_code=rnd.code, unit_code=body.unit or None, actor=actor))


@router.post("/rounds/{code}/reopen", summary="Reopen approved data, with a reason (recorded)", response_model=list[UnitState], **EXACT)
def reopen(code: str, body: Reopen, actor: Actor = Depends(get_user_actor),
           session: Session = Depends(get_db, scope="function")) -> list[dict[str, str]]:
    rnd = _manage(session, actor, code, body.unit)
    return _states(service.reopen(session, round_code=rnd.code, unit_code=body.unit or None, reason=body.reason,
                                  to=body.to, actor=actor))


# --------------------------------------------------------------------------- public


def published_results(session: Session, code: str) -> list[dict[str, Any]]:
    """The published units of a round with their results; NotFound when there are none (an
    unpublished round does not exist for the public)."""
    from sqlalchemy import select

    from chiso.assessments.models import AssessmentRound

    rnd = session.scalar(select(AssessmentRound).where(AssessmentRound.code == code))
    if rnd is None or not any(a.status == "published" for a in rnd.assessments):
        raise NotFound(_("Unknown assessment round: {code}").format(code=code))
    rows = [r for r in service.results(session, round_code=rnd.code) if r["status"] == "published"]
    return [{k: r.get(k) for k in RESULT_KEYS} for r in rows]


@public_router.get("/rounds", summary="Rounds with published results (no login)", response_model=list[PublicRound], **EXACT)
def public_rounds(actor: Actor = Depends(get_actor), session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from chiso.assessments.models import AssessmentRound

    out = []
    for rnd in session.scalars(select(AssessmentRound).order_by(AssessmentRound.year.desc(), AssessmentRound.code)):
        published = [a for a in rnd.assessments if a.status == "published"]
        if published:
            out.append({"code": rnd.code, "name": rnd.name, "method": rnd.method_id, "year": rnd.year,
                        "units": len(published)})
    return out


@public_router.get("/rounds/{code}/results", summary="Published results of a round (no login)", response_model=list[ResultRow], **EXACT)
def public_results(code: str, response: Response, limit: int = Limit, offset: int = Offset,
                   actor: Actor = Depends(get_actor), session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    return page(response, published_results(session, code), limit, offset)
