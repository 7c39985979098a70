"""更换物业 end to end: a tie → re-vote, the winner, objections, dismissal, a missed hand-over escalated (a ticket)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.eventstore import EventStore
from domain.roll import Scope
from domain.stage_events import stage_event_from_dict
from tests.clock import advance_to
from tests.escalation.conftest import ticket_until
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
from workflows.escalation import TicketAction
from yishi.services.escalations import act
from yishi.services.procedures import StartRequest, procedure_status, start_procedure

OWNERS = [f"O{b}{f}{u}" for b in (3, 4) for f in range(1, 7) for u in (1, 2)]  # 24 owners


def voting_round(n: int):  # noqa: ANN201
    return lambda s: s.stage == "voting" and s.round == n


async def ballots(env, store: EventStore, box: str, choices: dict[str, dict[str, str]]) -> None:
    await wait_box_open(store, box)
    at = await env.get_current_time()
    for question, by_owner in choices.items():
        for owner, choice in by_owner.items():
            await cast(store, box, owner, choice, at, question=question)


def split(n_for: int) -> dict[str, str]:
    return {o: ("for" if i < n_for else "against") for i, o in enumerate(OWNERS)}


@pytest.mark.weekdays
async def test_property_tie_revote_handover_missed(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    req = StartRequest(procedure="property", title="更换物业", scope=Scope(), initiator_role="owners_committee",
                       periods={"checkpoint": "P5D", "paper_entry": "PT0S"},  # not the time of day
                       options={"candidates": [{"id": "A", "name": "安居物业"}, {"id": "B", "name": "百合物业"}],
                                "current_company": "旧物业"})
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(buildings=2), req, task_queue=task_queue)
        await complete(handle, "review", "committee", "accepted")
        await advance_until(env, handle, voting_round(1), "round 1", step=timedelta(days=2))
        await ballots(env, store, did, {"dismiss": split(24), "candidate:A": split(13), "candidate:B": split(13)})
        live = await procedure_status(store, did)
        assert set(live["tallies"]) == {"dismiss", "candidate:A", "candidate:B"}
        assert live["tally"]["in_favour"]["owners"] == 24
        await advance_until(env, handle, voting_round(2), "round 2 (re-vote)", step=timedelta(days=2))
        await ballots(env, store, f"{did}~r2", {"candidate:A": split(15), "candidate:B": split(13)})
        await advance_until(env, handle, stage_is("handover", "handover"), "hand-over", step=timedelta(days=5))
        state = await wait_for(handle, lambda s: sum(t.kind == "handover" for t in s.tasks.values()) == 4, "items")
        items = {t.subject: t.task_id for t in state.tasks.values() if t.kind == "handover"}
        for item in ("service_rooms", "facilities_equipment", "records_files"):
            await handle.execute_update("complete_task", TaskCompletion(task_id=items[item], role="committee",
                                                                        outcome="confirmed", actor="业委会主任"))
        # Just past the hand-over deadline, not a step beyond: the ticket it opens has deadlines of its own.
        await advance_to(env, state.tasks[items["funds"]].due_at)
        await wait_for(handle, lambda s: any(t.kind == "interim_service" for t in s.tasks.values()),
                       "missed hand-over")
        await complete(handle, "interim_service", "street_office", "arranged", note="街道应急物业：平安物业")
        await handle.execute_update("complete_task", TaskCompletion(task_id=items["funds"], role="committee",
                                                                    outcome="confirmed"))
        # The parent waits for the escalation ticket: the street office resolves it, the committee rates it.
        ticket_id = f"{did}/esc-handover"
        street = TicketAction(role="street_office", actor="街道物业科", org="street")
        await ticket_until(env.client.get_workflow_handle(ticket_id), lambda t: t.current is not None, "ticket")
        await act(env.client, ticket_id, "resolve", street.model_copy(update={
            "outcome": "resolved", "text": "已责令旧物业限期撤出，区住建委立案查处"}))
        await act(env.client, ticket_id, "follow_up",
                  TicketAction(role="committee", actor="业委会", org="committee:default", outcome="satisfied"))
        result = await handle.result()
        await save_history(handle, "property")
    assert result.outcome == "replaced"
    events = [stage_event_from_dict(e.type, e.payload) for e in await store.read(did)
              if e.type not in ("BoxOpened", "BallotCast", "BoxSealed", "ResultRecorded")]
    revote = next(e for e in events if e.type == "ReVoteCalled")
    assert revote.reason == "tie" and revote.tied == ("A", "B")
    selected = next(e for e in events if e.type == "CandidateSelected")
    assert (selected.round, selected.candidate) == (2, "A")
    escalation = next(e for e in events if e.type == "EscalationStarted")
    assert escalation.ticket_id == ticket_id and escalation.category == "housing" and "funds" in escalation.reason
    resolved = next(e for e in events if e.type == "EscalationResolved")
    assert resolved.outcome == "resolved" and "区住建委" in resolved.note
    assert "EscalationPlaceholderOpened" not in {e.type for e in events}
    interim = next(e for e in events if e.type == "InterimServiceRecorded")
    assert interim.provider == "街道应急物业：平安物业"
    assert sorted(e.item for e in events if e.type == "HandoverItemConfirmed") == sorted(
        ["service_rooms", "facilities_equipment", "records_files", "funds"])
    rounds = [e for e in events if e.type == "VoteRoundOpened"]
    assert [r.box_stream for r in rounds] == [did, f"{did}~r2"]


async def test_property_dismissal_rejected_keeps_company(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    req = StartRequest(procedure="property", title="更换物业", scope=Scope(), initiator_role="petition",
                       initiated_by="O311", petition_signers=tuple(OWNERS[:5]),
                       periods={"notice": "PT1H", "voting": "PT2H", "remind_before": "PT30M", "checkpoint": "PT1H",
                                "paper_entry": "PT0S"},
                       options={"candidates": [{"id": "A", "name": "安居物业"}]})
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(buildings=2), req, task_queue=task_queue)
        await complete(handle, "review", "committee", "accepted")
        await advance_until(env, handle, voting_round(1), "round 1", step=timedelta(minutes=30))
        await ballots(env, store, did, {"dismiss": split(10), "candidate:A": split(20)})
        result = await handle.result()
    assert result.outcome == "company_retained"
    started = (await store.read(did))[0]
    assert started.payload["initiator_role"] == "petition" and len(started.payload["petition_signers"]) == 5


async def test_property_review_declined_closes_with_the_reason(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    req = StartRequest(procedure="property", title="更换物业", scope=Scope(), initiator_role="owners_committee",
                       options={"candidates": [{"id": "A", "name": "安居物业"}]})
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(buildings=2), req, task_queue=task_queue)
        await complete(handle, "review", "committee", "declined", note="合同尚未到期，先与现物业协商")
        result = await handle.result()
        await save_history(handle, "property_declined")
    assert result.outcome == "declined"
    events = [stage_event_from_dict(e.type, e.payload) for e in await store.read(did)]
    assert [e.type for e in events if e.type == "StageEntered"] == ["StageEntered", "StageEntered"]
    assert [e.stage for e in events if e.type == "StageEntered"] == ["review", "closed"]
    closed = events[-1]
    assert closed.type == "ProcedureClosed" and closed.note == "合同尚未到期，先与现物业协商"
    assert "NoticePublished" not in {e.type for e in events}, "no meeting notice after a refusal"
