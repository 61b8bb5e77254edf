"""The JSON objects of accounts and tokens on the API (``/api/v1/me``, ``/api/v1/tokens``):
:func:`chiso.auth.service.user_json` and :func:`~chiso.auth.service.token_json` described
for the OpenAPI document (see :mod:`chiso.shapes`)."""

from __future__ import annotations

from chiso.shapes import Moment, Out


class UserOut(Out):
    name: str
    full_name: str | None
    email: str | None
    role: str
    unit: str | None
    active: bool
    must_change_password: bool
    #: Sources of records the account may write (empty: no grant beyond ownership).
    sources: list[str]
    created_at: Moment | None


class Me(UserOut):
    via: str
    token_scopes: list[str] | None
    may: list[str]


class TokenOut(Out):
    id: int
    prefix: str
    user: str
    name: str | None
    scopes: list[str]
    #: Sources the token is limited to, within its account's (empty: its account's).
    sources: list[str]
    #: Manual indicators the token may enter values of (empty: any).
    indicators: list[str]
    created_at: Moment
    expires_at: Moment | None
    last_used_at: Moment | None
    revoked: bool
