"""``compute_deadlines``: the calendar as installed at each call — chinese_calendar, the operator's
YISHI_HOLIDAY_FILE (read every time: a schedule loaded later applies to deadlines computed later), the holiday file
given at start — and the years it had to count on weekends only, logged as a warning."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.calendar import CalendarActivities, DeadlineQuery
from domain.legal_calendar import BEIJING, parse_holiday_file
from yishi.settings import Settings

START = datetime(2026, 12, 30, 10, 0, tzinfo=BEIJING)  # 2027 is not covered by chinese_calendar 1.11


async def test_the_operator_file_is_read_at_every_call(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    path.write_text('{"years": [2028]}')
    compute = CalendarActivities(Settings(holiday_file=path)).compute_deadlines
    query = DeadlineQuery(start=START, periods=("2wd", "PT1H"), subject="d-1:review")
    with capture_logs() as logs:
        before, exact = await ActivityEnvironment().run(compute, query)
    assert (before.last_day, before.calendar_fallback, before.fallback_years) == (date(2027, 1, 1), True, (2027,))
    assert exact.ends_at == datetime(2026, 12, 30, 11, 0, tzinfo=BEIJING) and not exact.calendar_fallback
    warning = next(e for e in logs if e["event"] == "deadline.calendar_fallback")
    assert warning["log_level"] == "warning" and warning["years"] == [2027] and warning["subject"] == "d-1:review"

    path.write_text('{"holidays": ["2027-01-01", "2027-01-04"]}')  # the operator loads 2027: no restart
    after, _ = await ActivityEnvironment().run(compute, query)
    assert (after.last_day, after.calendar_fallback, after.fallback_years) == (date(2027, 1, 5), False, ())


async def test_a_file_given_at_start_still_counts_for_years_the_operator_file_lacks(tmp_path: Path) -> None:
    compute = CalendarActivities(Settings(holiday_file=None)).compute_deadlines
    given = parse_holiday_file('{"holidays": ["2027-01-01"]}')
    end, = await ActivityEnvironment().run(compute, DeadlineQuery(start=START, periods=("2wd",), holiday_file=given))
    assert (end.last_day, end.calendar_fallback) == (date(2027, 1, 4), False)


async def test_an_unreadable_operator_file_is_retried_not_ignored(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for path in (broken, tmp_path / "missing.json"):
        compute = CalendarActivities(Settings(holiday_file=path)).compute_deadlines
        with capture_logs() as logs, pytest.raises(ApplicationError) as raised:
            await ActivityEnvironment().run(compute, DeadlineQuery(start=START, periods=("2wd",)))
        assert not raised.value.non_retryable and path.name in str(raised.value)
        assert any(e["event"] == "deadline.holiday_file_unreadable" and e["log_level"] == "error" for e in logs)
