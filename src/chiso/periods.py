"""Reporting periods (kỳ báo cáo) and their one canonical text form each.

An official index (chỉ số) is computed per reporting period. Each kind of period has
exactly one canonical code, which is what gets stored, shown and typed:

============  ================  =====================================================
kind          code              span
============  ================  =====================================================
week          ``2025-W49``      ISO 8601 week (Monday–Sunday); the year is the ISO
                                week-numbering year, which can differ from the
                                calendar year around 1 January
month         ``2025-11``       the calendar month
quarter       ``2025-Q3``       quý: three months
half          ``2025-H1``       half-year (6 tháng): January–June or July–December
nine_months   ``2025-9M``       9 tháng: 1 January – 30 September
year          ``2025``          the calendar year
ytd           ``2025-YTD-11``   year to date (lũy kế từ đầu năm): 1 January to the
                                last day of the month; always two digits
                                (``2025-YTD-03``), like months
============  ================  =====================================================

Everything here is pure: no clock, no files, no settings (apart from the language of
error messages, see :mod:`chiso.i18n`). The working-day calendar
(``WorkingCalendar``, ``CalendarError``, ``default_calendar``) is in
:mod:`chiso.calendar`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta
from typing import Final

from chiso.errors import ChisoError
from chiso.i18n import _

__all__ = [
    "ACCEPTED_FORMS",
    "KINDS",
    "Period",
    "PeriodError",
    "iso_weeks_in_year",
    "parse_period",
    "period_for",
    "periods_containing",
    "periods_of_year",
]

#: Every period kind, in the order :func:`periods_containing` and
#: :func:`periods_of_year` list them (shortest span first, year-to-date last).
KINDS: Final[tuple[str, ...]] = (
    "week",
    "month",
    "quarter",
    "half",
    "nine_months",
    "year",
    "ytd",
)

#: The accepted forms, in English; parse errors show them in the language in force
#: (see :func:`_accepted_forms`) so that the user learns the right spelling at once.
ACCEPTED_FORMS: Final[str] = (
    "2025-W49 (ISO week), 2025-11 (month), 2025-Q3 (quarter), 2025-H1 (half-year), "
    "2025-9M (nine months, 1 Jan–30 Sep), 2025 (year), "
    "2025-YTD-11 (year to date, 1 Jan to the end of month 11)"
)

# How many numbered periods of each kind a year has; weeks vary, see iso_weeks_in_year.
_COUNT_PER_YEAR: Final[dict[str, int]] = {"month": 12, "quarter": 4, "half": 2, "ytd": 12}
_UNNUMBERED: Final[frozenset[str]] = frozenset({"nine_months", "year"})


def _accepted_forms() -> str:
    """:data:`ACCEPTED_FORMS` in the language in force (the msgid is the same text)."""
    return _(
        "2025-W49 (ISO week), 2025-11 (month), 2025-Q3 (quarter), 2025-H1 (half-year), "
        "2025-9M (nine months, 1 Jan–30 Sep), 2025 (year), "
        "2025-YTD-11 (year to date, 1 Jan to the end of month 11)"
    )


def _unknown_kind(kind: object) -> PeriodError:
    return PeriodError(
        _("Unknown period kind {kind!r}; expected one of {kinds}.").format(
            kind=kind, kinds=", ".join(KINDS)
        )
    )


class PeriodError(ChisoError, ValueError):
    """A period code or a period's parts are not valid.

    A :class:`ValueError` too, so that callers that only know the standard library
    (argument parsers, pydantic validators) treat it as bad input.
    """


def iso_weeks_in_year(year: int) -> int:
    """Return 52 or 53: the number of ISO weeks in ISO week-numbering year ``year``.

    28 December always lies in the last ISO week of its year.
    """
    return date(year, 12, 28).isocalendar().week


def _as_date(d: date) -> date:
    # datetime is a subclass of date, but comparing the two raises TypeError, so a
    # timestamp is reduced to its own (local) calendar day first.
    return d.date() if isinstance(d, datetime) else d


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period, e.g. ``Period("quarter", 2025, 3)`` for ``2025-Q3``.

    ``number`` is the ISO week, the month, the quarter, the half or the last month of
    a year-to-date period; it is ``None`` for ``year`` and ``nine_months``. For weeks,
    ``year`` is the ISO week-numbering year.

    Ordering compares ``(kind, year, number)``: chronological among periods of one
    kind, and merely a stable order across kinds.
    """

    kind: str
    year: int
    number: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise _unknown_kind(self.kind)
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise PeriodError(
                _("Period year must be an integer, got {year!r}.").format(year=self.year)
            )
        if not MINYEAR <= self.year <= MAXYEAR:
            raise PeriodError(
                _("Period year must be between {min:04d} and {max}, got {year}.").format(
                    min=MINYEAR, max=MAXYEAR, year=self.year
                )
            )
        if self.kind in _UNNUMBERED:
            if self.number is not None:
                raise PeriodError(
                    _("A {kind} period has no number, got {number!r}.").format(
                        kind=self.kind, number=self.number
                    )
                )
            return
        if isinstance(self.number, bool) or not isinstance(self.number, int):
            raise PeriodError(
                _("A {kind} period needs an integer number, got {number!r}.").format(
                    kind=self.kind, number=self.number
                )
            )
        if self.kind == "week":
            weeks = iso_weeks_in_year(self.year)
            if not 1 <= self.number <= weeks:
                raise PeriodError(
                    _("ISO year {year} has weeks W01–W{weeks}, not W{number:02d}.").format(
                        year=self.year, weeks=weeks, number=self.number
                    )
                )
            return
        highest = _COUNT_PER_YEAR[self.kind]
        if not 1 <= self.number <= highest:
            match self.kind:
                case "month":
                    problem = _("Month must be between 01 and 12, got {number:02d}.")
                case "quarter":
                    problem = _("Quarter must be Q1 to Q4, got Q{number}.")
                case "half":
                    problem = _("Half-year must be H1 or H2, got H{number}.")
                case _:
                    problem = _("Year-to-date month must be between 01 and 12, got {number:02d}.")
            raise PeriodError(problem.format(number=self.number))

    @property
    def start(self) -> date:
        """First day of the period."""
        n = self.number
        match self.kind:
            case "week":
                return date.fromisocalendar(self.year, n, 1)  # type: ignore[arg-type]
            case "month":
                return date(self.year, n, 1)  # type: ignore[arg-type]
            case "quarter":
                return date(self.year, 3 * n - 2, 1)  # type: ignore[operator]
            case "half":
                return date(self.year, 6 * n - 5, 1)  # type: ignore[operator]
            case _:  # nine_months, year, ytd all start on 1 January
                return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        """Last day of the period (inclusive)."""
        n = self.number
        match self.kind:
            case "week":
                return self.start + timedelta(days=6)
            case "month" | "ytd":
                return _month_end(self.year, n)  # type: ignore[arg-type]
            case "quarter":
                return _month_end(self.year, 3 * n)  # type: ignore[operator]
            case "half":
                return _month_end(self.year, 6 * n)  # type: ignore[operator]
            case "nine_months":
                return date(self.year, 9, 30)
            case _:
                return date(self.year, 12, 31)

    @property
    def code(self) -> str:
        """The canonical text form, e.g. ``2025-W49`` or ``2025-YTD-03``."""
        y, n = self.year, self.number
        match self.kind:
            case "week":
                return f"{y:04d}-W{n:02d}"
            case "month":
                return f"{y:04d}-{n:02d}"
            case "quarter":
                return f"{y:04d}-Q{n}"
            case "half":
                return f"{y:04d}-H{n}"
            case "nine_months":
                return f"{y:04d}-9M"
            case "year":
                return f"{y:04d}"
            case _:
                return f"{y:04d}-YTD-{n:02d}"

    def __str__(self) -> str:
        return self.code

    def contains(self, d: date) -> bool:
        """Whether day ``d`` (a ``datetime`` counts by its own date) lies in the period."""
        return self.start <= _as_date(d) <= self.end

    def days(self) -> int:
        """Number of calendar days in the period (7 for a week, 365 or 366 for a year)."""
        return (self.end - self.start).days + 1

    def shift(self, steps: int) -> Period:
        """The period ``steps`` places later (earlier if negative) in the series of its kind.

        ``nine_months`` and ``ytd`` periods step by whole years: the series of
        ``2025-YTD-11`` is ``2024-YTD-11``, ``2025-YTD-11``, ``2026-YTD-11``... because
        a year-to-date figure is compared with the same span a year earlier (cùng kỳ
        năm trước), never with the year-to-date one month before.
        """
        try:
            match self.kind:
                case "week":
                    iso = (self.start + timedelta(weeks=steps)).isocalendar()
                    return Period("week", iso.year, iso.week)
                case "month" | "quarter" | "half":
                    per_year = _COUNT_PER_YEAR[self.kind]
                    index = self.year * per_year + (self.number - 1) + steps  # type: ignore[operator]
                    return Period(self.kind, index // per_year, index % per_year + 1)
                case _:
                    return Period(self.kind, self.year + steps, self.number)
        except OverflowError:
            raise PeriodError(
                _(
                    "{code} shifted by {steps} falls outside the supported years "
                    "{min:04d}–{max}."
                ).format(code=self.code, steps=steps, min=MINYEAR, max=MAXYEAR)
            ) from None

    def previous(self) -> Period:
        """The period just before this one of the same kind (see :meth:`shift`).

        ``2025-W01`` → ``2024-W52``, ``2021-W01`` → ``2020-W53``, ``2025-Q1`` → ``2024-Q4``,
        ``2025-9M`` → ``2024-9M``, ``2025-YTD-11`` → ``2024-YTD-11``.
        """
        return self.shift(-1)

    def next(self) -> Period:
        """The period just after this one of the same kind (see :meth:`shift`)."""
        return self.shift(1)


# Each canonical form, matched against the stripped, upper-cased text. re.ASCII keeps
# \d from accepting other scripts' digits, which int() would silently convert.
_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern, re.ASCII), kind)
    for pattern, kind in (
        (r"(\d{4})-W(\d{2})", "week"),
        (r"(\d{4})-(\d{2})", "month"),
        (r"(\d{4})-Q(\d)", "quarter"),
        (r"(\d{4})-H(\d)", "half"),
        (r"(\d{4})-9M", "nine_months"),
        (r"(\d{4})", "year"),
        (r"(\d{4})-YTD-(\d{2})", "ytd"),
    )
)


