"""Working-day calendar: counting rules, the packaged Vietnamese data, coverage errors.

Expected dates are counted by hand on a calendar of 2024–2025 with the official days
off marked (Tết 2025: Mon 27 – Fri 31 Jan; 30/4–1/5 2025: Wed 30/4 – Fri 2/5 off and
Sat 26/4 worked).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from chiso.calendar import (
    CONFIDENCE_LEVELS,
    CalendarError,
    WorkingCalendar,
    default_calendar,
)
from chiso.errors import ChisoError


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The assertions below quote the English messages (the message ids)."""
    monkeypatch.setenv("CHISO_LANG", "en")


@pytest.fixture(scope="module")
def vn() -> WorkingCalendar:
    return default_calendar()


# -- single days ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 3, 7), True),  # an ordinary Friday
        (date(2025, 3, 8), False),  # Saturday
        (date(2025, 3, 9), False),  # Sunday
        (date(2025, 1, 1), False),  # Tết Dương lịch
        (date(2025, 1, 27), False),  # Tết Nguyên đán, in lieu of mùng 4 on Saturday
        (date(2025, 1, 31), False),
        (date(2025, 2, 3), True),
        (date(2025, 4, 7), False),  # Giỗ Tổ Hùng Vương
        (date(2025, 4, 26), True),  # Saturday worked (làm bù) for Friday 2 May
        (date(2025, 4, 27), False),
        (date(2025, 5, 2), False),
        (date(2025, 9, 1), False),
        (date(2024, 4, 29), False),  # swapped for Saturday 4 May 2024
        (date(2024, 5, 4), True),
        (date(2023, 5, 3), False),  # substitute for 30/4 on a Sunday
        (date(2026, 2, 20), False),  # Tết Bính Ngọ, mùng 4
        (date(2026, 2, 23), True),
    ],
)
def test_is_working_day(vn: WorkingCalendar, day: date, working: bool) -> None:
    assert vn.is_working_day(day) is working
    assert vn.is_working_day(datetime.combine(day, datetime.min.time())) is working


# -- add_working_days -----------------------------------------------------------------


def test_adding_over_a_weekend(vn: WorkingCalendar) -> None:
    friday = date(2025, 3, 7)
    assert vn.add_working_days(friday, 1) == date(2025, 3, 10)
    assert vn.add_working_days(friday, 5) == date(2025, 3, 14)
    assert vn.add_working_days(friday, 6) == date(2025, 3, 17)
    # Counting starts the day after start, even when start is not a working day.
    assert vn.add_working_days(date(2025, 3, 8), 1) == date(2025, 3, 10)
    assert vn.add_working_days(date(2025, 3, 9), 1) == date(2025, 3, 10)


def test_adding_over_tet_2025(vn: WorkingCalendar) -> None:
    # Friday 24 Jan is the last working day before the break; work resumes Monday 3 Feb.
    assert vn.add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)
    assert vn.add_working_days(date(2025, 1, 23), 2) == date(2025, 2, 3)
    assert vn.add_working_days(date(2025, 1, 24), 5) == date(2025, 2, 7)
    assert vn.add_working_days(date(2025, 1, 27), 1) == date(2025, 2, 3)


def test_adding_over_30_april_and_1_may_2025(vn: WorkingCalendar) -> None:
    friday = date(2025, 4, 25)
    assert [vn.add_working_days(friday, n) for n in range(1, 6)] == [
        date(2025, 4, 26),  # the make-up Saturday counts
        date(2025, 4, 28),
        date(2025, 4, 29),
        date(2025, 5, 5),  # 30/4, 1/5, the swapped 2/5 and the weekend skipped
        date(2025, 5, 6),
    ]
    assert vn.add_working_days(date(2025, 4, 29), 1) == date(2025, 5, 5)


def test_adding_over_the_2024_swap(vn: WorkingCalendar) -> None:
    # Off Sat 27 Apr – Wed 1 May 2024, Saturday 4 May worked.
    assert vn.add_working_days(date(2024, 4, 26), 1) == date(2024, 5, 2)
    assert vn.add_working_days(date(2024, 4, 26), 3) == date(2024, 5, 4)
    assert vn.add_working_days(date(2024, 4, 26), 4) == date(2024, 5, 6)


