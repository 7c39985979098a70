"""A seeded set of tickets with hand-chosen times, for the rates (see test_rates.py for the arithmetic)."""

from __future__ import annotations

from datetime import datetime, timedelta

from activities.escalation import project_ticket
from activities.eventstore import EventStore, NewEvent
from domain.escalation import (
    Acknowledged,
    Cancelled,
    Closed,
    DeadlineMissed,
    Escalated,
    EscalationOpened,
    FollowUpAnswered,
    LevelAssigned,
    Reopened,
    Resolved,
    default_ladder,
)
from domain.legal_calendar import BEIJING

AS_OF = datetime(2026, 4, 3, 12, 0, tzinfo=BEIJING)


def at(day: int, hour: int = 9, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=BEIJING)


def assigned(n: int, level: int, key: str, org: str, when: datetime, reason: str = "opened") -> LevelAssigned:
    return LevelAssigned(at=when, n=n, level=level, level_key=key, org=org, ack_due=when + timedelta(hours=24),
                         resolve_due=when + timedelta(days=7), reason=reason)  # type: ignore[arg-type]


def tickets(community: str) -> dict[str, list]:
    levels = default_ladder(community).for_category("housing")

    def opened(tid: str, when: datetime) -> EscalationOpened:
        return EscalationOpened(at=when, ticket_id=tid, parent_id=None, community=community, category="housing",
                                subject=f"seed {tid}", detail="", initiator="committee", initiator_kind="committee",
                                levels=levels, outcomes=("resolved",))

    street, housing, urban = "street", "dept:housing", "dept:urban"
    return {
        # T1: acknowledged and resolved in time; satisfied.
        "t1": [opened("t1", at(2)), assigned(1, 2, "street", street, at(2)),
               Acknowledged(at=at(2, 10), org=street, by="s"),
               Resolved(at=at(5), org=street, by="s", outcome="resolved", resolution="ok"),
               FollowUpAnswered(at=at(6), answer="satisfied", by="c"), Closed(at=at(6), outcome="resolved")],
        # T2: the street office misses the acknowledgement → the department acknowledges, resolves late.
        "t2": [opened("t2", at(3)), assigned(1, 2, "street", street, at(3)),
               DeadlineMissed(at=at(4), n=1, org=street, deadline="acknowledge", due_at=at(4)),
               Escalated(at=at(4), from_level=2, to_level=3, reason="ack"),
               assigned(2, 3, "department", housing, at(4), "escalated"),
               Acknowledged(at=at(4, 12), org=housing, by="h"),
               Resolved(at=at(20), org=housing, by="h", outcome="resolved", resolution="late"),
               FollowUpAnswered(at=at(21), answer="basically_satisfied", by="c"),
               Closed(at=at(21), outcome="resolved")],
        # T3: resolved in time, "not satisfied" → reopened, resolved again in time, satisfied.
        "t3": [opened("t3", at(10)), assigned(1, 2, "street", street, at(10)),
               Acknowledged(at=at(10, 11), org=street, by="s"),
               Resolved(at=at(11), org=street, by="s", outcome="resolved", resolution="first"),
               FollowUpAnswered(at=at(12, 10), answer="not_satisfied", by="c"),
               Reopened(at=at(12, 10), level=2, reason="not satisfied"),
               assigned(2, 2, "street", street, at(12, 10), "reopened"),
               Acknowledged(at=at(13), org=street, by="s"),
               Resolved(at=at(13), org=street, by="s", outcome="resolved", resolution="second"),
               FollowUpAnswered(at=at(14), answer="satisfied", by="c"), Closed(at=at(14), outcome="resolved")],
        # T4: a department (top level) never acknowledges; both deadlines pass before AS_OF.
        "t4": [opened("t4", at(25)), assigned(1, 3, "department", urban, at(25)),
               DeadlineMissed(at=at(26), n=1, org=urban, deadline="acknowledge", due_at=at(26))],
        # T5: acknowledged in time; its resolve deadline (04-06) is still ahead at AS_OF.
        "t5": [opened("t5", at(30)), assigned(1, 2, "street", street, at(30)),
               Acknowledged(at=at(30, 15), org=street, by="s")],
        # T6: assigned in April: outside the period.
        "t6": [opened("t6", at(2, month=4)), assigned(1, 2, "street", street, at(2, month=4)),
               Acknowledged(at=at(2, 10, month=4), org=street, by="s")],
        # T7: cancelled with its deliberation before any deadline.
        "t7": [opened("t7", at(15)), assigned(1, 2, "street", street, at(15)),
               Cancelled(at=at(15, 12), reason="cancelled with its deliberation")],
    }


async def seed(store: EventStore, pool: object, community: str) -> list[str]:
    ids = []
    for name, events in tickets(community).items():
        tid = f"seed-{community}-{name}"
        fixed = [e.model_copy(update={"ticket_id": tid}) if isinstance(e, EscalationOpened) else e for e in events]
        await store.append(tid, [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at)
                                 for e in fixed])
        await project_ticket(store, pool, tid)  # type: ignore[arg-type]
        ids.append(tid)
    return ids
