"""Legal periods: 民法典 第201–203条 and the State Council working-day schedule."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from domain.errors import CalendarError, HolidayFileError
from domain.legal_calendar import (
    WorkCalendar,
    deadline_days,
    deadline_working_days,
    parse_holiday_file,
    period_end_instant,
)
from tests.texts import en
from yishi.i18n import bilingual_error


def test_first_day_not_counted() -> None:
    result = deadline_days(date(2025, 11, 3), 15)  # Monday + 15 = Tuesday 18 Nov
    assert result.last_day == date(2025, 11, 18)
    assert result.moved_from is None and not result.calendar_fallback


def test_period_ending_on_national_day_moves_past_the_holiday() -> None:
    result = deadline_days(date(2025, 9, 16), 15)  # nominal last day 2025-10-01
    assert result.moved_from == date(2025, 10, 1)
    assert result.last_day == date(2025, 10, 9)  # 1–8 Oct 2025 are the National Day/Mid-Autumn holiday
    assert result.ends_at == datetime.fromisoformat("2025-10-10T00:00:00+08:00")


def test_period_ending_on_a_weekend_moves_to_monday() -> None:
    assert deadline_days(date(2025, 5, 31), 7).last_day == date(2025, 6, 9)  # Sat 7 Jun → Mon 9 Jun


def test_adjusted_saturday_is_a_working_day() -> None:
    # 2025-10-11 is a Saturday worked in exchange for the National Day holiday (调休).
    assert deadline_days(date(2025, 10, 10), 1).last_day == date(2025, 10, 11)
    assert deadline_working_days(date(2025, 10, 10), 1).last_day == date(2025, 10, 11)
    assert deadline_working_days(date(2025, 10, 11), 1).last_day == date(2025, 10, 13)


def test_working_days_skip_the_holiday() -> None:
    # From Mon 29 Sep (not counted): Tue 30 Sep, Thu 9, Fri 10, Sat 11 (调休), Mon 13 Oct.
    result = deadline_working_days(date(2025, 9, 29), 5)
    assert result.last_day == date(2025, 10, 13)
    assert result.kind == "working_days" and result.length == 5


def test_ends_at_is_2400_beijing_time() -> None:
    instant = period_end_instant(date(2025, 12, 31))
    assert instant.isoformat() == "2026-01-01T00:00:00+08:00"
    assert instant.utcoffset() == timedelta(hours=8)


def test_uncovered_year_falls_back_to_weekends_and_says_so() -> None:
    result = deadline_days(date(2026, 12, 20), 12)  # 2027-01-01 is a Friday
    assert result.last_day == date(2027, 1, 1)
    assert result.calendar_fallback and result.fallback_years == (2027,)
    assert result.to_json()["calendar_fallback"] is True
    assert deadline_working_days(date(2026, 12, 30), 3).fallback_years == (2027,)


def test_holiday_file_is_used_for_an_uncovered_year() -> None:
    data = json.dumps({"holidays": ["2027-01-01", "2027-01-02", "2027-01-03"], "workdays": ["2027-01-09"]})
    holidays = parse_holiday_file(data.encode(), "holidays-2027.json")
    result = deadline_days(date(2026, 12, 20), 12, holidays)
    assert result.last_day == date(2027, 1, 4)
    assert not result.calendar_fallback
    assert deadline_working_days(date(2027, 1, 8), 1, holidays).last_day == date(2027, 1, 9)  # adjusted Saturday


def test_holiday_file_does_not_override_the_official_schedule() -> None:
    holidays = parse_holiday_file('{"holidays": ["2025-10-09"]}')
    assert WorkCalendar(holidays).is_workday(date(2025, 10, 9))


def test_holiday_file_years_without_listed_dates() -> None:
    holidays = parse_holiday_file('{"years": [2028]}')
    result = deadline_days(date(2028, 3, 1), 3)  # Saturday 4 Mar → Monday 6 Mar
    assert result.calendar_fallback
    assert deadline_days(date(2028, 3, 1), 3, holidays).last_day == date(2028, 3, 6)
    assert not deadline_days(date(2028, 3, 1), 3, holidays).calendar_fallback


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "JSON"),
        ('["2027-01-01"]', "object"),
        ('{"holidays": ["2027-13-01"]}', "2027-13-01"),
        ('{"holidays": "2027-01-01"}', "list"),
        ('{"holidays": ["2027-01-01"], "workdays": ["2027-01-01"]}', "2027-01-01"),
        ('{"years": [2028], "holidays": ["2027-01-01"]}', "outside"),
        ('{"years": "2027"}', "years"),
        ('{"extra": 1}', "object"),
    ],
)
def test_bad_holiday_files(text: str, fragment: str) -> None:
    with pytest.raises(HolidayFileError) as info:
        parse_holiday_file(text, "h.json")
    assert "h.json" in en(info.value) and fragment in en(info.value)


@pytest.mark.parametrize("length", [0, -1, 100_000])
def test_bad_period_lengths(length: int) -> None:
    with pytest.raises(CalendarError):
        deadline_days(date(2025, 1, 1), length)
    with pytest.raises(CalendarError):
        deadline_working_days(date(2025, 1, 1), length)


def test_the_test_holiday_fixture_covers_2027_and_2028() -> None:
    """tests/fixtures/holidays-2027-2028.json (a made-up schedule of the usual shape) is what `--holiday-file`
    gives the time-dependent tests for years chinese_calendar does not cover."""
    from pathlib import Path

    from domain.legal_calendar import deadline_days, parse_holiday_file

    path = Path(__file__).resolve().parent.parent / "fixtures" / "holidays-2027-2028.json"
    hf = parse_holiday_file(path.read_bytes(), path.name)
    assert hf.years == {2027, 2028}
    national_day = deadline_days(date(2027, 9, 30), 1, hf)  # 10-01 is a holiday: moved past the golden week
    assert national_day.last_day == date(2027, 10, 8) and national_day.fallback_years == ()
def test_period_deadline_carries_the_fallback_and_exact_periods_none() -> None:
    from datetime import datetime

    from domain.legal_calendar import BEIJING
    from domain.procedures import parse_period

    start = datetime(2026, 12, 20, 10, 0, tzinfo=BEIJING)
    end = parse_period("P12D").deadline(start)
    assert (end.last_day, end.calendar_fallback, end.fallback_years) == (date(2027, 1, 1), True, (2027,))
    assert end.ends_at == datetime(2027, 1, 2, tzinfo=BEIJING) == parse_period("P12D").end(start)
    exact = parse_period("PT30S").deadline(start)
    assert (exact.last_day, exact.calendar_fallback, exact.fallback_years) == (None, False, ())
    assert not parse_period("PT30S").on_calendar and not parse_period("P0D").on_calendar
    assert parse_period("P3D").on_calendar and parse_period("5wd").on_calendar


def test_merged_holiday_files_prefer_the_first_for_a_year_both_cover() -> None:
    from domain.legal_calendar import merge_holiday_files

    newer = parse_holiday_file('{"years": [2027], "holidays": ["2027-01-01"]}')
    older = parse_holiday_file('{"holidays": ["2027-01-04", "2028-01-03"], "workdays": ["2028-01-08"]}')
    merged = merge_holiday_files(newer, older)
    assert merged is not None and merged.years == {2027, 2028}
    assert merged.holidays == {date(2027, 1, 1), date(2028, 1, 3)} and merged.workdays == {date(2028, 1, 8)}
    assert merge_holiday_files(None, older) is older and merge_holiday_files(newer, None) is newer


def test_fallback_note_names_the_years_in_plain_words() -> None:
    from domain.legal_calendar import fallback_note

    zh, en = bilingual_error(fallback_note((2027,)))
    assert zh == "本期限所在年份（2027年）的国务院节假日安排尚未载入，按周六、周日休息计算，公布后可能调整。"
    assert "2027" in en and "Saturdays and Sundays" in en
    assert "2027、2028年" in bilingual_error(fallback_note([2027, 2028]))[0]
