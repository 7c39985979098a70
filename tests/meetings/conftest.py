"""Meeting fixtures: the time-skipping server and worker of tests/workflows, a scheduled meeting, polling its state."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from domain.meeting_events import Option, PartySpec
from domain.meeting_state import Meeting
from domain.topic_events import Actor
from tests.workflows.conftest import running_worker, task_queue, ts_env  # noqa: F401 - fixtures used here
from workflows.meeting import ItemSpec, MeetingResult
from yishi.services.meeting_links import invitation_links
from yishi.services.meetings import schedule_meeting, scheduled_event
from yishi.settings import Settings

COMMUNITY = "xfl"
CLERK = Actor(kind="committee", name="李书记", account="li", community=COMMUNITY)
SECRET = "meetings-test-key"
SITES = (Option(id="A", text="东门车棚"), Option(id="B", text="3号楼北侧"), Option(id="C", text="地下车库入口"))
PARTIES = (PartySpec(party_id="p1", kind="party_member", name="党员代表王"),
           PartySpec(party_id="p2", kind="property_company", name="安居物业"),
           PartySpec(party_id="p3", kind="owner_rep", name="业主代表赵"))


@pytest.fixture
def settings(task_queue: str) -> Settings:  # noqa: F811 - the fixture of tests/workflows
    return Settings(task_queue=task_queue, secret_key=SecretStr(SECRET))


async def scheduled(env: Any, pool: Any, settings: Settings, *, in_days: float = 2,
                    items: tuple[ItemSpec, ...] = (ItemSpec(title="充电桩选址", options=SITES),),
                    parties: tuple[PartySpec, ...] = PARTIES, **extra: Any) -> tuple[str, WorkflowHandle, datetime]:
    """A meeting ``in_days`` from the test server's now; waits until its workflow has invited the parties."""
    now = (await env.get_current_time()).astimezone(UTC)
    starts = now + timedelta(days=in_days)
    event = scheduled_event(community=COMMUNITY, title="周末议事厅", kind="weekend_hall", starts_at=starts,
                            place="社区议事厅", by=CLERK, now=now, meeting_id=f"meeting-{uuid.uuid4().hex[:12]}",
                            **extra)
    meeting_id = await schedule_meeting(env.client, pool, event, settings=settings, parties=parties, items=items)
    handle = env.client.get_workflow_handle(meeting_id, result_type=MeetingResult)
    await meeting_until(handle, lambda m: len(m.parties) == len(parties) and len(m.items) == len(items),
                        "the invitations and the agenda")
    return meeting_id, handle, starts


async def links(pool: Any, store: Any, meeting_id: str, now: datetime) -> dict[str, str]:
    """Holder -> token of every invitation link of the meeting (and the door's)."""
    issued = await invitation_links(pool, store, meeting_id, by="李书记", secret_key=SECRET, now=now)
    return {link.holder: link.token for link in issued}


async def meeting_until(handle: WorkflowHandle, check: Callable[[Meeting], bool], what: str,
                        timeout: float = 20) -> Meeting:  # noqa: ASYNC109 - polls with a deadline
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    status = "not started"
    while True:
        try:
            state = await handle.query("meeting", result_type=Meeting, rpc_timeout=timedelta(seconds=4))
        except RPCError:
            state = None
        if state is not None:
            if check(state):
                return state
            status = state.status
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; status={status}")
        await asyncio.sleep(0.05)


async def advance(env: Any, handle: WorkflowHandle, check: Callable[[Meeting], bool], what: str,
                  step: timedelta = timedelta(hours=12), steps: int = 60) -> Meeting:
    """Let virtual time pass in steps until ``check`` holds (a handle got by id does not skip time by itself)."""
    for _ in range(steps):
        state = await meeting_until(handle, lambda m: True, what)
        if check(state):
            return state
        await env.sleep(step)
    raise AssertionError(f"{what} not reached; status={(await meeting_until(handle, lambda m: True, what)).status}")
