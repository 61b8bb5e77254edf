"""The periodic 766 report of a week, month or quarter: the province by indicator group,
the cohorts, the units below a threshold, the indicators that fell, and the dossiers overdue
now."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy.orm import Session

from chiso.i18n import _
from chiso.methods.bands import band_name
from chiso.periods import Period
from chiso.reports.document import Column, Document, Heading, Paragraph, Table, Title, fmt_number, language
from chiso.reports.kinds.common import (
    LEVEL_COHORTS, REPORT, Signing, frame, group_name, local_now, national_sentence, numbered_sections, period_label,
    period_now_label, score_or_no_data, unit_name,
)

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

def overdue_dossiers(session: Session, store: DossierStore, *, period: Period, at: datetime) -> dict[str, tuple[int, Any]]:
    """:func:`chiso.index.service.overdue`: {unit: (count, oldest due)} at ``at``."""
    from chiso.index import service

    return service.overdue(session, store, period, at=at)


def lowest_band_boundary(method) -> float:
    """The upper bound of the method's lowest band (766: 50), or 50 without bands."""
    bands = sorted(method.bands, key=lambda b: b.min)
    return bands[0].max if bands else 50.0


def build_periodic(session: Session, store: DossierStore, *, period: Period, threshold: float | None = None,
                   lang: str | None = None, day: date | None = None, at: datetime | None = None,
                   issuer: Sequence[str] | None = None, method_id: str | None = None,
                   signing: Signing | None = None) -> Document:
    """The 766 report of a period: the province by indicator group, the cohorts, the units
    below ``threshold``, the indicators that fell, and the dossiers overdue at ``at``."""
    from chiso.index import service

    with language(lang) as lang:
        method = service.method_for(method_id)
        threshold = lowest_band_boundary(method) if threshold is None else threshold
        at = at or local_now()
        rows = service.index_766(session, store, period, method_id=method_id, now=at)
        previous = period.previous()
        _t, scored = service.compute_scores(session, store, period, method=method, extra_periods=[previous], now=at)
        fr = frame(session, lang=lang, day=day, issuer=issuer, signing=signing)
        now, before = scored[period.code], scored[previous.code]
        prov_now, prov_before = now.get(fr.province), before.get(fr.province)
        doc = Document(title=_("Periodic report on the 766 index"), lang=lang, slug=f"periodic-766-{period.code}")
        doc.add(fr.header(REPORT), Title(_("Report on the real-time service index"),
                                   _("Decision 766/QĐ-TTg, {period}").format(period=period_now_label(period, at))))
        sections = numbered_sections()
        doc.add(Heading(next(sections), _("The province by indicator group")))
        if prov_now is not None:
            band = band_name(method.bands, prov_now.score.band)
            doc.add(Paragraph(_("{name}: {score}, band {band}; {previous}: {before}.").format(
                name=prov_now.name, score=score_or_no_data(prov_now.score.total, prov_now.score.max_total),
                band=band or "–", previous=period_label(previous),
                before=score_or_no_data(prov_before.score.total, prov_before.score.max_total) if prov_before else "–")))
            national = national_sentence(session, period)
            if national:
                doc.add(Paragraph(national))
            g_rows = []
            for g in method.groups:
                gn = prov_now.score.groups.get(g.id)
                gb = prov_before.score.groups.get(g.id) if prov_before else None
                change = gn.points - gb.points if gn and gb and None not in (gn.points, gb.points) else None
                g_rows.append([g.id, g.name_en if lang == "en" else g.name, gn.points if gn else None,
                               g.max, gb.points if gb else None, change])
            doc.add(Table(sheet=_("Province by group"), caption=_("Table 1: the province's points by indicator group"),
                          rows=g_rows, columns=[
                              Column(_("Group"), width=0.8), Column(_("Name"), width=2.8),
                              Column(_("Points"), "number", 2, width=0.9), Column(_("Maximum"), "number", 2, width=0.9),
                              Column(_("Previous"), "number", 2, width=0.9), Column(_("Change"), "signed", 2,
                                                                                     width=0.9)]))
        doc.add(Heading(next(sections), _("Units by group")))
        c_rows = []
        for level in LEVEL_COHORTS:
            cohort = [r for r in rows if r["level"] == level and r["total"] is not None]
            if not cohort:
                continue
            totals = [r["total"] for r in cohort]
            c_rows.append([group_name(session, level), len(cohort), math.fsum(totals) / len(totals), max(totals),
                           min(totals), sum(1 for t in totals if t < threshold)])
        doc.add(Table(sheet=_("Groups"), caption=_("Table 2: scores of the units by group"), rows=c_rows, columns=[
            Column(_("Group"), width=2.6), Column(_("Units"), "int", width=0.7), Column(_("Average"), "number", 2,
                                                                                       width=0.9),
            Column(_("Highest"), "number", 2, width=0.9), Column(_("Lowest"), "number", 2, width=0.9),
            Column(_("Below {threshold}").format(threshold=fmt_number(threshold, 0)), "int", width=0.9)]))
        doc.add(Heading(next(sections), _("Units below {threshold} points").format(
            threshold=fmt_number(threshold, 0))))
        below = sorted((r for r in rows if r["level"] != "province" and r["total"] is not None
                        and r["total"] < threshold), key=lambda r: (r["total"], r["unit"]))
        if below:
            doc.add(Table(sheet=_("Below threshold"), rows=[
                [group_name(session, r["level"]), r["rank"], r["unit"], r["name"], r["total"], r["band_name"],
                 r["total_change"]] for r in below], columns=[
                Column(_("Group"), width=1.3), Column(_("Rank"), "int", width=0.6), Column(_("Code"), width=0.9),
                Column(_("Unit"), width=2.6), Column(_("Score"), "number", 2, width=0.8), Column(_("Band"), width=0.9),
                Column(_("Score change"), "signed", 2, width=0.9)]))
        else:
            doc.add(Paragraph(_("No unit is below {threshold} points.").format(threshold=fmt_number(threshold, 0))))
        doc.add(Heading(next(sections), _("Indicators that fell against {previous}").format(
            previous=period_label(previous))))
        fell = []
        if prov_now is not None and prov_before is not None:
            for ind in method.indicators:
                a, b = prov_now.score.indicators.get(ind.id), prov_before.score.indicators.get(ind.id)
                if a is None or b is None or not (a.applicable and b.applicable):
                    continue
                units_fell = sum(
                    1 for code, s in now.items() if code != fr.province and code in before
                    and _rate(s, ind.id) is not None and _rate(before[code], ind.id) is not None
                    and _rate(s, ind.id) < _rate(before[code], ind.id) - 1e-9)
                if a.rate is not None and b.rate is not None and a.rate <= 1 and b.rate <= 1:
                    if a.rate < b.rate - 1e-9:
                        fell.append([ind.id, ind.name_en if lang == "en" else ind.name, b.rate, a.rate,
                                     (a.rate - b.rate) * 100, units_fell])
                elif None not in (a.points, b.points) and a.points < b.points - 1e-9:
                    fell.append([ind.id, ind.name_en if lang == "en" else ind.name, None, None, None, units_fell])
        if fell:
            doc.add(Table(sheet=_("Indicators that fell"), rows=fell, columns=[
                Column(_("Indicator"), width=0.8), Column(_("Name"), width=3.0),
                Column(_("Before"), "percent", 1, width=0.9), Column(_("Now"), "percent", 1, width=0.9),
                Column(_("Change (points of %)"), "signed", 1, width=1.0), Column(_("Units where it fell"), "int",
                                                                                  width=0.9)]))
        else:
            doc.add(Paragraph(_("No indicator of the province fell.")))
        doc.add(Heading(next(sections), _("Dossiers overdue now")))
        late = overdue_dossiers(session, store, period=period, at=at)
        total = sum(n for n, _o in late.values())
        doc.add(Paragraph(_("At {time}, {count} dossiers are past their due date and not settled, in {units} "
                            "units.").format(time=at.strftime("%H:%M %d/%m/%Y"), count=fmt_number(total, 0),
                                             units=len(late))))
        if late:
            names = {r["unit"]: r["name"] for r in rows}
            top = sorted(late.items(), key=lambda kv: (-kv[1][0], kv[0]))[:15]
            doc.add(Table(sheet=_("Overdue dossiers"), rows=[
                [code, names.get(code) or unit_name(session, code, period), n,
                 oldest.strftime("%d/%m/%Y") if hasattr(oldest, "strftime") else oldest] for code, (n, oldest) in top],
                columns=[Column(_("Code"), width=0.9), Column(_("Unit"), width=3.0),
                         Column(_("Overdue dossiers"), "int", width=1.0), Column(_("Oldest due date"), width=1.1)]))
        doc.add(Paragraph(_("The units named above report on their remedies before the next period.")))
        doc.add(fr.signature())
        return doc


def _rate(s, ind_id: str) -> float | None:
    i = s.score.indicators.get(ind_id)
    if i is None or not i.applicable or i.rate is None or i.rate > 1:
        return None
    return i.rate
