"""Tables of the steering committee (Ban Chỉ đạo) and its tasks (nhiệm vụ).

A task carries the "6 clear" fields (6 rõ: rõ người, rõ việc, rõ thời gian, rõ trách
nhiệm, rõ sản phẩm, rõ thẩm quyền): ``owner``, ``title``/``description``, ``deadline``,
the responsible ``unit`` with its coordinating units, ``product`` and ``authority``.
Progress updates are appended and never edited: they are the task's history.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chiso.db import Base, utcnow as _now
from chiso.units.models import Unit


class CommitteeMember(Base):
    """A member of the steering committee (thành viên Ban Chỉ đạo)."""

    __tablename__ = "committee_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Short key people type and import files name (e.g. "pct-hoa").
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    #: e.g. "Trưởng ban", "Phó Trưởng ban", "Thành viên".
    role: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    #: Their office outside the committee (chức vụ), e.g. "Phó Chủ tịch UBND tỉnh".
    title: Mapped[str | None] = mapped_column(String(255))
    #: ``committee`` (thành viên Ban Chỉ đạo) or ``support_team`` (tổ giúp việc).
    body: Mapped[str] = mapped_column(String(16), default="committee", server_default="committee")
    #: The fields (lĩnh vực) they follow, semicolon-separated as typed.
    fields: Mapped[str | None] = mapped_column(Text)
    #: When they joined and left (members change; a member who left is kept, with the day).
    joined_on: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    units: Mapped[list[MemberUnit]] = relationship(back_populates="member", cascade="all, delete-orphan")


class MemberUnit(Base):
    """A unit a member is in charge of (phụ trách, theo dõi, đôn đốc: seed 004)."""

    __tablename__ = "committee_member_units"
    __table_args__ = (UniqueConstraint("member_id", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_members.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)

    member: Mapped[CommitteeMember] = relationship(back_populates="units")
    unit: Mapped[Unit] = relationship()


class MemberChange(Base):
    """One change of a member (joined, changed, left): appended, never edited, so the
    committee as it stood on any day can be read back."""

    __tablename__ = "committee_member_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_members.id"), index=True)
    on: Mapped[date] = mapped_column(Date)
    #: joined | changed | left
    change: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    by: Mapped[str | None] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class CommitteeDocument(Base):
    """A document of the committee itself: its decision of establishment (quyết định thành
    lập), its working rules (quy chế hoạt động), its work programme; key fields and the file."""

    __tablename__ = "committee_documents"
    __table_args__ = (UniqueConstraint("kind", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: establishment | working_rules | programme | other
    kind: Mapped[str] = mapped_column(String(32))
    #: The document's number and symbol (số, ký hiệu), e.g. "123/QĐ-UBND".
    number: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    signed_on: Mapped[date] = mapped_column(Date)
    signed_by: Mapped[str | None] = mapped_column(String(255))
    effective_from: Mapped[date | None] = mapped_column(Date)
    #: What it settles (functions, powers, working regime...), as the secretariat sums it up.
    summary: Mapped[str | None] = mapped_column(Text)
    #: The day a later document replaced it (None: in force).
    replaced_on: Mapped[date | None] = mapped_column(Date)
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_size: Mapped[int | None] = mapped_column(Integer)
    file_type: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Meeting(Base):
    """A meeting or conference of the committee (phiên họp, hội nghị); its conclusions are
    tasks whose ``meeting_id`` names it."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    #: regular | thematic | conference
    kind: Mapped[str] = mapped_column(String(16))
    chair: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(String(255))
    #: The conclusion notice's number once issued (e.g. "45/TB-BCĐ").
    notice_number: Mapped[str | None] = mapped_column(String(64))
    minutes_name: Mapped[str | None] = mapped_column(String(255))
    minutes_sha256: Mapped[str | None] = mapped_column(String(64))
    minutes_size: Mapped[int | None] = mapped_column(Integer)
    minutes_type: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    attendees: Mapped[list[MeetingAttendee]] = relationship(back_populates="meeting", cascade="all, delete-orphan")


class MeetingAttendee(Base):
    __tablename__ = "meeting_attendees"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_members.id"), index=True)

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    member: Mapped[CommitteeMember] = relationship()


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The ``id`` of the work programme's file: the key that makes import idempotent.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    #: The responsible person (rõ người).
    owner: Mapped[str] = mapped_column(String(255), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    deadline: Mapped[date] = mapped_column(Date, index=True)
    product: Mapped[str | None] = mapped_column(Text)
    authority: Mapped[str | None] = mapped_column(Text)
    #: The document that assigned it (chương trình công tác, kết luận cuộc họp...).
    source: Mapped[str | None] = mapped_column(Text)
    #: As written in the programme; ``member_id`` when it names a committee member.
    member_in_charge: Mapped[str | None] = mapped_column(String(255))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("committee_members.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    #: Optional link to a target or indicator (code of the targets package).
    target_code: Mapped[str | None] = mapped_column(String(128))
    #: not_started | in_progress | done | cancelled
    status: Mapped[str] = mapped_column(String(16), default="not_started")
    completed_at: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    #: The meeting whose conclusion assigned it, and the point's number in the notice.
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    meeting_point: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    meeting: Mapped[Meeting | None] = relationship()
    member: Mapped[CommitteeMember | None] = relationship()
    parent: Mapped[Task | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Task]] = relationship(back_populates="parent")
    coordinating: Mapped[list[TaskUnit]] = relationship(back_populates="task", cascade="all, delete-orphan")
    progress: Mapped[list[TaskProgress]] = relationship(
        back_populates="task", cascade="all", order_by="TaskProgress.id"
    )


class TaskUnit(Base):
    """A unit that coordinates on a task (đơn vị phối hợp)."""

    __tablename__ = "task_units"
    __table_args__ = (UniqueConstraint("task_id", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)

    task: Mapped[Task] = relationship(back_populates="coordinating")
    unit: Mapped[Unit] = relationship()


class TaskProgress(Base):
    """One progress report (báo cáo tiến độ): appended, never edited."""

    __tablename__ = "task_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    on: Mapped[date] = mapped_column(Date)
    percent: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    #: An evidence file (tài liệu kiểm chứng) attached to the report: stored once by its
    #: checksum in the evidence store, never executed.
    evidence_name: Mapped[str | None] = mapped_column(String(255))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    evidence_size: Mapped[int | None] = mapped_column(Integer)
    evidence_type: Mapped[str | None] = mapped_column(String(128))

    task: Mapped[Task] = relationship(back_populates="progress")

