"""An uncovered year for the calendar-fallback tests, found from the time-skipping server's clock (never today's date)
and from what the installed ``chinese_calendar`` covers; and a holiday table that covers it, for replays."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

import chinese_calendar
from temporalio.testing import WorkflowEnvironment

from domain.legal_calendar import BEIJING


def covered(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 7, 1))
    except NotImplementedError:
        return False
    return True


async def server_day(env: WorkflowEnvironment) -> date:
    return (await env.get_current_time()).astimezone(BEIJING).date()


async def uncovered_year(env: WorkflowEnvironment) -> int:
    """The first year, from the server's current one on, that the installed package does not cover."""
    year = (await server_day(env)).year
    while covered(year):
        year += 1
    return year


@contextmanager
def schedule_loaded(year: int, holidays: set[date]) -> Iterator[Callable[[date], bool]]:
    """Pretend an upgraded ``chinese_calendar`` covers ``year``, with ``holidays`` as its rest days besides the
    weekends (as a new release does when the State Council publishes the schedule)."""
    original = chinese_calendar.is_workday

    def is_workday(day: date) -> bool:
        if day.year == year:
            return day.weekday() < 5 and day not in holidays
        return original(day)

    chinese_calendar.is_workday = is_workday  # domain.legal_calendar looks it up at every call
    try:
        yield is_workday
    finally:
        chinese_calendar.is_workday = original
