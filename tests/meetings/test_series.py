"""A weekly series (每周五晚七点 style) on the time-skipping server: occurrences materialised two weeks ahead as
meetings with the series' parties, one link per party for every occurrence, a position stated through it, the next
occurrence scheduled as time passes, and the series ended."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, timedelta

import pytest

from domain.legal_calendar import BEIJING
from domain.meeting_series import SeriesPlanned, occurrence_id
from tests.meetings.conftest import CLERK, PARTIES, SECRET, SITES, meeting_until
from tests.workflows.conftest import running_worker, save_history, stream_types
from workflows.meeting import MeetingResult
from workflows.meeting_series import SeriesResult
from yishi.services.meeting_links import meetings_of_link, position_by_link
from yishi.services.meeting_series import end_series, plan_series, series_links, series_state
from yishi.services.meetings import MeetingRefusedError, add_item, meeting_state


async def occurrences(pool, series_id: str, count: int, patience: int = 200) -> list[str]:  # type: ignore[no-untyped-def]
    for _ in range(patience):
        found = list((await series_state(pool, series_id)).occurrences.values())
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} occurrences not scheduled: {found}")


async def test_a_weekly_series(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        now = (await env.get_current_time()).astimezone(UTC)
        today = now.astimezone(BEIJING).date()
        first_day = today + timedelta(days=2)
        series_id = f"series-{uuid.uuid4().hex[:12]}"
        plan = SeriesPlanned(at=now, series_id=series_id, community="xfl", title="周末议事厅", kind="weekend_hall",
                             weekday=first_day.weekday(), time_of_day="19:00", place="社区议事厅",
                             parties=PARTIES[:2], first=today, ahead_weeks=2, by=CLERK)
        with pytest.raises(MeetingRefusedError):
            await plan_series(env.client, pool, plan.model_copy(update={"time_of_day": "7pm"}), settings=settings)
        await plan_series(env.client, pool, plan, settings=settings)
        found = await occurrences(pool, series_id, 2)
        assert found == [occurrence_id(series_id, first_day), occurrence_id(series_id, first_day + timedelta(weeks=1))]
        first = await meeting_until(env.client.get_workflow_handle(found[0], result_type=MeetingResult),
                                    lambda m: len(m.parties) == 2, "the series' parties invited")
        assert first.series_id == series_id and first.starts_at.astimezone(BEIJING).hour == 19
        assert {p.link_subject for p in first.parties.values()} == {series_id}

        links = {c.holder: c.token for c in await series_links(pool, series_id, by="李书记", secret_key=SECRET,
                                                                 now=now)}
        assert await meetings_of_link(pool, links["p1"]) == found, "one link opens every occurrence"
        await add_item(env.client, found[0], title="充电桩选址", options=SITES, by=CLERK)
        await position_by_link(env.client, pool, links["p1"], found[0], item_id="1", option="A", text="东门方便")
        assert (await meeting_state(pool, found[0])).items["1"].positions["p1"].via == "link"

        await env.sleep(timedelta(days=7))
        assert len(await occurrences(pool, series_id, 3)) == 3, "the next Friday entered the horizon"
        result = await end_series(env.client, series_id, reason="改为每月一次", by=CLERK)
        assert result.ended
        done = await env.client.get_workflow_handle(series_id, result_type=SeriesResult).result()
        assert (done.ended, done.occurrences) == (True, 3)
        await save_history(env.client.get_workflow_handle(series_id), "meeting_series")
    types = await stream_types(store, series_id)
    assert types[0] == "SeriesPlanned" and types[-1] == "SeriesEnded"
    assert types.count("OccurrenceScheduled") == 3 and types.count("CapabilityIssued") == 2
