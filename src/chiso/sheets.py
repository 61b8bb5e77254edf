"""Reading the spreadsheets people send (CSV or XLSX) row by row, with line numbers.

Every all-or-nothing import of small files (survey answers, published results, a work
programme, targets) reads its rows here, so that they all accept the same files: UTF-8
CSV with or without a byte-order mark, `;`-separated CSV as Excel writes it in a Vietnamese
locale, and the first sheet of an XLSX workbook. Dossier files, which can hold millions of
rows, have their own vectorised reader in :mod:`chiso.dossiers.ingest`. What an import
answers, and its rejects file, are in :mod:`chiso.imports`.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from chiso.errors import ChisoError
from chiso.i18n import _


def cell_text(value: Any) -> str:
    """A cell as text: dates in ISO form, whole numbers without a decimal part (Excel stores
    every number as a float), nothing as the empty string."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def rows(path: Path, *, unsupported: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every non-blank row, header first. ``unsupported`` is the caller's
    message for a file that is neither CSV nor XLSX."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise ChisoError(_("Cannot read {path}: {reason}").format(path=path, reason=exc)) from None
        try:
            for number, row in enumerate(wb.active.iter_rows(values_only=True), start=1):
                cells = [cell_text(v) for v in row]
                if any(c.strip() for c in cells):
                    yield number, cells
        finally:
            wb.close()
    elif suffix in (".csv", ".txt"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ChisoError(_("Cannot read {path}: {reason}").format(path=path, reason=exc)) from None
        lines = text.splitlines()
        # Excel in a Vietnamese locale writes ";" between fields. Cells may hold ";" too (a
        # task's coordinating units), so only a header with no comma at all is ";"-separated.
        delimiter = ";" if lines and "," not in lines[0] and ";" in lines[0] else ","
        for number, cells in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
            if any(c.strip() for c in cells):
                yield number, cells
    else:
        raise ChisoError(unsupported)


def header(cells: list[str], path: Path, *, columns: dict[str, tuple[str, ...]],
           required: Sequence[str], missing: str) -> dict[str, int]:
    """Where each known column is: header cells are matched, trimmed and lower-cased,
    against each column's accepted names. ``missing`` is the caller's message, with the
    fields ``path``, ``columns`` (those missing) and ``expected`` (those required)."""
    found: dict[str, int] = {}
    for i, name in enumerate(cells):
        key = name.strip().lower()
        for canonical, aliases in columns.items():
            if key in aliases:
                if canonical in found:
                    raise ChisoError(_("{path}: column {column} is given twice.").format(path=path, column=canonical))
                found[canonical] = i
    lacking = [c for c in required if c not in found]
    if lacking:
        raise ChisoError(missing.format(path=path, columns=", ".join(lacking), expected=", ".join(required)))
    return found
