"""Reminders at any size (issue 18, patch ``reminder-by-list``): the workflow passes the door-knock list's id, never
its owners (a million non-voters would exceed a workflow history's payload limits); the notice's deliveries find
the owners in the stream. Histories recorded before the patch replay (tests/histories/elevator.json), and one
recorded after it (elevator_reminder_by_list.json)."""

from __future__ import annotations

from decimal import Decimal

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from activities.eventstore import EventStore
from domain.roll import Scope
from tests.workflows.conftest import (
    HISTORIES,
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
from tests.workflows.test_replay import payloads
from workflows.registry import WORKFLOWS
from yishi.services.channels import to_post
from yishi.services.procedures import StartRequest, start_procedure
from yishi.temporal_client import DATA_CONVERTER

OWNERS = [f"O3{f}{u}" for f in range(1, 7) for u in (1, 2)]


async def test_a_reminder_names_its_list_and_reaches_the_silent_owners(ts_env, store: EventStore, pool,
                                                                        task_queue: str) -> None:
    req = StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                       periods={"voting": "PT2H", "remind_before": "PT30M", "checkpoint": "PT30M",
                                "paper_entry": "PT0S"}, initiator_role="owner", initiated_by="O361",
                       options={"cost_total": Decimal("600000.00")})
    async with running_worker(ts_env, store, pool, task_queue):
        did, handle = await start_procedure(ts_env.client, pool, estate_roll(), req, task_queue=task_queue)
        await complete(handle, "feasibility", "street_office", "feasible")
        await wait_for(handle, stage_is("voting"), "voting")
        await wait_box_open(store, did)
        at = await ts_env.get_current_time()
        for owner in OWNERS[2:]:
            await cast(store, did, owner, "for", at)
        await advance_until(ts_env, handle, stage_is("cost_sharing"), "the vote counted")
        await handle.terminate("test done")
        await save_history(handle, "elevator_reminder_by_list")
    events = await store.read(did)
    reminders = [e.payload for e in events if e.type == "NoticePublished" and e.payload["kind"] == "reminder"]
    lists = {e.payload["list_id"]: e.payload["owners"] for e in events if e.type == "DoorKnockListIssued"}
    assert reminders and all("recipients" not in r or r["recipients"] is None for r in reminders)
    assert [lists[r["recipients_list"]] for r in reminders] == [OWNERS[:2]] * len(reminders)
    printed = [r for r in await to_post(pool, did) if r.notice_kind == "reminder"]
    assert [(r.group, r.recipients) for r in printed] == [("3-2", 2)] * len(reminders), \
        "the reminder's deliveries found the two silent owners in the stream"


async def test_histories_before_and_after_the_patch_replay() -> None:
    old = (HISTORIES / "elevator.json").read_text(encoding="utf-8")
    new = (HISTORIES / "elevator_reminder_by_list.json").read_text(encoding="utf-8")
    assert "reminder-by-list" not in payloads(old) and "record_door_knock_list" not in old
    assert "reminder-by-list" in payloads(new) and "record_door_knock_list" in new
    assert "issue_door_knock_list" not in new, "the owners no longer travel through the workflow"
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for name, text in (("old", old), ("new", new)):
        result = await replayer.replay_workflow(WorkflowHistory.from_json(name, text), raise_on_replay_failure=False)
        assert result.replay_failure is None, (name, result.replay_failure)
