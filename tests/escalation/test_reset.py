"""A reset of a deliberation's workflow to a point before it started its escalation ticket (``yishi check
faults`` resets to a point after): the ticket's id is never reused, so the start is refused and the deliberation
follows the existing ticket — ended or still running — instead of running it a second time. One ticket run per
subject, no fact recorded twice in either stream. On the real dev server (the time-skipping one cannot reset)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.worker import Replayer, Worker

from activities.registry import build_activities
from domain.roll import Scope
from tests.escalation.conftest import ticket_until
from tests.escalation.drill import EscalationDrill
from workflows.common import ProcedureInput, ProcedureResult
from workflows.escalation import TicketAction
from workflows.registry import WORKFLOWS
from yishi.services.escalations import act
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

RESOLVE = TicketAction(role="street_office", actor="街道城管科", org="street", outcome="resolved", text="已清理楼道")
SATISFIED = TicketAction(role="committee", actor="业委会", org="committee:xfl", outcome="satisfied")


@pytest.fixture
async def drill(temporal_server, store, pool) -> AsyncIterator[tuple[Client, str]]:  # type: ignore[no-untyped-def]
    client = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    queue = f"drill-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[*WORKFLOWS, EscalationDrill],
                      activities=build_activities(store, pool, Settings(task_queue=queue))):
        yield client, queue


async def start(client: Client, queue: str) -> tuple[WorkflowHandle, WorkflowHandle]:
    did = f"drill-{uuid.uuid4().hex[:10]}"
    params = ProcedureInput(deliberation_id=did, procedure="drill", title="楼道堆物", scope=Scope(),
                            rule_id="cc278-ordinary", roll_digest="-", periods={}, initiator_role="committee",
                            initiated_by="committee", community="xfl")
    handle = await client.start_workflow("EscalationDrill", params, id=did, task_queue=queue,
                                         result_type=ProcedureResult)
    ticket = client.get_workflow_handle(f"{did}/esc-drill")
    await ticket_until(ticket, lambda t: t.owner == "street", "the ticket at the street office")
    return handle, ticket


async def reset_to_first_task(client: Client, handle: WorkflowHandle) -> WorkflowHandle:
    """Reset to the end of the first workflow task: everything after, the ticket's start included, runs again."""
    first = next(e.event_id for e in (await handle.fetch_history()).events
                 if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    reply = await client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=handle.id),
        reason="test: reset to before the escalation ticket started", workflow_task_finish_event_id=first,
        request_id=str(uuid.uuid4())))
    return client.get_workflow_handle(handle.id, run_id=reply.run_id, result_type=ProcedureResult)


async def finishes_without_a_second_ticket(rerun: WorkflowHandle, ticket: WorkflowHandle,
                                           ticket_run: str) -> ProcedureResult:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    result = asyncio.ensure_future(rerun.result())
    try:
        while not result.done():
            assert (await ticket.describe()).run_id == ticket_run, "the ticket ran a second time after the reset"
            assert loop.time() < deadline, "the reset deliberation did not finish"
            await asyncio.wait([result], timeout=0.2)
        return result.result()
    finally:
        result.cancel()


async def adopted(rerun: WorkflowHandle) -> bool:
    events = [e async for e in rerun.fetch_history_events()]
    refused = any(e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED for e in events)
    return refused and any(e.activity_task_scheduled_event_attributes.activity_type.name == "escalation_outcome"
                           for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)


async def replays(handle: WorkflowHandle) -> None:
    replayer = Replayer(workflows=[*WORKFLOWS, EscalationDrill], data_converter=DATA_CONVERTER)
    await replayer.replay_workflow(await handle.fetch_history())


async def test_reset_after_the_ticket_ended_follows_it(drill, store) -> None:  # type: ignore[no-untyped-def]
    client, queue = drill
    handle, ticket = await start(client, queue)
    await act(client, ticket.id, "resolve", RESOLVE)
    await act(client, ticket.id, "follow_up", SATISFIED)
    assert (await handle.result()).outcome == "resolved"
    ticket_run = (await ticket.describe()).run_id
    before = {s: [e.hash for e in await store.read(s)] for s in (handle.id, ticket.id)}

    rerun = await reset_to_first_task(client, handle)
    result = await finishes_without_a_second_ticket(rerun, ticket, ticket_run)
    assert result.outcome == "resolved", "the ended ticket's outcome, read from its stream"
    assert {s: [e.hash for e in await store.read(s)] for s in before} == before, "both streams unchanged"
    assert await adopted(rerun)
    await replays(rerun)


async def test_reset_while_the_ticket_runs_follows_it(drill, store) -> None:  # type: ignore[no-untyped-def]
    client, queue = drill
    handle, ticket = await start(client, queue)
    ticket_run = (await ticket.describe()).run_id
    rerun = await reset_to_first_task(client, handle)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not await adopted(rerun):
        assert (await ticket.describe()).run_id == ticket_run, "the ticket ran a second time after the reset"
        status = (await rerun.describe()).status
        assert status == WorkflowExecutionStatus.RUNNING, f"the reset deliberation ended {status.name}"
        assert loop.time() < deadline, "the reset deliberation did not find the running ticket"
        await asyncio.sleep(0.1)
    # The organisations act on the one ticket; the reset deliberation sees its end.
    await act(client, ticket.id, "resolve", RESOLVE)
    await act(client, ticket.id, "follow_up", SATISFIED)
    result = await finishes_without_a_second_ticket(rerun, ticket, ticket_run)
    assert result.outcome == "resolved"
    kinds = Counter(e.type for e in await store.read(handle.id))
    assert (kinds["EscalationStarted"], kinds["EscalationResolved"], kinds["ProcedureClosed"]) == (1, 1, 1)
    ticket_kinds = Counter(e.type for e in await store.read(ticket.id))
    assert (ticket_kinds["EscalationOpened"], ticket_kinds["LevelAssigned"], ticket_kinds["Closed"]) == (1, 1, 1)
    notices = Counter(e.payload["notice_id"] for e in await store.read(ticket.id) if e.type == "NoticePublished")
    assert notices and max(notices.values()) == 1, notices
    await replays(rerun)


async def test_cancelling_the_reset_deliberation_cancels_the_ticket_it_follows(drill, store) -> None:  # type: ignore[no-untyped-def]
    """The followed ticket is not the new run's child (no close policy covers it): it is cancelled by id."""
    client, queue = drill
    handle, ticket = await start(client, queue)
    rerun = await reset_to_first_task(client, handle)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not await adopted(rerun):
        assert loop.time() < deadline, "the reset deliberation did not find the running ticket"
        await asyncio.sleep(0.1)
    await rerun.cancel()
    await ticket_until(ticket, lambda t: t.status == "cancelled", "the followed ticket cancelled")
    while (await ticket.describe()).status != WorkflowExecutionStatus.CANCELED:
        assert loop.time() < deadline, "the ticket's workflow did not end cancelled"
        await asyncio.sleep(0.1)
    assert Counter(e.type for e in await store.read(ticket.id))["Cancelled"] == 1
