"""The audit log table. Append-only twice over: the ORM session refuses to update or delete a
row, and the migration adds database triggers that refuse it to any other client too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from chiso.db import Base, utcnow as _now
# The tables this one's foreign keys name: a command that writes the audit log without
# having loaded the accounts or the registry still flushes (lazy commands load little).
from chiso.auth import models as _auth_models  # noqa: F401
from chiso.units import models as _units_models  # noqa: F401


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    #: Who: a user's login name, or ``cli:<os user>``, or ``worker``.
    actor: Mapped[str] = mapped_column(String(128), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Through what: web, api, cli, worker.
    via: Mapped[str] = mapped_column(String(16))
    #: From where: the client's address, and the token's prefix for API calls.
    address: Mapped[str | None] = mapped_column(String(128))
    token: Mapped[str | None] = mapped_column(String(32))
    #: What: a dotted verb (``dossiers.import``, ``task.progress``, ``user.create``).
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_key: Mapped[str | None] = mapped_column(String(255))
    #: The unit the change belongs to: what scopes a reader's view of the log.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    #: JSON of the state before and after (None where there was none).
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit_log is append-only: rows are never updated or deleted")
