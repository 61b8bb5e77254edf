"""What every report kind shares: the words (periods, names, changes), the frame of an
official document (issuer, place, date, signature) and the groups' names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterator, Sequence

from sqlalchemy.orm import Session

from chiso.errors import ChisoError, NotFound
from chiso.i18n import _, current_language
from chiso.periods import Period
from chiso.reports.document import Header, Signature, fmt_number
from chiso.units import service as units

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
#: The cohorts :func:`chiso.index.service.index_766` ranks in without a group.
LEVEL_COHORTS = ("agency", "commune")
TREND_PERIODS = 6


def local_now() -> datetime:
    """Now, as the store's wall-clock time (:func:`chiso.index.service.local_now`)."""
    from chiso.index import service

    return service.local_now()


# --------------------------------------------------------------------------- words


def period_label(period: Period) -> str:
    """A period in words: "quý III năm 2026", "tuần 49 năm 2025 (01/12–07/12/2025)"."""
    y, n = period.year, period.number
    if period.kind == "week":
        return _("week {number} of {year} ({start}–{end})").format(
            number=n, year=y, start=period.start.strftime("%d/%m"), end=period.end.strftime("%d/%m/%Y"))
    if period.kind == "month":
        return _("month {number} of {year}").format(number=n, year=y)
    if period.kind == "quarter":
        return _("quarter {roman} of {year}").format(roman=ROMAN[n - 1], year=y)
    if period.kind == "half":
        return (_("first half of {year}") if n == 1 else _("second half of {year}")).format(year=y)
    if period.kind == "nine_months":
        return _("nine months of {year}").format(year=y)
    if period.kind == "year":
        return _("year {year}").format(year=y)
    return _("from the start of {year} to the end of month {number}").format(year=y, number=n)


def period_short(period: Period) -> str:
    """A period in few words, for a chart's axis: "quý III/2026", "tháng 9/2026"."""
    y, n = period.year, period.number
    if period.kind == "week":
        return _("wk {number}/{year}").format(number=n, year=y)
    if period.kind == "month":
        return _("month {number}/{year}").format(number=n, year=y)
    if period.kind == "quarter":
        return _("Q{roman}/{year}").format(roman=ROMAN[n - 1], year=y)
    if period.kind == "half":
        return (_("H1/{year}") if n == 1 else _("H2/{year}")).format(year=y)
    if period.kind == "year":
        return str(y)
    return period_label(period)


def period_now_label(period: Period, now: datetime | None = None) -> str:
    """:func:`period_label`, and for a period still running until when its figures are
    ("quý IV năm 2026, đến 06/12/2026"): its open dossiers are judged now."""
    from chiso.index import service

    until = service.until_label(period, now)
    return f"{period_label(period)}, {until}" if until else period_label(period)