def parse_period(text: str) -> Period:
    """Parse a canonical period code (case-insensitive, surrounding spaces ignored).

    >>> parse_period(" 2025-q3 ")
    Period(kind='quarter', year=2025, number=3)

    Only the canonical forms are accepted (``2025-W01``, not ``2025-W1``; ``2025-03``,
    not ``2025-3``), so that one period never has two spellings in stored data.

    Raises:
        PeriodError: ``text`` is not one of :data:`ACCEPTED_FORMS`, or names a period
            that does not exist (``2025-13``, ``2025-W53`` in a 52-week year).
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_period() needs text, got {type(text).__name__}")
    cleaned = text.strip().upper()
    for pattern, kind in _PATTERNS:
        match = pattern.fullmatch(cleaned)
        if match is None:
            continue
        year = int(match.group(1))
        number = int(match.group(2)) if match.lastindex == 2 else None
        try:
            return Period(kind, year, number)
        except PeriodError as error:
            raise PeriodError(
                _("Not a valid period: {text!r}: {error} Accepted forms: {forms}.").format(
                    text=text, error=error, forms=_accepted_forms()
                )
            ) from None
    raise PeriodError(
        _("Not a period code: {text!r}. Accepted forms: {forms}.").format(
            text=text, forms=_accepted_forms()
        )
    )


def period_for(kind: str, d: date) -> Period:
    """The period of ``kind`` that contains day ``d``.

    Raises:
        PeriodError: unknown ``kind``, or ``kind == "nine_months"`` and ``d`` falls in
            October–December, which no nine-month period contains.
    """
    d = _as_date(d)
    match kind:
        case "week":
            iso = d.isocalendar()
            return Period("week", iso.year, iso.week)
        case "month" | "ytd":
            return Period(kind, d.year, d.month)
        case "quarter":
            return Period("quarter", d.year, (d.month - 1) // 3 + 1)
        case "half":
            return Period("half", d.year, 1 if d.month <= 6 else 2)
        case "nine_months":
            if d.month > 9:
                raise PeriodError(
                    _(
                        "{date} is in no nine-month period: "
                        "9M runs from 1 January to 30 September."
                    ).format(date=d.isoformat())
                )
            return Period("nine_months", d.year)
        case "year":
            return Period("year", d.year)
    raise _unknown_kind(kind)


def periods_containing(d: date) -> list[Period]:
    """Every period that contains ``d``, one per kind, in :data:`KINDS` order.

    That is its ISO week (possibly of the neighbouring ISO year), month, quarter,
    half-year, nine months (only for January–September), year, and the year-to-date
    period ending with ``d``'s month. Longer year-to-date periods (to a later month)
    contain ``d`` too but are left out: a day belongs to the YTD of its own month.
    """
    d = _as_date(d)
    return [period_for(kind, d) for kind in KINDS if kind != "nine_months" or d.month <= 9]


def periods_of_year(year: int, kinds: Iterable[str] = KINDS) -> list[Period]:
    """All periods of the given kinds that belong to ``year``, grouped by kind in the
    order given and chronological within a kind.

    Weeks are those of ISO week-numbering year ``year`` (the weeks whose Thursday lies
    in ``year``), so ``2026`` yields W01 (starting 2025-12-29) to W53.
    """
    if isinstance(kinds, str):  # a bare "week" would otherwise iterate its letters
        kinds = (kinds,)
    result: list[Period] = []
    for kind in kinds:
        if kind not in KINDS:
            raise _unknown_kind(kind)
        if kind in _UNNUMBERED:
            result.append(Period(kind, year))
            continue
        count = iso_weeks_in_year(year) if kind == "week" else _COUNT_PER_YEAR[kind]
        result.extend(Period(kind, year, n) for n in range(1, count + 1))
    return result
