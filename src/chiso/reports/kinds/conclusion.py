"""The conclusion notice of a meeting (thông báo kết luận): the administrative header, what
meeting it was (day, kind, chair, attendees), then every conclusion point with who does
what, by when, with whom, for which product and accepted by whom (the six clear fields),
and the signature block. Dates are written dd/mm/yyyy, as on every document."""

from __future__ import annotations

from datetime import date
from typing import Sequence

from sqlalchemy.orm import Session

from chiso.i18n import _
from chiso.reports.document import Column, Document, Heading, Paragraph, Table, Title, language
from chiso.output import day as day_text
from chiso.reports.kinds.common import NOTICE, Signing, frame, join_names
from chiso.units import service as units


def _dmy(text: str | None) -> str:
    return day_text(text) if text else ""


def build_conclusion(session: Session, *, meeting: str, lang: str | None = None, day: date | None = None,
                     issuer: Sequence[str] | None = None, number: str | None = None) -> Document:
    """The notice of ``meeting``'s conclusions (see the module docstring)."""
    from chiso.tasks import meetings

    with language(lang) as lang:
        m, points = meetings.conclusion_rows(session, meeting, as_of=day)
        fr = frame(session, lang=lang, day=day, issuer=issuer, signing=Signing(number=number or m.notice_number))
        doc = Document(title=_("Conclusion notice"), lang=lang, slug=f"ket-luan-{m.code}")
        doc.add(fr.header(NOTICE))
        held = day_text(m.held_on)
        doc.add(Title(_("NOTICE"), _("Conclusions of {chair} at the {kind} of {day}").format(
            chair=m.chair, kind=meetings.kind_name(m.kind), day=held)))
        intro = _("On {day}, the Steering Committee held a {kind}{title}, chaired by {chair}.").format(
            day=held, kind=meetings.kind_name(m.kind), title=f" ({m.title})" if m.title else "", chair=m.chair)
        doc.add(Paragraph(intro))
        names = [a.member.name for a in m.attendees if a.member is not None]
        if names:
            doc.add(Paragraph(_("Attending: {names}.").format(names=join_names(sorted(names)))))
        doc.add(Paragraph(_("After hearing the reports and the opinions of the members, {chair} concluded as follows:")
                          .format(chair=m.chair)))
        doc.add(Heading("I.", _("Conclusions and assignments")))
        for p in points:
            doc.add(Paragraph(f"{p['meeting_point']}. {p['title']}", bold=True))
            if p["coordinating_units"]:
                helpers = join_names([units.get(session, c).name for c in p["coordinating_units"]])
            else:
                helpers = "–"
            doc.add(Paragraph(_("Responsible: {owner} ({unit}); coordinating: {helpers}; deadline: {deadline}; "
                                "product: {product}; accepted by: {authority}.").format(
                owner=p["owner"], unit=units.get(session, p["unit"]).name, helpers=helpers,
                deadline=_dmy(p["deadline"]), product=p["product"] or "–", authority=p["authority"] or "–")))
        doc.add(Heading("II.", _("Who does what by when")))
        doc.add(Table(sheet=_("Conclusions"), columns=[
            Column(_("No."), "int", width=0.4), Column(_("Work"), width=2.4), Column(_("Responsible"), width=1.6),
            Column(_("Deadline"), width=0.9), Column(_("Product"), width=1.4), Column(_("Accepted by"), width=1.2)],
            rows=[[p["meeting_point"], p["title"], f"{p['owner']} – {units.get(session, p['unit']).name}",
                   _dmy(p["deadline"]), p["product"] or "", p["authority"] or ""] for p in points]))
        doc.add(Paragraph(_("The units report their progress on each point; the Steering Committee's secretariat "
                            "follows up and reports the points still open at the next meeting.")))
        doc.add(fr.signature())
        return doc
