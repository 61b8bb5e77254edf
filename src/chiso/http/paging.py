"""Paging of JSON lists: ``limit`` and ``offset`` query parameters, the total in a header."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Query, Response

T = TypeVar("T")

MAX_LIMIT = 1000

Limit = Query(100, ge=1, le=MAX_LIMIT, description="Rows per page.")
Offset = Query(0, ge=0, le=10_000_000, description="Rows to skip.")


def page(response: Response, rows: list[T], limit: int, offset: int) -> list[T]:
    """One page of ``rows``; the total goes in the ``X-Total-Count`` header."""
    response.headers["X-Total-Count"] = str(len(rows))
    return rows[offset: offset + limit]
