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
import time
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from chiso import settings
from chiso.errors import ChisoError, TooLarge
from chiso.i18n import _

MB = 1024 * 1024


def check_xlsx(path: Path) -> None:
    """Refuse, before any reading, a workbook that would unpack beyond ``max_unpacked_mb``
    or whose table of texts (shared strings, which openpyxl keeps whole in memory even in
    read-only mode) is more than a quarter of it. The sizes are those the zip declares:
    Python's zip reader stops at the declared size, so a file cannot unpack to more."""
    limit = float(settings.get("max_unpacked_mb")) * MB
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ChisoError(_("Cannot read {path}: {reason}").format(path=path, reason=exc)) from None
    total = sum(m.file_size for m in members)
    strings = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if total > limit or strings > limit / 4:
        raise TooLarge(_("{path} unpacks to {size:.0f} MB ({strings:.0f} MB of text), more than the "
                         "{limit:.0f} MB allowed (setting max_unpacked_mb); save it as CSV or split it.").format(
            path=path.name, size=total / MB, strings=strings / MB, limit=limit / MB))


class Limits:
    """The column, cell and time limits of one file being read (settings ``max_columns``,
    ``max_cell_chars``, ``max_import_seconds``); :meth:`check` refuses a row beyond them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns = int(settings.get("max_columns"))
        self.chars = int(settings.get("max_cell_chars"))
        self.deadline = time.monotonic() + float(settings.get("max_import_seconds"))
        self.count = 0

    def check(self, line: int, cells: Sequence[Any]) -> None:
        if len(cells) > self.columns:
            # Trailing empty cells (a formatted but unused column) do not count.
            used = len(cells)
            while used and (cells[used - 1] is None or cells[used - 1] == ""):
                used -= 1
            if used > self.columns:
                raise TooLarge(_("{path}, line {line}: {n} columns, more than the {limit} allowed "
                                 "(setting max_columns).").format(path=self.path.name, line=line, n=used,
                                                                  limit=self.columns))
        for value in cells:
            if isinstance(value, str) and len(value) > self.chars:
                raise TooLarge(_("{path}, line {line}: a cell of {n} characters, more than the {limit} "
                                 "allowed (setting max_cell_chars).").format(
                    path=self.path.name, line=line, n=len(value), limit=self.chars))
        self.count += 1
        if self.count % 1000 == 0 and time.monotonic() > self.deadline:
            raise TooLarge(_("{path}: still reading at line {line} after {limit} s (setting "
                             "max_import_seconds); nothing was imported. Save it as CSV, which reads "
                             "many times faster, or split it.").format(
                path=self.path.name, line=line, limit=settings.get("max_import_seconds")))


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
    limits = Limits(path)
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        check_xlsx(path)
        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise ChisoError(_("Cannot read {path}: {reason}").format(path=path, reason=exc)) from None
        try:
            for number, row in enumerate(wb.active.iter_rows(values_only=True), start=1):
                limits.check(number, row)
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
            limits.check(number, cells)
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


def table(path: Path, *, columns: dict[str, tuple[str, ...]], required: Sequence[str], unsupported: str,
          missing: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: trimmed text}) of every data row of a CSV or XLSX file, its header
    matched by :func:`header` (``missing`` and ``unsupported`` as there and in
    :func:`rows`); a file with no row at all is refused."""
    cells = rows(path, unsupported=unsupported)
    try:
        _line, head = next(cells)
    except StopIteration:
        raise ChisoError(_("{path} is empty.").format(path=path)) from None
    found = header(head, path, columns=columns, required=required, missing=missing)
    for line, row in cells:
        yield line, {c: (row[i].strip() if i < len(row) else "") for c, i in found.items()}


#: What a spreadsheet program takes as the start of a formula (OWASP, "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A value for a CSV cell that no spreadsheet program runs as a formula: text starting
    with ``= + - @``, a tab or a carriage return gets a leading apostrophe, as OWASP advises."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def xlsx_safe(sheet: Any, value: Any) -> Any:
    """A value for ``sheet.append`` that is never a formula: such text becomes a cell typed
    as text (openpyxl would otherwise store ``=...`` as a live formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
