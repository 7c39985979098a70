"""A period as the start form offers it (domain/period_input.py): days, working days, hours, a date, or 24:00 of the
closing day, to the period text the procedures read and back; the preview of when it ends, with a rest day's move
and the weekend-only fallback of a year with no State Council schedule."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.legal_calendar import BEIJING, parse_holiday_file
from domain.period_input import PeriodInputError, compose, date_of, preview, split_period, units_for
from domain.procedures import PROCEDURES, check_paper_entry, parse_period
from tests.texts import zh

TODAY = date(2025, 11, 3)  # a Monday


@pytest.mark.parametrize(("name", "number", "unit", "day", "text"), [
    ("voting", "15", "days", "", "P15D"),
    ("voting", " 10 ", "wd", "", "10wd"),
    ("voting", "2", "hours", "", "PT2H"),
    ("voting", "", "date", "2025-11-18", "P15D"),
    ("notice", "0", "days", "", "P0D"),
    (PAPER := "paper_entry", "", "eod", "", "eod"),
    (PAPER, "12", "hours", "", "PT12H"),
    (PAPER, "0", "hours", "", "PT0S"),
    ("checkpoint", "1", "hours", "", "PT1H"),
    ("remind_before", "3", "days", "", "P3D"),
])
def test_fields_make_the_period_text(name: str, number: str, unit: str, day: str, text: str) -> None:
    assert compose(name, number, unit, day, TODAY) == text
    parse_period(text)


@pytest.mark.parametrize(("name", "number", "unit", "day", "said"), [
    ("voting", "十五", "days", "", "不是 0 到 3660 之间的整数"),
    ("voting", "-1", "days", "", "不是 0 到 3660 之间的整数"),
    ("voting", "", "date", "", "请选择期间截止的日期"),
    ("voting", "", "date", "2025-11-03", "日期须在今天之后"),
    ("voting", "5", "eod", "", "请选择这个期间的计算方式"),
    ("paper_entry", "5", "wd", "", "请选择这个期间的计算方式"),
    ("checkpoint", "", "date", "2025-11-10", "请选择这个期间的计算方式"),
])
def test_what_cannot_make_a_period_says_what_to_enter(name: str, number: str, unit: str, day: str,
                                                      said: str) -> None:
    with pytest.raises(PeriodInputError) as caught:
        compose(name, number, unit, day, TODAY)
    assert said in zh(caught.value)


def test_every_default_comes_back_as_fields_of_its_units() -> None:
    for definition in PROCEDURES.values():
        for name, text in definition.periods.items():
            number, unit = split_period(text)
            assert unit in units_for(name), (name, text)
            assert compose(name, number, unit, "", TODAY) == (text if text != "P0D" else "P0D"), (name, text)
    assert split_period("PT30S") == ("PT30S", "")
    assert date_of("P15D", TODAY) == "2025-11-18" and date_of("10wd", TODAY) == ""
    for hours in ("0", "12"):
        check_paper_entry(parse_period(compose("paper_entry", hours, "hours", "", TODAY)))


def test_the_preview_moves_a_rest_day_and_flags_a_year_with_no_schedule() -> None:
    start = datetime(2025, 9, 25, 10, 0, tzinfo=BEIJING)
    national_day = preview("P7D", start)  # 2 October falls in the National Day holiday
    assert national_day.moved_from == date(2025, 10, 2) and national_day.last_day == date(2025, 10, 9)
    assert national_day.fallback_years == ()
    plain = preview("P14D", datetime(2025, 11, 3, 9, 0, tzinfo=BEIJING))
    assert plain.last_day == date(2025, 11, 17) and plain.moved_from is None
    assert plain.ends_at == datetime(2025, 11, 18, 0, 0, tzinfo=BEIJING)
    assert preview("PT2H", start).ends_at == datetime(2025, 9, 25, 12, 0, tzinfo=BEIJING)
    far = preview("10wd", datetime(2031, 5, 1, 9, 0, tzinfo=BEIJING))
    assert far.fallback_years == (2031,)
    covered = parse_holiday_file('{"years": [2031], "holidays": ["2031-05-01", "2031-05-02"]}')
    assert preview("10wd", datetime(2031, 5, 1, 9, 0, tzinfo=BEIJING), covered).fallback_years == ()
