"""A month of tickets in one community with hand-chosen times, for the appraisal (test_appraisal.py has the hand
count). Grid G1's worker is 王 until 15 March and 钱 after; grid G2's is 孙. Every deadline is 24 h to acknowledge
(report in) and 7 days to resolve from the turn's start (5 days for a part)."""

from __future__ import annotations

from datetime import datetime, timedelta

from activities.escalation import project_ticket
from activities.eventstore import EventStore, NewEvent
from domain.escalation import (
    Acknowledged,
    Closed,
    DeadlineMissed,
    Escalated,
    EscalationOpened,
    FollowUpAnswered,
    LevelAssigned,
    Reopened,
    Resolved,
)
from domain.joint import PartDeadlineMissed, PartEscalated, PartOpened, PartReported, PartResolved, WhistleBlown
from domain.ladders import default_version
from domain.legal_calendar import BEIJING

AS_OF = datetime(2026, 4, 3, 12, 0, tzinfo=BEIJING)


def at(day: int, hour: int = 9, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=BEIJING)


def grid_file(c: str) -> bytes:
    return (f"社区,网格编号,楼栋,网格员\r\n{c},G1,1,王-{c}\r\n{c},G2,2,孙-{c}\r\n").encode()


def tickets(c: str) -> dict[str, list]:
    g1, g2 = f"grid:{c}:G1", f"grid:{c}:G2"
    levels = default_version(c).levels_for(c, "market_regulation")

    def opened(tid: str, when: datetime, grid: str = "", channel: str = "resident") -> EscalationOpened:
        return EscalationOpened(at=when, ticket_id=tid, parent_id=None, community=c, category="market_regulation",
                                subject=tid, detail="", initiator="O1", initiator_kind="owner", levels=levels,
                                outcomes=("resolved",), channel=channel, ladder_version=0, grid=grid)

    def assigned(n: int, level: int, key: str, org: str, when: datetime, reason: str = "opened") -> LevelAssigned:
        return LevelAssigned(at=when, n=n, level=level, level_key=key, org=org, ack_due=when + timedelta(hours=24),
                             resolve_due=when + timedelta(days=7), reason=reason)  # type: ignore[arg-type]

    def ok(org: str, when: datetime) -> Acknowledged:
        return Acknowledged(at=when, org=org, by="x")

    def done(org: str, when: datetime) -> Resolved:
        return Resolved(at=when, org=org, by="x", outcome="resolved", resolution="ok")

    def rated(answer: str, when: datetime) -> FollowUpAnswered:
        return FollowUpAnswered(at=when, answer=answer, by="O1")  # type: ignore[arg-type]

    sup = "dept:supervision"
    return {
        "t1": [opened("t1", at(2), "G1"), assigned(1, 0, "grid", g1, at(2)), ok(g1, at(2, 10)), done(g1, at(5)),
               rated("satisfied", at(6)), Closed(at=at(6), outcome="resolved")],
        "t2": [opened("t2", at(20), "G1"), assigned(1, 0, "grid", g1, at(20)),
               DeadlineMissed(at=at(21), n=1, org=g1, deadline="acknowledge", due_at=at(21)),
               Escalated(at=at(21), from_level=0, to_level=1, reason="ack"),
               assigned(2, 1, "community", f"committee:{c}", at(21), "escalated"), ok(f"committee:{c}", at(21, 12)),
               done(f"committee:{c}", at(25)), rated("basically_satisfied", at(26)),
               Closed(at=at(26), outcome="resolved")],
        "t3": [opened("t3", at(10), "G2"), assigned(1, 0, "grid", g2, at(10)), ok(g2, at(10, 11)), done(g2, at(12)),
               rated("not_satisfied", at(12, 10)), Reopened(at=at(12, 10), level=0, reason="not satisfied"),
               assigned(2, 0, "grid", g2, at(12, 10), "reopened"), ok(g2, at(12, 11)), done(g2, at(20, 10)),
               rated("satisfied", at(21)), Closed(at=at(21), outcome="resolved")],
        "t4": [opened("t4", at(5)), assigned(1, 2, "street", "street", at(5)), ok("street", at(5, 10)),
               WhistleBlown(at=at(5, 10), org="street", by="x", departments=("dept:market", "dept:urban"), reason="r"),
               PartOpened(at=at(5, 10), part=1, org="dept:market", report_due=at(6, 10), resolve_due=at(10, 10)),
               PartOpened(at=at(5, 10), part=2, org="dept:urban", report_due=at(6, 10), resolve_due=at(10, 10)),
               PartReported(at=at(5, 12), part=1, org="dept:market", by="m"),
               PartDeadlineMissed(at=at(6, 10), part=2, org="dept:urban", deadline="report", due_at=at(6, 10)),
               PartEscalated(at=at(6, 10), part=2, from_org="dept:urban", to_org=sup, report_due=at(7, 10),
                             resolve_due=at(11, 10), reason="report missed"),
               PartReported(at=at(6, 15), part=2, org=sup, by="s"),
               PartResolved(at=at(8, 10), part=1, org="dept:market", by="m", resolution="a"),
               PartResolved(at=at(9, 10), part=2, org=sup, by="s", resolution="b"),
               done("street", at(9, 10)), rated("satisfied", at(10)), Closed(at=at(10), outcome="resolved")],
        "t5": [opened("t5", at(28), "G1", "secretary"),
               assigned(1, 0, "secretary", f"secretary:{c}", at(28)), ok(f"secretary:{c}", at(28, 10))],
        "t6": [opened("t6", at(1, month=4), "G2"), assigned(1, 0, "grid", g2, at(1, month=4))],
    }


async def seed(store: EventStore, pool: object, c: str) -> dict[str, list]:
    found = tickets(c)
    for name, events in found.items():
        tid = f"ap-{c}-{name}"
        fixed = [e.model_copy(update={"ticket_id": tid}) if isinstance(e, EscalationOpened) else e for e in events]
        found[name] = fixed
        await store.append(tid, [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at)
                                 for e in fixed])
        await project_ticket(store, pool, tid)  # type: ignore[arg-type]
    return found
