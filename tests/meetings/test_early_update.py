"""A clerk's step sent right after ``yishi meeting schedule`` (before the workflow has recorded the schedule, the
invitations and the first agenda items): it waits for them and is then decided as usual — a new party invited, an
item added after the scheduled ones, a clashing party id refused with the domain's reason — instead of being refused
with "no such meeting". The worker starts only after the steps are sent, so they reach the workflow's very first
task (the race made certain). The history is kept for the replay test (tests/meetings/test_replay.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, timedelta

import pytest

from domain.meeting_events import PartySpec
from tests.meetings.conftest import CLERK, COMMUNITY, PARTIES, meeting_until
from tests.texts import zh
from tests.workflows.conftest import running_worker, save_history, stream_types
from workflows.meeting import ItemSpec, MeetingResult
from yishi.services.meetings import MeetingRefusedError, add_item, invite, schedule_meeting, scheduled_event


async def test_steps_sent_before_the_schedule_is_recorded_wait_for_it(
        ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    now = (await env.get_current_time()).astimezone(UTC)
    event = scheduled_event(community=COMMUNITY, title="周末议事厅", kind="weekend_hall",
                            starts_at=now + timedelta(days=2), place="社区议事厅", by=CLERK, now=now,
                            meeting_id=f"meeting-{uuid.uuid4().hex[:12]}")
    meeting_id = await schedule_meeting(env.client, pool, event, settings=settings, parties=PARTIES,
                                        items=(ItemSpec(title="充电桩选址"),))
    inviting = asyncio.ensure_future(invite(env.client, meeting_id, PartySpec(
        party_id="p4", kind="residents_committee", name="居委会陈主任"), by=CLERK))
    adding = asyncio.ensure_future(add_item(env.client, meeting_id, title="南门积水", by=CLERK))
    clashing = asyncio.ensure_future(invite(env.client, meeting_id, PartySpec(
        party_id="p1", kind="owner_rep", name="业主代表钱"), by=CLERK))
    await asyncio.sleep(0.5)
    assert not any(t.done() for t in (inviting, adding, clashing)), "no worker yet: nothing can have been decided"
    async with running_worker(env, store, pool, task_queue):
        assert (await asyncio.wait_for(inviting, 30)).status == "scheduled"
        added = await asyncio.wait_for(adding, 30)
        assert added.item_id == "2", "after the item the schedule put on the agenda"
        with pytest.raises(MeetingRefusedError) as refused:
            await asyncio.wait_for(clashing, 30)
        text = zh(refused.value)
        assert "党员代表王" in text and "没有这个议事会" not in text, text
        handle = env.client.get_workflow_handle(meeting_id, result_type=MeetingResult)
        state = await meeting_until(handle, lambda m: len(m.parties) == 4 and len(m.items) == 2, "four parties")
        assert state.parties["p1"].name == "党员代表王" and state.items["2"].title == "南门积水"
        types = await stream_types(store, meeting_id)
        assert types[0] == "MeetingScheduled" and types.count("PartyInvited") == 4
        await handle.terminate("test done")
        await save_history(handle, "meeting_update_before_schedule")
