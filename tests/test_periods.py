"""Reporting periods: codes, spans, ISO-week edges, navigation, errors.

Expected dates are worked out by hand (from a printed calendar), not from the code.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from chiso.errors import ChisoError
from chiso.periods import (
    KINDS,
    Period,
    PeriodError,
    iso_weeks_in_year,
    parse_period,
    period_for,
    periods_containing,
    periods_of_year,
)


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The assertions below quote the English messages (the message ids)."""
    monkeypatch.setenv("CHISO_LANG", "en")


# -- parsing and canonical codes ------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind", "year", "number"),
    [
        ("2025-W49", "week", 2025, 49),
        ("2025-W01", "week", 2025, 1),
        ("2020-W53", "week", 2020, 53),
        ("2025-11", "month", 2025, 11),
        ("2025-01", "month", 2025, 1),
        ("2025-Q3", "quarter", 2025, 3),
        ("2025-H1", "half", 2025, 1),
        ("2025-H2", "half", 2025, 2),
        ("2025-9M", "nine_months", 2025, None),
        ("2025", "year", 2025, None),
        ("2025-YTD-11", "ytd", 2025, 11),
        ("2025-YTD-03", "ytd", 2025, 3),
    ],
)
def test_canonical_codes_round_trip(code: str, kind: str, year: int, number: int | None) -> None:
    period = parse_period(code)
    assert period == Period(kind, year, number)
    assert period.code == code
    assert str(period) == code
    assert parse_period(period.code) == period


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (" 2025-q3 ", "2025-Q3"),
        ("2025-w01", "2025-W01"),
        ("2025-h2\n", "2025-H2"),
        ("\t2025-9m", "2025-9M"),
        ("2025-ytd-03", "2025-YTD-03"),
        ("  2025  ", "2025"),
    ],
)
def test_parsing_ignores_case_and_surrounding_space(text: str, code: str) -> None:
    assert parse_period(text).code == code


@pytest.mark.parametrize("year", [2020, 2025, 2026])
def test_every_period_of_a_year_round_trips(year: int) -> None:
    periods = periods_of_year(year)
    assert {p.kind for p in periods} == set(KINDS)
    for period in periods:
        assert parse_period(period.code) == period
        assert parse_period(period.code.lower()) == period


# -- spans ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "start", "end", "days"),
    [
        ("2025-W49", date(2025, 12, 1), date(2025, 12, 7), 7),
        # ISO week edges: a week can straddle the new year either way.
        ("2020-W53", date(2020, 12, 28), date(2021, 1, 3), 7),
        ("2024-W01", date(2024, 1, 1), date(2024, 1, 7), 7),
        ("2025-W01", date(2024, 12, 30), date(2025, 1, 5), 7),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 4), 7),
        ("2026-W53", date(2026, 12, 28), date(2027, 1, 3), 7),
        # Leap years: 2024 and 2000 are, 2025 and 2100 are not.
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), 29),
        ("2025-02", date(2025, 2, 1), date(2025, 2, 28), 28),
        ("2000-02", date(2000, 2, 1), date(2000, 2, 29), 29),
        ("2100-02", date(2100, 2, 1), date(2100, 2, 28), 28),
        ("2025-12", date(2025, 12, 1), date(2025, 12, 31), 31),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31), 91),
        ("2025-Q1", date(2025, 1, 1), date(2025, 3, 31), 90),
        ("2025-Q3", date(2025, 7, 1), date(2025, 9, 30), 92),
        ("2025-Q4", date(2025, 10, 1), date(2025, 12, 31), 92),
        ("2024-H1", date(2024, 1, 1), date(2024, 6, 30), 182),
        ("2025-H1", date(2025, 1, 1), date(2025, 6, 30), 181),
        ("2025-H2", date(2025, 7, 1), date(2025, 12, 31), 184),
        ("2024-9M", date(2024, 1, 1), date(2024, 9, 30), 274),
        ("2025-9M", date(2025, 1, 1), date(2025, 9, 30), 273),
        ("2024", date(2024, 1, 1), date(2024, 12, 31), 366),
        ("2025", date(2025, 1, 1), date(2025, 12, 31), 365),
        ("2025-YTD-11", date(2025, 1, 1), date(2025, 11, 30), 334),
        ("2024-YTD-02", date(2024, 1, 1), date(2024, 2, 29), 60),
        ("2025-YTD-01", date(2025, 1, 1), date(2025, 1, 31), 31),
    ],
)
def test_start_end_and_days(code: str, start: date, end: date, days: int) -> None:
    period = parse_period(code)
    assert period.start == start
    assert period.end == end
    assert period.days() == days


