"""加装电梯 end to end on the time-skipping server with the real activities and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

from activities.eventstore import EventStore
from activities.history_store import HistoryStore
from domain.chain import verify_chain
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
    stream_types,
    wait_box_open,
    wait_for,
)
from workflows.elevator import ShareConfirmation
from yishi.services.procedures import StartRequest, procedure_status, start_procedure
from yishi.settings import Settings

OWNERS = [f"O3{f}{u}" for f in range(1, 7) for u in (1, 2)]


def request(**periods: str) -> StartRequest:
    return StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                        periods={"checkpoint": "P5D", "paper_entry": "PT0S", **periods}, initiator_role="owner",
                        initiated_by="O361",
                        options={"cost_total": Decimal("600000.00")})


async def vote(env, store: EventStore, box: str, votes: dict[str, str]) -> None:
    await wait_box_open(store, box)
    at = await env.get_current_time()
    for owner, choice in votes.items():
        await cast(store, box, owner, choice, at)


async def test_elevator_approved_full_lifecycle(ts_env, store: EventStore, pool, task_queue: str) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(), task_queue=task_queue)
        await complete(handle, "feasibility", "street_office", "feasible", note="结构安全")
        await wait_for(handle, stage_is("voting"), "voting")
        await vote(env, store, did, {o: "for" for o in OWNERS[1:10]} | {OWNERS[10]: "against", OWNERS[11]: "abstain"})
        live = await procedure_status(store, did)
        assert live["stage"] == "voting" and live["tally"]["participating"]["owners"] == 11
        await advance_until(env, handle, stage_is("cost_sharing"), "cost sharing")
        state = await wait_for(handle, lambda s: "plan" in s.extra, "the cost plan")
        for owner in OWNERS:
            await handle.execute_update("confirm_share", ShareConfirmation(owner_id=owner))
        await wait_for(handle, stage_is("publicity"), "公示")
        await advance_until(env, handle, stage_is("permit", "permit"), "permit task")
        await complete(handle, "permit", "committee", "granted", document_no="建许字〔2026〕88号")
        await complete(handle, "construction", "committee", "completed")
        await complete(handle, "acceptance", "street_office", "passed")
        result = await handle.result()
        await save_history(handle, "elevator")
        await save_history(env.client.get_workflow_handle(f"{did}/box-1"), "ballot_box")
    assert result.outcome == "completed"
    events = await store.read(did)
    verify_chain([e.envelope() | {"hash": e.hash} for e in events], did)
    decoded = {e.seq: stage_event_from_dict(e.type, e.payload) for e in events
               if e.type not in ("BoxOpened", "BallotCast", "BoxSealed", "ResultRecorded")}
    knock = [e for e in decoded.values() if e.type == "DoorKnockListIssued"]
    assert knock and knock[0].owners == (OWNERS[0],) and knock[0].rooms == ("3-2-101",)
    reminders = [e for e in decoded.values() if e.type == "NoticePublished" and e.kind == "reminder"]
    assert reminders and reminders[0].recipients is None and reminders[0].recipients_list == knock[0].list_id, \
        "a reminder names its door-knock list (patch reminder-by-list), whatever the size of the roll"
    counted = next(e for e in decoded.values() if e.type == "VoteCounted")
    sealed = next(e for e in events if e.type == "ResultRecorded")
    assert (counted.head_seq, counted.head_hash) == (sealed.seq, sealed.hash)
    notice = next(e for e in decoded.values() if e.type == "NoticePublished" and e.kind == "result")
    assert (notice.head_seq, notice.head_hash) == (sealed.seq, sealed.hash), "the result notice carries the head"
    [kept] = notice.histories  # and the hash of the box's history, kept when the box closed (activities/keeper.py)
    assert kept.workflow_id == f"{did}/box-1" and f"sha256={kept.sha256}" in notice.body_en
    [copy] = HistoryStore(Settings().histories_path).files(kept.workflow_id, kept.run_id)
    assert copy.sha256 == kept.sha256 == hashlib.sha256(copy.read()).hexdigest()
    plan = next(e for e in decoded.values() if e.type == "CostPlanProposed")
    assert sum(s.amount for s in plan.shares) == Decimal("600000.00")
    assert [s.amount for s in plan.shares if s.owner_id in ("O311", "O312")] == [0, 0], "ground floor pays 0"
    assert sum(e.type == "ShareConfirmed" for e in decoded.values()) == 12
    permit = next(e for e in decoded.values() if e.type == "PermitDecided")
    assert permit.granted and permit.document_no == "建许字〔2026〕88号"
    queued = {(e.notice_id, e.channel) for e in decoded.values() if e.type == "NoticeQueued"}
    assert ("result-" + notice.notice_id.split("-")[1], "print") in queued, "the result is to be posted"
    assert events[-1].type == "ProcedureClosed"
    assert state.stage == "cost_sharing"


async def test_elevator_rejected_then_new_attempt_links_previous(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    periods = {"feasibility": "PT1H", "voting": "PT2H", "remind_before": "PT30M", "checkpoint": "PT30M"}
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(**periods), task_queue=task_queue)
        await complete(handle, "feasibility", "committee", "feasible")
        await vote(env, store, did, {o: "against" for o in OWNERS[:9]} | {o: "for" for o in OWNERS[9:]})
        result = await handle.result()
        assert result.outcome == "rejected" and result.head is not None
        types = await stream_types(store, did)
        assert "CostPlanProposed" not in types and types[-1] == "ProcedureClosed"
        again, other = await start_procedure(env.client, pool, estate_roll(),
                                      request(**periods).model_copy(update={"previous_id": did}), task_queue=task_queue)
        await wait_for(other, stage_is("feasibility", "feasibility"), "the second attempt's first task")
        second = await procedure_status(store, again)
        assert second["previous_id"] == did and second["procedure"] == "elevator"
        assert [t["kind"] for t in second["open_tasks"]] == ["feasibility"] and second["tally"] is None
        await other.terminate("test done")


async def test_feasibility_refused_closes(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(), task_queue=task_queue)
        await complete(handle, "feasibility", "street_office", "not_feasible", note="消防通道不足")
        result = await handle.result()
        await save_history(handle, "elevator_not_feasible")
    assert result.outcome == "not_feasible"
    assert timedelta(0) == timedelta(0)
