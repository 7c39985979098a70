"""A ticket cancelled before its first append (the ladder still being read, or its workflow not yet run by any
worker) ends CANCELED and its stream says so: ``EscalationOpened`` then ``Cancelled``, no assignment, no notice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.worker import Worker

from activities.escalation import EscalationActivities, EscalationCancel, _new
from activities.registry import build_activities
from domain import escalation as esc
from domain.escalation import Cancelled, EscalationOpened, default_ladder
from tests.escalation.dues import first_dues
from tests.workflows.conftest import running_worker, save_history, stream_types
from workflows.escalation import FIRST_KEY
from workflows.registry import WORKFLOWS
from yishi.services.escalations import TicketRequest, open_ticket
from yishi.settings import Settings

COMPLAINT = TicketRequest(community="xfl", category="urban_management", subject="楼道堆物", initiator="O311",
                          initiator_kind="owner")


async def history_has(handle: WorkflowHandle, check: Callable[[list], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not check([e async for e in handle.fetch_history_events()]):
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def scheduled(events: list) -> list[str]:
    return [e.activity_task_scheduled_event_attributes.activity_type.name for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]


async def ends_cancelled_and_says_so(handle: WorkflowHandle, store, pool, tid: str) -> None:  # noqa: ANN001
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert await stream_types(store, tid) == ["EscalationOpened", "Cancelled"], "the stream records the cancel"
    cancelled = (await store.read(tid))[-1]
    assert cancelled.payload["reason"] == "cancelled"
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, org, subject FROM escalations WHERE ticket_id = $1", tid)
    assert dict(row) == {"status": "cancelled", "org": None, "subject": "楼道堆物"}


async def test_cancelled_while_reading_the_ladder(ts_env, store, pool, task_queue) -> None:
    """No activity worker yet: the ticket waits on the ladder when the cancel comes."""
    env = ts_env
    async with Worker(env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=[]):
        tid, handle = await open_ticket(env.client, COMPLAINT, task_queue=task_queue)
        # The ladder is read by the routing activity since the grid-routing patch (escalation_ladder before it).
        await history_has(handle, lambda ev: "route_escalation" in scheduled(ev), "the routing activity")
        await handle.cancel()
        await history_has(handle, lambda ev: any(
            e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED for e in ev) and ev[-1].event_type
            in (EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED),
            "the cancel handled")
        activities = build_activities(store, pool, Settings(task_queue=task_queue))
        async with Worker(env.client, task_queue=task_queue, activities=activities):
            try:
                await ends_cancelled_and_says_so(handle, store, pool, tid)
            finally:
                await save_history(handle, "escalation_cancelled_early")


async def test_cancelled_before_any_worker_ran_it(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    tid, handle = await open_ticket(env.client, COMPLAINT, task_queue=task_queue)
    await handle.cancel()
    async with running_worker(env, store, pool, task_queue):
        await ends_cancelled_and_says_so(handle, store, pool, tid)


@pytest.mark.parametrize("opening_first", [False, True], ids=["nothing-appended", "opening-landed-first"])
async def test_the_cancel_activity_records_once(store, pool, opening_first: bool) -> None:  # type: ignore[no-untyped-def]
    """Run twice, and whether or not the opening append (cancelled in flight) landed first: one opening, one
    ``Cancelled``, in that order."""
    tid, at = f"esc-{uuid.uuid4().hex[:10]}", datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
    opened = EscalationOpened(at=at, ticket_id=tid, parent_id=None, community="xfl", category="urban_management",
                              subject="楼道堆物", detail="", initiator="O311", initiator_kind="owner",
                              levels=default_ladder("xfl").for_category("urban_management"), outcomes=("resolved",))
    if opening_first:
        await store.append(tid, _new(esc.open_ticket(opened, None, first_dues(opened))), idempotency_key=FIRST_KEY)
    params = EscalationCancel(ticket_id=tid, first_key=FIRST_KEY, opened=opened,
                              cancelled=Cancelled(at=at, reason="cancelled"))
    activities = EscalationActivities(store, pool)
    first = await activities.record_escalation_cancelled(params)
    again = await activities.record_escalation_cancelled(params)
    assert first == again
    expected = ["EscalationOpened", "LevelAssigned", "Cancelled"] if opening_first else ["EscalationOpened",
                                                                                         "Cancelled"]
    assert await stream_types(store, tid) == expected
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM escalations WHERE ticket_id = $1", tid) == "cancelled"
