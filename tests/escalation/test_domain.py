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
