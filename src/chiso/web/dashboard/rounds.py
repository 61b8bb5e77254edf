"""Assessment rounds in the browser: the rounds and their results, a unit's self-assessment
form (criteria tree, evidence upload, draft saving, submit), the appraiser's view side by
side with the unit's own values, and the public page of published results."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, Forbidden, can, require
from chiso.errors import ChisoError, NotFound
from chiso.http.deps import get_actor, get_db, get_user_actor
from chiso.i18n import _, current_language
from chiso.web.dashboard import common
from chiso.web.dashboard.page import page
from chiso.web.dashboard.rankings import ResultsUnavailable, group_name, announcement, round_results, rounds_list
from chiso.web.dashboard.steering import SHA256, read_evidence

router = APIRouter()
MAX_FORM_FILE = 20 * 1024 * 1024
SELF_STATUSES = ("draft", "self_assessed")
APPRAISE_STATUSES = ("submitted", "appraised")


_trees: dict[tuple, object] = {}


def tree_method(rnd):
    """The round's criteria tree, parsed once per version of its definition file."""
    from chiso.assessments import service as rounds
    from chiso.methods.loader import DEFINITIONS

    source = Path(rnd.method_source) if str(rnd.method_source).endswith((".yaml", ".yml")) else \
        DEFINITIONS / f"{rnd.method_source}.yaml"
    stamp = source.stat().st_mtime_ns if source.exists() else None
    key = (rnd.id, rnd.method_source, rnd.method_version, stamp)
    if key not in _trees:
        if len(_trees) > 32:
            _trees.clear()
        _trees[key] = rounds.method_of(rnd)
    return _trees[key]


def _round(session: Session, code: str):
    from chiso.assessments import service as rounds

    try:
        return rounds.get_round(session, code)
    except NotFound:
        raise NotFound(_("Unknown assessment round: {code}").format(code=code)) from None


