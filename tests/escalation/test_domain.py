"""The pure ticket: given events, when a command or a deadline, then events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import escalation as esc
from domain.escalation import EscalationError, EscalationOpened, default_ladder, fold
from tests.escalation.dues import first_dues

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def opened(start: str | None = None) -> esc.Ticket:
    levels = default_ladder("c").for_category("housing")
    event = EscalationOpened(at=T0, ticket_id="t", parent_id=None, community="c", category="housing", subject="s",
                             detail="", initiator="O1", initiator_kind="owner", levels=levels, outcomes=("resolved",))
    return fold(esc.open_ticket(event, start, first_dues(event, start)))


def test_unknown_category_and_level_say_what_is_valid() -> None:
    with pytest.raises(EscalationError) as caught:
        default_ladder("c").for_category("parking")
    assert "housing" in str(caught.value) and "parking" in str(caught.value)
    with pytest.raises(EscalationError) as caught:
        opened("district")
    assert "grid" in str(caught.value) and "department" in str(caught.value)


def test_resolving_without_acknowledging_counts_as_acknowledged() -> None:
    events = esc.resolve(opened("street"), "street", "street_office", "王", "resolved", "已处理", T0)
    assert [e.type for e in events] == ["Acknowledged", "Resolved"]


def test_top_level_deadline_is_recorded_and_the_ticket_stays() -> None:
    ticket = opened("department")
    assert esc.deadline_passed(ticket, T0 + timedelta(hours=23)) == [], "not yet due"
    events = esc.deadline_passed(ticket, T0 + timedelta(hours=24))
    assert [e.type for e in events] == ["DeadlineMissed"]
    for event in events:
        ticket = esc.evolve(ticket, event)
    kind, due = esc.next_deadline(ticket)
    assert kind == "resolve" and due == ticket.current.resolve_due and ticket.owner == "dept:housing"


def test_only_the_owner_level_roles_may_act() -> None:
    with pytest.raises(EscalationError) as caught:
        esc.acknowledge(opened("street"), "street", "committee", "x", T0)
    assert "street_office" in str(caught.value)


def test_evolve_returns_a_new_ticket_and_leaves_the_old_one() -> None:
    ticket = opened("street")
    after = esc.evolve(ticket, esc.Acknowledged(at=T0, org="street", by="王"))
    assert after.status == "acknowledged" and after.current.acknowledged_at == T0
    assert ticket.status == "assigned" and ticket.current.acknowledged_at is None, "the state before is unchanged"


def test_deadlines_are_passed_in_and_their_fallback_recorded() -> None:
    """The domain never reads a calendar: the workflow's activity computes the next level's deadlines, and the
    years counted on weekends only are recorded on LevelAssigned (omitted when there are none, as before)."""
    ticket = opened("street")
    late = T0 + timedelta(hours=24)
    assert esc.level_to_assign(ticket, "deadline", late - timedelta(seconds=1)) is None, "not due yet"
    assert esc.level_to_assign(ticket, "deadline", late) == 3
    with pytest.raises(EscalationError):
        esc.deadline_passed(ticket, late)  # escalating needs the next level's deadlines
    dues = esc.Dues(ack_due=late + timedelta(hours=24), resolve_due=late + timedelta(days=9), fallback_years=(2027,))
    missed, escalated, assigned = esc.deadline_passed(ticket, late, dues)
    assert (assigned.level_key, assigned.ack_due, assigned.fallback_years) == ("department", dues.ack_due, (2027,))
    assert assigned.model_dump(mode="json")["fallback_years"] == [2027]
    assert esc.evolve(ticket, assigned).current.fallback_years == (2027,)
    plain = esc.LevelAssigned(at=T0, n=1, level=2, level_key="street", org="street", ack_due=T0, resolve_due=T0,
                              reason="opened")
    assert "fallback_years" not in plain.model_dump(mode="json"), "old events keep their payload and hash"


def test_a_transfer_or_a_reopening_is_only_checked_without_deadlines() -> None:
    ticket = opened("street")
    for event in esc.request_transfer(ticket, "street", "street_office", "王", "dept:urban", "城管事项", T0):
        ticket = esc.evolve(ticket, event)
    assert esc.level_to_assign(ticket, "accept_transfer", T0) == 2
    assert [e.type for e in esc.accept_transfer(ticket, "dept:urban", "department", "李", T0, None)] == [
        "TransferAccepted"]
    dues = esc.Dues(ack_due=T0, resolve_due=T0 + timedelta(days=7))
    events = esc.accept_transfer(ticket, "dept:urban", "department", "李", T0, dues)
    assert [e.type for e in events] == ["TransferAccepted", "LevelAssigned"] and events[1].org == "dept:urban"


def test_resolved_records_the_follow_up_deadline() -> None:
    from domain.legal_calendar import PeriodEnd

    due = PeriodEnd(ends_at=T0 + timedelta(days=8), calendar_fallback=True, fallback_years=(2027,))
    events = esc.resolve(opened("street"), "street", "street_office", "王", "resolved", "已处理", T0, due)
    ticket = opened("street")
    for event in events:
        ticket = esc.evolve(ticket, event)
    assert (ticket.follow_up_due, ticket.follow_up_fallback) == (due.ends_at, (2027,))
    plain = esc.resolve(opened("street"), "street", "street_office", "王", "resolved", "已处理", T0)[-1]
    assert "follow_up_due" not in plain.model_dump(mode="json")
