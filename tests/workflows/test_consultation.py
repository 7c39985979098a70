"""议事会 end to end: acceptance, positions of the parties, vote among options, milestones, feedback."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.roll import Scope
from domain.stage_events import stage_event_from_dict
from tests.workflows.conftest import (
    advance_until,
    cast,
    complete,
    estate_roll,
    running_worker,
    save_history,
    stage_is,
    wait_box_open,
    wait_for,
)
from workflows.common import TaskCompletion
from workflows.consultation import FeedbackInput
from yishi.services.procedures import StartRequest, start_procedure

OWNERS = [f"O3{f}{u}" for f in range(1, 7) for u in (1, 2)]


def request(**periods: str) -> StartRequest:
    return StartRequest(
        procedure="consultation", title="小区充电桩", scope=Scope(building="3"), initiator_role="grid_worker",
        initiated_by="网格员王", periods={"checkpoint": "P3D", "paper_entry": "PT0S", **periods},
        options={"issue": "电动车充电难", "milestones": ["选址", "安装"],
                 "options": [{"id": "A", "text": "增设充电桩"}, {"id": "B", "text": "暂缓"}]})


async def test_consultation_full_lifecycle(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(), task_queue=task_queue)
        await complete(handle, "acceptance", "committee", "accepted")
        state = await advance_until(env, handle, stage_is("positions", "position"), "positions")
        tasks = {t.subject: t.task_id for t in state.tasks.values() if t.kind == "position"}
        for party, option in (("party_member", "A"), ("residents_committee", "A"), ("owner_rep", "B")):
            await handle.execute_update("complete_task", TaskCompletion(task_id=tasks[party], role=party,
                                                                        outcome=option, note=f"{party} 意见"))
        await advance_until(env, handle, stage_is("voting"), "voting")
        await wait_box_open(store, did)
        at = await env.get_current_time()
        for i, owner in enumerate(OWNERS):
            await cast(store, did, owner, "for" if i < 8 else "against", at, question="option:A")
            await cast(store, did, owner, "for" if i < 3 else "against", at, question="option:B")
        await advance_until(env, handle, stage_is("implementation", "milestone"), "implementation")
        await wait_for(handle, lambda s: sum(t.kind == "milestone" for t in s.tasks.values()) == 2, "milestones")
        await complete(handle, "milestone", "committee", "done", note="已选址")
        await complete(handle, "milestone", "committee", "done", note="已安装")
        await wait_for(handle, stage_is("feedback"), "feedback")
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("give_feedback", FeedbackInput(owner_id="O311", score=7))
        for owner, score in (("O311", 5), ("O312", 4), ("O321", 4)):
            await handle.execute_update("give_feedback", FeedbackInput(owner_id=owner, score=score))
        result = await handle.result()
        await save_history(handle, "consultation")
    assert result.outcome == "implemented"
    events = [stage_event_from_dict(e.type, e.payload) for e in await store.read(did)
              if e.type not in ("BoxOpened", "BallotCast", "BoxSealed", "ResultRecorded")]
    positions = {e.party: e.option for e in events if e.type == "PositionRecorded"}
    assert positions == {"party_member": "A", "residents_committee": "A", "owner_rep": "B"}
    overdue = [e for e in events if e.type == "TaskOverdue"]
    assert [e.task_id.split("-")[-1] for e in overdue] == ["property_company"], "no position: recorded as such"
    assert [e.milestone for e in events if e.type == "MilestoneRecorded"] == ["选址", "安装"]
    closed = events[-1]
    assert closed.type == "ProcedureClosed" and "3 responses, mean 13/3" in closed.note


async def test_consultation_declined_needs_a_reason(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(), task_queue=task_queue)
        with pytest.raises(WorkflowUpdateFailedError):
            await complete(handle, "acceptance", "committee", "declined")
        await complete(handle, "acceptance", "committee", "declined", note="属物业合同事项，转物业处理")
        result = await handle.result()
        await save_history(handle, "consultation_declined")
    assert result.outcome == "declined"
