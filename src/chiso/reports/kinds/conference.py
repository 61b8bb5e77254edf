"""The conference announcement of a year: every index the province is assessed on (the 766
index with the province's national rank when held, PAR Index, SIPAS, DTI, PII and any other
assessed index with results for the year), each ranked first to last per group, with the
units commended and the units asked to improve."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Sequence

from sqlalchemy.orm import Session

from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.periods import parse_period
from chiso.reports.document import Bullets, Column, Document, Heading, Paragraph, Table, Title, language
from chiso.reports.kinds.common import NOTICE, Signing, frame, join_names, numbered_sections
from chiso.reports.kinds.ranking import Ranking, announce, counted, ranking_766, ranking_columns, ranking_round

if TYPE_CHECKING:
    from chiso.assessments.models import AssessmentRound
    from chiso.dossiers.store import DossierStore

#: The order a conference takes the assessed indexes in (by the start of the method family);
#: families not listed follow in the order of their names.
ORDER = ("par", "sipas", "dti", "pii")


def _place(family: str) -> int:
    return next((i for i, p in enumerate(ORDER) if family.startswith(p)), len(ORDER))


def rounds_of_year(session: Session, year: int) -> list[AssessmentRound]:
    """The latest round of each method family held for ``year`` that has results (a unit
    scored and past draft), in :data:`ORDER`."""
    from chiso.assessments import service

    latest: dict[str, str] = {}
    for r in service.list_rounds(session):
        if r["year"] == year:
            latest[r["family"]] = r["code"]  # list_rounds runs by year and code: the last wins
    out = []
    for code in latest.values():
        if any(r["value"] is not None for r in counted(service.results(session, round_code=code))):
            out.append(service.get_round(session, code))
    return sorted(out, key=lambda rnd: (_place(rnd.method_family), rnd.method_family, rnd.code))


def _parts(session: Session, store: DossierStore | None, *, year: int, method_id: str | None) -> list[Ranking]:
    parts = []
    if store is not None:
        r766 = ranking_766(session, store, period=parse_period(str(year)), groups=(), method_id=method_id,
                            trend=False)
        if any(r.score is not None for c in r766.cohorts for r in c.rows):
            parts.append(r766)
    for rnd in rounds_of_year(session, year):
        parts.append(ranking_round(session, round_code=rnd.code, groups=()))
    return parts


def build_conference(session: Session, store: DossierStore | None, *, year: int, lang: str | None = None,
                     day: date | None = None, issuer: Sequence[str] | None = None, method_id: str | None = None,
                     signing: Signing | None = None) -> Document:
    """One announcement of every index of ``year`` for the year-end conference."""
    with language(lang) as lang:
        parts = _parts(session, store, year=year, method_id=method_id)
        if not parts:
            raise ChisoError(_("No index has results for {year}: no dossier records of the year and no "
                               "assessment round with results.").format(year=year))
        fr = frame(session, lang=lang, day=day, issuer=issuer, signing=signing)
        doc = Document(title=_("Conference announcement"), lang=lang, slug=f"conference-{year}")
        doc.add(fr.header(NOTICE), Title(_("Announcement of the results of the indexes of {year}").format(year=year),
                                         _("for the conference reviewing administrative reform")))
        doc.add(Paragraph(_("The Steering Committee announces the results of {province} and the rankings of its "
                            "units on {count} indexes of {year}: {indexes}.").format(
            province=fr.province_name, count=len(parts), year=year,
            indexes=join_names([p.index_name for p in parts]))))
        sections = numbered_sections()
        doc.add(Heading(next(sections), _("The province's results")))
        doc.add(Table(sheet=_("Province"), caption=_("Table 1: the province's result on each index"),
                      columns=[Column(_("Index"), width=2.2), Column(_("Result"), width=3.6)],
                      rows=[[p.index_name, p.province or _("not known")] for p in parts]))
        table = 2
        for part in parts:
            doc.add(Heading(next(sections), part.title))
            for n, c in enumerate(part.cohorts, start=1):
                doc.add(Heading(f"{n}.", _("{group} ({count} units)").format(group=c.name, count=len(c.rows)),
                                level=2))
                doc.add(Paragraph(announce(c, part.decimals, part.percent)))
                if c.rows:
                    ordered = sorted(c.rows, key=lambda r: (r.rank is None, r.rank or 0, r.unit))
                    doc.add(Table(sheet=f"{part.index_name[:14]} {c.name}"[:31],
                                  columns=ranking_columns(part.decimals, part.percent),
                                  caption=_("Table {n}: {index}, {group}").format(n=table, index=part.index_name,
                                                                                  group=c.name),
                                  rows=[[r.rank, r.unit, r.name, r.score, r.band, r.rank_change, r.score_change]
                                        for r in ordered]))
                    table += 1
        doc.add(Heading(next(sections), _("Commendation and requests")))
        praised = [_("{index}: {units}").format(index=p.index_name, units=join_names(names)) for p in parts
                   if (names := [r.name for c in p.cohorts for r in c.named()["first"]])]
        asked = [_("{index}: {units}").format(index=p.index_name, units=join_names(names)) for p in parts
                 if (names := [r.name for c in p.cohorts for r in c.named()["last"]])]
        if praised:
            doc.add(Paragraph(_("The Steering Committee commends the units that lead their groups:")))
            doc.add(Bullets(praised))
        if asked:
            doc.add(Paragraph(_("The Steering Committee asks the units last in their groups to analyse the causes, "
                                "set out remedies and report on them before the next conference:")))
            doc.add(Bullets(asked))
        doc.add(Paragraph(_("Heads of departments, agencies and People's Committees of communes and wards are "
                            "responsible for the results of their units in the coming year.")))
        doc.add(fr.signature())
        return doc
