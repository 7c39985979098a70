"""每周五晚七点定时定点: a series of meetings as a durable process (issue 16).

The workflow materialises the series' occurrences ``ahead_weeks`` ahead: each is a ``Meeting`` child (started with
``ABANDON`` and an id derived from the series and the date, never reused) and an ``OccurrenceScheduled`` event in the
series' stream. It sleeps until the next date enters the horizon, continues as new every ``CONTINUE_EVERY``
occurrences, and stops when the series is ended (update ``end_series``: ``SeriesEnded``) or its last date is
scheduled. The dates are weekday arithmetic on Beijing time (domain/meeting_series.py), not the holiday calendar.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.meetings import SeriesAppend
    from domain.errors import N_
    from domain.legal_calendar import BEIJING, HolidayFile
    from domain.meeting_commands import MeetingError
    from domain.meeting_events import MeetingScheduled
    from domain.meeting_series import (
        OccurrenceScheduled,
        Series,
        SeriesEnded,
        SeriesPlanned,
        check_end,
        due_occurrences,
        occurrence_id,
        starts_at,
    )
    from domain.topic_events import Actor

from workflows.escalation import reject
from workflows.meeting import CONFIRM, REMIND_BEFORE, MeetingInput, MeetingResult
from workflows.policies import ACTIVITY_TIMEOUT, RETRY

FIRST_KEY = "1:planned"
"""The idempotency key of a series' first append (the service appends the same ``SeriesPlanned`` under it)."""
CONTINUE_EVERY = 26


class SeriesInput(BaseModel):
    plan: SeriesPlanned
    remind_before: str = REMIND_BEFORE
    confirm: str = CONFIRM
    holiday_file: HolidayFile | None = None
    notice_attempts: int = 5
    scheduled: tuple[date, ...] = ()
    """Carried over continue-as-new: the dates scheduled already."""


class SeriesResult(BaseModel):
    series_id: str
    occurrences: int
    ended: bool


class EndInput(BaseModel):
    by: Actor
    reason: str


@workflow.defn(name="MeetingSeries")
class MeetingSeriesWorkflow:
    @workflow.init
    def __init__(self, params: SeriesInput) -> None:
        self._in = params
        self._scheduled: list[date] = list(params.scheduled)
        self._ended = False
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, params: SeriesInput) -> SeriesResult:
        plan = params.plan
        if not params.scheduled:
            await self._append(FIRST_KEY, plan)
        started = 0
        while not self._ended:
            for day in due_occurrences(plan, workflow.now()):
                if day in self._scheduled or self._ended:
                    continue
                async with self._lock:
                    await self._occurrence(day)
                started += 1
            nxt = self._next_date()
            if nxt is None:
                break
            if started >= CONTINUE_EVERY:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._in.model_copy(update={"scheduled": tuple(self._scheduled)}))
            # Wake when the next date enters the horizon (00:00 Beijing time, ahead_weeks before it).
            wake = datetime.combine(nxt - timedelta(weeks=plan.ahead_weeks), time(0), tzinfo=BEIJING)
            try:
                await workflow.wait_condition(lambda: self._ended,
                                              timeout=max(wake - workflow.now(), timedelta(seconds=1)))
            except TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        return SeriesResult(series_id=plan.series_id, occurrences=len(self._scheduled), ended=self._ended)

    def _next_date(self) -> date | None:
        plan = self._in.plan
        last = max(self._scheduled, default=None)
        day = last + timedelta(weeks=1) if last else max(plan.first, workflow.now().astimezone(BEIJING).date())
        day += timedelta(days=(plan.weekday - day.weekday()) % 7)
        return None if plan.until is not None and day > plan.until else day

    async def _append(self, key: str, *events: SeriesPlanned | OccurrenceScheduled | SeriesEnded) -> None:
        await workflow.execute_activity(
            "append_series_events", SeriesAppend(series_id=self._in.plan.series_id, key=key, events=events),
            result_type=int, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)

    async def _occurrence(self, day: date) -> None:
        plan, now = self._in.plan, workflow.now()
        meeting_id = occurrence_id(plan.series_id, day)
        at = starts_at(plan, day)
        scheduled = MeetingScheduled(
            at=now, meeting_id=meeting_id, community=plan.community, title=f"{plan.title}（{day.isoformat()}）",
            kind=plan.kind, starts_at=at, place=plan.place, series_id=plan.series_id, by=plan.by)
        params = MeetingInput(scheduled=scheduled, parties=plan.parties, remind_before=self._in.remind_before,
                              confirm=self._in.confirm, holiday_file=self._in.holiday_file,
                              notice_attempts=self._in.notice_attempts)
        try:
            await workflow.start_child_workflow(
                "Meeting", params, id=meeting_id, result_type=MeetingResult,
                parent_close_policy=ParentClosePolicy.ABANDON, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:  # after a reset: that occurrence exists already
            workflow.logger.info("series.occurrence_adopted", extra={"meeting_id": meeting_id})
        await self._append(f"occurrence:{day.isoformat()}", OccurrenceScheduled(at=now, meeting_id=meeting_id,
                                                                                on=day, starts_at=at))
        self._scheduled.append(day)

    @workflow.update
    async def end_series(self, a: EndInput) -> SeriesResult:
        async with self._lock:
            self._check_end(a)
            await self._append("ended", SeriesEnded(at=workflow.now(), reason=a.reason.strip(), by=a.by))
            self._ended = True
        return SeriesResult(series_id=self._in.plan.series_id, occurrences=len(self._scheduled), ended=True)

    @end_series.validator
    def _v_end_series(self, a: EndInput) -> None:
        self._check_end(a)

    def _check_end(self, a: EndInput) -> None:
        if self._ended:
            raise reject(N_("the series has ended already"), "MeetingError")
        try:
            check_end(Series(plan=self._in.plan), a.reason, a.by)
        except MeetingError as exc:
            raise reject(exc.text, "MeetingError") from None

    @workflow.query
    def occurrences(self) -> list[date]:
        return list(self._scheduled)