def test_adding_zero_returns_start_unchanged(vn: WorkingCalendar) -> None:
    saturday = date(2025, 3, 8)
    assert vn.add_working_days(saturday, 0) == saturday
    tet = date(2025, 1, 29)
    assert vn.add_working_days(tet, 0) is tet
    stamp = datetime(2025, 1, 29, 9, 0)
    assert vn.add_working_days(stamp, 0) is stamp
    # Nothing is counted, so no coverage is needed.
    assert vn.add_working_days(date(2030, 1, 1), 0) == date(2030, 1, 1)


def test_adding_to_a_datetime_keeps_type_time_and_zone(vn: WorkingCalendar) -> None:
    ict = timezone(timedelta(hours=7))
    received = datetime(2025, 1, 24, 16, 30, tzinfo=ict)
    due = vn.add_working_days(received, 1)
    assert type(due) is datetime
    assert due == datetime(2025, 2, 3, 16, 30, tzinfo=ict)
    assert type(vn.add_working_days(date(2025, 1, 24), 1)) is date


def test_negative_or_non_integer_counts_are_refused(vn: WorkingCalendar) -> None:
    with pytest.raises(ValueError):
        vn.add_working_days(date(2025, 3, 7), -1)
    with pytest.raises(TypeError):
        vn.add_working_days(date(2025, 3, 7), 1.5)  # type: ignore[arg-type]


# -- working_days_between -------------------------------------------------------------


def test_between_counts_the_half_open_interval(vn: WorkingCalendar) -> None:
    assert vn.working_days_between(date(2025, 1, 24), date(2025, 2, 3)) == 1
    assert vn.working_days_between(date(2025, 4, 25), date(2025, 5, 5)) == 4
    # January 2025 after New Year's Day: 22 weekdays, 5 of them Tết.
    assert vn.working_days_between(date(2025, 1, 1), date(2025, 1, 31)) == 17
    assert vn.working_days_between(date(2025, 3, 7), date(2025, 3, 8)) == 0
    assert vn.working_days_between(date(2025, 3, 7), date(2025, 3, 7)) == 0


def test_working_days_in_2025(vn: WorkingCalendar) -> None:
    # 261 weekdays, 12 of them days off, plus 1 make-up Saturday.
    assert vn.working_days_between(date(2024, 12, 31), date(2025, 12, 31)) == 250


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (date(2025, 1, 24), date(2025, 2, 3)),
        (date(2025, 4, 25), date(2025, 5, 5)),
        (date(2024, 12, 20), date(2025, 3, 1)),
        (date(2025, 3, 8), date(2025, 3, 9)),
        (date(2022, 1, 1), date(2027, 12, 31)),
    ],
)
def test_between_is_antisymmetric(vn: WorkingCalendar, a: date, b: date) -> None:
    assert vn.working_days_between(b, a) == -vn.working_days_between(a, b)


def test_between_inverts_add(vn: WorkingCalendar) -> None:
    start = date(2025, 1, 20)
    for n in range(60):
        assert vn.working_days_between(start, vn.add_working_days(start, n)) == n


def test_between_accepts_datetimes(vn: WorkingCalendar) -> None:
    assert vn.working_days_between(datetime(2025, 1, 24, 17), date(2025, 2, 3)) == 1


# -- coverage -------------------------------------------------------------------------


