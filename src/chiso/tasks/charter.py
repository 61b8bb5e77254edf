"""The committee's own documents: its decision of establishment (quyết định thành lập), its
working rules (quy chế hoạt động: functions, powers, working regime), its work programme
(chương trình công tác). Each is kept with its key fields and, when given, its file (in
the evidence store, by checksum). A document of a kind issued later replaces the earlier
one of that kind from its effective day; both are kept."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso.audit import service as audit
from chiso.auth.permissions import Actor
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.tasks.models import CommitteeDocument

KINDS = ("establishment", "working_rules", "programme", "other")


def kind_name(kind: str) -> str:
    return {"establishment": _("decision of establishment"), "working_rules": _("working rules"),
            "programme": _("work programme"), "other": _("other document")}.get(kind, kind)


def document_json(d: CommitteeDocument) -> dict[str, Any]:
    return {"kind": d.kind, "number": d.number, "title": d.title, "signed_on": d.signed_on.isoformat(),
            "signed_by": d.signed_by, "effective_from": d.effective_from.isoformat() if d.effective_from else None,
            "summary": d.summary, "replaced_on": d.replaced_on.isoformat() if d.replaced_on else None,
            "file": d.file_name, "sha256": d.file_sha256}


def add_document(session: Session, *, actor: Actor, kind: str, number: str, title: str, signed_on: date,
                 signed_by: str | None = None, effective_from: date | None = None, summary: str | None = None,
                 path: Path | None = None, name: str | None = None) -> CommitteeDocument:
    """Keep (or update, by kind and number) one of the committee's documents."""
    if kind not in KINDS:
        raise ChisoError(_("Unknown kind of document {kind}: use one of {kinds}.").format(kind=kind, kinds=", ".join(KINDS)))
    if not number.strip() or not title.strip():
        raise ChisoError(_("A document needs a number and a title."))
    row = session.scalar(select(CommitteeDocument).where(CommitteeDocument.kind == kind,
                                                         CommitteeDocument.number == number.strip()))
    before = document_json(row) if row is not None else None
    if row is None:
        row = CommitteeDocument(kind=kind, number=number.strip(), title=title.strip(), signed_on=signed_on)
        session.add(row)
    row.title, row.signed_on, row.signed_by = title.strip(), signed_on, signed_by
    row.effective_from, row.summary = effective_from, summary
    if path is not None:
        from chiso.assessments import evidence as store

        kept = store.store(Path(path), name, where=session)
        row.file_name, row.file_sha256, row.file_size, row.file_type = kept.name, kept.sha256, kept.size, kept.media_type
    session.flush()
    start = effective_from or signed_on
    for older in session.scalars(select(CommitteeDocument).where(CommitteeDocument.kind == kind,
                                                                 CommitteeDocument.id != row.id)):
        if kind != "other" and (older.effective_from or older.signed_on) < start and older.replaced_on is None:
            older.replaced_on = start
    audit.record(session, actor=actor, action="committee.document", object_type="committee_document",
                 object_key=f"{kind}/{row.number}", before=before, after=document_json(row))
    return row


def list_documents(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(CommitteeDocument).order_by(CommitteeDocument.kind, CommitteeDocument.signed_on))
    return [document_json(d) for d in rows]


def document(session: Session, kind: str, number: str) -> CommitteeDocument:
    row = session.scalar(select(CommitteeDocument).where(CommitteeDocument.kind == kind,
                                                         CommitteeDocument.number == number))
    if row is None:
        raise NotFound(_("Unknown committee document: {number}").format(number=number))
    return row
