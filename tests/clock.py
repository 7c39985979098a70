"""The time-skipping server's clock for the tests: where it starts, and moving it without overshooting.

The test server's clock starts at the machine's real time. A test that lets virtual time run in big steps
can pass a deadline it meant to act before, and whether it does depends on the weekday and on the holidays
of the year it happens to run in. So:

- ``--clock=2027-06-01`` (or ``YISHI_TEST_CLOCK``) starts every time-skipping server at that instant
  (Beijing time, 10:00 unless a time is given), to run the time-dependent tests on chosen dates; the clock
  can only move forward, so the date must lie ahead of today.
- For years ``chinese_calendar`` does not cover, ``YISHI_HOLIDAY_FILE`` names the holiday schedule to use;
  ``tests/fixtures/holidays-2027-2028.json`` is a made-up schedule of the usual shape for such runs.
- :func:`advance_to` moves the clock to an instant the test computed from the workflow's own deadlines,
  never past it.
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.calendar import operator_holiday_file
from domain.legal_calendar import BEIJING, HolidayFile

CLOCK_ENV = "YISHI_TEST_CLOCK"


def parse_clock(text: str) -> datetime:
    """``2027-06-01`` (10:00 Beijing) or ``2027-06-01T23:30`` (Beijing unless an offset is given)."""
    value = datetime.fromisoformat(text)
    if len(text) <= 10:
        value = datetime.combine(value.date(), time(10, 0))
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def sweep_start(base: datetime, days: int) -> datetime:
    """23:50 Beijing time ``days`` days after ``base``: ten minutes before a day ends, the worst moment for a
    period counted in days; seven consecutive values cover every weekday."""
    day = base.astimezone(BEIJING).date() + timedelta(days=days)
    return datetime.combine(day, time(23, 50), tzinfo=BEIJING)


async def start_clock(env: WorkflowEnvironment, sweep_days: int | None = None) -> None:
    """Move a fresh time-skipping server's clock to ``YISHI_TEST_CLOCK`` when that is set, then, for a test
    in the weekday sweep, on to 23:50 Beijing time ``sweep_days`` days later."""
    text = os.environ.get(CLOCK_ENV)
    now = await env.get_current_time()
    target = parse_clock(text) if text else now
    if text and target <= now:
        raise RuntimeError(f"{CLOCK_ENV}={text} is not ahead of the test server's clock ({now.isoformat()}): "
                           "the clock only moves forward")
    if sweep_days is not None:
        target = sweep_start(target, sweep_days)
    if target > now:
        await env.sleep(target - now)


async def advance_to(env: WorkflowEnvironment, instant: datetime, past: timedelta = timedelta(seconds=1)) -> None:
    """Let virtual time run until just ``past`` ``instant`` (a deadline the test read from the workflow)."""
    now = await env.get_current_time()
    if instant + past > now:
        await env.sleep(instant + past - now)


def holidays_in_use() -> HolidayFile | None:
    """The holiday schedule the worker reads (``YISHI_HOLIDAY_FILE``, as ``--holiday-file`` sets it), for a test
    that computes a deadline to compare with the workflow's: both must count on the same calendar."""
    path = os.environ.get("YISHI_HOLIDAY_FILE")
    return operator_holiday_file(Path(path)) if path else None
