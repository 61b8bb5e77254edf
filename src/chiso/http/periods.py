"""Periods as a page's query string names them, and the period picker: the current period
by default, a bad code a 404, recent periods of each kind to choose from, and the words a
reader says them with (Quý 4/2026, Tháng 11/2026...)."""

from __future__ import annotations

from datetime import date
from typing import Any

from chiso.clock import local_now
from chiso.errors import NotFound
from chiso.i18n import _
from chiso.periods import Period, PeriodError, parse_period, period_for

#: Period kinds the picker offers, with how many recent periods of each.
PICKER = (("week", 8), ("month", 12), ("quarter", 4), ("year", 2), ("ytd", 1))


def today() -> date:
    """Today in the store's time zone (the day a running period's figures are until)."""
    return local_now().date()


def kind_label(kind: str) -> str:
    return {"week": _("Week"), "month": _("Month"), "quarter": _("Quarter"), "half": _("Half-year"),
            "nine_months": _("Nine months"), "year": _("Year"), "ytd": _("Year to date")}[kind]


def period_label(p: Period) -> str:
    """A period as a reader says it: Quý 4/2026, Tháng 11/2026, Tuần 48/2026..."""
    code = p.code
    if p.kind == "week":
        return _("Week {n}/{year}").format(n=int(code.split("-W")[1]), year=code[:4])
    if p.kind == "month":
        return _("Month {n}/{year}").format(n=int(code[5:7]), year=code[:4])
    if p.kind == "quarter":
        return _("Quarter {n}/{year}").format(n=code[-1], year=code[:4])
    if p.kind == "year":
        return _("Year {year}").format(year=code)
    if p.kind == "ytd":
        return _("Year to date {month}/{year}").format(month=int(code[-2:]), year=code[:4])
    if p.kind == "half":
        return _("Half {n}/{year}").format(n=code[-1], year=code[:4])
    return _("Nine months {year}").format(year=code[:4])


def pick_period(text: str | None, default_kind: str = "quarter") -> Period:
    """The period asked for in the query string, else the current one of ``default_kind``.
    A bad code is a 404 (a page that does not exist), not a server error."""
    if text:
        try:
            return parse_period(text)
        except PeriodError as exc:
            raise NotFound(str(exc)) from None
    return period_for(default_kind, today())


def picker(current: Period) -> list[dict[str, Any]]:
    """Options of the period picker: recent periods of each kind, grouped."""
    d = today()
    groups: list[dict[str, Any]] = []
    for kind, n in PICKER:
        p = period_for(kind, d)
        options = []
        for _i in range(n):
            options.append({"code": p.code, "label": period_label(p), "selected": p.code == current.code})
            p = p.previous()
        groups.append({"label": kind_label(kind), "options": options})
    if not any(o["selected"] for g in groups for o in g["options"]):
        groups.insert(0, {"label": kind_label(current.kind),
                          "options": [{"code": current.code, "label": period_label(current), "selected": True}]})
    return groups
