"""Tables of assessment rounds (đợt đánh giá): a criteria-tree method version, a year and the
units assessed, each in the group it is ranked in; per unit an assessment (the workflow
status), its leaf values (tự đánh giá / thẩm định), evidence files (tài liệu kiểm chứng),
survey rates (tỷ lệ hài lòng), and the append-only log of what happened (nhật ký).

The method itself is data (a definition file): a round records its id, family and version,
and where it was loaded from, and refuses to score with another version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from chiso.db import Base, utcnow as _now
from chiso.auth import models as _auth_models  # noqa: F401  (users: an assignment names one)
from chiso.units.models import Unit


class AssessmentRound(Base):
    __tablename__ = "assessment_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Short code people type, e.g. "songanh-2025".
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    method_id: Mapped[str] = mapped_column(String(64), index=True)
    #: Rounds of one family (several versions of one index) are compared year on year.
    method_family: Mapped[str] = mapped_column(String(64), index=True)
    method_version: Mapped[str] = mapped_column(String(64))
    #: What :func:`chiso.methods.loader.load` was given: a shipped id or a file path.
    method_source: Mapped[str] = mapped_column(Text)
    year: Mapped[int] = mapped_column(Integer, index=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    assessments: Mapped[list[Assessment]] = relationship(back_populates="round", cascade="all")


class Assessment(Base):
    """One unit in one round: its ranking group and where it stands in the workflow."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("round_id", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("assessment_rounds.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    #: The group the unit is ranked in within this round (e.g. "with_procedures").
    group_code: Mapped[str] = mapped_column(String(64), index=True)
    #: draft | self_assessed | submitted | appraised | approved | published
    status: Mapped[str] = mapped_column(String(16), default="draft")
    #: External inputs of formula leaves (e.g. {"index_766": 85.59}).
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Where its values come from: "assessed" (this round's workflow) or "published" (results
    #: published elsewhere and imported at any node: read as given, never as self-assessment).
    source: Mapped[str] = mapped_column(String(16), default="assessed", server_default="assessed")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    round: Mapped[AssessmentRound] = relationship(back_populates="assessments")
    unit: Mapped[Unit] = relationship()
    values: Mapped[list[LeafValue]] = relationship(back_populates="assessment", cascade="all")
    evidence: Mapped[list[Evidence]] = relationship(back_populates="assessment", cascade="all")


class LeafValue(Base):
    """One leaf of one assessment: what the unit entered and what the appraisers decided.

    Values are in the form the leaf's rule reads (a fraction for a ratio, a count for a step
    table, 1/0 for yes/no, points for a manual leaf, a rate for a survey leaf). A unit whose
    results were published elsewhere has ``published_value`` rows instead, at any node (an
    inner node's value in its published form, e.g. DTI points / max)."""

    __tablename__ = "assessment_values"
    __table_args__ = (UniqueConstraint("assessment_id", "node_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    node_id: Mapped[str] = mapped_column(String(128))
    self_value: Mapped[float | None] = mapped_column(Float)
    self_points: Mapped[float | None] = mapped_column(Float)
    #: The unit's explanation of its evidence (thuyết minh).
    note: Mapped[str | None] = mapped_column(Text)
    appraised_value: Mapped[float | None] = mapped_column(Float)
    appraised_points: Mapped[float | None] = mapped_column(Float)
    appraiser_comment: Mapped[str | None] = mapped_column(Text)
    #: Imported from published results (units from outside the round's workflow).
    published_value: Mapped[float | None] = mapped_column(Float)
    updated_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    assessment: Mapped[Assessment] = relationship(back_populates="values")


class Evidence(Base):
    """An evidence file for one leaf. The content is stored once per checksum under
    ``evidence/<sha256>`` in the store's records folder; it is only ever read back, never run."""

    __tablename__ = "assessment_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    node_id: Mapped[str] = mapped_column(String(128))
    original_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(128))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    assessment: Mapped[Assessment] = relationship(back_populates="evidence")


class SurveyRate(Base):
    """A satisfaction rate from imported survey responses: the share of answers 4 and 5
    among all answers of one unit on one factor, feeding a survey leaf."""

    __tablename__ = "survey_rates"
    __table_args__ = (UniqueConstraint("round_id", "unit_id", "factor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("assessment_rounds.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    factor: Mapped[str] = mapped_column(String(128))
    node_id: Mapped[str] = mapped_column(String(128))
    respondents: Mapped[int] = mapped_column(Integer)
    answers: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class RoundEvent(Base):
    """What happened to a round or one of its assessments, by whom, when and why.

    Append-only: a row is never updated or deleted (the session refuses it, below). A
    reopening of approved data is one of these rows, with its reason."""

    __tablename__ = "assessment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("assessment_rounds.id"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


@event.listens_for(Session, "before_flush")
def _events_are_append_only(session: Session, _context, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, RoundEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("assessment_events is append-only: rows are never updated or deleted")


class Assignment(Base):
    """An appraiser's assignment: a round, and one unit of it or (unit None) all of them."""

    __tablename__ = "appraisal_assignments"
    __table_args__ = (UniqueConstraint("user_id", "round_id", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("assessment_rounds.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
