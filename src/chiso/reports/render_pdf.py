"""PDF from the same document as the DOCX, with fpdf2 and the DejaVu Serif fonts that
matplotlib ships (they carry every Vietnamese letter; nothing is fetched at run time). The
layout follows the DOCX: A4, margins 20/20/30/15 mm, the header block in two columns, page
numbers centred at the top from the second page."""

from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from chiso.i18n import _
from chiso.reports import document as d

FAMILY = "DejaVuSerif"
LEFT, RIGHT, TOP, BOTTOM = 30.0, 15.0, 20.0, 20.0
WIDTH = 210.0 - LEFT - RIGHT
BODY_PT = 12
TABLE_PT = 9
NUMERIC = ("int", "number", "signed", "signed_int", "percent", "pct")


def font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


class _PDF(FPDF):
    def header(self) -> None:
        if self.page_no() > 1:
            self.set_font(FAMILY, "", 11)
            self.set_y(10)
            self.cell(0, 5, str(self.page_no()), align="C")
            self.set_y(TOP)


def _lh(size: float) -> float:
    """Line height in mm for a font size in points (1.3 lines)."""
    return size * 0.3528 * 1.35


def _column(pdf: FPDF, x: float, w: float, lines: list[tuple[str, str, float]], y: float) -> float:
    """Centred lines (text, style, size) in a column; returns the y below them, and
    underlines/rules as asked (style with 'U' is drawn as text then a line under it)."""
    pdf.set_xy(x, y)
    for text, style, size in lines:
        if text == "<rule>":
            mid = x + w / 2
            pdf.line(mid - size / 2, pdf.get_y() + 0.5, mid + size / 2, pdf.get_y() + 0.5)
            pdf.set_y(pdf.get_y() + 2)
            continue
        pdf.set_font(FAMILY, style.replace("U", ""), size)
        pdf.set_x(x)
        top = pdf.get_y()
        pdf.multi_cell(w, _lh(size), text, align="C")
        if "U" in style:
            tw = min(pdf.get_string_width(text), w)
            pdf.line(x + (w - tw) / 2, top + _lh(size) - 0.6, x + (w + tw) / 2, top + _lh(size) - 0.6)
    return pdf.get_y()


def _header(pdf: FPDF, h: d.Header) -> None:
    y = pdf.get_y()
    lw = 68.0
    issuer = [s.upper() for s in h.issuer]
    left = [(line, "B" if i == len(issuer) - 1 else "", 11 if i < len(issuer) - 1 else 11.5)
            for i, line in enumerate(issuer)]
    left.append(("<rule>", "", 22))
    if h.number:
        left.append((h.number, "", 11.5))
    right = [(_("SOCIALIST REPUBLIC OF VIETNAM"), "B", 11),
             (_("Independence - Freedom - Happiness"), "BU", 11.5), ("", "", 3),
             (d.dateline(h.place, h.day), "I", 11.5)]
    y1 = _column(pdf, LEFT, lw, left, y)
    y2 = _column(pdf, LEFT + lw, WIDTH - lw, right, y)
    pdf.set_xy(LEFT, max(y1, y2) + 6)


def _text(pdf: FPDF, text: str, *, style="", size=BODY_PT, align="J", indent=0.0, after=2.0) -> None:
    pdf.set_font(FAMILY, style, size)
    pdf.set_x(LEFT + indent)
    pdf.multi_cell(WIDTH - indent, _lh(size), text, align=align)
    pdf.ln(after)


def _table(pdf: FPDF, t: d.Table) -> None:
    if t.caption:
        _text(pdf, t.caption, style="B", size=11, align="C", after=1)
    total = sum(c.width for c in t.columns)
    widths = tuple(WIDTH * c.width / total for c in t.columns)
    pdf.set_font(FAMILY, "", TABLE_PT)
    aligns = tuple("R" if c.kind in NUMERIC else ("C" if c.width <= 0.8 else "L") for c in t.columns)
    with pdf.table(col_widths=widths, width=WIDTH, line_height=_lh(TABLE_PT), text_align=aligns,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(231, 230, 230)), padding=(0.8, 1.0),
                   repeat_headings=1) as table:
        head = table.row()
        for c in t.columns:
            head.cell(c.heading, align="C")
        for row in t.rows:
            r = table.row()
            for value, c in zip(row, t.columns):
                r.cell(d.cell_text(value, c))
    pdf.ln(4)


