"""A period as the start form offers it (issue 21 item 6): a number of days, of working days or of hours, a date
it ends on, or 24:00 of the closing day, turned into the period text the procedures read (``P15D``, ``10wd``,
``PT2H``, ``eod``: domain/procedures.py ``parse_period``), and back.

Which units a period offers depends on how the workflow counts it: the paper-entry window runs from the vote's
close and must be an exact duration or ``eod`` (``check_paper_entry``); the checkpoint interval and the reminder
are fixed durations (``Period.span``: no working days, no date). Every other period starts when its stage starts.

A date is a number of days counted from ``today`` (the day the form is filled in), so that the period, started
today, ends that day; a stage that starts later ends as many days later. Pure: ``today`` is passed in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.errors import N_, DomainError
from domain.legal_calendar import BEIJING, MAX_PERIOD_DAYS, HolidayFile
from domain.procedures import PAPER_ENTRY, parse_period

UNITS = ("days", "wd", "date", "hours", "eod")
FROM_CLOSE = (PAPER_ENTRY,)
"""Periods counted from the vote's close, not from a stage's start."""
DURATIONS = ("checkpoint", "remind_before")
"""Periods used as fixed durations (``Period.span``)."""
MAX_HOURS = 24 * 366


class PeriodInputError(DomainError):
    """A period's fields cannot make a period; the message says what to enter."""


def units_for(name: str) -> tuple[str, ...]:
    """The units the form offers for period ``name``, the usual first."""
    if name == PAPER_ENTRY:
        return ("eod", "hours")
    if name == "checkpoint":
        return ("hours",)
    if name == "remind_before":
        return ("days", "hours")
    return ("days", "wd", "date", "hours")


def split_period(text: str) -> tuple[str, str]:
    """``(number, unit)`` of a period text, for the form's fields (``P15D`` → ``("15", "days")``); a period the form
    has no unit for (``PT30S``, ``P1DT2H``) comes back as ``(text, "")``."""
    period = parse_period(text)
    if period.kind == "end_of_day":
        return "", "eod"
    if period.kind == "working_days":
        return str(period.count), "wd"
    if period.kind == "days":
        return str(period.count), "days"
    if period.seconds % 3600 == 0:
        return str(period.seconds // 3600), "hours"
    return text, ""


def _whole(number: str, most: int) -> int:
    text = number.strip()
    if not text.isdigit() or int(text) > most:
        raise PeriodInputError(N_("'%(number)s' is not a whole number from 0 to %(most)s"), number=text[:20],
                               most=most)
    return int(text)


def compose(name: str, number: str, unit: str, day: str, today: date) -> str:
    """The period text of the form's fields for period ``name``; :class:`PeriodInputError` naming what to enter."""
    if unit not in units_for(name):
        raise PeriodInputError(N_("choose how this period is counted"))
    if unit == "eod":
        return "eod"
    if unit == "date":
        try:
            end = date.fromisoformat(day.strip())
        except ValueError:
            raise PeriodInputError(N_("choose the date the period ends on")) from None
        days = (end - today).days
        if not 1 <= days <= MAX_PERIOD_DAYS:
            raise PeriodInputError(N_("the date must be after today and within %(most)s days"), most=MAX_PERIOD_DAYS)
        return f"P{days}D"
    if unit == "hours":
        hours = _whole(number, MAX_HOURS)
        return f"PT{hours}H" if hours else "PT0S"
    count = _whole(number, MAX_PERIOD_DAYS)
    return f"{count}wd" if unit == "wd" else f"P{count}D"


def date_of(text: str, today: date) -> str:
    """The date a ``P{n}D`` text ends on counted from ``today`` (the form's date field for a date unit)."""
    period = parse_period(text)
    return (today + timedelta(days=period.count)).isoformat() if period.kind == "days" else ""


class Preview(BaseModel):
    """When a period started at ``start`` ends: the instant, its last day (a period on the calendar), the nominal last
    day when it fell on a rest day or holiday and moved to the next working day, and the years counted on weekends
    only (no State Council schedule loaded for them)."""

    model_config = ConfigDict(frozen=True)

    ends_at: AwareDatetime
    last_day: date | None = None
    moved_from: date | None = None
    fallback_years: tuple[int, ...] = ()


def preview(text: str, start: datetime, holiday_file: HolidayFile | None = None) -> Preview:
    """Period ``text`` started at ``start``, on the calendar installed now and ``holiday_file`` (what the
    ``compute_deadlines`` activity would record if the stage started then)."""
    period = parse_period(text)
    end = period.deadline(start, holiday_file)
    moved = None
    if period.kind == "days" and end.last_day is not None:
        nominal = start.astimezone(BEIJING).date() + timedelta(days=period.count)
        moved = nominal if nominal != end.last_day else None
    return Preview(ends_at=end.ends_at, last_day=end.last_day, moved_from=moved, fallback_years=end.fallback_years)
