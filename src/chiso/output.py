"""Printing results: JSON for machines, aligned tables for people."""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import date, datetime
from typing import Any, Iterable, Sequence

import click


def _default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


#: One value on one line, by the C encoder (indenting takes the pure-Python one: four
#: times slower; 0.05 s for an index of 280 units).
_compact = json.JSONEncoder(ensure_ascii=False, default=_default)


def json_text(data: Any, *, terminal: bool = False) -> str:
    """``data`` as JSON text: indented for a person at a terminal; else a list one item a
    line and an object one member a line (for grep and diff), each written by the C
    encoder (the dossiers behind a province's year, 10 million ids: 14 s indented)."""
    if terminal:
        return json.dumps(data, ensure_ascii=False, indent=2, default=_default)
    if isinstance(data, list) and data:
        return "[\n" + ",\n".join(_compact.encode(item) for item in data) + "\n]"
    if isinstance(data, dict) and data:
        return "{\n" + ",\n".join(f"{_compact.encode(str(k))}: {_compact.encode(v)}" for k, v in data.items()) + "\n}"
    return _compact.encode(data)


def emit_json(data: Any) -> None:
    click.echo(json_text(data, terminal=sys.stdout.isatty()))


def _width(text: str) -> int:
    # Combining marks (Vietnamese tone marks in NFD text) take no column.
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def number(value: float, decimals: int = 2) -> str:
    """A number as the language in force writes it (Vietnamese: 1.234,56)."""
    from babel.numbers import format_decimal

    from chiso.i18n import current_language

    pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    return format_decimal(value, format=pattern, locale=current_language())


def day(value: date | str) -> str:
    """A calendar day as people write it in Vietnam, on screens and in documents: dd/mm/yyyy."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return value.strftime("%d/%m/%Y")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return number(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return day(value)
    return str(value)


def emit_table(rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    """``columns`` is (key, heading) pairs; headings are already translated."""
    body = [[_cell(row.get(key)) for key, _h in columns] for row in rows]
    heads = [h for _k, h in columns]
    widths = [max([_width(h)] + [_width(r[i]) for r in body]) for i, h in enumerate(heads)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths)).rstrip()

    out = [line(heads), line(["-" * w for w in widths])] + [line(r) for r in body]
    click.echo("\n".join(out))


def error(message: str) -> None:
    sys.stderr.write(f"chiso: {message}\n")
