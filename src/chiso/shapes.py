"""What the JSON API answers is built of: the base of every response model and the number
and time types (Pydantic). Each domain's ``schemas.py`` describes its routes' JSON with them;
the shared answers (the error body, health) are in :mod:`chiso.http.schemas`. Kernel level:
it imports nothing of chiso, so every domain may use it.

The models describe the objects the services already build (the same dicts the CLI prints
with ``--format json``); they exist so that the OpenAPI document says what comes back and
the API fuzzing (tests/web/test_openapi_fuzz.py) checks real shapes. Validating must not
alter what is sent, so:

- numbers keep the type the service gave them (an ``int`` stays ``3``, never ``3.0``);
- times given as text stay that text; times given as datetimes are written as before;
- a key the service sometimes leaves out has a default and the routes answer with
  ``response_model_exclude_unset`` (:data:`chiso.http.schemas.EXACT`), so an absent key
  stays absent;
- an unexpected key is refused (``extra="forbid"``): a service that grows a key must say
  so here, in the published document, rather than send it undescribed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, WithJsonSchema

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
