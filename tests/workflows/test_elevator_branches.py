"""加装电梯 branches: objection → mediation → escalation ticket; validators; a worker stopped mid-run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from domain.legal_calendar import BEIJING, deadline_working_days
from domain.roll import Scope
from tests.clock import advance_to, holidays_in_use
from tests.workflows.conftest import (
    advance_until,
    cast,
    complete,
    estate_roll,
    running_worker,
    save_history,
    stage_is,
    stream_types,
    wait_box_open,
    wait_for,
)
from workflows.common import ObjectionInput, ObjectionReceipt, TaskCompletion
from workflows.elevator import ShareConfirmation
from workflows.escalation import TicketAction
from yishi.i18n import both
from yishi.i18n.errors import refusal
from yishi.services.escalations import act
from yishi.services.procedures import RefusedError, StartRequest, complete_task, start_procedure
from yishi.temporal_client import DATA_CONVERTER

OWNERS = [f"O3{f}{u}" for f in range(1, 7) for u in (1, 2)]
FAST = {"feasibility": "PT1H", "voting": "PT2H", "remind_before": "PT30M", "checkpoint": "PT30M",
        "share_confirmation": "PT1H", "permit": "PT1H", "construction": "PT1H", "acceptance": "PT1H",
        "paper_entry": "PT0S"}  # the box seals at the close, whatever the time of day


def request(**extra: object) -> StartRequest:
    return StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                        periods=FAST, **extra)  # type: ignore[arg-type]


async def refused(call) -> str:  # noqa: ANN001
    """The refusal in Chinese and English (the workflow sends its text in the failure's details)."""
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await call
    return both(refusal(caught.value.cause))


async def all_for(env, store: EventStore, box: str) -> None:
    await wait_box_open(store, box)
    at = await env.get_current_time()
    for owner in OWNERS:
        await cast(store, box, owner, "for", at)


@pytest.mark.weekdays
async def test_objection_mediation_escalation(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(), task_queue=task_queue)
        await complete(handle, "feasibility", "committee", "feasible")
        await all_for(env, store, did)
        await advance_until(env, handle, stage_is("cost_sharing"), "cost sharing", step=timedelta(minutes=30))
        message = await refused(handle.execute_update("file_objection", ObjectionInput(owner_id="O361", text="x")))
        assert "不受理异议" in message and "objections are taken during 'Plan posted (objections open)'" in message
        message = await refused(handle.execute_update("confirm_share", ShareConfirmation(owner_id="X999")))
        assert "X999" in message and "has no share" in message
        await advance_until(env, handle, stage_is("publicity"), "公示", step=timedelta(minutes=30))
        message = await refused(handle.execute_update("file_objection", ObjectionInput(owner_id="X999", text="x")))
        assert "not in this matter's scope" in message
        first = await handle.execute_update("file_objection", ObjectionInput(owner_id="O361", text="遮挡采光"),
                                            result_type=ObjectionReceipt)
        second = await handle.execute_update("file_objection", ObjectionInput(owner_id="O351", text="噪音"),
                                             result_type=ObjectionReceipt)
        today = (await env.get_current_time()).astimezone(BEIJING).date()
        assert second.due_at == deadline_working_days(today, 10, holidays_in_use()).ends_at, "mediation"
        message = await refused(handle.execute_update("complete_task", TaskCompletion(
            task_id=first.mediation_task, role="owner", outcome="resolved")))
        assert "角色“业主”无权办理" in message and "role 'owner' may not complete" in message
        await handle.execute_update("complete_task", TaskCompletion(task_id=first.mediation_task, role="committee",
                                                                    outcome="resolved", note="调整窗位"))
        # Just past the mediation deadline, not a step beyond: the ticket it opens has deadlines of its own.
        await advance_to(env, second.due_at)
        state = await wait_for(handle, lambda s: any(t.kind == "escalation" for t in s.tasks.values()),
                               "escalation ticket")
        assert state.tasks[second.mediation_task].status == "expired"
        task = next(t for t in state.tasks.values() if t.kind == "escalation")
        ticket_id = f"{did}/esc-{second.objection_id}"
        assert task.roles == () and ticket_id in task.title_zh, "only the ticket's workflow completes it"
        message = await refused(handle.execute_update("complete_task", TaskCompletion(
            task_id=task.task_id, role="street_office", outcome="upheld")))
        assert "无权办理" in message
        street = TicketAction(role="street_office", actor="街道城建科", org="street")
        await wait_ticket(env, ticket_id)
        await act(env.client, ticket_id, "acknowledge", street)
        await act(env.client, ticket_id, "resolve", street.model_copy(update={"outcome": "upheld",
                                                                              "text": "方案须调整"}))
        await act(env.client, ticket_id, "follow_up", TicketAction(role="committee", actor="业委会",
                                                                   org="committee:default",
                                                                   outcome="basically_satisfied"))
        result = await handle.result()
        await save_history(handle, "elevator_escalation")
        await save_history(env.client.get_workflow_handle(ticket_id), "escalation")
    assert result.outcome == "objection_upheld"
    types = await stream_types(store, did)
    for expected in ("SharesUnconfirmed", "ObjectionFiled", "MediationRecorded", "TaskOverdue",
                     "EscalationStarted", "EscalationResolved", "ProcedureClosed"):
        assert expected in types, expected
    assert types.count("ObjectionFiled") == 2 and "EscalationPlaceholderOpened" not in types
    ticket_types = await stream_types(store, ticket_id)
    assert ticket_types[0] == "EscalationOpened" and ticket_types.count("Closed") == 1
    opened = (await store.read(ticket_id))[0].payload
    assert opened["parent_id"] == did and opened["evidence"][0]["stream_id"] == did


async def wait_ticket(env, ticket_id: str) -> None:  # noqa: ANN001
    from tests.escalation.conftest import ticket_until

    await ticket_until(env.client.get_workflow_handle(ticket_id), lambda t: t.current is not None, "the ticket")


async def test_validators_reject_wrong_role_stage_task_and_outcome(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(), task_queue=task_queue)
        state = await wait_for(handle, stage_is("feasibility", "feasibility"), "feasibility task")
        task_id = next(iter(state.tasks))
        cases = [
            (TaskCompletion(task_id=task_id, role="owner", outcome="feasible"), "无权办理", "may not complete"),
            (TaskCompletion(task_id="permit-9", role="committee", outcome="granted"), "没有待办任务", "no open task"),
            (TaskCompletion(task_id=task_id, role="committee", outcome="maybe"), "无效", "is not one of"),
            (TaskCompletion(task_id=task_id, role="committee", outcome="not_feasible"), "理由", "reason"),
        ]
        for completion, zh, en in cases:
            with pytest.raises(RefusedError) as caught:
                await complete_task(env.client, did, completion)
            said = both(caught.value)
            assert zh in said and en in said, said
        message = await refused(handle.execute_update("confirm_share", ShareConfirmation(owner_id="O361")))
        assert "Confirming cost shares" in message and "可行性审查" in message  # the stages by their labels
        assert "TaskCompleted" not in await stream_types(store, did), "a refused update writes nothing"
        await handle.terminate("test done")


async def test_worker_stopped_mid_run_resumes_and_continues_as_new(temporal_server, store, pool, task_queue) -> None:
    """On the real dev server (the time-skipping server cannot hand a dead worker's tasks on reliably), with
    periods of seconds: the procedure outlives its worker, ballots arrive while no worker runs, and the next worker
    carries it to the end across continue-as-new runs. SIGKILL of a worker process is in the fault suite."""
    client = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    env = WorkflowEnvironment.from_client(client)
    periods = {**FAST, "voting": "PT8S", "remind_before": "PT2S", "checkpoint": "PT2S", "share_confirmation": "PT30S",
               "publicity": "PT3S"}
    start = StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                         periods=periods)
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(client, pool, estate_roll(), start, task_queue=task_queue,
                                            stages_per_run=1)
        await complete(handle, "feasibility", "street_office", "feasible")
        await wait_for(handle, stage_is("voting"), "voting")
        await wait_box_open(store, did)
    # No worker now: ballots still arrive through the web tier, straight into the stream.
    await all_for(env, store, did)
    async with running_worker(env, store, pool, task_queue):
        await wait_for(handle, lambda s: s.stage == "cost_sharing" and "plan" in s.extra, "the plan", timeout=60)
        for owner in OWNERS:
            await handle.execute_update("confirm_share", ShareConfirmation(owner_id=owner))
        await complete(handle, "permit", "committee", "granted", document_no="D-1", within=60)
        await complete(handle, "construction", "committee", "completed")
        await complete(handle, "acceptance", "committee", "passed")
        result = await handle.result()
        latest = await client.get_workflow_handle(did).describe()
    assert result.outcome == "completed"
    assert latest.run_id != handle.first_execution_run_id, "the procedure continued as new between stages"
    types = await stream_types(store, did)
    assert types.count("ProcedureStarted") == 1 and types.count("TaskOpened") == types.count("TaskCompleted")
