"""Series of meetings (每周五晚七点): plan one, end one, and the parties' links for all of its occurrences.

The plan is recorded (``SeriesPlanned``, in the series' own stream) before the workflow starts, so that the parties'
links, issued right after, are recorded after it in the same stream; the workflow appends the same event under the
same key (nothing twice) and materialises the occurrences as meetings.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import asyncpg
from temporalio.client import Client, WorkflowUpdateFailedError

from activities.eventstore import EventStore
from activities.meetings import load_series, project_series, to_new
from domain.errors import N_
from domain.legal_calendar import HolidayFile
from domain.meeting_commands import MeetingError
from domain.meeting_series import Series, SeriesPlanned, check_plan
from domain.topic_events import Actor
from workflows.meeting_series import FIRST_KEY, EndInput, SeriesInput, SeriesResult
from yishi.i18n.errors import refusal
from yishi.services.capabilities import Capability, issue_capability, reissue_capability
from yishi.services.meetings import MeetingRefusedError
from yishi.settings import Settings


def new_series_id() -> str:
    return f"series-{secrets.token_hex(6)}"


async def plan_series(client: Client, pool: asyncpg.Pool, plan: SeriesPlanned, *, settings: Settings,
                      holiday_file: HolidayFile | None = None) -> str:
    """Record the plan and start the series' workflow; returns the series id."""
    try:
        check_plan(plan)
    except MeetingError as exc:
        raise MeetingRefusedError(exc.text) from None
    store = EventStore(pool)
    await store.append(plan.series_id, to_new([plan]), idempotency_key=FIRST_KEY)
    await project_series(pool, plan.series_id, Series(plan=plan), 1)
    params = SeriesInput(plan=plan, remind_before=settings.meeting_remind_before, confirm=settings.meeting_confirm,
                         holiday_file=holiday_file)
    await client.start_workflow("MeetingSeries", params, id=plan.series_id, task_queue=settings.task_queue,
                                result_type=SeriesResult)
    return plan.series_id


async def series_state(pool: asyncpg.Pool, series_id: str) -> Series:
    series = await load_series(EventStore(pool), series_id)
    if series.plan is None:
        raise MeetingError(N_("no series %(series)s; check the series id"), series=series_id)
    return series


async def end_series(client: Client, series_id: str, *, reason: str, by: Actor) -> SeriesResult:
    handle = client.get_workflow_handle(series_id)
    try:
        return await handle.execute_update("end_series", EndInput(by=by, reason=reason), result_type=SeriesResult)
    except WorkflowUpdateFailedError as exc:
        raise MeetingRefusedError(refusal(exc.cause or exc)) from None


async def series_links(pool: asyncpg.Pool, series_id: str, *, by: str, secret_key: str, now: datetime,
                       reissue: str | None = None) -> list[Capability]:
    """Each party's link for every occurrence of the series (issued when missing, the same again otherwise)."""
    store = EventStore(pool)
    plan = (await series_state(pool, series_id)).plan
    assert plan is not None
    links = []
    for party in plan.parties:
        if party.party_id == reissue:
            links.append(await reissue_capability(pool, store, kind="invitation", subject=series_id,
                                                  holder=party.party_id, community=plan.community, by=by,
                                                  secret_key=secret_key, now=now, reason="link replaced"))
        else:
            links.append(await issue_capability(pool, store, kind="invitation", subject=series_id,
                                                holder=party.party_id, community=plan.community, issued_by=by,
                                                secret_key=secret_key, now=now))
    return links
