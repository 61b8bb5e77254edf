"""What every kind of method definition states: identity, names, legal basis, sources,
confidence, notes, levels, and its bands."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from chiso.i18n import _
from chiso.methods.reader import Map, Reader, line_of, seq_of
from chiso.scoring.model import (
    LEVELS,
    Band,
    Confidence,
    LegalBasis,
    Source,
)


def read_header(reader: Reader, top: Map, required: Iterable[str], optional: Iterable[str]) -> tuple[str, dict[str, Any]]:
    """What every kind of definition starts with: identity, names, legal basis, sources,
    confidence, notes and levels. Returns the node name for problems and the fields."""
    method_id = reader.ident(top, "id", "method") or "?"
    node = f"method {method_id}"
    reader.keys(top, node, required, optional)
    family = reader.ident(top, "family", node)
    version = reader.ident(top, "version", node)
    default = top.get("default")
    if "default" in top and not isinstance(default, bool):
        reader.problem(reader.at(top, "default"), node, _("default must be true or false"))
    name = reader.text(top, "name", node)
    name_en = reader.text(top, "name_en", node)
    effective = top.get("effective_from")
    if effective is not None and not isinstance(effective, date):
        reader.problem(reader.at(top, "effective_from"), node, _("effective_from must be a date YYYY-MM-DD"))
        effective = None
    confidence = reader.confidence(top.get("confidence"), reader.at(top, "confidence"), node) if "confidence" in top else None
    notes = tuple(
        c for i, item in enumerate(seq_of(reader, top, "notes", node) or [])
        if (c := reader.confidence(item, line_of(item, reader.at(top, "notes")), f"{node} notes[{i}]"))
    )
    legal = read_legal_basis(reader, top, node)
    sources = read_sources(reader, top, node)

    levels: tuple[str, ...] = ()
    raw_levels = seq_of(reader, top, "levels", node)
    if raw_levels is not None:
        bad = [lv for lv in raw_levels if lv not in LEVELS]
        if bad or not raw_levels:
            reader.problem(reader.at(top, "levels"), node,
                           _("levels must be a list drawn from {levels}").format(levels=", ".join(LEVELS)))
        levels = tuple(lv for lv in raw_levels if lv in LEVELS)
    return node, {
        "id": method_id, "family": family or "", "version": version or "", "default": bool(default),
        "name": name or "", "name_en": name_en or "", "legal_basis": legal, "sources": sources,
        "confidence": confidence or Confidence("?", ""), "levels": levels, "notes": notes, "effective_from": effective,
    }



def read_legal_basis(reader: Reader, top: Map, node: str) -> tuple[LegalBasis, ...]:
    out = []
    for i, item in enumerate(seq_of(reader, top, "legal_basis", node) or []):
        where = f"{node} legal_basis[{i}]"
        m = reader.mapping(item, reader.at(top, "legal_basis"), where, "legal_basis")
        if m is None:
            continue
        reader.keys(m, where, ("document", "title", "title_en", "confidence"), ("date",))
        conf = reader.confidence(m.get("confidence"), reader.at(m, "confidence"), where) if "confidence" in m else None
        d = m.get("date")
        if d is not None and not isinstance(d, date):
            reader.problem(reader.at(m, "date"), where, _("date must be YYYY-MM-DD"))
            d = None
        out.append(LegalBasis(
            document=reader.text(m, "document", where) or "", title=reader.text(m, "title", where) or "",
            title_en=reader.text(m, "title_en", where) or "", confidence=conf or Confidence("?", ""), date=d,
        ))
    if "legal_basis" in top and not out:
        reader.problem(reader.at(top, "legal_basis"), node, _("legal_basis must list at least one document"))
    return tuple(out)


def read_sources(reader: Reader, top: Map, node: str) -> tuple[Source, ...]:
    out = []
    for i, item in enumerate(seq_of(reader, top, "sources", node) or []):
        where = f"{node} sources[{i}]"
        m = reader.mapping(item, reader.at(top, "sources"), where, "a source")
        if m is None:
            continue
        reader.keys(m, where, ("title",), ("url", "note"))
        out.append(Source(title=reader.text(m, "title", where) or "", url=reader.text(m, "url", where, required=False),
                          note=reader.text(m, "note", where, required=False) or ""))
    return tuple(out)


def read_bands(reader: Reader, top: Map, node: str) -> tuple[Band, ...]:
    out: list[Band] = []
    seen: set[str] = set()
    items = seq_of(reader, top, "bands", node)
    for item in items or []:
        m = reader.mapping(item, reader.at(top, "bands"), f"{node} bands", "a band")
        if m is None:
            continue
        band_id = reader.ident(m, "id", f"{node} bands") or "?"
        where = f"band {band_id}"
        reader.keys(m, where, ("id", "name", "name_en", "min", "max", "confidence"))
        if band_id in seen:
            reader.problem(m.line, where, _("duplicate band id {id!r}").format(id=band_id))
        seen.add(band_id)
        lo, hi = reader.number(m, "min", where), reader.number(m, "max", where)
        conf = reader.confidence(m.get("confidence"), reader.at(m, "confidence"), where) if "confidence" in m else None
        if lo is not None and hi is not None and lo >= hi:
            reader.problem(m.line, where, _("min must be below max"))
        out.append(Band(band_id, reader.text(m, "name", where) or "", reader.text(m, "name_en", where) or "",
                        lo if lo is not None else 0.0, hi if hi is not None else 0.0, conf or Confidence("?", "")))
    ordered = sorted(out, key=lambda b: b.min)
    if items is not None and ordered:
        # Bands must tile 0–100 so that every total has exactly one band.
        line = reader.at(top, "bands")
        if ordered[0].min != 0 or ordered[-1].max != 100:
            reader.problem(line, f"{node} bands", _("bands must cover 0 to 100"))
        for a, b in zip(ordered, ordered[1:]):
            if a.max != b.min:
                reader.problem(line, f"{node} bands",
                               _("bands {a} and {b} leave a gap or overlap").format(a=a.id, b=b.id))
    elif items is not None:
        reader.problem(reader.at(top, "bands"), f"{node} bands", _("at least one band is needed"))
    return tuple(ordered)