def test_iso_week_counts() -> None:
    # Years starting on a Thursday, or leap years starting on a Wednesday, have 53.
    assert [iso_weeks_in_year(y) for y in (2015, 2020, 2024, 2025, 2026, 2027)] == [
        53, 53, 52, 52, 53, 52,
    ]


def test_contains_is_inclusive_at_both_ends() -> None:
    nine = parse_period("2025-9M")
    assert nine.contains(date(2025, 1, 1))
    assert nine.contains(date(2025, 9, 30))
    assert not nine.contains(date(2025, 10, 1))
    assert not nine.contains(date(2024, 12, 31))
    week = parse_period("2026-W01")
    assert week.contains(date(2025, 12, 29))
    assert not week.contains(date(2025, 12, 28))
    assert week.contains(datetime(2026, 1, 4, 23, 59))


# -- navigation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "previous", "following"),
    [
        ("2025-W01", "2024-W52", "2025-W02"),
        ("2021-W01", "2020-W53", "2021-W02"),
        ("2020-W53", "2020-W52", "2021-W01"),
        ("2026-W53", "2026-W52", "2027-W01"),
        ("2025-01", "2024-12", "2025-02"),
        ("2025-12", "2025-11", "2026-01"),
        ("2025-Q1", "2024-Q4", "2025-Q2"),
        ("2025-Q4", "2025-Q3", "2026-Q1"),
        ("2025-H1", "2024-H2", "2025-H2"),
        ("2025-H2", "2025-H1", "2026-H1"),
        ("2025-9M", "2024-9M", "2026-9M"),
        ("2025", "2024", "2026"),
        # Year to date steps by a year: compared with the same span a year earlier.
        ("2025-YTD-11", "2024-YTD-11", "2026-YTD-11"),
        ("2025-YTD-01", "2024-YTD-01", "2026-YTD-01"),
    ],
)
def test_previous_and_next(code: str, previous: str, following: str) -> None:
    period = parse_period(code)
    assert period.previous().code == previous
    assert period.next().code == following
    assert period.previous().next() == period
    assert period.next().previous() == period


@pytest.mark.parametrize(("first", "steps"), [("2019-W40", 300), ("2023-11", 40),
                                              ("2023-Q3", 12), ("2023-H2", 6)])
def test_next_chains_tile_time_without_gaps(first: str, steps: int) -> None:
    period = parse_period(first)
    for _ in range(steps):
        following = period.next()
        assert following.start == period.end + timedelta(days=1)
        assert following > period
        period = following


def test_previous_chain_walks_back_across_a_53_week_year() -> None:
    period = parse_period("2021-W02")
    codes = []
    for _ in range(3):
        period = period.previous()
        codes.append(period.code)
    assert codes == ["2021-W01", "2020-W53", "2020-W52"]


def test_shift_by_several_steps() -> None:
    assert parse_period("2025-Q1").shift(-5).code == "2023-Q4"
    assert parse_period("2025-11").shift(14).code == "2027-01"
    assert parse_period("2020-W01").shift(52).code == "2020-W53"
    assert parse_period("2020-W01").shift(53).code == "2021-W01"
    assert parse_period("2025-YTD-06").shift(-3).code == "2022-YTD-06"
    assert parse_period("2025-H1").shift(0) == parse_period("2025-H1")


def test_navigation_past_the_supported_years_is_a_period_error() -> None:
    with pytest.raises(PeriodError):
        Period("year", 9999).next()
    with pytest.raises(PeriodError):
        Period("week", 1, 1).previous()
    with pytest.raises(PeriodError):
        Period("month", 1, 1).previous()


def test_ordering_is_chronological_within_a_kind_and_periods_are_hashable() -> None:
    quarters = [parse_period(c) for c in ("2025-Q3", "2024-Q4", "2025-Q1")]
    assert [q.code for q in sorted(quarters)] == ["2024-Q4", "2025-Q1", "2025-Q3"]
    assert len({parse_period("2025-11"), parse_period(" 2025-11"), Period("month", 2025, 11)}) == 1


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2025-13", "Month must be between 01 and 12, got 13"),
        ("2025-00", "Month must be between 01 and 12, got 00"),
        ("2025-W54", "ISO year 2025 has weeks W01–W52, not W54"),
        ("2025-W53", "ISO year 2025 has weeks W01–W52, not W53"),
        ("2025-W00", "ISO year 2025 has weeks W01–W52, not W00"),
        ("2025-Q5", "Quarter must be Q1 to Q4, got Q5"),
        ("2025-Q0", "Quarter must be Q1 to Q4, got Q0"),
        ("2025-H3", "Half-year must be H1 or H2, got H3"),
        ("2025-YTD-13", "Year-to-date month must be between 01 and 12, got 13"),
        ("0000", "Period year must be between 0001 and 9999"),
    ],
)
def test_out_of_range_parts_are_explained(text: str, reason: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text)
    message = str(caught.value)
    assert reason in message
    assert repr(text) in message
    assert "Accepted forms" in message and "2025-YTD-11" in message


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "2025-1", "2025-W1", "25-Q1", "2025Q1", "2025-Q3 x", "2025-9M9",
     "2025-M11", "2025-YTD-3", "2025-YTD", "2025-Q", "１２３４", "2025–Q3"],
)
def test_malformed_text_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text)
    message = str(caught.value)
    assert message.startswith("Not a period code:")
    for form in ("2025-W49", "2025-11", "2025-Q3", "2025-H1", "2025-9M", "2025-YTD-11"):
        assert form in message


