"""``/api/v1/tasks``: the steering committee's tasks in one's scope, progress reports (with
an optional evidence file), done, and cancel (province-wide managers). The objects are those
of ``chiso tasks … --format json``."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from chiso.assessments import evidence as evidence_store
from chiso.auth.permissions import Actor, require
from chiso.errors import NotFound
from chiso.http.deps import get_db, get_user_actor
from chiso.http.paging import Limit, Offset, page
from chiso.http.schemas import EXACT
from chiso.http.uploads import clean_filename, saved_upload
from chiso.i18n import _
from chiso.tasks import service
from chiso.tasks.schemas import TaskOut

router = APIRouter(prefix="/tasks", tags=["tasks"])

Status = Literal["not_started", "in_progress", "done_on_time", "done_late", "overdue", "cancelled", "done"]


class Cancel(BaseModel):
    reason: str = Field(..., min_length=1, max_length=2000)


def _task(session: Session, actor: Actor, code: str, action: str = "read"):
    """The task, checked for ``action``; NotFound alike for unknown tasks and tasks of units
    outside the actor's scope."""
    unknown = _("Unknown task: {id}").format(id=code)
    try:
        task = service.get(session, code)
    except NotFound:
        raise NotFound(unknown) from None
    if not actor.sees(task.unit_id):
        raise NotFound(unknown)
    require(actor, action, unit_id=task.unit_id, what=unknown)
    return task


def _json(task) -> dict[str, Any]:
    return service.to_json(task, date.today())


@router.get("", summary="Tasks of the units in one's scope, with their status as of a day", response_model=list[TaskOut], **EXACT)
def list_tasks(response: Response, status: Status | None = None, as_of: date | None = None,
               unit: str | None = Query(None, max_length=64), limit: int = Limit, offset: int = Offset,
               actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    from chiso.http.scope import unit_ids, visible_unit

    require(actor, "read")
    if unit:
        unit = visible_unit(session, actor, unit).code
    rows = service.list_tasks(session, unit=unit, status=status, as_of=as_of)
    if actor.units is not None:
        ids = unit_ids(session)
        rows = [r for r in rows if ids.get(r["unit"]) in actor.units]
    return page(response, rows, limit, offset)


@router.get("/{code}", summary="One task", response_model=TaskOut, **EXACT)
def get_task(code: str, as_of: date | None = None, actor: Actor = Depends(get_user_actor),
             session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    return service.to_json(_task(session, actor, code), as_of or date.today())


def _evidence(file: UploadFile | None):
    if file is None or not file.filename:
        return None
    return saved_upload(file, limit=evidence_store.MAX_BYTES)


@router.post("/{code}/progress", summary="Report progress (percent, note, optional evidence file)", response_model=TaskOut, **EXACT)
def progress(code: str, percent: int = Form(..., ge=0, le=100), note: str | None = Form(None, max_length=2000),
             on: date | None = Form(None), file: UploadFile | None = File(None),
             actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    task = _task(session, actor, code, "tasks:write")
    saved = _evidence(file)
    if saved is None:
        service.update_progress(session, actor=actor, code=task.code, percent=percent, note=note, on=on)
    else:
        with saved as path:
            service.update_progress(session, actor=actor, code=task.code, percent=percent, note=note, on=on,
                                    evidence=path, evidence_name=clean_filename(file.filename, "evidence"))
    return _json(task)


@router.post("/{code}/done", summary="Mark the task done (on a day, with an optional note and evidence file)", response_model=TaskOut, **EXACT)
def done(code: str, on: date | None = Form(None), note: str | None = Form(None, max_length=2000),
         file: UploadFile | None = File(None), actor: Actor = Depends(get_user_actor),
         session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    task = _task(session, actor, code, "tasks:write")
    saved = _evidence(file)
    if saved is None:
        service.mark_done(session, actor=actor, code=task.code, on=on or date.today(), note=note)
    else:
        with saved as path:
            service.mark_done(session, actor=actor, code=task.code, on=on or date.today(), note=note, evidence=path,
                              evidence_name=clean_filename(file.filename, "evidence"))
    return _json(task)


@router.post("/{code}/cancel", summary="Cancel a task, with a reason (province-wide managers)", response_model=TaskOut, **EXACT)
def cancel(code: str, body: Cancel, actor: Actor = Depends(get_user_actor),
           session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    task = _task(session, actor, code, "manage")
    service.cancel(session, actor=actor, code=task.code, reason=body.reason)
    return _json(task)