@router.get("/assessments")
def list_page(request: Request, actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    app = request.app
    rows = rounds_list(app, session)
    return page(request, "rounds.html", rounds=rows, live_url="/assessments")


@router.get("/assessments/{code}")
def round_page(request: Request, code: str, actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    app = request.app
    rnd = _round(session, code)
    reg = common.registry(app, session)
    try:
        results, problem = round_results(app, session, rnd.code), None
    except ResultsUnavailable as exc:
        results, problem = [], str(exc)
    visible = [r for r in results if common.visible(actor, reg.get(r["unit"])) or
               actor.assigned(rnd.id, reg[r["unit"]].id if r["unit"] in reg else None)]
    groups = []
    for g in sorted({r["group"] for r in visible}):
        table = [r for r in visible if r["group"] == g]
        groups.append({"group": g, "name": group_name(app, session, g), "table": table, "top": announcement(table)})
    counts: dict[str, int] = {}
    for r in visible:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return page(request, "round.html", rnd=rnd, groups=groups, counts=counts, problem=problem, live_url=f"/assessments/{code}")


def _tree(method, view: dict, lang: str) -> list[dict]:
    """The criteria tree, flattened with depth, each leaf with what is entered."""
    out = []

    def walk(node, depth):
        leaf = node.is_leaf
        state = {"self_value": None, "self_points": None, "note": None, "appraised_value": None,
                 "appraised_points": None, "appraiser_comment": None, "evidence": [],
                 **(view["leaves"].get(node.id, {}) if leaf else {})}
        out.append({"id": node.id, "name": node.name_en if lang == "en" else node.name, "max": node.max,
                    "kind": node.kind, "depth": depth, "leaf": leaf, "rule": node.rule.type if leaf else None,
                    "target": node.rule.target if leaf else None, "state": state,
                    # A rate is shown and typed as a percent; it is stored on the method's scale.
                    "per_percent": 0.01 if node.input == "fraction" else 1.0,
                    "field": node.id.replace(".", "__")})
        for child in node.children:
            walk(child, depth + 1)

    for top in method.top:
        walk(top, 0)
    return out


def _assessment(request: Request, session: Session, actor: Actor, code: str, unit: str):
    from chiso.assessments import service as rounds

    rnd = _round(session, code)
    info = common.registry(request.app, session).get(unit)
    if info is None or not (actor.sees(info.id) or actor.assigned(rnd.id, info.id) or
                            can(actor, "appraise", unit_id=info.id, round_id=rnd.id)):
        raise NotFound(_("Unit {code} not found.").format(code=unit))
    try:
        a = rounds.get_assessment(session, round_code=rnd.code, unit_code=info.code)
    except (NotFound, ChisoError):
        raise NotFound(_("Unit {code} is not in round {round}.").format(code=unit, round=code)) from None
    return rnd, info, a


@router.get("/assessments/{code}/{unit}/evidence/{sha256}")
def assessment_evidence(request: Request, code: str, unit: str, sha256: str = SHA256,
                        actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    """An evidence file of a unit's assessment, for whoever may open the assessment (its
    unit's readers, the round's appraisers, province-wide readers; 404 for everyone else);
    each download is in the audit trail."""
    from chiso.audit import service as audit
    from chiso.http.downloads import attachment

    rnd, info, a = _assessment(request, session, actor, code, unit)
    ev = next((e for e in a.evidence if e.sha256 == sha256), None)
    if ev is None:
        raise NotFound(_("The assessment of {unit} in round {round} has no such evidence file.").format(
            unit=info.name, round=rnd.code))
    data = read_evidence(session, sha256)
    audit.record(session, actor=actor, action="evidence.download", object_type="assessment",
                 object_key=f"{rnd.code}/{info.code}", unit_id=info.id,
                 after={"node": ev.node_id, "name": ev.original_name, "sha256": sha256})
    return attachment(data, ev.original_name, ev.media_type)


@router.get("/assessments/{code}/{unit}")
def assessment_page(request: Request, code: str, unit: str, saved: str = "", error: str = "",
                    actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    from chiso.assessments import service as rounds

    rnd, info, a = _assessment(request, session, actor, code, unit)
    method = tree_method(rnd)
    view = rounds.assessment_view(session, round_code=rnd.code, unit_code=info.code)
    may_self = can(actor, "assessments:write", unit_id=info.id) and a.status in SELF_STATUSES
    may_appraise = can(actor, "appraise", unit_id=info.id, round_id=rnd.id) and a.status in APPRAISE_STATUSES
    tree = _tree(method, view, current_language())
    inputs = [{"name": k, "description": (v.description_en if current_language() == "en" else v.description),
               "value": view["inputs"].get(k)} for k, v in method.inputs.items()]
    events = rounds.events(session, round_code=rnd.code, unit_code=info.code)[-10:]
    try:
        score = next((r for r in round_results(request.app, session, rnd.code) if r["unit"] == info.code), None)
    except ResultsUnavailable:
        score = None
    en = current_language() == "en"
    band = None
    if score and score.get("band"):
        band = next(((b.name_en if en else b.name) for b in getattr(method, "bands", ()) if b.id == score["band"]),
                    score["band"])
    return page(request, "assessment.html", rnd=rnd, unit=info, a=a, view=view, tree=tree, inputs=inputs,
                group_label=group_name(request.app, session, a.group_code), band=band,
                may_self=may_self, may_appraise=may_appraise, events=events, score=score, saved=saved,
                error=error, live_url=f"/assessments/{rnd.code}/{info.code}")


def _number(text: str) -> float:
    return float(text.strip().replace(" ", "").replace(",", "."))


def _values(form, tree: list[dict], prefix: str) -> tuple[dict, dict]:
    """Values and notes (or comments) from the form, each in the form its rule reads:
    percentages become rates on the method's scale, yes/no becomes true/false. Empty fields are left out."""
    values, notes = {}, {}
    for node in tree:
        if not node["leaf"] or node["rule"] == "formula":
            continue
        raw = form.get(f"{prefix}.{node['field']}")
        if isinstance(raw, str) and raw.strip():
            if node["rule"] == "yes_no":
                values[node["id"]] = raw == "yes"
            else:
                try:
                    number = _number(raw)
                except ValueError:
                    raise ChisoError(_("{node}: {value!r} is not a number.").format(node=node["id"], value=raw)) from None
                values[node["id"]] = number * node["per_percent"] if node["rule"] in ("ratio", "survey") else number
        note = form.get(f"{prefix}n.{node['field']}")
        if isinstance(note, str) and note.strip():
            notes[node["id"]] = note.strip()[:2000]
    return values, notes


def _back(code: str, unit: str, **params) -> RedirectResponse:
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"/assessments/{code}/{unit}" + (f"?{query}" if query else ""), status_code=303)


@router.post("/assessments/{code}/{unit}/self")
async def save_self(request: Request, code: str, unit: str, actor: Actor = Depends(get_user_actor),
                    session: Session = Depends(get_db, scope="function")):
    from chiso.assessments import service as rounds

    rnd, info, a = _assessment(request, session, actor, code, unit)
    require(actor, "assessments:write", unit_id=info.id)
    form = await request.form()
    method = tree_method(rnd)
    tree = _tree(method, rounds.assessment_view(session, round_code=rnd.code, unit_code=info.code), current_language())
    try:
        values, notes = _values(form, tree, "v")
        inputs = {}
        for name in method.inputs:
            raw = form.get(f"input.{name}")
            if isinstance(raw, str) and raw.strip():
                inputs[name] = _number(raw)
        rounds.self_assess(session, round_code=rnd.code, unit_code=info.code, values=values, notes=notes,
                           inputs=inputs, actor=actor)
        if form.get("action") == "submit":
            rounds.submit(session, round_code=rnd.code, unit_code=info.code, actor=actor)
            return _back(rnd.code, info.code, saved="submitted")
    except ChisoError as exc:
        return _back(rnd.code, info.code, error=str(exc)[:300])
    return _back(rnd.code, info.code, saved="draft")


@router.post("/assessments/{code}/{unit}/evidence")
async def upload_evidence(request: Request, code: str, unit: str, actor: Actor = Depends(get_user_actor),
                          session: Session = Depends(get_db, scope="function")):
    from chiso.assessments import service as rounds

    rnd, info, a = _assessment(request, session, actor, code, unit)
    require(actor, "assessments:write", unit_id=info.id)
    form = await request.form()
    upload, node = form.get("file"), form.get("node")
    if upload is None or not hasattr(upload, "read") or not isinstance(node, str):
        return _back(rnd.code, info.code, error=_("Choose a file and a criterion."))
    with tempfile.TemporaryDirectory(prefix="chiso-upload-") as tmp:
        path = Path(tmp) / "upload"
        size = 0
        with path.open("wb") as out:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > MAX_FORM_FILE:
                    return _back(rnd.code, info.code, error=_("The file is larger than 20 MB."))
                out.write(chunk)
        try:
            rounds.attach_evidence(session, round_code=rnd.code, unit_code=info.code, node_id=node, path=path,
                                   actor=actor, name=upload.filename or "file")
        except ChisoError as exc:
            return _back(rnd.code, info.code, error=str(exc)[:300])
    return _back(rnd.code, info.code, saved="evidence")


@router.post("/assessments/{code}/{unit}/submit")
def submit(request: Request, code: str, unit: str, actor: Actor = Depends(get_user_actor),
           session: Session = Depends(get_db, scope="function")):
    from chiso.assessments import service as rounds

    rnd, info, a = _assessment(request, session, actor, code, unit)
    require(actor, "assessments:write", unit_id=info.id)
    try:
        rounds.submit(session, round_code=rnd.code, unit_code=info.code, actor=actor)
    except ChisoError as exc:
        return _back(rnd.code, info.code, error=str(exc)[:300])
    return _back(rnd.code, info.code, saved="submitted")


@router.post("/assessments/{code}/{unit}/appraise")
async def appraise(request: Request, code: str, unit: str, actor: Actor = Depends(get_user_actor),
                   session: Session = Depends(get_db, scope="function")):
    from chiso.assessments import service as rounds

    rnd, info, a = _assessment(request, session, actor, code, unit)
    if not can(actor, "appraise", unit_id=info.id, round_id=rnd.id):
        raise Forbidden(_("You are not allowed to do this."))
    form = await request.form()
    method = tree_method(rnd)
    tree = _tree(method, rounds.assessment_view(session, round_code=rnd.code, unit_code=info.code), current_language())
    try:
        values, comments = _values(form, tree, "a")
        rounds.appraise(session, round_code=rnd.code, unit_code=info.code, values=values, comments=comments,
                        actor=actor)
    except ChisoError as exc:
        return _back(rnd.code, info.code, error=str(exc)[:300])
    return _back(rnd.code, info.code, saved="appraised")


@router.get("/public")
def public(request: Request, actor: Actor = Depends(get_actor), session: Session = Depends(get_db, scope="function")):
    """Published round results, for anyone: only units whose results are published."""
    app = request.app
    out = []
    for rnd in rounds_list(app, session):
        if not rnd["statuses"].get("published"):
            continue
        try:
            rows = [r for r in round_results(app, session, rnd["code"]) if r["status"] == "published"]
        except ResultsUnavailable:
            continue
        groups = []
        for g in sorted({r["group"] for r in rows}):
            table = [r for r in rows if r["group"] == g]
            groups.append({"group": g, "name": group_name(app, session, g), "table": table,
                           "top": announcement(table)})
        out.append({"round": rnd, "groups": groups})
    return page(request, "public.html", published=out)
