"""Paper ballots as the committee enters them: when the owner filled the sheet in, and until when the committee may
enter it (the box's paper-entry window, ``BoxOpened.paper_entry_until``; docs/rules.md)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from domain.events import BoxOpened
from domain.legal_calendar import BEIJING

_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_TIME = re.compile(r"^\s*(\d{1,2})\s*[:：时]\s*(\d{2})\s*分?\s*$")


def filled_in_at(opened: BoxOpened, day_text: str, time_text: str = "") -> datetime | None:
    """The instant a paper ballot was filled in, from the date on the sheet (``2025-11-03``, ``2025/11/3``,
    ``2025年11月3日``) and an optional time (``14:30``), Beijing time; None when they cannot be read.

    Without a time: the start of that day, or the opening when the vote opened later that day, so a sheet dated
    the opening day is inside the voting period. Whether the instant lies in ``[opens_at, closes_at)`` is the
    decider's to check (:class:`domain.errors.PaperBallotDateError`)."""
    day_match = _DATE.match(day_text or "")
    if day_match is None:
        return None
    try:
        day = date(*(int(g) for g in day_match.groups()))
        if not (time_text or "").strip():
            return max(datetime.combine(day, time(0), tzinfo=BEIJING), opened.opens_at)
        time_match = _TIME.match(time_text)
        if time_match is None:
            return None
        return datetime.combine(day, time(int(time_match.group(1)), int(time_match.group(2))), tzinfo=BEIJING)
    except ValueError:  # 2025-02-30, 25:00
        return None


def entry_ended(opened: BoxOpened, sealed_at: datetime | None, now: datetime) -> datetime | None:
    """When paper entry ended (the seal, or the end of the window), or None while the committee may still enter."""
    if sealed_at is not None:
        return sealed_at
    return opened.seals_at if now >= opened.seals_at else None


def fill_in_days(opened: BoxOpened) -> tuple[date, date]:
    """The first and the last day (Beijing time) a paper ballot may carry: voting runs in ``[opens_at, closes_at)``,
    so a vote closing at 24:00 (00:00 of the next day) has its last day before that midnight."""
    last = (opened.closes_at - timedelta(microseconds=1)).astimezone(BEIJING).date()
    return opened.opens_at.astimezone(BEIJING).date(), last
