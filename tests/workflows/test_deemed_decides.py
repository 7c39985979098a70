"""The tally the rules name decides a procedure, and paper ballots come in between the close and the seal
(patches ``deemed-tally-decides``, ``vote-paper-entry-window``, ``box-seal-after-paper-entry``).

An elevator vote with silent-owner deeming on: the ballots cast (five online, one paper ballot entered after the
close) miss the quorum, the deemed tally approves, and the procedure runs its approved branch to the end. Its
histories are kept for the replay test (``YISHI_REGEN_HISTORIES=1``: ``elevator_deemed``,
``ballot_box_paper_entry``); the histories recorded before the patches carry none of their markers and replay.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from activities.eventstore import EventStore
from domain.roll import Scope
from domain.stage_events import stage_event_from_dict
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
from tests.workflows.test_ballot_box_seal import patches
from workflows.elevator import ShareConfirmation
from workflows.registry import WORKFLOWS
from yishi.cli.deliberation import _render
from yishi.services.console import enter_paper_ballot
from yishi.services.matters import load_matter
from yishi.services.procedures import StartRequest, procedure_status, start_procedure
from yishi.services.voting import VotingClosedError, cast_ballot
from yishi.temporal_client import DATA_CONVERTER

OWNERS = [f"O3{f}{u}" for f in range(1, 7) for u in (1, 2)]
PERIODS = {"feasibility": "PT1H", "voting": "PT2H", "remind_before": "PT30M", "checkpoint": "PT30M",
           "paper_entry": "PT3H", "share_confirmation": "PT1H", "publicity": "PT1H", "permit": "PT1H",
           "construction": "PT1H", "acceptance": "PT1H"}
NEW_PATCHES = {"deemed-tally-decides", "vote-paper-entry-window", "box-seal-after-paper-entry"}


def request() -> StartRequest:
    return StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                        periods=PERIODS, options={"cost_total": Decimal("600000.00"), "deem_silent": True})


async def the_round(store: EventStore, did: str) -> tuple[datetime, datetime]:
    rounds = (await procedure_status(store, did))["rounds"]
    return (datetime.fromisoformat(rounds[-1]["closes_at"]), datetime.fromisoformat(rounds[-1]["paper_entry_until"]))


async def test_passes_only_by_deeming_through_the_whole_workflow(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(), task_queue=task_queue)
        await complete(handle, "feasibility", "committee", "feasible")
        await wait_for(handle, stage_is("voting"), "voting")
        await wait_box_open(store, did)
        at = await env.get_current_time()
        for owner in OWNERS[2:7]:
            await cast(store, did, owner, "for", at)
        closes, paper_until = await the_round(store, did)
        assert paper_until == closes + timedelta(hours=3)
        # Past the close, before the seal (both from the round the workflow recorded).
        await env.sleep(closes + timedelta(minutes=30) - await env.get_current_time())
        now = await env.get_current_time()
        assert closes < now < paper_until
        with pytest.raises(VotingClosedError):
            await cast_ballot(store, did, OWNERS[7], "for", idempotency_key="late-online", now=now)
        receipt = await enter_paper_ballot(store, did, OWNERS[7], "for", paper_ref="纸票-07", clerk_id=1,
                                           idempotency_key="paper-07", now=now, question_id="main",
                                           filled_at=closes - timedelta(hours=1))
        assert receipt.channel == "paper"
        await advance_until(env, handle, stage_is("cost_sharing"), "the approved branch", step=timedelta(minutes=30))
        await wait_for(handle, lambda s: "plan" in s.extra, "the cost plan")
        for owner in OWNERS:
            await handle.execute_update("confirm_share", ShareConfirmation(owner_id=owner))
        await advance_until(env, handle, stage_is("permit", "permit"), "permit task", step=timedelta(minutes=30))
        await complete(handle, "permit", "committee", "granted", document_no="建许字〔2026〕9号")
        await complete(handle, "construction", "committee", "completed")
        await complete(handle, "acceptance", "committee", "passed")
        result = await handle.result()
        status = await procedure_status(store, did)
        await save_history(handle, "elevator_deemed")
        await save_history(env.client.get_workflow_handle(f"{did}/box-1"), "ballot_box_paper_entry")
        history = json.loads((await handle.fetch_history()).to_json())
        box_history = json.loads((await env.client.get_workflow_handle(f"{did}/box-1").fetch_history()).to_json())
    assert result.outcome == "completed"
    assert set(patches(history["events"])) >= {"deemed-tally-decides", "vote-paper-entry-window"}
    assert "box-seal-after-paper-entry" in patches(box_history["events"])

    events = await store.read(did)
    sealed = next(e for e in events if e.type == "BoxSealed")
    sealed_at = datetime.fromisoformat(sealed.payload["at"])
    assert paper_until <= sealed_at < paper_until + timedelta(minutes=1), "sealed when paper entry ended"
    paper = next(e for e in events if e.type == "BallotCast" and e.payload["channel"] == "paper")
    assert paper.seq < sealed.seq and datetime.fromisoformat(paper.payload["cast_at"]) == closes - timedelta(hours=1)
    recorded = next(e for e in events if e.type == "ResultRecorded").payload["results"]["main"]
    assert (recorded["outcome"], recorded["effective_outcome"]) == ("no_quorum", "approved")
    assert recorded["participating"]["owners"] == 6 and recorded["deeming"]["result"]["in_favour"]["owners"] == 12

    stage = [stage_event_from_dict(e.type, e.payload) for e in events
             if e.type in ("VoteCounted", "NoticePublished", "ProcedureClosed")]
    counted = next(e for e in stage if e.type == "VoteCounted")
    assert (counted.outcomes, counted.decided, counted.deemed, counted.approved) == (
        {"main": "no_quorum"}, {"main": "approved"}, ("main",), True)
    notice = next(e for e in stage if e.type == "NoticePublished" and e.kind == "result")
    assert "实际投票：参与 6/12 户" in notice.body_zh and "结果：参与表决未达法定比例，表决无效" in notice.body_zh
    assert "视为随多数后：参与 12/12 户" in notice.body_zh and "以视为随多数后的计票为准" in notice.body_zh
    assert "ballots cast: 6 of 12 owners" in notice.body_en and "the deemed tally decides" in notice.body_en
    assert (notice.head_seq, notice.head_hash) == (counted.head_seq, counted.head_hash)

    assert status["rounds"][0]["decided"] == {"main": "approved"} and status["rounds"][0]["outcomes"] == {
        "main": "no_quorum"}
    matter = await load_matter(store, did, OWNERS[0])  # what a silent owner's page says
    assert matter is not None and matter.approved and matter.deemed
    text = _render(status, "zh")
    assert "视为随多数后" in text and "决定结果的计票: 视为随多数后的计票" in text
    assert f"paper ballots entered until {status['rounds'][0]['paper_entry_until']}" in text


def test_histories_before_the_patches_have_none_of_their_markers() -> None:
    for name in ("elevator", "property", "consultation", "ballot_box", "ballot_box_deadline"):
        events = json.loads((HISTORIES / f"{name}.json").read_text(encoding="utf-8"))["events"]
        assert not NEW_PATCHES & set(patches(events)), name


async def test_new_histories_carry_the_markers_and_replay() -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for name, expected in (("elevator_deemed", {"deemed-tally-decides", "vote-paper-entry-window"}),
                           ("ballot_box_paper_entry", {"box-seal-after-paper-entry"})):
        text = (HISTORIES / f"{name}.json").read_text(encoding="utf-8")
        assert expected <= set(patches(json.loads(text)["events"])), name
        outcome = await replayer.replay_workflow(WorkflowHistory.from_json(name, text))
        assert outcome.replay_failure is None, name
