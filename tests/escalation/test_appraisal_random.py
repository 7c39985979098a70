"""The appraisal in SQL equals the domain's fold on a random month of tickets (seeded, so the same every run): every
dimension, a period of whole days (settled turns from ``turn_days``) and one that is not (every turn read), several
as-of moments, workers who change in the middle of a day, at midnight, and two who share a grid; ``turn_days`` kept
turn by turn by the projection equals the one rebuilt from the turns in one statement."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import pytest

from activities.escalation import project_ticket
from activities.eventstore import NewEvent
from domain.escalation import (
    Acknowledged,
    Cancelled,
    DeadlineMissed,
    Escalated,
    EscalationOpened,
    FollowUpAnswered,
    LevelAssigned,
    Reopened,
    Resolved,
    fold,
)
from domain.grid_appraisal import DIMENSIONS, appraise, period_of
from domain.ladders import default_version
from domain.legal_calendar import BEIJING
from tests.escalation.test_appraisal import counts
from yishi.services import structure
from yishi.services.appraisal import appraisal, rebuild_turn_days

START = datetime(2026, 3, 1, tzinfo=BEIJING)


def t(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BEIJING)


class Maker:
    def __init__(self, c: str, rng: random.Random) -> None:
        self.c, self.rng, self.levels = c, rng, default_version(c).levels_for(c, "housing")

    def assigned(self, n: int, level: int, key: str, org: str, at: datetime, reason: str) -> LevelAssigned:
        return LevelAssigned(at=at, n=n, level=level, level_key=key, org=org, ack_due=at + timedelta(hours=24),
                             resolve_due=at + timedelta(days=5), reason=reason)  # type: ignore[arg-type]

    def turn(self, events: list, org: str, at: datetime) -> tuple[datetime, bool]:
        """Acknowledge and resolve (or not) the turn that started at ``at``; returns when it ended, resolved or not."""
        r = self.rng
        if r.random() < 0.8:
            ack = at + timedelta(minutes=r.randint(1, 40 * 60))
            events.append(Acknowledged(at=ack, org=org, by="x"))
            if r.random() < 0.75:
                done = ack + timedelta(minutes=r.randint(1, 8 * 24 * 60))
                events.append(Resolved(at=done, org=org, by="x", outcome="resolved", resolution="r"))
                return done, True
            return ack, False
        return at, False

    def ticket(self, tid: str, grid: str, at: datetime) -> list:
        r, c = self.rng, self.c
        org = f"grid:{c}:{grid}"
        events: list = [EscalationOpened(at=at, ticket_id=tid, parent_id=None, community=c, category="housing",
                                         subject=tid, detail="", initiator="O", initiator_kind="owner",
                                         levels=self.levels, outcomes=("resolved",), channel=r.choice(
                                             ("resident", "grid_report", "secretary")), grid=grid),
                        self.assigned(1, 0, "grid", org, at, "opened")]
        if r.random() < 0.1:
            events.append(Cancelled(at=at + timedelta(hours=r.randint(1, 30)), reason="x"))
            return events
        end, resolved = self.turn(events, org, at)
        if not resolved and end == at and r.random() < 0.6:  # never acknowledged: escalated at its deadline
            due = at + timedelta(hours=24)
            events += [DeadlineMissed(at=due, n=1, org=org, deadline="acknowledge", due_at=due),
                       Escalated(at=due, from_level=0, to_level=1, reason="ack"),
                       self.assigned(2, 1, "community", f"committee:{c}", due, "escalated")]
            end, resolved = self.turn(events, f"committee:{c}", due)
        if resolved and r.random() < 0.8:
            answer = r.choice(("satisfied", "basically_satisfied", "not_satisfied"))
            when = end + timedelta(hours=r.randint(1, 48))
            events.append(FollowUpAnswered(at=when, answer=answer, by="O"))  # type: ignore[arg-type]
            if answer == "not_satisfied":
                last = [e for e in events if isinstance(e, LevelAssigned)][-1]
                events += [Reopened(at=when, level=last.level, reason="x"),
                           self.assigned(last.n + 1, last.level, last.level_key, last.org, when, "reopened")]
                self.turn(events, last.org, when)
        return events


@pytest.fixture
async def random_month(store, pool):  # noqa: ANN201
    c = f"rnd{uuid.uuid4().hex[:6]}"
    grid_csv = f"社区,网格编号,楼栋,网格员\r\n{c},G1,1,A-{c}\r\n{c},G2,2,C-{c}\r\n{c},G3,3,E-{c}\r\n".encode()
    await structure.import_grids(store, pool, grid_csv, "g.csv", street="rnd", by="t", at=t(1) - timedelta(days=30))
    changes = [(t(10, 8), structure.worker("G2", "grid_worker", f"D-{c}", t(10, 8), "t")),  # two share G2
               (t(15, 14, 30), structure.unworker("G1", "grid_worker", f"A-{c}", "调岗", t(15, 14, 30), "t")),
               (t(15, 14, 30), structure.worker("G1", "grid_worker", f"B-{c}", t(15, 14, 30), "t")),
               (t(20), structure.unworker("G3", "grid_worker", f"E-{c}", "调岗", t(20), "t")),  # at midnight
               (t(20), structure.worker("G3", "grid_worker", f"F-{c}", t(20), "t"))]
    for _, decide in changes:
        await structure.change(store, pool, c, decide)
    rng = random.Random(20260301)
    maker = Maker(c, rng)
    tickets = []
    for n in range(90):
        day = rng.choice([*range(1, 32), 10, 15, 15, 15, 20, 20])  # extra on the days a worker changes
        at = t(day, rng.randint(0, 23), rng.randint(0, 59))
        tid = f"rnd-{c}-{n}"
        events = maker.ticket(tid, rng.choice(("G1", "G2", "G3")), at)
        await store.append(tid, [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at)
                                 for e in events])
        await project_ticket(store, pool, tid)
        tickets.append(fold(events))
    return c, tickets, (await structure.load_structure(store, c))[0]


def periods() -> list[tuple[datetime, datetime]]:
    return [period_of("2026-03"), period_of("2026-H1"), (t(1, 3), t(31, 3))]  # the last not of whole days


@pytest.mark.parametrize("dimension", DIMENSIONS)
async def test_sql_equals_the_domain_on_a_random_month(random_month, pool, dimension: str) -> None:
    c, tickets, s = random_month

    def workers(org: str, when: datetime) -> list[str]:
        return [term.person for term in s.workers(org.rsplit(":", 1)[1], when)]

    for start, end in periods():
        for as_of in (t(12, 12), t(31, 23, 59), datetime(2026, 4, 20, tzinfo=BEIJING)):
            sql = await appraisal(pool, dimension, start, end, as_of, community=c)
            dom = appraise(tickets, dimension, start, end, as_of, workers)
            where = (dimension, start, as_of)
            assert {k: counts(v) for k, v in sql.cells.items()} == {k: counts(v) for k, v in dom.cells.items()}, where
            assert {k: (v.respond_us, v.resolve_us) for k, v in sql.cells.items()} == {
                k: (v.respond_us, v.resolve_us) for k, v in dom.cells.items()}, where
            assert counts(sql.total) == counts(dom.total), where
    if dimension == "worker":
        assert {f"A-{c}", f"B-{c}", f"C-{c}", f"D-{c}", f"E-{c}", f"F-{c}"} <= set(sql.cells)


async def test_turn_days_kept_by_the_projection_equals_the_rebuild(random_month, pool) -> None:
    c, _, _ = random_month
    query = ("SELECT day, org, kind, level_key, channel, grid, assigned, ack_met, ack_missed, resolve_met,"
             " resolve_missed, satisfied, basically_satisfied, not_satisfied, reopened, responded, respond_us,"
             " resolved, resolve_us FROM turn_days WHERE community = $1 AND assigned <> 0 ORDER BY 1, 2, 3, 4, 5, 6")
    async with pool.acquire() as conn:
        kept = [tuple(r) for r in await conn.fetch(query, c)]
        async with conn.transaction():
            await rebuild_turn_days(conn)
            rebuilt = [tuple(r) for r in await conn.fetch(query, c)]
    assert kept and kept == rebuilt
