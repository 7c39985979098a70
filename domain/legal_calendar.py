"""Legal periods (民法典 第201–203条) and working-day periods on the State Council holiday schedule.

Days: the day the period starts from is not counted, so ``N`` days from ``D`` end on ``D + N``; if that
day is a rest day (Saturday/Sunday that is not an adjusted working day 调休) or a statutory holiday, the
period ends on the next working day instead. A period ends at 24:00 Beijing time, i.e. 00:00 +08:00 of the
following day (a fixed offset: China has no daylight saving time).

Working days: the ``N``-th working day after ``D`` (``D`` itself not counted).

Which days are working days: ``chinese_calendar`` for the years it covers (2004–2026 in 1.11). For other
years, the operator's holiday file if it covers the year, else Saturdays and Sundays only; the result then
carries ``calendar_fallback=True`` and the years concerned, to be shown on notices and in logs.

Holiday file (JSON, UTF-8)::

    {"years": [2027], "holidays": ["2027-01-01", ...], "workdays": ["2027-02-07", ...]}

``years`` is optional (default: the years of the listed dates). In a covered year a listed holiday is a
rest day, a listed workday is a working day, and any other day is a working day from Monday to Friday.

A workflow never computes a deadline on the calendar itself: the ``compute_deadlines`` activity does (with the
package and the operator's file as they are at that moment) and its :class:`PeriodEnd` is recorded in the
workflow's history, so a later package or file changes deadlines computed later, never ones already computed.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

import chinese_calendar
from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.errors import N_, CalendarError, HolidayFileError, Items, Text

BEIJING = timezone(timedelta(hours=8))
MAX_PERIOD_DAYS = 3660
MAX_HOLIDAY_FILE_BYTES = 1024 * 1024  # a few years of dates is a few kB
_MAX_SHIFT = 400  # no holiday run is anywhere near this; guards against a malformed holiday file


class HolidayFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    years: frozenset[int]
    holidays: frozenset[date]
    workdays: frozenset[date]


def _bad_file(name: str, text: Text) -> HolidayFileError:
    return HolidayFileError(N_("%(name)s: %(text)s"), name=name, text=text)


def _dates(name: str, raw: object, key: str) -> frozenset[date]:
    if not isinstance(raw, list):
        raise _bad_file(name, Text(N_("'%(key)s' must be a list of dates"), key=key))
    out: set[date] = set()
    for item in raw:
        try:
            out.add(date.fromisoformat(str(item)))
        except ValueError:
            raise _bad_file(name, Text(N_("'%(item)s' is not a YYYY-MM-DD date"), item=item)) from None
    return frozenset(out)


def parse_holiday_file(data: bytes | str, name: str = "holiday file") -> HolidayFile:
    """Parse the operator's holiday file (format in the module docstring)."""
    if len(data) > MAX_HOLIDAY_FILE_BYTES:
        raise _bad_file(name, Text(N_("larger than %(kb)s KB, which no holiday file is"),
                                   kb=MAX_HOLIDAY_FILE_BYTES // 1024))
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_file(name, Text(N_("not valid JSON (%(exc)s)"), exc=exc)) from None
    if not isinstance(doc, dict) or set(doc) - {"years", "holidays", "workdays"}:
        raise _bad_file(
            name,
            Text(N_("must be an object with years, holidays, workdays")),
        )
    holidays = _dates(name, doc.get("holidays", []), "holidays")
    workdays = _dates(name, doc.get("workdays", []), "workdays")
    both = sorted(holidays & workdays)
    if both:
        raise _bad_file(name, Text(N_("%(both)s is listed as a holiday and a workday"), both=both[0]))
    listed_years = {d.year for d in holidays | workdays}
    raw_years = doc.get("years")
    if raw_years is None:
        years = frozenset(listed_years)
    elif isinstance(raw_years, list) and all(isinstance(y, int) and not isinstance(y, bool) for y in raw_years):
        years = frozenset(raw_years)
    else:
        raise _bad_file(name, Text(N_("'years' must be a list of integer years")))
    if not listed_years <= years:
        raise _bad_file(name, Text(N_("some listed dates fall outside 'years'")))
    return HolidayFile(years=years, holidays=holidays, workdays=workdays)


class WorkCalendar:
    """Answers "is this a working day?" and remembers the years it had to guess (Sat/Sun only)."""

    def __init__(self, holiday_file: HolidayFile | None = None) -> None:
        self.holiday_file = holiday_file
        self.fallback_years: set[int] = set()

    def is_workday(self, day: date) -> bool:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            pass
        hf = self.holiday_file
        if hf is not None and day.year in hf.years:
            return day in hf.workdays or (day not in hf.holidays and day.weekday() < 5)
        self.fallback_years.add(day.year)
        return day.weekday() < 5


class Deadline(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: date
    kind: Literal["days", "working_days"]
    length: int
    last_day: date
    ends_at: AwareDatetime
    moved_from: date | None = None
    """For a period in days: the unadjusted last day when it fell on a rest day or holiday."""
    calendar_fallback: bool
    fallback_years: tuple[int, ...] = ()

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")


class PeriodEnd(BaseModel):
    """When a period ends, as computed once (by an activity) and then used and recorded as a fact.

    ``last_day`` is the period's last day (None for an exact duration such as ``PT30S``); ``fallback_years`` are the
    years whose State Council schedule was not loaded when it was computed, counted with Saturdays and Sundays as the
    only rest days (``calendar_fallback``): notices, status and pages say so (:func:`fallback_note`).
    """

    model_config = ConfigDict(frozen=True)

    ends_at: AwareDatetime
    last_day: date | None = None
    calendar_fallback: bool = False
    fallback_years: tuple[int, ...] = ()


def fallback_note(years: tuple[int, ...] | list[int]) -> Text:
    """The plain-words warning shown beside a deadline computed on weekends only in ``years``."""
    return Text(N_("The State Council holiday schedule for %(years)s is not loaded yet: this deadline counts only "
                   "Saturdays and Sundays as rest days and may change once the schedule is published."),
                years=Items(str(y) for y in years))


def merge_holiday_files(first: HolidayFile | None, second: HolidayFile | None) -> HolidayFile | None:
    """One table from two holiday files: ``first`` for the years it covers, ``second`` for the others."""
    if first is None or second is None:
        return first or second
    kept = second.years - first.years
    return HolidayFile(years=first.years | kept,
                       holidays=first.holidays | {d for d in second.holidays if d.year in kept},
                       workdays=first.workdays | {d for d in second.workdays if d.year in kept})


def period_end_instant(day: date) -> datetime:
    """The instant a period whose last day is ``day`` ends: 24:00 Beijing = next day 00:00 +08:00."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BEIJING)


def _check_length(length: int) -> None:
    if not 1 <= length <= MAX_PERIOD_DAYS:
        raise CalendarError(
            N_("a period must be 1 to %(most)s days long, got %(length)s"), most=MAX_PERIOD_DAYS, length=length,
        )


def _result(start: date, kind: str, length: int, last: date, cal: WorkCalendar, moved: date | None) -> Deadline:
    return Deadline(
        start=start,
        kind=kind,  # type: ignore[arg-type]
        length=length,
        last_day=last,
        ends_at=period_end_instant(last),
        moved_from=moved,
        calendar_fallback=bool(cal.fallback_years),
        fallback_years=tuple(sorted(cal.fallback_years)),
    )


def deadline_days(start: date, days: int, holiday_file: HolidayFile | None = None) -> Deadline:
    """Last day of a period of ``days`` calendar days from ``start`` (民法典 第201、203条)."""
    _check_length(days)
    cal = WorkCalendar(holiday_file)
    nominal = start + timedelta(days=days)
    last = nominal
    for _ in range(_MAX_SHIFT):
        if cal.is_workday(last):
            break
        last += timedelta(days=1)
    return _result(start, "days", days, last, cal, nominal if last != nominal else None)


def deadline_working_days(start: date, working_days: int, holiday_file: HolidayFile | None = None) -> Deadline:
    """The ``working_days``-th working day after ``start`` (``start`` itself not counted)."""
    _check_length(working_days)
    cal = WorkCalendar(holiday_file)
    day, counted = start, 0
    while counted < working_days:
        day += timedelta(days=1)
        if cal.is_workday(day):
            counted += 1
    return _result(start, "working_days", working_days, day, cal, None)
