"""DOCX in the layout of Vietnamese administrative documents (Nghị định 30/2020/NĐ-CP,
Phụ lục I): A4, margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New Roman 13 pt;
the header block as a borderless two-column table; the title in bold capitals; page numbers
centred at the top from the second page."""

from __future__ import annotations

import io

from docx import Document as new_docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from chiso.i18n import _
from chiso.reports import document as d

FONT = "Times New Roman"
BODY_PT = 13
TABLE_PT = 11
PAGE_WIDTH_MM = 210 - 30 - 15
_ALIGN = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "left": WD_ALIGN_PARAGRAPH.LEFT,
          "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}
NUMERIC = ("int", "number", "signed", "signed_int", "percent", "pct")


def _font(run, size=BODY_PT, bold=False, italic=False, underline=False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    run.font.underline = underline
    # East-Asian and complex-script slots too, or Word may fall back to another font.
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)


def _para(container, text="", *, size=BODY_PT, bold=False, italic=False, underline=False, align="justify",
          indent_cm: float | None = None, before=0, after=6):
    p = container.add_paragraph()
    p.alignment = _ALIGN[align]
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if indent_cm:
        fmt.first_line_indent = Cm(indent_cm)
    if text:
        _font(p.add_run(text), size, bold, italic, underline)
    return p


def _short_rule(p, width_mm: float, cell_mm: float) -> None:
    """A horizontal line under a paragraph, ``width_mm`` long and centred in the cell."""
    side = max(0.0, (cell_mm - width_mm) / 2)
    p.paragraph_format.left_indent = Mm(side)
    p.paragraph_format.right_indent = Mm(side)
    ppr = p._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(k), v)
    bdr.append(bottom)
    ppr.append(bdr)


def _no_borders(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _cell_text(cell, text, *, size, bold=False, italic=False, underline=False, align="center", after=0):
    p = cell.paragraphs[0] if not cell.paragraphs[0].text and len(cell.paragraphs) == 1 and not getattr(
        cell, "_used", False) else cell.add_paragraph()
    cell._used = True
    p.alignment = _ALIGN[align]
    p.paragraph_format.space_after = Pt(after)
    p.paragraph_format.space_before = Pt(0)
    _font(p.add_run(text), size, bold, italic, underline)
    return p


def _widths(table, widths_mm) -> None:
    table.autofit = False
    for row in table.rows:
        for cell, w in zip(row.cells, widths_mm):
            cell.width = Mm(w)


def _header(doc, h: d.Header) -> None:
    left_mm, right_mm = 70.0, PAGE_WIDTH_MM - 70.0
    t = doc.add_table(rows=1, cols=2)
    _no_borders(t)
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = t.rows[0].cells
    issuer = [s.upper() for s in h.issuer]
    for i, line in enumerate(issuer):
        last = i == len(issuer) - 1
        p = _cell_text(left, line, size=12 if not last else 13, bold=last or len(issuer) == 1)
    _short_rule(p, 25, left_mm)
    if h.number:
        _cell_text(left, h.number, size=13, after=0).paragraph_format.space_before = Pt(6)
    _cell_text(right, _("SOCIALIST REPUBLIC OF VIETNAM"), size=12, bold=True)
    _cell_text(right, _("Independence - Freedom - Happiness"), size=13, bold=True, underline=True)
    p = _cell_text(right, d.dateline(h.place, h.day), size=13, italic=True)
    p.paragraph_format.space_before = Pt(8)
    _widths(t, (left_mm, right_mm))
    _para(doc, after=6)


def _table(doc, t: d.Table) -> None:
    if t.caption:
        _para(doc, t.caption, bold=True, align="center", before=6, after=4, size=12)
    table = doc.add_table(rows=1, cols=len(t.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    total = sum(c.width for c in t.columns)
    widths = [PAGE_WIDTH_MM * c.width / total for c in t.columns]
    head = table.rows[0]
    # Repeat the heading row on every page the table runs onto.
    trpr = head._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)
    for cell, col in zip(head.cells, t.columns):
        _cell_text(cell, col.heading, size=TABLE_PT, bold=True)
        shade = OxmlElement("w:shd")
        for k, v in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", "E7E6E6")):
            shade.set(qn(k), v)
        cell._tc.get_or_add_tcPr().append(shade)
    for row in t.rows:
        cells = table.add_row().cells
        for cell, col, value in zip(cells, t.columns, row):
            align = "right" if col.kind in NUMERIC else ("center" if col.width <= 0.8 else "left")
            _cell_text(cell, d.cell_text(value, col), size=TABLE_PT, align=align)
    _widths(table, widths)
    _para(doc, after=4)


def _signature(doc, s: d.Signature) -> None:
    t = doc.add_table(rows=1, cols=2)
    _no_borders(t)
    left, right = t.rows[0].cells
    if s.recipients:
        _cell_text(left, _("Recipients:"), size=12, bold=True, italic=True, align="left")
        for r in s.recipients:
            _cell_text(left, f"- {r};", size=11, align="left")
    for line in s.lines:
        _cell_text(right, line.upper(), size=13, bold=True)
    # Room for the signature and the seal, then the signer's name.
    _cell_text(right, s.name or "", size=13, bold=True).paragraph_format.space_before = Pt(60)
    _widths(t, (PAGE_WIDTH_MM * 0.45, PAGE_WIDTH_MM * 0.55))
    # The block never splits over two pages ...
    trpr = t.rows[0]._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))
    for cell in t.rows[0].cells:
        for p in cell.paragraphs:
            p.paragraph_format.keep_with_next = True


def _keep_with_next(doc, count: int) -> None:
    """... and the ``count`` paragraphs before it stay on its page (Word moves them together)."""
    body = [p for p in doc.paragraphs][-count:] if count else []
    for p in body:
        p.paragraph_format.keep_with_next = True


def _page_numbers(section) -> None:
    section.different_first_page_header_footer = True
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    _font(run, 13)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)


def render_docx(document: d.Document) -> bytes:
    doc = new_docx()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    _page_numbers(section)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(BODY_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    doc.core_properties.title = document.title
    doc.core_properties.language = document.lang
    for b in document.blocks:
        if isinstance(b, d.Header):
            _header(doc, b)
        elif isinstance(b, d.Title):
            _para(doc, b.text.upper(), size=14, bold=True, align="center", before=6, after=0 if b.subtitle else 12)
            if b.subtitle:
                _para(doc, b.subtitle, size=14, bold=True, align="center", after=12)
        elif isinstance(b, d.Heading):
            text = f"{b.number} {b.text.upper() if b.level == 1 else b.text}"
            _para(doc, text, bold=True, italic=b.level > 2, align="left", indent_cm=1 if b.level > 1 else None,
                  before=6, after=6)
        elif isinstance(b, d.Paragraph):
            _para(doc, b.text, bold=b.bold, italic=b.italic, align=b.align,
                  indent_cm=1 if b.align == "justify" else None)
        elif isinstance(b, d.Bullets):
            for item in b.items:
                _para(doc, f"- {item}", indent_cm=1, after=3)
        elif isinstance(b, d.Table):
            _table(doc, b)
        elif isinstance(b, d.Image):
            p = _para(doc, align="center", after=2)
            p.add_run().add_picture(io.BytesIO(b.png), width=Mm(min(b.width_mm, PAGE_WIDTH_MM)))
            if b.caption:
                _para(doc, b.caption, italic=True, align="center", size=12, after=8)
        elif isinstance(b, d.PageBreak):
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        elif isinstance(b, d.Signature):
            _keep_with_next(doc, 2)
            _signature(doc, b)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()

