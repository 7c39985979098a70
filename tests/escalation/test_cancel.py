"""Cancelling the deliberation cancels its escalation ticket (ParentClosePolicy REQUEST_CANCEL), and the
ticket records ``Cancelled`` in its stream."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

from domain.roll import Scope
from tests.escalation.conftest import ticket_until
from tests.workflows.conftest import (
    advance_until,
    cast,
    complete,
    estate_roll,
    running_worker,
    stage_is,
    stream_types,
    wait_box_open,
)
from workflows.common import ObjectionInput, ObjectionReceipt, TaskCompletion
from yishi.services.procedures import StartRequest, start_procedure

FAST = {"feasibility": "PT1H", "voting": "PT2H", "remind_before": "PT30M", "checkpoint": "PT30M",
        "share_confirmation": "PT1H", "paper_entry": "PT0S"}


async def idle(handle) -> None:  # noqa: ANN001
    """Until the ticket only waits on its deadline timer. The time-skipping test server can crash when a
    cancellation races an activity's completion (ACTIVITY_UNKNOWN); the real server retries that task."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        raw = (await handle.describe()).raw_description
        busy = bool(raw.pending_activities) or raw.HasField("pending_workflow_task")
        timer = False
        async for event in handle.fetch_history_events():
            timer = timer or event.event_type == EventType.EVENT_TYPE_TIMER_STARTED
        if timer and not busy:
            return
        assert loop.time() < deadline, "the ticket did not settle"
        await asyncio.sleep(0.05)


async def test_cancelling_the_deliberation_cancels_the_escalation(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    req = StartRequest(procedure="elevator", title="5栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                       periods=FAST)
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), req, task_queue=task_queue)
        await complete(handle, "feasibility", "committee", "feasible")
        await wait_box_open(store, did)
        at = await env.get_current_time()
        for f in range(1, 7):
            for u in (1, 2):
                await cast(store, did, f"O3{f}{u}", "for", at)
        await advance_until(env, handle, stage_is("publicity"), "公示", step=timedelta(minutes=30))
        objection = await handle.execute_update("file_objection", ObjectionInput(owner_id="O351", text="挡光"),
                                                result_type=ObjectionReceipt)
        await handle.execute_update("complete_task", TaskCompletion(task_id=objection.mediation_task,
                                                                    role="committee", outcome="unresolved"))
        ticket_id = f"{did}/esc-{objection.objection_id}"
        child = env.client.get_workflow_handle(ticket_id)
        await ticket_until(child, lambda t: t.owner == "street", "the ticket at the street office")
        await idle(child)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while "Cancelled" not in await stream_types(store, ticket_id):
            assert loop.time() < deadline, "the ticket did not record its cancellation"
            await asyncio.sleep(0.05)
        while (await child.describe()).status != WorkflowExecutionStatus.CANCELED:
            assert loop.time() < deadline, "the ticket's workflow was not cancelled"
            await asyncio.sleep(0.05)
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, org FROM escalations WHERE ticket_id = $1", ticket_id)
    assert (row["status"], row["org"]) == ("cancelled", None)
    cancelled = next(e for e in await store.read(ticket_id) if e.type == "Cancelled")
    assert cancelled.payload["reason"] == "cancelled with its deliberation"
