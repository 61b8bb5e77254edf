"""What the JSON API answers, as Pydantic models: the shared pieces (the error body, the
number and time types) that every domain's ``schemas.py`` builds on.

The models describe the objects the services already build (the same dicts the CLI prints
with ``--format json``); they exist so that the OpenAPI document says what comes back and
the API fuzzing (tests/web/test_openapi_fuzz.py) checks real shapes. Validating must not
alter what is sent, so:

- numbers keep the type the service gave them (an ``int`` stays ``3``, never ``3.0``);
- times given as text stay that text; times given as datetimes are written as before;
- a key the service sometimes leaves out has a default and the routes answer with
  ``response_model_exclude_unset``, so an absent key stays absent;
- an unexpected key is refused (``extra="forbid"``): a service that grows a key must say
  so here, in the published document, rather than send it undescribed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema


#: A JSON number, sent as the service made it (an int stays an int).
Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
#: A day, ``YYYY-MM-DD``: the text a service made stays as it is, a date is written as
#: the API always wrote it.
Day = Annotated[str | date, WithJsonSchema({"type": "string", "format": "date"})]
#: A moment, ISO 8601: the text a service made (``isoformat()``, ``+00:00``) stays as it is;
#: a datetime is written as the API always wrote one (UTC as ``Z``, naive ones naive).
#: Not ``format: date-time``: some moments come without an offset (RFC 3339 wants one).
Moment = Annotated[str | datetime, WithJsonSchema({"type": "string", "description": "ISO 8601 date and time"})]


class Out(BaseModel):
    """An object of the API's answers: exactly the keys described, nothing more."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Out):
    code: str = Field(description="not_found, unauthenticated, forbidden, invalid, invalid_request, too_large, throttled, …")
    message: str = Field(description="What went wrong, in the reader's language.")
    details: list[dict[str, Any]] | None = None


class ErrorBody(Out):
    """Every refusal of the API: ``{"error": {"code": ..., "message": ...}}``."""

    error: ErrorDetail


class Storage(Out):
    database: str
    url: str
    dossiers: str


class Health(Out):
    """``/healthz``: the status; for an administrator also the version and the storage."""

    status: str
    version: str | None = None
    storage: Storage | None = None


#: What a route that answers with one object or a list declares, so that absent optional
#: keys stay absent (see the module's docstring).
EXACT: dict[str, Any] = {"response_model_exclude_unset": True}
