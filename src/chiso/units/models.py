"""Tables of the unit registry (đơn vị): units, their effective-dated parents and names,
lineage events (sáp nhập / chia tách / đổi tên), and groups of units ranked together.

Validity is a half-open interval ``[valid_from, valid_to)``: ``valid_to`` is the first day a
row no longer holds, which is the effective date of the event that ended it. ``None`` means
open. Rows are never deleted: a merged commune keeps its own row, its history and its data.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chiso.db import Base, utcnow as _now


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Registry code, unique for all time: the official code for units of today's two-tier
    #: structure ("68", "24781"), ``old:`` + the official code for units of the structure
    #: before 1 July 2025 ("old:68"), ``<province>.<abbreviation>`` for agencies ("68.SNV").
    code: Mapped[str] = mapped_column(String(64), unique=True)
    #: The code in official lists (GSO / Decision 19/2025/QĐ-TTg); codes are reused across eras.
    official_code: Mapped[str | None] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    #: province | district | agency | commune
    level: Mapped[str] = mapped_column(String(16), index=True)
    #: finer type: city, province; commune, ward, township, special_zone; department, party...
    kind: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    area_km2: Mapped[float | None] = mapped_column(Float)
    #: Where the row came from: a data package with its version, a template, or a person.
    source: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    parents: Mapped[list[UnitParent]] = relationship(
        foreign_keys="UnitParent.unit_id", back_populates="unit", cascade="all"
    )
    names: Mapped[list[UnitName]] = relationship(back_populates="unit", cascade="all")


class UnitParent(Base):
    """Which unit a unit belongs to, and when."""

    __tablename__ = "unit_parents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], back_populates="parents")
    parent: Mapped[Unit] = relationship(foreign_keys=[parent_id])


class UnitName(Base):
    """A unit's name over time (a rename keeps the unit and closes the old name)."""

    __tablename__ = "unit_names"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    unit: Mapped[Unit] = relationship(back_populates="names")


class LineageEvent(Base):
    """A change of structure on one date: merge, split, rename, reparent, create, dissolve."""

    __tablename__ = "lineage_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Natural key that makes loading idempotent, e.g. "province-merge:68"; None for events
    #: a person records.
    key: Mapped[str | None] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    effective_date: Mapped[date] = mapped_column(Date, index=True)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    links: Mapped[list[LineageLink]] = relationship(back_populates="event", cascade="all")


class LineageLink(Base):
    """One source → target pair of an event. ``share`` is the part of the source's additive
    data (dossier counts, population) that restating attributes to this target."""

    __tablename__ = "lineage_links"
    __table_args__ = (UniqueConstraint("event_id", "from_unit_id", "to_unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("lineage_events.id"), index=True)
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    share: Mapped[float] = mapped_column(Float, default=1.0)
    primary: Mapped[bool] = mapped_column(Boolean, default=True)

    event: Mapped[LineageEvent] = relationship(back_populates="links")
    from_unit: Mapped[Unit] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[Unit] = relationship(foreign_keys=[to_unit_id])


class GroupSet(Base):
    """A way of dividing units into groups that are ranked separately (e.g. by agency type)."""

    __tablename__ = "group_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))

    groups: Mapped[list[UnitGroup]] = relationship(back_populates="group_set")


class UnitGroup(Base):
    __tablename__ = "unit_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("group_sets.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))

    group_set: Mapped[GroupSet] = relationship(back_populates="groups")
    members: Mapped[list[GroupMember]] = relationship(back_populates="group", cascade="all")


class GroupMember(Base):
    __tablename__ = "group_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("unit_groups.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    group: Mapped[UnitGroup] = relationship(back_populates="members")
    unit: Mapped[Unit] = relationship()


class Meta(Base):
    """Facts about this store: the home province, versions of the data packages loaded."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class UnitGeometry(Base):
    """A unit's boundary as a GIS office gives it (``chiso units geometry import``): GeoJSON
    in longitude/latitude (WGS 84). One per unit: a former commune keeps the polygon it had,
    today's unit has its own, so the map of any date draws the units of that date."""

    __tablename__ = "unit_geometries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), unique=True)
    #: A GeoJSON Polygon or MultiPolygon, as text (the same on SQLite and PostgreSQL).
    geojson: Mapped[str] = mapped_column(Text)
    #: The file it came from (its name), for the provenance of the map.
    source: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
