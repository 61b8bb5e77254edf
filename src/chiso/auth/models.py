"""Users, their web sessions and API tokens, and login attempts (appraisers' assignments to
rounds are the assessments' table, ``chiso.assessments.models.Assignment``).

Secrets are never stored: passwords as argon2 hashes, session cookies and API tokens as
SHA-256 digests (they are long random strings, so a fast digest is enough; argon2 is for
what people choose). Nothing here is deleted: a session or token ends by ``revoked_at``, a
user by ``active = False``, so the audit trail always finds who did what."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chiso.db import Base, utcnow as _now
from chiso.units.models import Unit


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Login name, lower case.
    name: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    #: admin | steering | editor | appraiser | viewer
    role: Mapped[str] = mapped_column(String(16))
    #: The unit whose subtree (today's structure) the user works in; None: the whole province.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Set by an administrator's reset: the next login must choose a new password.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The language the person chose with the language link ("vi", "en"); None: the store's.
    language: Mapped[str | None] = mapped_column(String(8))
    #: Space-separated sources of records the user may write (``--source`` of an import);
    #: empty: any source the user's unit owns or that is new.
    sources: Mapped[str] = mapped_column(Text, default="", server_default="")

    unit: Mapped[Unit | None] = relationship()


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: The form token of this session (synchroniser-token CSRF defence).
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The first characters of the token, shown in lists and the audit log to tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(128))
    #: Space-separated scopes; empty: everything the user may do.
    scopes: Mapped[str] = mapped_column(Text, default="")
    #: Space-separated sources the token may write; empty: those of its user.
    sources: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: Space-separated manual indicators the token may enter values of; empty: any.
    indicators: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Every login attempt, kept for throttling and for the security record."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(64), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