def test_days_outside_the_data_raise_calendar_error(vn: WorkingCalendar) -> None:
    with pytest.raises(CalendarError, match="no data for 2021") as caught:
        vn.is_working_day(date(2021, 12, 31))
    assert "2022–2027" in str(caught.value)
    with pytest.raises(CalendarError, match="no data for 2028"):
        vn.is_working_day(date(2028, 1, 3))
    # Thursday 30 Dec 2027 + 1 is Friday 31 Dec; the second day would be in 2028.
    assert vn.add_working_days(date(2027, 12, 30), 1) == date(2027, 12, 31)
    with pytest.raises(CalendarError, match="2028"):
        vn.add_working_days(date(2027, 12, 30), 2)
    with pytest.raises(CalendarError, match="2021"):
        vn.working_days_between(date(2021, 12, 1), date(2022, 1, 10))
    with pytest.raises(CalendarError, match="2021"):
        vn.working_days_between(date(2022, 1, 10), date(2021, 12, 1))
    assert isinstance(CalendarError("x"), ChisoError)


def test_messages_are_in_vietnamese_by_default(
    vn: WorkingCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHISO_LANG", "vi")
    with pytest.raises(CalendarError) as caught:
        vn.is_working_day(date(2021, 12, 31))
    message = str(caught.value)
    assert message.startswith("Lịch ngày làm việc chưa có dữ liệu năm 2021;")
    assert "2022–2027" in message and "ngày làm việc" in message
    monkeypatch.delenv("CHISO_LANG")
    with pytest.raises(CalendarError, match="^dữ liệu lịch, năm 2030: bắt buộc phải có 'source'"):
        WorkingCalendar.from_dict({"years": {2030: {"confidence": "confirmed"}}})


def test_the_start_of_an_interval_need_not_be_covered(vn: WorkingCalendar) -> None:
    # (31 Dec 2021, 10 Jan 2022]: 3 Jan is New Year's Day observed, so 4–7 and 10 Jan.
    assert vn.working_days_between(date(2021, 12, 31), date(2022, 1, 10)) == 5
    assert vn.add_working_days(date(2021, 12, 31), 1) == date(2022, 1, 4)


# -- the packaged data ----------------------------------------------------------------


def test_default_calendar_is_cached_and_covers_2022_to_2027() -> None:
    assert default_calendar() is default_calendar()
    assert default_calendar().covered_years == frozenset(range(2022, 2028))


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2022, 11), (2023, 11), (2024, 11), (2025, 11), (2026, 12), (2027, 12)],
)
def test_each_year_gives_the_statutory_number_of_weekdays_off(
    vn: WorkingCalendar, year: int, expected: int
) -> None:
    # Labour Code 2019 Art. 112: 11 days; 12 from 2026 with Vietnam Culture Day (24/11).
    # Substitutes replace weekend holidays and swaps are paid back by Saturdays, so the
    # count of weekday days off less make-up Saturdays is the statutory number.
    weekdays_off = [e for e in vn.days_off(year) if e.date.weekday() < 5]
    assert len(weekdays_off) - len(vn.working_saturdays(year)) == expected


def test_every_year_has_a_source_and_every_entry_both_names(vn: WorkingCalendar) -> None:
    for year in sorted(vn.covered_years):
        info = vn.year_info(year)
        assert info is not None and info.source and info.confidence in CONFIDENCE_LEVELS
        for entry in (*vn.days_off(year), *vn.working_saturdays(year)):
            assert entry.name_vi and entry.name_en
            assert entry.confidence in CONFIDENCE_LEVELS


def test_tet_breaks_as_announced(vn: WorkingCalendar) -> None:
    def off(first: date, last: date) -> list[date]:
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return [d for d in days if not vn.is_working_day(d)]

    assert off(date(2025, 1, 24), date(2025, 2, 3)) == [
        date(2025, 1, 25) + timedelta(days=i) for i in range(9)
    ]
    assert off(date(2026, 2, 13), date(2026, 2, 23)) == [
        date(2026, 2, 14) + timedelta(days=i) for i in range(9)
    ]
    assert off(date(2024, 2, 7), date(2024, 2, 15)) == [
        date(2024, 2, 8) + timedelta(days=i) for i in range(7)
    ]


def test_unsure_days_are_marked(vn: WorkingCalendar) -> None:
    culture_day = vn.day_off(date(2026, 11, 24))
    assert culture_day is not None and culture_day.confidence == "unconfirmed"
    assert vn.year_info(2027).confidence == "unconfirmed"  # type: ignore[union-attr]
    assert vn.day_off(date(2027, 1, 1)).confidence == "confirmed"  # type: ignore[union-attr]
    assert vn.day_off(date(2025, 3, 10)) is None


