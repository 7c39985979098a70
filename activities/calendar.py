"""Deadlines on the legal calendar, computed outside workflow code (RULES.md: working days follow the State Council
holiday schedule; a year it does not cover is counted on weekends only, and said so).

The calendar a deadline is computed with is whatever is installed when it is computed: ``chinese_calendar``, the
operator's holiday file (``YISHI_HOLIDAY_FILE``, read at every call, so a schedule loaded later applies to deadlines
computed later) and a holiday file given when the workflow started. Workflows call :meth:`compute_deadlines` and use
its result, which Temporal records in their history: a replay reads it back, so upgrading the package or loading a
file never changes a deadline already computed (nor breaks the replay of a running workflow).
"""

from __future__ import annotations

from pathlib import Path

import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.errors import N_, DomainError, HolidayFileError
from domain.legal_calendar import HolidayFile, PeriodEnd, merge_holiday_files, parse_holiday_file
from domain.procedures import parse_period
from yishi.settings import Settings

log = structlog.get_logger(__name__)


class DeadlineQuery(BaseModel):
    """Periods (``P15D``, ``10wd``, ``PT24H``) counted from ``start``; ``subject`` names them in the logs."""

    model_config = ConfigDict(frozen=True)
    start: AwareDatetime
    periods: tuple[str, ...]
    holiday_file: HolidayFile | None = None
    subject: str = ""


def operator_holiday_file(path: Path | None) -> HolidayFile | None:
    """The operator's holiday file as it is now (None when no file is configured)."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise HolidayFileError(N_("%(path)s: cannot read the holiday file (%(why)s); check YISHI_HOLIDAY_FILE"),
                               path=path, why=why) from None
    return parse_holiday_file(data, str(path))


class CalendarActivities:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @activity.defn(name="compute_deadlines")
    async def compute_deadlines(self, query: DeadlineQuery) -> list[PeriodEnd]:
        """The end of each period, with the years counted on weekends only. A holiday file that cannot be read is
        an error retried until the operator fixes it: a deadline is never computed without the schedule the
        operator said to use."""
        try:
            table = merge_holiday_files(operator_holiday_file(self._settings.holiday_file), query.holiday_file)
            ends = [parse_period(text).deadline(query.start, table) for text in query.periods]
        except HolidayFileError as exc:
            log.error("deadline.holiday_file_unreadable", subject=query.subject, error=str(exc))
            raise ApplicationError(str(exc), type=type(exc).__name__) from None
        except DomainError as exc:  # a period the workflow should never have accepted
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from None
        for text, end in zip(query.periods, ends, strict=True):
            if end.calendar_fallback:
                log.warning("deadline.calendar_fallback", subject=query.subject, period=text,
                            start=query.start.isoformat(), last_day=str(end.last_day), years=list(end.fallback_years),
                            hint="load the State Council schedule for these years with YISHI_HOLIDAY_FILE")
        return ends
