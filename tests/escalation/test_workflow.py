"""The Escalation workflow on the time-skipping server with the real activities and PostgreSQL: a missed
acknowledgement escalates, a resolution closes, "not satisfied" reopens once, a transfer moves ownership
only when accepted."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain.legal_calendar import BEIJING, deadline_working_days
from tests.clock import holidays_in_use
from tests.escalation.conftest import ticket, ticket_until
from tests.texts import en, zh
from tests.workflows.conftest import running_worker, stream_types
from workflows.escalation import TicketAction
from yishi.services.escalations import RefusedError, TicketRequest, act, open_ticket


def complaint(**extra: object) -> TicketRequest:
    fields = {"community": "xfl", "category": "urban_management", "subject": "餐馆油烟渗入楼道",
              "detail": "3栋一楼餐馆排烟管漏气", "initiator": "O311", "initiator_kind": "owner", **extra}
    return TicketRequest(**fields)  # type: ignore[arg-type]


@pytest.mark.weekdays
async def test_missed_acknowledgement_escalates(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        tid, handle = await open_ticket(env.client, complaint(), task_queue=task_queue)
        first = await ticket_until(handle, lambda t: t.current is not None, "the first level")
        a = first.current
        assert (a.level_key, a.org) == ("grid", "grid:xfl")
        assert a.ack_due - a.assigned_at == timedelta(hours=24), "acknowledge within 24 hours"
        day = a.assigned_at.astimezone(BEIJING).date()
        assert a.resolve_due == deadline_working_days(day, 5, holidays_in_use()).ends_at, "5 working days"
        with pytest.raises(RefusedError) as caught:
            await act(env.client, tid, "acknowledge", TicketAction(role="committee", actor="李书记",
                                                                   org="committee:xfl"))
        assert "grid:xfl" in str(caught.value) and "is owned by" in str(caught.value)
        await env.sleep(timedelta(hours=23))
        assert len((await ticket(handle)).assignments) == 1, "not before the deadline"
        await env.sleep(timedelta(hours=2))
        state = await ticket_until(handle, lambda t: len(t.assignments) == 2, "escalation to the community")
        grid, community = state.assignments
        assert grid.missed == ("acknowledge",) and grid.ended_by == "escalated"
        assert (community.level_key, community.org, community.reason) == ("community", "committee:xfl", "escalated")
        async with pool.acquire() as conn:
            row = await conn.fetchrow("SELECT org, level_key, status FROM escalations WHERE ticket_id = $1", tid)
        assert dict(row) == {"org": "committee:xfl", "level_key": "community", "status": "assigned"}
        types = await stream_types(store, tid)
        assert types[:2] == ["EscalationOpened", "LevelAssigned"]
        for expected in ("DeadlineMissed", "Escalated", "NoticeDelivered"):
            assert expected in types, expected
        notices = [e.payload for e in await store.read(tid) if e.type == "NoticePublished"]
        assert [n["kind"] for n in notices] == ["escalation_opened", "escalation_escalated"]
        assert notices[1]["recipients"] == ["O311", "committee:xfl"], "the initiator and the committee"
        await handle.terminate("test done")


async def test_an_action_arriving_before_the_first_level_waits_for_it(ts_env, store, pool, task_queue) -> None:
    """The inbox shows a ticket once its opening is in the stream, a moment before the workflow applies it: an
    action sent then (here: before any worker has run the ticket) is done, not refused as "the ticket is new"."""
    env = ts_env
    tid, handle = await open_ticket(env.client, complaint(start_level="street"), task_queue=task_queue)
    street = TicketAction(role="street_office", actor="王科长", org="street")
    early = asyncio.create_task(act(env.client, tid, "acknowledge", street))
    await asyncio.sleep(0.5)  # sent; no worker polls the queue yet
    async with running_worker(env, store, pool, task_queue):
        await asyncio.wait_for(early, timeout=30)
        state = await ticket_until(handle, lambda t: t.current is not None and t.current.acknowledged_at is not None,
                                   "acknowledged")
        assert state.status == "acknowledged"
        await handle.terminate("test done")


async def test_resolution_closes(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        tid, handle = await open_ticket(env.client, complaint(start_level="street"), task_queue=task_queue)
        await ticket_until(handle, lambda t: t.current is not None, "assigned")
        street = {"role": "street_office", "actor": "王科长", "org": "street"}
        await act(env.client, tid, "acknowledge", TicketAction(**street))
        with pytest.raises(RefusedError) as caught:
            await act(env.client, tid, "resolve", TicketAction(**street, outcome="resolved", text=" "))
        assert "书面办理意见" in zh(caught.value) and "write the resolution" in en(caught.value)
        await act(env.client, tid, "resolve", TicketAction(**street, outcome="resolved", text="已责令餐馆更换排烟管"))
        with pytest.raises(RefusedError) as caught:
            await act(env.client, tid, "follow_up", TicketAction(role="owner", actor="O999", outcome="satisfied"))
        assert "O311" in str(caught.value)
        await act(env.client, tid, "follow_up", TicketAction(role="owner", actor="O311", outcome="satisfied"))
        result = await handle.result()
    assert (result.status, result.outcome, result.resolution) == ("closed", "resolved", "已责令餐馆更换排烟管")
    types = await stream_types(store, tid)
    assert [t for t in types if t in ("Acknowledged", "Resolved", "FollowUpAnswered", "Closed")] == [
        "Acknowledged", "Resolved", "FollowUpAnswered", "Closed"]


async def test_not_satisfied_reopens_once(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    street = {"role": "street_office", "actor": "王科长", "org": "street"}
    owner = {"role": "owner", "actor": "O311"}
    async with running_worker(env, store, pool, task_queue):
        tid, handle = await open_ticket(env.client, complaint(start_level="street"), task_queue=task_queue)
        await ticket_until(handle, lambda t: t.current is not None, "assigned")
        await act(env.client, tid, "resolve", TicketAction(**street, outcome="resolved", text="已约谈"))
        receipt = await act(env.client, tid, "follow_up",
                            TicketAction(**owner, outcome="not_satisfied", text="仍有油烟"))
        assert receipt.status == "assigned"
        state = await ticket(handle)
        assert [(a.level_key, a.reason) for a in state.assignments] == [("street", "opened"), ("street", "reopened")]
        assert state.reopens == 1 and state.owner == "street"
        await act(env.client, tid, "resolve", TicketAction(**street, outcome="resolved", text="已查封排烟口"))
        receipt = await act(env.client, tid, "follow_up", TicketAction(**owner, outcome="not_satisfied"))
        assert receipt.status == "closed", "a second 'not satisfied' does not reopen again"
        result = await handle.result()
    assert result.status == "closed" and result.resolution == "已查封排烟口"
    types = await stream_types(store, tid)
    assert types.count("Reopened") == 1 and types.count("FollowUpAnswered") == 2


async def test_transfer_moves_ownership_only_when_accepted(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    housing = {"role": "department", "actor": "房管科", "org": "dept:housing"}
    urban = {"role": "department", "actor": "城管执法队", "org": "dept:urban"}
    async with running_worker(env, store, pool, task_queue):
        tid, handle = await open_ticket(env.client, complaint(category="housing", start_level="department"),
                                        task_queue=task_queue)
        await ticket_until(handle, lambda t: t.current is not None, "assigned")
        assert (await ticket(handle)).owner == "dept:housing"
        await act(env.client, tid, "request_transfer", TicketAction(**housing, to_org="dept:urban",
                                                                    text="油烟属城管执法"))
        state = await ticket(handle)
        assert state.owner == "dept:housing" and state.transfer.to_org == "dept:urban"
        with pytest.raises(RefusedError) as caught:
            await act(env.client, tid, "acknowledge", TicketAction(**urban))
        assert "dept:housing" in str(caught.value), "the receiver does not own it before accepting"
        await act(env.client, tid, "decline_transfer", TicketAction(**urban, text="属住建管辖"))
        assert (await ticket(handle)).owner == "dept:housing" and (await ticket(handle)).transfer is None
        await act(env.client, tid, "request_transfer", TicketAction(**housing, to_org="dept:urban", text="再次转办"))
        with pytest.raises(RefusedError):
            await act(env.client, tid, "accept_transfer", TicketAction(**{**urban, "org": "dept:market"}))
        await act(env.client, tid, "accept_transfer", TicketAction(**urban))
        state = await ticket(handle)
        assert state.owner == "dept:urban" and state.assignments[-1].reason == "transferred"
        assert state.assignments[0].ended_by == "transferred"
        with pytest.raises(RefusedError):
            await act(env.client, tid, "resolve", TicketAction(**housing, outcome="resolved", text="x"))
        await act(env.client, tid, "resolve", TicketAction(**urban, outcome="resolved", text="已处罚"))
        async with pool.acquire() as conn:
            row = await conn.fetchrow("SELECT status, org FROM escalations WHERE ticket_id = $1", tid)
        assert (row["status"], row["org"]) == ("resolved", None)
        await handle.terminate("test done")


async def test_no_follow_up_answer_closes_after_seven_days(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        tid, handle = await open_ticket(env.client, complaint(start_level="street"), task_queue=task_queue)
        await ticket_until(handle, lambda t: t.current is not None, "assigned")
        await act(env.client, tid, "resolve", TicketAction(role="street_office", actor="王", org="street",
                                                           outcome="resolved", text="已处理"))
        await env.sleep(timedelta(days=7, hours=1))
        result = await handle.result()
    assert result.status == "closed"
    closed = next(e for e in await store.read(tid) if e.type == "Closed")
    assert closed.payload["note"] == "no follow-up answer"
