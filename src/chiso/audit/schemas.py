"""The JSON object of an audit entry on the API (``/api/v1/audit``):
:func:`chiso.audit.service.entry_json` described for the OpenAPI document (see
:mod:`chiso.shapes`)."""

from __future__ import annotations

from typing import Any

from chiso.shapes import Moment, Out


class AuditEntryOut(Out):
    id: int
    at: Moment
    actor: str
    via: str | None
    address: str | None
    token: str | None
    action: str
    object_type: str | None
    object_key: str | None
    unit: str | None
    before: Any = None
    after: Any = None
