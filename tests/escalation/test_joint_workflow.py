"""吹哨报到 on the time-skipping server with the real activities and PostgreSQL: the street office calls three
departments in at once; two report in, the third misses its report-in deadline and its part alone moves to the
supervisor; every party sees the joint ticket in its inbox; the ticket resolves when the last part is done."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.clock import advance_to
from tests.escalation.conftest import ticket, ticket_until
from tests.workflows.conftest import running_worker, save_history, stream_types
from workflows.escalation import TicketAction
from workflows.escalation_joint import PartAction, Whistle
from yishi.services.escalations import RefusedError, TicketRequest, act, act_part, inbox, open_ticket, whistle

DEPTS = ("dept:market", "dept:urban", "dept:housing")
STREET = {"role": "street_office", "actor": "王科长", "org": "street"}


def dept(org: str) -> dict[str, str]:
    return {"role": "department", "actor": f"{org} 经办人", "org": org}


async def test_three_departments_one_misses_report_in_and_escalates_alone(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    request = TicketRequest(community="hx-joint", category="market_regulation", subject="饭店卫生间漏水到楼道",
                            detail="商铺二层卫生间漏水，店主拒不维修", initiator="O-201", initiator_kind="owner",
                            start_level="street")
    # No workflow cached: every task replays the history so far, so a nondeterminism fails the test here.
    async with running_worker(env, store, pool, task_queue, max_cached_workflows=0):
        tid, handle = await open_ticket(env.client, request, task_queue=task_queue)
        await ticket_until(handle, lambda t: t.current is not None, "with the street office")
        with pytest.raises(RefusedError) as caught:
            await whistle(env.client, tid, Whistle(**dept("dept:market"), departments=DEPTS, text="x"))
        assert "street" in str(caught.value)
        receipt = await whistle(env.client, tid, Whistle(**STREET, departments=DEPTS, text="综合执法：责令维修"))
        assert receipt.status == "acknowledged", "blowing the whistle is the street office's response"
        state = await ticket(handle)
        assert [p.owner for p in state.joint.open_parts] == list(DEPTS)
        report_due = state.joint.part(2).current.report_due
        for org in DEPTS:  # (the session's database holds other tests' tickets: only this one's rows are looked at)
            rows = [r for r in await inbox(pool, org, limit=1000) if r["ticket_id"] == tid]
            assert [r["part"] for r in rows] == [DEPTS.index(org) + 1], org
        street_rows = [r for r in await inbox(pool, "street", limit=1000) if r["ticket_id"] == tid]
        assert [r["joint"] for r in street_rows] == [True], "the street sees its joint ticket"

        await act_part(env.client, tid, "report_in", PartAction(**dept("dept:market"), part=1))
        await act_part(env.client, tid, "report_in", PartAction(**dept("dept:housing"), part=3))
        with pytest.raises(RefusedError) as caught:
            await act_part(env.client, tid, "report_in", PartAction(**dept("dept:market"), part=2))
        assert "dept:urban" in str(caught.value), "a department reports in for its own part only"
        with pytest.raises(RefusedError) as caught:
            await act(env.client, tid, "resolve", TicketAction(**STREET, outcome="resolved", text="已处理"))
        assert "open parts" in str(caught.value)

        await advance_to(env, report_due, past=timedelta(minutes=-1))
        assert (await ticket(handle)).joint.part(2).owner == "dept:urban", "not before its deadline"
        await advance_to(env, report_due)
        state = await ticket_until(handle, lambda t: t.joint.part(2).owner == "dept:supervision",
                                   "part 2 moves to the supervisor")
        assert [p.owner for p in state.joint.open_parts] == ["dept:market", "dept:supervision", "dept:housing"]
        urban = state.joint.part(2)
        assert urban.turns[0].missed == ("report",) and urban.turns[0].ended_by == "escalated"
        assert state.joint.part(1).current.missed == () and state.joint.part(3).current.missed == ()
        assert state.status == "acknowledged" and len(state.assignments) == 1, "the ticket itself did not move"
        assert [r["part"] for r in await inbox(pool, "dept:supervision", limit=1000) if r["ticket_id"] == tid] == [2]
        assert not [r for r in await inbox(pool, "dept:urban", limit=1000) if r["ticket_id"] == tid], \
            "the part left the late department's inbox"
        types = await stream_types(store, tid)
        assert types.count("PartDeadlineMissed") == 1 and types.count("PartEscalated") == 1

        await act_part(env.client, tid, "resolve_part", PartAction(**dept("dept:market"), part=1, text="已责令整改"))
        await act_part(env.client, tid, "release_part", PartAction(**STREET, part=3, text="不涉及房屋安全"))
        assert (await ticket(handle)).status == "acknowledged", "one part is still open"
        done = await act_part(env.client, tid, "resolve_part",
                              PartAction(**dept("dept:supervision"), part=2, text="已督办城管现场执法"))
        assert done.status == "resolved", "the last part done resolves the ticket"
        state = await ticket(handle)
        assert state.current.ended_by == "resolved" and "dept:market：已责令整改" in state.resolution
        await act(env.client, tid, "follow_up", TicketAction(role="owner", actor="O-201", outcome="satisfied"))
        result = await handle.result()
        assert result.status == "closed"
        async with pool.acquire() as conn:
            parts = await conn.fetch("SELECT part, org, status FROM escalation_parts WHERE ticket_id = $1"
                                     " ORDER BY part", tid)
            turns = await conn.fetch("SELECT unit, org FROM escalation_turns WHERE ticket_id = $1 AND kind = 'part'"
                                     " ORDER BY unit", tid)
        assert [tuple(r) for r in parts] == [(1, "dept:market", "done"), (2, "dept:supervision", "done"),
                                             (3, "dept:housing", "released")]
        assert [tuple(r) for r in turns] == [("p1.1", "dept:market"), ("p2.1", "dept:urban"),
                                             ("p2.2", "dept:supervision"), ("p3.1", "dept:housing")]
        await save_history(handle, "escalation_joint_parts")
