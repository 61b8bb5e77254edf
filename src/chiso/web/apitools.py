"""What the routers of the API share: paging, scope filters, the visible unit, uploads.

Kept apart from :mod:`chiso.web.api_v1` so that the domain routers (``<domain>/api.py``),
which that module mounts, can import it without a circular import."""

from __future__ import annotations

import os
import tempfile
import unicodedata
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

from fastapi import Query, Response, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, require
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _

MAX_LIMIT = 1000

Limit = Query(100, ge=1, le=MAX_LIMIT, description="Rows per page.")
Offset = Query(0, ge=0, le=10_000_000, description="Rows to skip.")


def page(response: Response, rows: list, limit: int, offset: int) -> list:
    """One page of ``rows``; the total goes in the ``X-Total-Count`` header."""
    response.headers["X-Total-Count"] = str(len(rows))
    return rows[offset: offset + limit]


def unit_ids(session: Session) -> dict[str, int]:
    from chiso.units.models import Unit

    return {code: uid for code, uid in session.execute(select(Unit.code, Unit.id))}


def unknown_unit(code: str) -> str:
    return _("Unknown unit code: {code}").format(code=code)


def visible_unit(session: Session, actor: Actor, code: str, *, on: date | None = None):
    """The unit ``code`` names, or NotFound when it is unknown or outside the actor's scope
    (the same answer, so scope does not leak)."""
    from chiso.units import service as units

    try:
        unit = units.get(session, code, on=on)
    except NotFound:
        raise NotFound(unknown_unit(code)) from None
    require(actor, "read", unit_id=unit.id, what=unknown_unit(code))
    return unit


def unit_in_scope(session: Session, actor: Actor, code: str):
    """The unit ``code`` names when it is in the actor's scope (whatever the actor may do
    there: the caller checks the action), else NotFound, as for an unknown code."""
    from chiso.units import service as units

    try:
        unit = units.get(session, code)
    except NotFound:
        raise NotFound(unknown_unit(code)) from None
    if not actor.sees(unit.id):
        raise NotFound(unknown_unit(code))
    return unit


def in_scope(rows: list[dict], actor: Actor, ids: dict[str, int], key: str = "unit") -> list[dict]:
    if actor.units is None:
        return rows
    return [r for r in rows if ids.get(r.get(key)) in actor.units]


def clean_filename(name: str | None, default: str = "upload") -> str:
    """A client's file name made safe to keep for display: its last path part only, without
    control or format characters, NFC, at most 200 characters; never ``.`` or ``..``."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").split("/")[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"))
    text = text.strip().lstrip(".").strip()
    if len(text) > 200:
        stem, ext = os.path.splitext(text)
        text = stem[: 200 - len(ext[:20])] + ext[:20]
    return text or default


@contextmanager
def saved_upload(upload: UploadFile, *, limit: int) -> Iterator[Path]:
    """The uploaded file copied into a private temporary folder (under a fixed name: the
    client's name never becomes a path), refused above ``limit`` bytes; removed after."""
    with tempfile.TemporaryDirectory(prefix="chiso-upload-") as tmp:
        path = Path(tmp) / "upload"
        written = 0
        with path.open("wb") as out:
            while chunk := upload.file.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise ChisoError(_("The file is larger than the limit of {mb} MB.").format(mb=limit // (1024 * 1024)))
                out.write(chunk)
        yield path
