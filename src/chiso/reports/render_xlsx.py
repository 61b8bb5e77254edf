"""XLSX: one sheet per table (tables sharing a sheet name and columns share a sheet, with
their context columns first), a bold header row, numbers stored as numbers with a number
format, frozen header, filters and column widths from the content; a last sheet with the
title and the text of the report."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from chiso.i18n import _
from chiso.sheets import xlsx_safe
from chiso.reports import document as d

_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_FORMATS = {"int": "#,##0", "signed_int": "+#,##0;-#,##0;0"}


def _number_format(c: d.Column) -> str | None:
    if c.kind in _FORMATS:
        return _FORMATS[c.kind]
    zeros = "." + "0" * c.decimals if c.decimals else ""
    if c.kind == "number":
        return f"#,##0{zeros}"
    if c.kind == "signed":
        return f"+#,##0{zeros};-#,##0{zeros};0{zeros}"
    if c.kind == "percent":
        return f"0{zeros}%"
    if c.kind == "pct":  # already in percent: the number stays 84.53, shown "84.53 %"
        return f'#,##0{zeros}" %"'
    return None


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _FORBIDDEN.sub("-", name).strip("'") or "Sheet"
    base = base[:31]
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def _width(value) -> int:
    if value is None:
        return 2
    if isinstance(value, float):
        return 10
    return max((len(part) for part in str(value).splitlines()), default=1)


def render_xlsx(document: d.Document) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    sheets: dict[tuple, object] = {}
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="E7E6E6")
    for t in document.tables():
        key = (t.sheet, tuple(h for h, _v in t.context), tuple((c.heading, c.kind) for c in t.columns))
        ws = sheets.get(key)
        headings = [h for h, _v in t.context] + [c.heading for c in t.columns]
        formats = [None] * len(t.context) + [_number_format(c) for c in t.columns]
        if ws is None:
            ws = wb.create_sheet(_sheet_name(t.sheet, taken))
            sheets[key] = ws
            ws.append([xlsx_safe(ws, h) for h in headings])
            for cell in ws[1]:
                cell.font, cell.fill = head_font, head_fill
                cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
            ws.freeze_panes = "A2"
            ws._chiso_widths = [min(40, max(10, _width(h) // 2 + 2)) for h in headings]
        widths = ws._chiso_widths
        for row in t.rows:
            values = [v for _h, v in t.context] + list(row)
            values = [None if v == "" else v for v in values]
            ws.append([xlsx_safe(ws, v) for v in values])
            r = ws.max_row
            for i, (value, fmt) in enumerate(zip(values, formats), start=1):
                if fmt and isinstance(value, (int, float)):
                    ws.cell(row=r, column=i).number_format = fmt
                elif isinstance(value, date):
                    ws.cell(row=r, column=i).number_format = "dd/mm/yyyy"
                widths[i - 1] = min(60, max(widths[i - 1], _width(value) + 2))
    for ws in sheets.values():
        for i, w in enumerate(ws._chiso_widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        if ws.max_row > 1:
            ws.auto_filter.ref = ws.dimensions
    notes = wb.create_sheet(_sheet_name(_("Report"), taken))
    notes.column_dimensions["A"].width = 120
    for b in document.blocks:
        lines: list[tuple[str, bool]] = []
        if isinstance(b, d.Header):
            lines = [(line.upper(), True) for line in b.issuer] + ([(b.number, False)] if b.number else []) + [
                (d.dateline(b.place, b.day), False)]
        elif isinstance(b, d.Title):
            lines = [(b.text.upper(), True)] + ([(b.subtitle, True)] if b.subtitle else [])
        elif isinstance(b, d.Heading):
            lines = [(f"{b.number} {b.text}", True)]
        elif isinstance(b, d.Paragraph):
            lines = [(b.text, b.bold)]
        elif isinstance(b, d.Bullets):
            lines = [(f"- {item}", False) for item in b.items]
        elif isinstance(b, d.Table) and b.caption:
            lines = [(f"[{b.caption}]", False)]
        elif isinstance(b, d.Signature):
            lines = [(line.upper(), True) for line in b.lines] + ([(b.name, True)] if b.name else [])
        for text, bold in lines:
            notes.append([xlsx_safe(notes, text)])
            cell = notes.cell(row=notes.max_row, column=1)
            cell.font = Font(bold=bold)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.properties.title = document.title
    wb.properties.language = document.lang
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
