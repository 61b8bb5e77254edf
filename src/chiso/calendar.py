"""Working-day calendar (lịch ngày làm việc) for Vietnamese official deadlines.

Official deadlines are counted in working days (ngày làm việc): Monday to Friday, less
public holidays (ngày nghỉ lễ, Tết) and their substitute or swapped days off, plus the
Saturdays worked to pay back a swapped day (làm bù). The days come from data, by
default ``chiso/data/holidays_vn.yaml``, because the government fixes Tết (the Lunar
New Year) and the swaps year by year; no rule can foresee them. A day in a year the
data does not cover raises :class:`CalendarError` instead of being guessed.

The module is named after what it models; import it as ``chiso.calendar`` (it does not
clash with the standard library's ``calendar``, which absolute imports still find).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml

from chiso.errors import ChisoError
from chiso.i18n import _, current_language

__all__ = [
    "CONFIDENCE_LEVELS",
    "CalendarError",
    "DayEntry",
    "WorkingCalendar",
    "YearInfo",
    "default_calendar",
]

#: From most to least certain; see the header of ``holidays_vn.yaml``.
CONFIDENCE_LEVELS: Final[tuple[str, ...]] = ("confirmed", "likely", "unconfirmed")
HOLIDAY_KINDS: Final[tuple[str, ...]] = ("statutory", "substitute", "swapped")
_DEFAULT_DATA: Final[str] = "data/holidays_vn.yaml"

D = TypeVar("D", date, datetime)


class CalendarError(ChisoError):
    """The calendar cannot answer: the day lies outside the years its data covers, or
    the data itself is malformed."""


@dataclass(frozen=True)
class DayEntry:
    """One listed day: a day off, or a make-up working Saturday (``kind == "makeup"``)."""

    date: date
    kind: str
    name_vi: str
    name_en: str
    confidence: str
    note: str = ""


@dataclass(frozen=True)
class YearInfo:
    """Where a year's data comes from and how sure it is."""

    year: int
    source: str
    confidence: str
    notes: str = ""


def _as_date(d: date) -> date:
    return d.date() if isinstance(d, datetime) else d


def _day_name(entry: DayEntry) -> str:
    """The entry's name in the language in force, else its name in the other language."""
    if current_language() == "vi":
        return entry.name_vi or entry.name_en
    return entry.name_en or entry.name_vi


