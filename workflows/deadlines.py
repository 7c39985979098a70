"""Deadlines as recorded facts: how the procedure and escalation workflows learn when a period ends.

A period on the legal calendar (days, working days) ends where the State Council schedule installed *at that moment*
says. Computed in workflow code, an upgrade of ``chinese_calendar`` (or a holiday file loaded later) would change the
timers of running workflows and break their replay. Since the ``DEADLINES_RECORDED`` patch, the ``compute_deadlines``
activity computes them: its result (``PeriodEnd``: the end, the last day, the years counted on weekends only) is in
the history, and a replay reads it back. Exact durations (``PT30S``) do not depend on any calendar and are computed
here, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.calendar import DeadlineQuery
    from domain.errors import N_, Bilingual
    from domain.legal_calendar import HolidayFile, PeriodEnd, fallback_note
    from domain.procedures import parse_period
    from yishi.i18n import bilingual

from workflows.policies import ACTIVITY_TIMEOUT, RETRY

DEADLINES_RECORDED = "deadlines-recorded"
"""Patch: calendar deadlines come from the ``compute_deadlines`` activity and carry their calendar fallback. Histories
recorded before it compute them in workflow code with the calendar installed (every ``tests/histories/*.json`` but
``*_deadlines_recorded*.json``); they replay as long as that calendar gives the same days, as it always did."""


async def period_ends(start: datetime, texts: tuple[str, ...], holiday_file: HolidayFile | None,
                      subject: str) -> tuple[PeriodEnd, ...]:
    """When each period of ``texts`` counted from ``start`` ends (one activity for those on the calendar)."""
    periods = [parse_period(text) for text in texts]
    if not workflow.patched(DEADLINES_RECORDED):
        # Histories recorded before the patch: computed here, from the calendar installed (no fallback recorded).
        return tuple(PeriodEnd(ends_at=p.end(start, holiday_file)) for p in periods)
    on_calendar = tuple(p.text for p in periods if p.on_calendar)
    computed: list[PeriodEnd] = []
    if on_calendar:
        computed = await workflow.execute_activity(
            "compute_deadlines", DeadlineQuery(start=start, periods=on_calendar, holiday_file=holiday_file,
                                               subject=subject),
            result_type=list[PeriodEnd], start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
    found = iter(computed)
    return tuple(next(found) if p.on_calendar else p.deadline(start) for p in periods)


async def period_end(start: datetime, text: str, holiday_file: HolidayFile | None, subject: str) -> PeriodEnd:
    return (await period_ends(start, (text,), holiday_file, subject))[0]


def with_fallback(body: tuple[str, str], years: Iterable[int]) -> tuple[str, str]:
    """A notice's body (zh, en) with the fallback warning added when a deadline it states was counted on weekends
    only in ``years`` (a ``PeriodEnd``'s or an event's ``fallback_years``)."""
    listed = sorted(set(years))
    if not listed:
        return body
    zh, en = bilingual(N_("%(body)s (Note: %(note)s)"), body=Bilingual(*body), note=fallback_note(listed))
    return zh, en