def join_names(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return _("{first} and {last}").format(first=", ".join(items[:-1]), last=items[-1])


def points_text(value: float | None, decimals: int = 2) -> str:
    return _("{value} points").format(value=fmt_number(value or 0.0, decimals))


def signed(value: float, decimals: int = 2) -> str:
    text = fmt_number(abs(value), decimals)
    return ("+" if value > 0 else "−" if value < 0 else "") + text


def movement(change: int | None) -> str | None:
    if change is None:
        return None
    if change > 0:
        return _("up {n} places").format(n=change)
    if change < 0:
        return _("down {n} places").format(n=-change)
    return _("same rank")


def national_sentence(session: Session, period: Period) -> str | None:
    """The province's national standing as the portal published it for ``period``, in the
    words of a report: "Theo kết quả công bố trên Cổng Dịch vụ công quốc gia: 85,59 điểm,
    xếp thứ 8/34, tăng 5 bậc"; None when it is not held (``chiso published import``)."""
    got = national_standing(session, index="766", period=period, unit=None)
    if got is None:
        return None
    parts = []
    if got.total is not None:
        parts.append(_("{score} points").format(score=fmt_number(got.total)))
    if got.rank is not None:
        parts.append(_("ranked {rank}/{of}").format(rank=got.rank, of=got.of) if got.of
                     else _("ranked {rank}").format(rank=got.rank))
    moved = movement(got.rank_change)
    if moved:
        parts.append(moved)
    return _("As published by the National Public Service Portal: {standing}.").format(standing=", ".join(parts))


def score_or_no_data(total: float | None, maximum: float | None = None) -> str:
    """A total as reports print it ("85,59/100 điểm"), or "no data" for a unit without records."""
    if total is None:
        return _("no data")
    if maximum is None:
        return _("{score} points").format(score=fmt_number(total))
    return _("{score}/{max} points").format(score=fmt_number(total), max=fmt_number(maximum, 0))


def numbered_sections() -> Iterator[str]:
    for r in ROMAN:
        yield f"{r}."


def place_of(province_name: str) -> str:
    for prefix in ("Tỉnh ", "Thành phố ", "TP. "):
        if province_name.startswith(prefix):
            return province_name[len(prefix):]
    return province_name


# --------------------------------------------------------------------------- frame


@dataclass(frozen=True)
class Signing:
    """Who issues a document and under which number (Nghị định 30/2020/NĐ-CP): the number
    given by the office's register ("125", or the whole "125/TB-BCĐ"; none: left blank for
    the clerk), the signer's name and title. What is not given comes from the settings
    ``report_number_symbol``, ``report_signer_name`` and ``report_signer_title``."""

    number: str | None = None
    signer: str | None = None
    title: str | None = None


#: The kind of document before the issuer's abbreviation in the number line:
#: a notice (thông báo) or a report (báo cáo).
NOTICE, REPORT = "TB", "BC"


@dataclass
class Frame:
    """What every report of one store shares: the province, the issuing body, the date, the
    number and who signs."""

    province: str
    province_name: str
    place: str
    issuer: tuple[str, ...]
    day: date
    lang: str
    signing: Signing = Signing()

    def number_line(self, kind: str = NOTICE) -> str:
        """"Số: 125/TB-BCĐ", or "Số:     /TB-BCĐ" while the register has not given one."""
        from chiso import settings

        given = (self.signing.number or "").strip()
        if "/" in given:
            return _("No.: {number}").format(number=given)
        symbol = settings.get("report_number_symbol").strip() or "BCĐ"
        return _("No.: {number}").format(number=f"{given or ' ' * 6}/{kind}-{symbol}")

    def header(self, kind: str | None = NOTICE) -> Header:
        return Header(issuer=self.issuer, place=self.place, day=self.day,
                      number=self.number_line(kind) if kind else None)

    def signature(self) -> Signature:
        from chiso import settings

        title = (self.signing.title or settings.get("report_signer_title")).strip() or _("Head")
        name = (self.signing.signer or settings.get("report_signer_name")).strip() or None
        return Signature(
            recipients=[_("Members of the Steering Committee"), _("Provincial departments and agencies"),
                        _("People's Committees of communes and wards"), _("Archive")],
            lines=[_("On behalf of the Steering Committee"), title], name=name)


def frame(session: Session, *, lang: str, day: date | None = None, issuer: Sequence[str] | None = None,
          signing: Signing | None = None) -> Frame:
    code = units.home_province(session)
    if code is None:
        raise ChisoError(_("No province is loaded; run `chiso init --province CODE` first."))
    name = units.get(session, code).name
    issuer = tuple(s for s in (issuer or ()) if s.strip()) or (
        _("People's Committee of {province}").format(province=name), _("Steering Committee for Administrative Reform"))
    return Frame(province=code, province_name=name, place=place_of(name), issuer=issuer,
                 day=day or local_now().date(), lang=lang, signing=signing or Signing())


def group_name(session: Session, code: str) -> str:
    names = {"agency": _("Provincial departments and agencies"),
             "commune": _("Communes, wards and special zones")}
    if code in names:
        return names[code]
    for g in units.list_groups(session):
        if g["code"] == code:
            return (g["name_en"] or g["name"]) if current_language() == "en" else g["name"]
    return code



def unit_name(session: Session, code: str, period: Period) -> str:
    try:
        return units.name_on(units.get(session, code), period.end)
    except NotFound:
        return code


# --------------------------------------------------------------------------- national standing


@dataclass(frozen=True)
class NationalStanding:
    """A unit's result as the national portal publishes it: its score, its rank among
    ``of`` provinces, and the places gained since the previous publication."""

    rank: int
    of: int
    total: float | None = None
    rank_change: int | None = None


def national_standing(session: Session, *, index: str, period: Period, unit: str | None) -> NationalStanding | None:
    """The published national standing of ``unit`` (None: the province) on ``index`` for
    ``period`` (``chiso published import``); None while nothing is held. The reports read
    it only through here."""
    from chiso.standing import service as standing

    got = standing.national(session, index=index, period=period.code, unit=unit)
    if got is None or got["rank"] is None:
        return None
    return NationalStanding(rank=got["rank"], of=got["of"], total=got["total"], rank_change=got["rank_change"])


def standing_text(s: NationalStanding) -> str:
    """"xếp thứ 8/34 cả nước, tăng 5 bậc"."""
    text = _("ranked {rank}/{of} nationally").format(rank=s.rank, of=s.of)
    move = movement(s.rank_change)
    return f"{text}, {move}" if move else text


def adjustment_text(adjustments: Sequence[dict]) -> str:
    """The technical deductions in force on a score, in words: "2.1: −1,50 points (reason)"."""
    parts = []
    for a in adjustments:
        about = a.get("indicator") or a.get("group") or _("total")
        parts.append(_("{about}: {points} points ({reason})").format(
            about=about, points=signed(a["points"]), reason=a["reason"]))
    return "; ".join(parts)