# -- calendars built from other data --------------------------------------------------


def _data(**year_overrides: object) -> dict:
    year: dict = {
        "source": "test",
        "confidence": "confirmed",
        "holidays": [
            {"date": date(2030, 1, 1), "name_vi": "Tết Dương lịch", "name_en": "New Year's Day"},
            {"date": "2030-01-02", "kind": "swapped", "name_vi": "Nghỉ hoán đổi",
             "name_en": "Bridging day", "confidence": "unconfirmed"},
        ],
        "working_saturdays": [
            {"date": date(2030, 1, 5), "name_vi": "Làm bù", "name_en": "Make-up Saturday"},
        ],
    }
    year.update(year_overrides)
    return {"years": {2030: year}}


def test_from_dict() -> None:
    calendar = WorkingCalendar.from_dict(_data())
    # 1 Jan 2030 is a Tuesday.
    assert calendar.add_working_days(date(2029, 12, 31), 1) == date(2030, 1, 3)
    assert calendar.add_working_days(date(2030, 1, 3), 2) == date(2030, 1, 5)
    assert calendar.day_off(date(2030, 1, 2)).confidence == "unconfirmed"  # type: ignore[union-attr]
    assert calendar.day_off(date(2030, 1, 1)).kind == "statutory"  # type: ignore[union-attr]
    with pytest.raises(CalendarError):
        calendar.is_working_day(date(2031, 1, 1))


def test_direct_construction() -> None:
    calendar = WorkingCalendar(years=[2030], holidays=[date(2030, 1, 1)])
    assert not calendar.is_working_day(date(2030, 1, 1))
    assert calendar.working_days_between(date(2030, 1, 1), date(2030, 1, 8)) == 5


def test_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(
        "years:\n"
        "  2030:\n"
        "    source: a province's own list\n"
        "    confidence: likely\n"
        "    holidays:\n"
        "      - {date: 2030-01-01, name_vi: Tết Dương lịch, name_en: New Year's Day}\n",
        encoding="utf-8",
    )
    calendar = WorkingCalendar.from_yaml(path)
    assert not calendar.is_working_day(date(2030, 1, 1))
    assert calendar.year_info(2030).confidence == "likely"  # type: ignore[union-attr]
    with pytest.raises(CalendarError, match="Cannot read"):
        WorkingCalendar.from_yaml(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"source": ""}, "'source' is required"),
        ({"confidence": "sure"}, "confidence must be one of"),
        ({"holidays": [{"date": "2030-13-01", "name_vi": "x", "name_en": "x"}]}, "is not a date"),
        ({"holidays": [{"date": date(2031, 1, 1), "name_vi": "x", "name_en": "x"}]},
         "wrong year"),
        ({"holidays": [{"date": date(2030, 1, 1), "name_vi": "x"}]}, "'name_en' is required"),
        ({"holidays": [{"date": date(2030, 1, 1), "kind": "makeup", "name_vi": "x",
                        "name_en": "x"}]}, "kind must be one of"),
        ({"holidays": [{"date": date(2030, 1, 1), "name_vi": "x", "name_en": "x"},
                       {"date": date(2030, 1, 1), "name_vi": "y", "name_en": "y"}]},
         "listed twice"),
        ({"working_saturdays": [{"date": date(2030, 1, 4), "name_vi": "x", "name_en": "x"}]},
         "not a Saturday"),
        ({"holidays": [{"date": date(2030, 1, 5), "name_vi": "x", "name_en": "x"}]},
         "both as a day off and as a working Saturday"),
    ],
)
def test_malformed_data_is_refused(overrides: dict, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        WorkingCalendar.from_dict(_data(**overrides))


def test_empty_data_is_refused() -> None:
    with pytest.raises(CalendarError, match="'years'"):
        WorkingCalendar.from_dict({})
    with pytest.raises(CalendarError):
        WorkingCalendar(years=[])

