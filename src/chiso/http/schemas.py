"""The shared pieces of the JSON API's response models: the error body, the health answer,
and how routes declare their models (:data:`EXACT`). The types every model is built of
(:class:`~chiso.shapes.Out`, ``Number``, ``Day``, ``Moment``) are in :mod:`chiso.shapes`,
below the domains, so that ``auth`` and the unit registry can describe their JSON too."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chiso.shapes import Out


class ErrorDetail(Out):
    code: str = Field(description="not_found, unauthenticated, forbidden, invalid, invalid_request, too_large, "
                                  "throttled, …")
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
    #: Only from a server that warms its pages (``chiso serve``): True while it computes
    #: the first pages' figures after a start or an import.
    warming: bool | None = None
    version: str | None = None
    storage: Storage | None = None


#: What a route that answers with one object or a list declares, so that absent optional
#: keys stay absent (see the module's docstring).
EXACT: dict[str, Any] = {"response_model_exclude_unset": True}