def test_messages_are_in_vietnamese_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHISO_LANG", "vi")
    with pytest.raises(PeriodError) as caught:
        parse_period("2025-Q5")
    message = str(caught.value)
    assert message.startswith("Kỳ báo cáo không hợp lệ: '2025-Q5': ")
    assert "Quý phải từ Q1 đến Q4, không có quý Q5." in message
    assert "Các dạng hợp lệ:" in message and "2025-YTD-11 (lũy kế từ đầu năm" in message
    with pytest.raises(PeriodError, match="không thuộc kỳ 9 tháng nào"):
        period_for("nine_months", date(2025, 10, 1))
    monkeypatch.delenv("CHISO_LANG")
    with pytest.raises(PeriodError, match="^Không phải mã kỳ báo cáo: 'abc'"):
        parse_period("abc")


def test_period_error_is_a_value_error_and_a_chiso_error() -> None:
    with pytest.raises(ValueError):
        parse_period("2025-Q5")
    with pytest.raises(ChisoError):
        parse_period("abc")


def test_parsing_non_text_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_period(2025)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "year", "number"),
    [("decade", 2025, None), ("month", 2025, None), ("month", 2025, 0),
     ("year", 2025, 1), ("nine_months", 2025, 9), ("week", 2026, 54), ("half", 2025, True)],
)
def test_invalid_periods_cannot_be_built(kind: str, year: int, number: object) -> None:
    with pytest.raises(PeriodError):
        Period(kind, year, number)  # type: ignore[arg-type]


# -- periods around a day -------------------------------------------------------------


def test_periods_containing_new_years_eve_2025() -> None:
    # 31 Dec 2025 is a Wednesday in ISO week 1 of 2026, and outside the nine months.
    got = periods_containing(date(2025, 12, 31))
    assert [p.code for p in got] == ["2026-W01", "2025-12", "2025-Q4", "2025-H2", "2025",
                                     "2025-YTD-12"]


def test_periods_containing_new_years_day_2025() -> None:
    got = periods_containing(date(2025, 1, 1))
    assert [p.code for p in got] == ["2025-W01", "2025-01", "2025-Q1", "2025-H1", "2025-9M",
                                     "2025", "2025-YTD-01"]


@pytest.mark.parametrize(
    ("day", "week"),
    [(date(2021, 1, 3), "2020-W53"), (date(2027, 1, 1), "2026-W53"),
     (date(2024, 12, 30), "2025-W01"), (date(2025, 9, 30), "2025-W40")],
)
def test_every_period_containing_a_day_does_contain_it(day: date, week: str) -> None:
    got = periods_containing(day)
    assert got[0].code == week
    assert all(p.contains(day) for p in got)
    assert periods_containing(datetime.combine(day, datetime.min.time())) == got


def test_period_for_each_kind() -> None:
    day = date(2025, 8, 15)
    assert [period_for(kind, day).code for kind in KINDS] == [
        "2025-W33", "2025-08", "2025-Q3", "2025-H2", "2025-9M", "2025", "2025-YTD-08",
    ]
    with pytest.raises(PeriodError, match="30 September"):
        period_for("nine_months", date(2025, 10, 1))
    with pytest.raises(PeriodError, match="Unknown period kind"):
        period_for("fortnight", day)


def test_periods_of_year_counts_and_order() -> None:
    # 52 weeks + 12 months + 4 quarters + 2 halves + 9M + year + 12 YTDs.
    assert len(periods_of_year(2025)) == 84
    assert len(periods_of_year(2026)) == 85
    weeks = periods_of_year(2026, kinds=["week"])
    assert weeks[0].start == date(2025, 12, 29)
    assert weeks[-1].code == "2026-W53"
    assert [p.code for p in periods_of_year(2025, "quarter")] == [
        "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4",
    ]
    assert [p.code for p in periods_of_year(2025, ("year", "nine_months"))] == ["2025", "2025-9M"]
    months = periods_of_year(2024, ["month"])
    assert sum(m.days() for m in months) == 366
    with pytest.raises(PeriodError):
        periods_of_year(2025, ["month", "semester"])
