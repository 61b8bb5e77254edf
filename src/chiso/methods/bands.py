"""A classification band's name in the reader's language: the one rule the index rows,
the pages and the reports all use (a band's names are data, in the definition file)."""

from __future__ import annotations

from typing import Any, Sequence

from chiso.i18n import current_language


def band_name(bands: Sequence[Any], band_id: str | None, *, lang: str | None = None) -> str | None:
    """The name of band ``band_id`` among a method's ``bands`` in ``lang`` (default: the
    reader's language): the English name in English, the Vietnamese one otherwise; None
    when the method has no such band (or no band was given)."""
    english = (lang or current_language()) == "en"
    for b in bands:
        if b.id == band_id:
            return b.name_en if english else b.name
    return None


def band_position(bands: Sequence[Any], band_id: str | None) -> int:
    """Where band ``band_id`` stands among ``bands``, lowest first as the definition lists
    them (a chart's colour); -1 when it is not one of them."""
    return next((i for i, b in enumerate(bands) if b.id == band_id), -1)
