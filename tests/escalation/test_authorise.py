"""Who may act on a ticket (domain/escalation_auth.py), and the workflow's validators applying it (issue 17 item 1).

A committee of community A answered a committee ticket of community B (``provide_info``, then ``follow_up`` with
``satisfied``): recorded, the ticket closed, B's satisfaction rate skewed. The rule now checks the acting
organisation, not only the role, and the ticket's workflow refuses before anything is written, whoever calls it
(console, API, or Temporal directly)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from domain import escalation as esc
from domain.escalation import EscalationError, EscalationOpened, default_ladder
from domain.escalation_auth import authorise
from tests.escalation.conftest import ticket, ticket_until
from tests.escalation.dues import first_dues
from tests.texts import en, zh
from tests.workflows.conftest import running_worker, stream_types
from workflows.escalation import TicketAction
from yishi.services.escalations import RefusedError, TicketRequest, act, open_ticket

AT = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)


def events_of(community: str, kind: str = "committee", start: str = "street") -> list[esc.EscalationEvent]:
    event = EscalationOpened(at=AT, ticket_id=f"esc-{uuid.uuid4().hex[:10]}", parent_id=None, community=community,
                             category="housing", subject="楼道堆物", detail="",
                             initiator="O311" if kind == "owner" else "业委会", initiator_kind=kind,  # type: ignore[arg-type]
                             levels=default_ladder(community).for_category("housing"), outcomes=("resolved",))
    return esc.open_ticket(event, start, first_dues(event, start))


def opened(community: str, kind: str = "committee") -> esc.Ticket:
    return esc.fold(events_of(community, kind))


def allowed(ticket: esc.Ticket, action: str, role: str, org: str, by: str = "x") -> bool:
    try:
        authorise(ticket, action, role=role, org=org, by=by)
    except EscalationError:
        return False
    return True


@pytest.mark.parametrize("action", ["provide_info", "follow_up"])
def test_only_the_tickets_own_committee_answers_a_committee_ticket(action: str) -> None:
    t = opened("xfl")
    assert allowed(t, action, "committee", "committee:xfl")
    assert not allowed(t, action, "committee", "committee:hpl"), "another community's committee"
    assert not allowed(t, action, "committee", ""), "a committee that acts for no organisation"
    assert not allowed(t, action, "street_office", "street"), "the owner of the ticket is not its initiator"
    assert not allowed(t, action, "owner", "", by="业委会"), "no owner on a committee's ticket"
    with pytest.raises(EscalationError) as refused:
        authorise(t, action, role="committee", org="committee:hpl", by="李")
    assert "committee:xfl" in zh(refused.value) and "committee:xfl" in en(refused.value)


@pytest.mark.parametrize("action", ["provide_info", "follow_up"])
def test_only_the_owner_answers_an_owners_ticket_never_staff(action: str) -> None:
    t = opened("xfl", kind="owner")
    assert allowed(t, action, "owner", "", by="O311")
    assert not allowed(t, action, "owner", "", by="O312")
    for role, org in (("committee", "committee:xfl"), ("grid_worker", "grid:xfl"), ("street_office", "street")):
        assert not allowed(t, action, role, org, by="O311"), (role, "staff cannot answer for the owner")


def test_level_and_transfer_actions_need_the_owning_or_receiving_organisation() -> None:
    t = opened("xfl")  # at the street office
    for action in ("acknowledge", "request_info", "resolve", "request_transfer"):
        assert allowed(t, action, "street_office", "street")
        assert not allowed(t, action, "street_office", "street:other"), action
        assert not allowed(t, action, "department", "dept:housing"), action
        assert not allowed(t, action, "department", ""), (action, "no organisation")
        assert not allowed(t, action, "owner", "street"), (action, "not an owning role")
    events = events_of("xfl")
    transfer = esc.request_transfer(esc.fold(events), "street", "street_office", "王", "dept:urban", "属城管", AT)
    moving = esc.fold([*events, *transfer])
    for action in ("accept_transfer", "decline_transfer"):
        assert allowed(moving, action, "department", "dept:urban")
        assert not allowed(moving, action, "department", "dept:market"), action
        assert not allowed(moving, action, "department", ""), action


async def test_the_workflow_refuses_another_communitys_committee_and_writes_nothing(ts_env, store, pool,
                                                                                    task_queue) -> None:
    """Straight to Temporal, past any web wall: the validator refuses committee B on A's ticket."""
    env = ts_env
    street = TicketAction(role="street_office", actor="王科长", org="street")
    own = TicketAction(role="committee", actor="业委会", org="committee:xfl")
    other = TicketAction(role="committee", actor="别的业委会", org="committee:hpl")
    async with running_worker(env, store, pool, task_queue):
        tid, handle = await open_ticket(env.client, TicketRequest(
            community="xfl", category="housing", subject="楼道堆物", initiator="业委会", start_level="street"),
            task_queue=task_queue)
        await ticket_until(handle, lambda t: t.current is not None, "assigned to the street office")
        await act(env.client, tid, "request_info", street.model_copy(update={"text": "请提供照片"}))
        before = await store.read(tid)
        with pytest.raises(RefusedError) as refused:
            await act(env.client, tid, "provide_info", other.model_copy(update={"text": "没有照片"}))
        assert "committee:xfl" in str(refused.value) and "committee:hpl" in str(refused.value)
        with pytest.raises(RefusedError):
            await act(env.client, tid, "provide_info", own.model_copy(update={"org": "", "text": "x"}))
        assert len(await store.read(tid)) == len(before), "nothing written"
        await act(env.client, tid, "provide_info", own.model_copy(update={"text": "照片已补充"}))
        await act(env.client, tid, "resolve", street.model_copy(update={"outcome": "resolved", "text": "已清理"}))
        before = await store.read(tid)
        with pytest.raises(RefusedError):
            await act(env.client, tid, "follow_up", other.model_copy(update={"outcome": "satisfied"}))
        assert len(await store.read(tid)) == len(before) and (await ticket(handle)).status == "resolved"
        receipt = await act(env.client, tid, "follow_up", own.model_copy(update={"outcome": "satisfied"}))
        assert receipt.status == "closed"
        await handle.result()
    answered = [e.payload for e in await store.read(tid) if e.type in ("InfoProvided", "FollowUpAnswered")]
    assert [p["by"] for p in answered] == ["业委会", "业委会"]
    assert "InfoProvided" in await stream_types(store, tid)
