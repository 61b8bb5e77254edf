"""The JSON summary of an import on the API (``POST /api/v1/dossiers``):
:meth:`chiso.imports.ImportSummary.to_json` described for the OpenAPI document (see
:mod:`chiso.shapes`)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from chiso.shapes import Number, Out


class RejectOut(Out):
    file: str | None = None
    line: int
    code: str | None = None
    reason: str
    values: dict[str, Any] | None = None


class FileOut(Out):
    path: str
    format: str
    read: int
    rejected: int
    rejects_path: str | None


class ImportSummaryOut(Out):
    """The counts, the first rejected rows and, for dossier imports, the source system, the
    files, the store version created and the seconds taken. One kind of import may add keys
    of its own (``ImportSummary.extra``), hence extra keys are let through."""

    model_config = ConfigDict(extra="allow")

    read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    rejects_path: str | None
    kind: str
    source: str | None = None
    files: list[FileOut] | None = None
    version: int | None = None
    seconds: Number | None = None
    rejects: list[RejectOut]
