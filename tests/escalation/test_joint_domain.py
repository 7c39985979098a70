"""吹哨报到 in the domain: the whistle opens one part per department, each part reports in, resolves, is released
or escalates on its own deadline, and the ticket resolves only when every part is done or released."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.escalation import Dues, EscalationError, EscalationOpened, LevelAssigned, fold, resolve
from domain.escalation import evolve as esc_evolve
from domain.escalation_auth import authorise
from domain.joint_commands import (
    blow_whistle,
    joint_resolution,
    next_part_deadline,
    part_deadlines_passed,
    parts_to_escalate,
    release_part,
    report_in,
    resolve_part,
)
from domain.ladders import default_version
from domain.legal_calendar import BEIJING
from tests.texts import en

T0 = datetime(2026, 3, 2, 9, tzinfo=BEIJING)
DEPTS = ("dept:market", "dept:urban", "dept:housing")


def dues(at: datetime) -> Dues:
    return Dues(ack_due=at + timedelta(hours=24), resolve_due=at + timedelta(days=5))


def street_ticket():
    levels = default_version("xfl").levels_for("xfl", "market_regulation")
    opened = EscalationOpened(at=T0, ticket_id="t", parent_id=None, community="xfl", category="market_regulation",
                              subject="饭店卫生间漏水", detail="", initiator="O1", initiator_kind="owner",
                              levels=levels, outcomes=("resolved",), channel="resident")
    assigned = LevelAssigned(at=T0, n=1, level=2, level_key="street", org="street", ack_due=T0 + timedelta(hours=24),
                             resolve_due=T0 + timedelta(days=5), reason="opened")
    return fold([opened, assigned])


def apply(ticket, events):
    for e in events:
        ticket = esc_evolve(ticket, e)
    return ticket


def test_whistle_opens_a_part_per_department_and_acknowledges() -> None:
    t = street_ticket()
    at = T0 + timedelta(hours=2)
    events = blow_whistle(t, "street", "street_office", "王科长", DEPTS, "综合执法", at, dues(at))
    assert [e.type for e in events] == ["Acknowledged", "WhistleBlown", "PartOpened", "PartOpened", "PartOpened"]
    t = apply(t, events)
    assert [p.owner for p in t.joint.open_parts] == list(DEPTS)
    assert t.current.acknowledged_at == at
    assert next_part_deadline(t) == at + timedelta(hours=24)
    assert t.current_handlers == {"street", *DEPTS}


def test_who_may_whistle_report_and_release() -> None:
    t = street_ticket()
    with pytest.raises(EscalationError):
        blow_whistle(t, "street", "department", "x", DEPTS, "r", T0, None)
    with pytest.raises(EscalationError) as caught:
        blow_whistle(t, "street", "street_office", "x", ("dept:a", "dept:a"), "r", T0, None)
    assert "dept:a" in en(caught.value)
    t = apply(t, blow_whistle(t, "street", "street_office", "王", DEPTS, "综合执法", T0, dues(T0)))
    with pytest.raises(EscalationError) as caught:
        report_in(t, 1, "dept:urban", "department", "x", T0)
    assert "dept:market" in en(caught.value)
    authorise(t, "report_in", role="department", org="dept:market", by="x", part=1)
    with pytest.raises(EscalationError):
        release_part(t, 2, "dept:urban", "department", "x", "not ours", T0)
    with pytest.raises(EscalationError) as caught:
        resolve(t, "street", "street_office", "王", "resolved", "done", T0)
    assert "open parts" in en(caught.value)


def test_ticket_resolves_when_every_part_is_done_or_released() -> None:
    t = street_ticket()
    t = apply(t, blow_whistle(t, "street", "street_office", "王", DEPTS, "综合执法", T0, dues(T0)))
    at = T0 + timedelta(hours=3)
    t = apply(t, report_in(t, 1, "dept:market", "department", "市场所", at))
    t = apply(t, resolve_part(t, 1, "dept:market", "department", "市场所", "已责令整改", at))
    assert joint_resolution(t, at, None) == []
    t = apply(t, release_part(t, 3, "street", "street_office", "王", "不涉及住建", at))
    assert joint_resolution(t, at, None) == []
    t = apply(t, resolve_part(t, 2, "dept:urban", "department", "城管", "已执法", at))
    (resolved,) = joint_resolution(t, at, None)
    assert resolved.org == "street" and "dept:market：已责令整改" in resolved.resolution
    assert "不涉及住建" in resolved.resolution
    t = esc_evolve(t, resolved)
    assert t.status == "resolved"


def test_one_part_misses_report_in_and_escalates_alone() -> None:
    t = street_ticket()
    t = apply(t, blow_whistle(t, "street", "street_office", "王", DEPTS, "综合执法", T0, dues(T0)))
    early = T0 + timedelta(hours=5)
    t = apply(t, report_in(t, 1, "dept:market", "department", "a", early))
    t = apply(t, report_in(t, 3, "dept:housing", "department", "c", early))
    late = T0 + timedelta(hours=24)
    assert parts_to_escalate(t, late - timedelta(seconds=1)) == []
    assert parts_to_escalate(t, late) == [2]
    events = part_deadlines_passed(t, late, dues(late))
    assert [(e.type, e.part) for e in events] == [("PartDeadlineMissed", 2), ("PartEscalated", 2)]
    t = apply(t, events)
    urban = t.joint.part(2)
    assert urban.owner == "dept:supervision" and urban.turns[0].ended_by == "escalated"
    assert [p.owner for p in t.joint.open_parts] == ["dept:market", "dept:supervision", "dept:housing"]
    assert t.status == "acknowledged" and t.current.missed == (), "the ticket's own line does not move"
    # The supervisor's own deadline is recorded, and the part stays with it.
    again = part_deadlines_passed(t, late + timedelta(hours=24), None)
    assert [e.type for e in again] == ["PartDeadlineMissed"]
