"""议事会 end to end: acceptance, the meeting convened, positions of the parties through their invitation links,
the meeting's decision, a vote among the options agreed, milestones, feedback."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.meeting_events import MeetingDecision
from domain.roll import Scope
from domain.stage_events import stage_event_from_dict
from domain.topic_events import Actor
from tests.meetings.conftest import links, meeting_until
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
from workflows.consultation import FeedbackInput
from workflows.meeting import MeetingResult
from yishi.services.meeting_links import position_by_link
from yishi.services.meetings import MeetingRefusedError, VoteRequest, cancel, decide_item, hold, record_minutes
from yishi.services.procedures import StartRequest, give_feedback, start_procedure
from yishi.settings import Settings

OWNERS = [f"O3{f}{u}" for f in range(1, 7) for u in (1, 2)]


def request(**periods: str) -> StartRequest:
    return StartRequest(
        procedure="consultation", title="小区充电桩", scope=Scope(building="3"), initiator_role="grid_worker",
        community="xfl",
        initiated_by="网格员王", periods={"checkpoint": "P3D", "paper_entry": "PT0S", **periods},
        options={"issue": "电动车充电难", "milestones": ["选址", "安装"],
                 "options": [{"id": "A", "text": "增设充电桩"}, {"id": "B", "text": "暂缓"}]})


async def test_consultation_through_the_meeting_loop(ts_env, store, pool, task_queue) -> None:
    """Accepted → a meeting convened with the issue as its item → three parties state positions through their
    invitation links (completing the procedure's position tasks), the fourth is silent → the meeting puts both options
    to the vote → the procedure's own box → milestones → feedback (one typed in from paper) → implemented."""
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(notice="PT48H"),
                                            task_queue=task_queue)
        await complete(handle, "acceptance", "committee", "accepted")
        state = await wait_for(handle, stage_is("positions", "position"), "positions")
        assert state.meeting_id is not None
        meeting = env.client.get_workflow_handle(state.meeting_id, result_type=MeetingResult)
        convened = await meeting_until(meeting, lambda m: len(m.parties) == 4 and "1" in m.items, "the invitations")
        assert convened.deliberation_id == did and convened.items["1"].option_ids() == ("A", "B")
        tokens = await links(pool, store, state.meeting_id, (await env.get_current_time()).astimezone(UTC))
        for party, option in (("party_member", "A"), ("residents_committee", "A"), ("owner_rep", "B")):
            await position_by_link(env.client, pool, tokens[party], state.meeting_id, item_id="1", option=option,
                                   text=f"{party} 意见")
        await wait_for(handle, lambda s: sum(t.kind == "position" and t.status == "done" for t in s.tasks.values())
                       == 3, "three positions recorded from the links")
        await advance_until(env, handle, stage_is("meeting"), "the meeting", step=timedelta(hours=12))
        clerk = Actor(kind="committee", name="李书记", account="li", community="xfl")
        await record_minutes(env.client, state.meeting_id, "1", "各方意见分歧，付诸业主表决", by=clerk)
        with pytest.raises(MeetingRefusedError):  # the procedure holds the vote: no roll of the meeting's own
            await decide_item(env.client, pool, state.meeting_id, "1", MeetingDecision(
                kind="vote", summary="表决", options=("A", "B")), by=clerk, roll=estate_roll(),
                vote=VoteRequest(question="q"), settings=Settings(task_queue=task_queue))
        await decide_item(env.client, pool, state.meeting_id, "1", MeetingDecision(
            kind="vote", summary="两个方案付诸业主表决", question="充电桩方案", options=("A", "B")), by=clerk)
        await hold(env.client, pool, state.meeting_id, by=clerk)
        await wait_for(handle, stage_is("voting"), "voting")
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
        for owner, score in (("O311", 5), ("O312", 4)):
            await handle.execute_update("give_feedback", FeedbackInput(owner_id=owner, score=score))
        await give_feedback(env.client, did, FeedbackInput(owner_id="O321", score=4, comment="纸质评价表",
                                                           recorded_by="网格员王（grid_worker）"))
        result = await handle.result()
        await save_history(handle, "consultation_meeting")
    assert result.outcome == "implemented"
    events = [stage_event_from_dict(e.type, e.payload) for e in await store.read(did)
              if e.type not in ("BoxOpened", "BallotCast", "BoxSealed", "ResultRecorded")]
    positions = {e.party: e.option for e in events if e.type == "PositionRecorded"}
    assert positions == {"party_member": "A", "residents_committee": "A", "owner_rep": "B"}
    done = [e for e in events if e.type == "TaskCompleted" and e.role == "owner_rep"]
    assert done[0].actor == "业主代表", "completed by the party through its link"
    overdue = [e for e in events if e.type == "TaskOverdue"]
    assert [e.task_id.split("-")[-1] for e in overdue] == ["property_company"], "no position: recorded as such"
    assert [e.type for e in events].count("MeetingConvened") == 1
    assert "NoticePublished" not in [e.type for e in events][:8], "the meeting posts the notice, not the procedure"
    assert [e.milestone for e in events if e.type == "MilestoneRecorded"] == ["选址", "安装"]
    typed = [e for e in events if e.type == "FeedbackRecorded" and e.recorded_by]
    assert [(e.owner_id, e.recorded_by) for e in typed] == [("O321", "网格员王（grid_worker）")]
    closed = events[-1]
    assert closed.type == "ProcedureClosed" and "3 responses, mean 13/3" in closed.note
    notices = [e.payload["kind"] for e in await store.read(state.meeting_id) if e.type == "NoticePublished"]
    assert notices[:3] == ["meeting", "reminder", "minutes"]


async def test_a_cancelled_meeting_is_convened_again(ts_env, store, pool, task_queue) -> None:
    """The meeting is called off (a typhoon): when its start has passed the procedure convenes a next one, whose
    parties' links complete the new position tasks."""
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(notice="PT48H"),
                                            task_queue=task_queue)
        await complete(handle, "acceptance", "committee", "accepted")
        first = (await wait_for(handle, stage_is("positions", "position"), "positions")).meeting_id
        assert first is not None
        await meeting_until(env.client.get_workflow_handle(first), lambda m: len(m.parties) == 4, "invited")
        clerk = Actor(kind="committee", name="李书记", account="li", community="xfl")
        await cancel(env.client, first, reason="台风预警", by=clerk)
        state = await advance_until(env, handle, lambda s: s.meetings == 2 and s.stage == "positions",
                                    "a second meeting", step=timedelta(hours=12))
        second = state.meeting_id
        assert second is not None and second != first
        await meeting_until(env.client.get_workflow_handle(second), lambda m: len(m.parties) == 4, "invited again")
        tokens = await links(pool, store, second, (await env.get_current_time()).astimezone(UTC))
        await position_by_link(env.client, pool, tokens["owner_rep"], second, item_id="1", option="B", text="暂缓")
        await wait_for(handle, lambda s: any(t.kind == "position" and t.subject == "owner_rep" and t.status == "done"
                                             and t.stage == "positions" and t.task_id.startswith(f"position-{s.step}")
                                             for t in s.tasks.values()), "the second meeting's position recorded")
        await handle.terminate("test done")
    convened = [e.payload["meeting_id"] for e in await store.read(did) if e.type == "MeetingConvened"]
    assert convened == [first, second]


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
