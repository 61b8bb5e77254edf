"""The intermediate document: what a report says, independent of its file format.

Builders (:mod:`chiso.reports.build`) produce it; renderers (DOCX, PDF, XLSX) only lay it
out. Table cells keep their raw values (numbers stay numbers); each column says how its
values are written in text, so DOCX and PDF print the same strings and XLSX stores the
numbers themselves.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterator, Literal, Union

from chiso.i18n import LANGUAGES, current_language
from chiso.errors import ChisoError

#: How a column's values are written: plain text, an integer, a decimal number, a signed
#: change (+1,25 / −0,50), a rate in [0, 1] shown as a percentage, a value already in
#: percent (PAR Index, SIPAS: 84,53 → "84,53 %", as the portal prints them).
ColumnKind = Literal["text", "int", "number", "signed", "signed_int", "percent", "pct"]


@dataclass(frozen=True)
class Column:
    heading: str
    kind: ColumnKind = "text"
    decimals: int = 2
    #: Relative width in the DOCX and PDF table (the page width is shared in proportion).
    width: float = 1.0


@dataclass
class Header:
    """The administrative header block (Nghị định 30/2020/NĐ-CP, Phụ lục I): the issuing body
    on the left (its parent body above it), the national motto on the right, the document
    number below the body and the place and date below the motto."""

    issuer: tuple[str, ...]
    place: str
    day: date
    number: str | None = None


@dataclass
class Title:
    text: str
    subtitle: str | None = None


@dataclass
class Heading:
    """A numbered section heading; ``number`` is given by the builder ("I.", "1.")."""

    number: str
    text: str
    level: int = 1


@dataclass
class Paragraph:
    text: str
    bold: bool = False
    italic: bool = False
    align: Literal["justify", "left", "center", "right"] = "justify"


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    #: Sheet name in XLSX (tables with the same sheet name and columns share one sheet).
    sheet: str
    columns: list[Column]
    rows: list[list[Any]]
    caption: str | None = None
    #: Leading columns written only in XLSX where several tables share a sheet (e.g. the
    #: unit of a scorecard): (heading, value) pairs.
    context: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class Image:
    png: bytes
    #: Width on the page, in millimetres (DOCX and PDF).
    width_mm: float = 160.0
    caption: str | None = None


@dataclass
class PageBreak:
    pass


@dataclass
class Signature:
    """The end of the document: recipients (Nơi nhận) on the left, who signs on the right:
    the authority and the signer's title in capitals, room for the signature and the seal,
    then the signer's name. Renderers keep it on the page of the text before it (never
    alone on the last page)."""

    recipients: list[str]
    lines: list[str]
    name: str | None = None


Block = Union[Header, Title, Heading, Paragraph, Bullets, Table, Image, PageBreak, Signature]


@dataclass
class Document:
    title: str
    lang: str
    blocks: list[Block] = field(default_factory=list)
    #: A short name for files and e-mail subjects (ASCII, no spaces).
    slug: str = "report"

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def text(self) -> str:
        """Every text of the document in order (for tests and e-mail bodies)."""
        out: list[str] = []
        for b in self.blocks:
            if isinstance(b, Header):
                out += [*b.issuer, b.number or "", dateline(b.place, b.day)]
            elif isinstance(b, Title):
                out += [b.text, b.subtitle or ""]
            elif isinstance(b, Heading):
                out.append(f"{b.number} {b.text}")
            elif isinstance(b, Paragraph):
                out.append(b.text)
            elif isinstance(b, Bullets):
                out += b.items
            elif isinstance(b, Table):
                out += [b.caption or ""] + [c.heading for c in b.columns]
                out += [cell_text(v, c) for row in b.rows for v, c in zip(row, b.columns)]
            elif isinstance(b, Image):
                out.append(b.caption or "")
            elif isinstance(b, Signature):
                out += [*b.recipients, *b.lines, b.name or ""]
        return "\n".join(t for t in out if t)


# --------------------------------------------------------------------------- language, numbers


def check_language(lang: str | None) -> str:
    from chiso.i18n import _

    lang = lang or current_language()
    if lang not in LANGUAGES:
        raise ChisoError(_("Unknown language {lang}: use one of {langs}.").format(lang=lang, langs=", ".join(LANGUAGES)))
    return lang


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Run the block in ``lang`` (``None``: the language in force). Only this thread's
    context changes (:func:`chiso.i18n.use_language`), so a web request can build a report
    in English while another reads Vietnamese."""
    from chiso.i18n import use_language

    lang = check_language(lang)
    with use_language(lang):
        yield lang


def fmt_number(value: float, decimals: int = 2) -> str:
    from chiso.output import number

    return number(value, decimals)


def cell_text(value: Any, column: Column) -> str:
    """A cell as DOCX and PDF print it, in the language in force."""
    if value is None or value == "":
        return "–" if column.kind != "text" else ""
    kind = column.kind
    if isinstance(value, date):  # dd/mm/yyyy on every document (a datetime: its day)
        return value.strftime("%d/%m/%Y")
    if kind == "text" or isinstance(value, str):
        return str(value)
    if kind == "int":
        return fmt_number(value, 0)
    if kind == "number":
        return fmt_number(value, column.decimals)
    if kind in ("signed", "signed_int"):
        decimals = 0 if kind == "signed_int" else column.decimals
        text = fmt_number(abs(value), decimals)
        if round(value, decimals) == 0:
            return fmt_number(0, decimals)
        return ("+" if value > 0 else "−") + text
    if kind == "percent":
        return fmt_number(100 * value, column.decimals) + " %"
    if kind == "pct":
        return fmt_number(value, column.decimals) + " %"
    return str(value)


def dateline(place: str, day: date) -> str:
    """"Lâm Đồng, ngày 05 tháng 02 năm 2026": a day below 10 and a month below 3 take a
    leading zero (Nghị định 30/2020/NĐ-CP); in English "Lâm Đồng, 5 February 2026"."""
    from babel.dates import format_date

    from chiso.i18n import _

    return _("{place}, {day_plain} {month_name} {year}").format(
        place=place, day=f"{day.day:02d}" if day.day < 10 else str(day.day),
        month=f"{day.month:02d}" if day.month < 3 else str(day.month), year=day.year, day_plain=day.day,
        month_name=format_date(day, "MMMM", locale="en"))