def _image(pdf: FPDF, im: d.Image) -> None:
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(im.png)) as pic:
        px_w, px_h = pic.size
    w = min(im.width_mm, WIDTH)
    h = w * px_h / px_w
    room = pdf.h - BOTTOM - pdf.get_y() - (8 if im.caption else 0)
    if h > room:
        pdf.add_page()
    pdf.image(io.BytesIO(im.png), x=LEFT + (WIDTH - w) / 2, y=pdf.get_y(), w=w, h=h)
    pdf.set_y(pdf.get_y() + h + 1)
    if im.caption:
        _text(pdf, im.caption, style="I", size=10.5, align="C", after=4)


def _signature(pdf: FPDF, s: d.Signature) -> None:
    """Drawn with the text before it, both on a new page when they do not fit (see :func:`render_pdf`)."""
    lw = WIDTH * 0.45
    y = pdf.get_y() + 2
    pdf.set_xy(LEFT, y)
    if s.recipients:
        pdf.set_font(FAMILY, "BI", 11)
        pdf.cell(lw, _lh(11), _("Recipients:"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, "", 10)
        for r in s.recipients:
            pdf.set_x(LEFT)
            pdf.multi_cell(lw, _lh(10), f"- {r};", align="L")
    y1 = pdf.get_y()
    lines: list[tuple[str, str, float]] = [(line.upper(), "B", 12.0) for line in s.lines]
    lines += [("", "", 12.0)] * 4 + [(s.name or " ", "B", 12.0)]  # room for the signature and seal
    y2 = _column(pdf, LEFT + lw, WIDTH - lw, lines, y)
    pdf.set_xy(LEFT, max(y1, y2) + 4)


def render_pdf(document: d.Document) -> bytes:
    pdf = _PDF(format="A4", unit="mm")
    folder = font_dir()
    for style, name in (("", "DejaVuSerif.ttf"), ("B", "DejaVuSerif-Bold.ttf"), ("I", "DejaVuSerif-Italic.ttf"),
                        ("BI", "DejaVuSerif-BoldItalic.ttf")):
        pdf.add_font(FAMILY, style, str(folder / name))
    pdf.set_margins(LEFT, TOP, RIGHT)
    pdf.set_auto_page_break(True, margin=BOTTOM)
    pdf.set_title(document.title)
    pdf.set_lang(document.lang)
    pdf.set_creator("chiso")
    pdf.add_page()
    blocks = document.blocks
    for i, b in enumerate(blocks):
        if isinstance(b, KEPT) and isinstance(_next(blocks, i), d.Signature):
            continue  # drawn with the signature below
        if isinstance(b, d.Signature):
            # The signing block stays on the page of the text before it: both move to a new
            # page together when they do not fit, never the signature alone.
            before = blocks[i - 1] if i and isinstance(blocks[i - 1], KEPT) else None

            def draw(target: FPDF, sig: d.Signature = b, text: d.Block | None = before) -> None:
                if text is not None:
                    _block(target, text)
                _signature(target, sig)

            with pdf.offset_rendering() as trial:  # drawn once to measure, then undone
                draw(trial)  # type: ignore[arg-type]
            if trial.page_break_triggered:
                pdf.add_page()
            draw(pdf)
            continue
        _block(pdf, b)
    return bytes(pdf.output())


#: Blocks short enough to move to the next page with the signature.
KEPT = (d.Paragraph, d.Bullets)


def _next(blocks: list[d.Block], i: int) -> d.Block | None:
    return blocks[i + 1] if i + 1 < len(blocks) else None


def _block(pdf: FPDF, b: d.Block) -> None:
    if isinstance(b, d.Header):
        _header(pdf, b)
    elif isinstance(b, d.Title):
        _text(pdf, b.text.upper(), style="B", size=13, align="C", after=0 if b.subtitle else 5)
        if b.subtitle:
            _text(pdf, b.subtitle, style="B", size=12.5, align="C", after=5)
    elif isinstance(b, d.Heading):
        if pdf.get_y() > pdf.h - BOTTOM - 25:  # never a heading alone at the foot of a page
            pdf.add_page()
        text = f"{b.number} {b.text.upper() if b.level == 1 else b.text}"
        _text(pdf, text, style="B" if b.level <= 2 else "BI", align="L", indent=0 if b.level == 1 else 8,
              after=1.5)
    elif isinstance(b, d.Paragraph):
        style = ("B" if b.bold else "") + ("I" if b.italic else "")
        _text(pdf, b.text, style=style, align={"justify": "J", "left": "L", "center": "C", "right": "R"}[b.align])
    elif isinstance(b, d.Bullets):
        for item in b.items:
            _text(pdf, f"- {item}", indent=8, after=0.8)
        pdf.ln(1.5)
    elif isinstance(b, d.Table):
        _table(pdf, b)
    elif isinstance(b, d.Image):
        _image(pdf, b)
    elif isinstance(b, d.PageBreak):
        pdf.add_page()