class WorkingCalendar:
    """Which days are working days, for the years its data covers.

    Build it from the packaged file (:func:`default_calendar`), from another YAML file
    (:meth:`from_yaml`), from the same structure as a dict (:meth:`from_dict`), or
    directly::

        WorkingCalendar(years=[2025], holidays=[date(2025, 1, 1)])

    Weekends are Saturday and Sunday. A date listed in ``working_saturdays`` is a
    working day even though it is a Saturday.
    """

    def __init__(
        self,
        years: Iterable[int],
        holidays: Iterable[date | DayEntry] = (),
        working_saturdays: Iterable[date | DayEntry] = (),
        *,
        year_info: Mapping[int, YearInfo] | None = None,
    ) -> None:
        self._years = frozenset(years)
        if not self._years:
            raise CalendarError(_("A working calendar needs at least one covered year."))
        self._holidays = self._index(holidays, "holiday")
        self._working_saturdays = self._index(working_saturdays, "makeup")
        self._year_info = dict(year_info or {})
        for d, entry in self._working_saturdays.items():
            if d.weekday() != 5:
                raise CalendarError(
                    _("Make-up working day {date} ({name}) is not a Saturday.").format(
                        date=d.isoformat(), name=_day_name(entry)
                    )
                )
            if d in self._holidays:
                raise CalendarError(
                    _("{date} is listed both as a day off and as a working Saturday.").format(
                        date=d.isoformat()
                    )
                )
        for d in (*self._holidays, *self._working_saturdays):
            if d.year not in self._years:
                raise CalendarError(
                    _(
                        "{date} is listed, but its year is not among the covered "
                        "years {years}."
                    ).format(date=d.isoformat(), years=self._describe_years())
                )

    @staticmethod
    def _index(entries: Iterable[date | DayEntry], default_kind: str) -> dict[date, DayEntry]:
        index: dict[date, DayEntry] = {}
        for entry in entries:
            if not isinstance(entry, DayEntry):
                if isinstance(entry, datetime) or not isinstance(entry, date):
                    raise CalendarError(_("Expected a date, got {value!r}.").format(value=entry))
                entry = DayEntry(entry, default_kind, "", "", "confirmed")
            if entry.date in index:
                raise CalendarError(
                    _("{date} is listed twice.").format(date=entry.date.isoformat())
                )
            index[entry.date] = entry
        return index

    # -- construction from data -------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str | None = None) -> WorkingCalendar:
        """Build from the structure of ``holidays_vn.yaml``::

            {"years": {2025: {"source": "...", "confidence": "confirmed",
                              "holidays": [{"date": date(2025, 1, 1), "kind": "statutory",
                                            "name_vi": "Tết Dương lịch",
                                            "name_en": "New Year's Day"}],
                              "working_saturdays": []}}}

        Dates may be :class:`datetime.date` objects or ISO ``YYYY-MM-DD`` text. Each year
        needs ``source`` and ``confidence``; an entry's ``confidence`` defaults to its
        year's. ``origin`` names the data in error messages (default: "calendar data",
        in the language in force).

        Raises:
            CalendarError: the structure or a value is not as described.
        """
        if origin is None:
            origin = _("calendar data")
        years_data = data.get("years") if isinstance(data, Mapping) else None
        if not isinstance(years_data, Mapping) or not years_data:
            raise CalendarError(
                _("{origin}: expected a non-empty mapping under 'years'.").format(origin=origin)
            )
        holidays: list[DayEntry] = []
        saturdays: list[DayEntry] = []
        infos: dict[int, YearInfo] = {}
        for raw_year, year_data in years_data.items():
            year = _parse_year(raw_year, origin)
            where = _("{origin}, year {year}").format(origin=origin, year=year)
            if not isinstance(year_data, Mapping):
                raise CalendarError(_("{where}: expected a mapping.").format(where=where))
            info = YearInfo(
                year=year,
                source=_required_text(year_data, "source", where),
                confidence=_confidence(year_data.get("confidence"), where),
                notes=str(year_data.get("notes") or "").strip(),
            )
            infos[year] = info
            for key, target, kinds in (
                ("holidays", holidays, HOLIDAY_KINDS),
                ("working_saturdays", saturdays, ("makeup",)),
            ):
                raw_entries = year_data.get(key) or []
                if not isinstance(raw_entries, list):
                    raise CalendarError(
                        _("{where}: '{key}' must be a list.").format(where=where, key=key)
                    )
                for raw in raw_entries:
                    entry = _parse_entry(raw, info, kinds, f"{where}, {key}")
                    if entry.date.year != year:
                        raise CalendarError(
                            _("{where}: {date} is filed under the wrong year.").format(
                                where=where, date=entry.date.isoformat()
                            )
                        )
                    target.append(entry)
        return cls(infos, holidays, saturdays, year_info=infos)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> WorkingCalendar:
        """Build from a YAML file laid out like ``holidays_vn.yaml``."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CalendarError(
                _("Cannot read holiday data {path}: {reason}.").format(
                    path=path, reason=error.strerror
                )
            ) from error
        return cls._from_yaml_text(text, str(path))

    @classmethod
    def _from_yaml_text(cls, text: str, origin: str) -> WorkingCalendar:
        try:
            # libyaml where installed: the packaged calendar is read by every command
            # that counts (a tenth of a second with the pure-Python parser).
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)
        except yaml.YAMLError as error:
            raise CalendarError(
                _("{origin} is not valid YAML: {error}").format(origin=origin, error=error)
            ) from error
        return cls.from_dict(data if isinstance(data, Mapping) else {}, origin=origin)

    # -- questions ------------------------------------------------------------------------

    @property
    def covered_years(self) -> frozenset[int]:
        """The years the data covers; any other year raises :class:`CalendarError`."""
        return self._years

    def covers(self, d: date) -> bool:
        """Whether the data covers the year of ``d``."""
        return _as_date(d).year in self._years

    def year_info(self, year: int) -> YearInfo | None:
        """Source and confidence of a covered year's data (``None`` if built without)."""
        self._check_year(year)
        return self._year_info.get(year)

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` (a ``datetime`` counts by its own date) is a working day.

        Raises:
            CalendarError: the year of ``d`` is not covered.
        """
        d = _as_date(d)
        self._check_year(d.year)
        if d in self._working_saturdays:
            return True
        return d.weekday() < 5 and d not in self._holidays

    def day_off(self, d: date) -> DayEntry | None:
        """The listed day off on ``d``, or ``None`` (weekends are not listed)."""
        d = _as_date(d)
        self._check_year(d.year)
        return self._holidays.get(d)

    def days_off(self, year: int) -> list[DayEntry]:
        """The listed days off of ``year``, in date order."""
        self._check_year(year)
        return sorted((e for e in self._holidays.values() if e.date.year == year),
                      key=lambda e: e.date)

    def working_saturdays(self, year: int) -> list[DayEntry]:
        """The make-up working Saturdays (làm bù) of ``year``, in date order."""
        self._check_year(year)
        return sorted((e for e in self._working_saturdays.values() if e.date.year == year),
                      key=lambda e: e.date)

    def add_working_days(self, start: D, n: int) -> D:
        """The day ``n`` working days after ``start``, of the same type as ``start``.

        Counting starts the day after ``start``, whatever ``start`` itself is: a
        request received on Friday with a 1-working-day deadline is due on Monday, as
        is one received on the Saturday. With ``n == 0`` ``start`` is returned as it is
        (no calendar lookup). A ``datetime`` keeps its time of day and time zone; its
        own date is the one counted from.

        Raises:
            ValueError: ``n`` is negative.
            CalendarError: counting reaches a year the data does not cover.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an integer, got {n!r}")
        if n < 0:
            raise ValueError(f"n must be zero or more, got {n}")
        if n == 0:
            return start
        day = _as_date(start)
        remaining = n
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        if isinstance(start, datetime):
            return start.replace(year=day.year, month=day.month, day=day.day)
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days in ``(a, b]``: after ``a``, up to and including ``b``.

        When ``b`` is before ``a`` the result is ``-working_days_between(b, a)``, so
        swapping the arguments only flips the sign. For ``a < b`` with a positive count
        ``k``, ``add_working_days(a, k)`` is the last working day on or before ``b``.
        ``datetime`` values count by their own dates.

        Raises:
            CalendarError: a day in the interval lies in a year the data does not cover.
        """
        first, last = _as_date(a), _as_date(b)
        if last < first:
            return -self.working_days_between(last, first)
        if first == last:
            return 0
        # Checked up front so that a long span fails at once, naming the missing year.
        for year in range((first + timedelta(days=1)).year, last.year + 1):
            self._check_year(year)
        count = 0
        day = first
        while day < last:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    # -- internals ------------------------------------------------------------------------

    def _describe_years(self) -> str:
        years = sorted(self._years)
        if years == list(range(years[0], years[-1] + 1)):
            return f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
        return ", ".join(map(str, years))

    def _check_year(self, year: int) -> None:
        if year not in self._years:
            raise CalendarError(
                _(
                    "The working-day calendar has no data for {year}; it covers "
                    "{years}. Add that year's holidays and make-up "
                    "Saturdays to the holiday data before counting working days in it."
                ).format(year=year, years=self._describe_years())
            )

    def __repr__(self) -> str:
        return (
            f"<WorkingCalendar {self._describe_years()}: {len(self._holidays)} days off, "
            f"{len(self._working_saturdays)} working Saturdays>"
        )


def _parse_year(raw: Any, origin: str) -> int:
    if isinstance(raw, bool):
        raise _not_a_year(raw, origin)
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise _not_a_year(raw, origin) from None


def _not_a_year(raw: Any, origin: str) -> CalendarError:
    return CalendarError(_("{origin}: {value!r} is not a year.").format(origin=origin, value=raw))


def _required_text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CalendarError(
            _("{where}: '{key}' is required (non-empty text).").format(where=where, key=key)
        )
    return " ".join(value.split())


def _confidence(value: Any, where: str) -> str:
    if value not in CONFIDENCE_LEVELS:
        raise CalendarError(
            _("{where}: confidence must be one of {levels}, got {value!r}.").format(
                where=where, levels=", ".join(CONFIDENCE_LEVELS), value=value
            )
        )
    return str(value)


def _parse_date(value: Any, where: str) -> date:
    # PyYAML already turns an unquoted 2025-01-01 into a date; quoted text is accepted
    # too. A timestamp is refused: a day off is a whole day.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CalendarError(
        _("{where}: {value!r} is not a date (YYYY-MM-DD).").format(where=where, value=value)
    )


def _parse_entry(raw: Any, info: YearInfo, kinds: tuple[str, ...], where: str) -> DayEntry:
    if not isinstance(raw, Mapping):
        raise CalendarError(
            _("{where}: expected a mapping per day, got {value!r}.").format(where=where, value=raw)
        )
    day = _parse_date(raw.get("date"), where)
    where = f"{where}, {day.isoformat()}"
    kind = raw.get("kind", kinds[0])
    if kind not in kinds:
        raise CalendarError(
            _("{where}: kind must be one of {kinds}, got {kind!r}.").format(
                where=where, kinds=", ".join(kinds), kind=kind
            )
        )
    confidence = raw.get("confidence", info.confidence)
    return DayEntry(
        date=day,
        kind=kind,
        name_vi=_required_text(raw, "name_vi", where),
        name_en=_required_text(raw, "name_en", where),
        confidence=_confidence(confidence, where),
        note=" ".join(str(raw.get("note") or "").split()),
    )


@cache
def default_calendar() -> WorkingCalendar:
    """The calendar of Vietnamese public bodies from the packaged ``holidays_vn.yaml``,
    read once per process."""
    resource = resources.files("chiso").joinpath(_DEFAULT_DATA)
    return WorkingCalendar._from_yaml_text(resource.read_text(encoding="utf-8"), _DEFAULT_DATA)
