"""``yishi bench tickets``: the appraisal and the inbox over a million tickets (issue 19).

1. A realistic street's grid file (yishi/bench/street.py: 12 communities, 240 grids, 2,400 buildings) imported as
   the CLI imports it.
2. The read side seeded with ``--seeded`` tickets (default 1,000,000) spread over 24 months: their ``escalations``
   rows, their turns (``escalation_turns``: grid, community, street levels, joint parts) and parts, written with
   COPY as the projection would write them (the streams are not: the pages read only the read model).
3. ``--workflows`` real tickets (default 10,000) through the ``Escalation`` workflow on the embedded dev server with
   Yishi's own worker in a child process: opened by building (routed to the grid), acknowledged by the grid worker,
   resolved, rated; every twentieth one resolved by the street office through 吹哨报到 with two departments.
4. The service functions the pages call, timed: the inbox of a grid, of the street office and of a department, and
   the appraisal per grid, per worker (their own), per department and per community over a month and a half-year.
   Target: p95 < 1 s each.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from activities.db import create_pool
from activities.eventstore import EventStore
from activities.ticket_projection import TURN_COLUMNS, beijing_day, is_settled
from domain.grid_appraisal import period_of
from domain.legal_calendar import BEIJING
from yishi.bench import Report, percentile
from yishi.bench._stack import bench_stack
from yishi.bench.street import person, street_csv
from yishi.services.appraisal import rebuild_turn_days
from yishi.settings import Settings

STREET, COMMUNITIES, GRIDS, BUILDINGS = "BK", 12, 20, 10
DEPTS = ("dept:housing", "dept:urban", "dept:market", "dept:planning")
CATEGORIES = ("housing", "urban_management", "market_regulation", "planning")


@dataclass
class TicketsConfig:
    seeded: int = 1_000_000
    workflows: int = 10_000
    concurrency: int = 24
    samples: int = 100
    database_url: str | None = None
    temporal_address: str | None = None


def community(c: int) -> str:
    return f"{STREET.lower()}{c:02d}"


def grid_code(c: int, g: int) -> str:
    return f"{STREET}-{c:02d}-{g:02d}"


# ---- seeding the read side --------------------------------------------------------------------------------------

TURN_COLS = TURN_COLUMNS
ESC_COLS = ("ticket_id", "parent_id", "community", "category", "subject", "initiator", "initiator_kind", "status",
            "level", "level_key", "org", "transfer_to", "ack_due", "resolve_due", "opened_at", "updated_at",
            "last_seq", "state", "channel", "grid", "building", "ladder_version", "acknowledged", "next_due", "joint")
PART_COLS = ("ticket_id", "part", "department", "org", "status", "reported", "report_due", "resolve_due", "next_due",
             "opened_at")


class Seeder:
    """Tickets as the projection would write them: most closed, the last month's partly open."""

    def __init__(self, now: datetime, seed: int = 19) -> None:
        self.now, self.rng = now, random.Random(seed)
        self.esc: list[tuple[Any, ...]] = []
        self.turns: list[tuple[Any, ...]] = []
        self.parts: list[tuple[Any, ...]] = []

    def turn(self, tid: str, unit: str, kind: str, where: tuple[str, str, str, str], key: str, org: str,
             start: datetime, late: bool) -> tuple[datetime | None, datetime | None, datetime]:
        r = self.rng
        ack_due, resolve_due = start + timedelta(hours=24), start + timedelta(days=7)
        ack = start + timedelta(minutes=r.randint(5, 40 * 60 if late else 20 * 60))
        done = start + timedelta(hours=r.randint(2, 9 * 24 if late else 6 * 24))
        ack_at = ack if ack < self.now else None
        done_at = done if done < self.now and ack_at else None
        follow = (r.choice(("satisfied", "satisfied", "satisfied", "basically_satisfied", "not_satisfied"))
                  if done_at and kind == "level" else None)
        self.turns.append((tid, unit, kind, *where, key, org, start, ack_due, resolve_due, ack_at, done_at, done_at,
                           follow, False, beijing_day(start), is_settled(ack_at, done_at, done_at)))
        return ack_at, done_at, resolve_due

    def ticket(self, n: int) -> None:
        r = self.rng
        c, g = r.randint(1, COMMUNITIES), r.randint(1, GRIDS)
        tid, comm, code = f"seed-{n:07d}", community(c), grid_code(c, g)
        opened = self.now - timedelta(minutes=r.randint(1, 730 * 24 * 60))
        channel = r.choices(("resident", "grid_report", "secretary", "hotline"), (88, 6, 3, 3))[0]
        category = r.choice(CATEGORIES)
        where = (comm, code, channel, category)
        first = ("secretary", f"secretary:{comm}") if channel == "secretary" else ("grid", f"grid:{comm}:{code}")
        late = r.random() < 0.15
        ack, done, due = self.turn(tid, "a1", "level", where, *first, opened, late)
        owner, key, start = first[1], first[0], opened
        if done is None and ack is None and self.now > opened + timedelta(hours=24) and first[0] == "grid":
            owner, key, start = f"committee:{comm}", "community", opened + timedelta(hours=24)
            ack, done, due = self.turn(tid, "a2", "level", where, key, owner, start, False)
        if r.random() < 0.03:  # 吹哨报到 on two departments
            for p, dept in enumerate(r.sample(DEPTS, 2), start=1):
                rep, fin, _ = self.turn(tid, f"p{p}.1", "part", where, "part", dept, start + timedelta(hours=1), late)
                status = "done" if fin else "open"
                self.parts.append((tid, p, dept, dept, status, rep is not None, start + timedelta(hours=25),
                                   start + timedelta(days=6), None if fin else start + timedelta(days=6),
                                   start + timedelta(hours=1)))
        status = "closed" if done else ("acknowledged" if ack else "assigned")
        open_ = status != "closed"
        self.esc.append((tid, None, comm, category, f"基准工单 {n}", "O-1", "owner", status, 0, key,
                         owner if open_ else None, None, start + timedelta(hours=24) if open_ else None,
                         due if open_ else None, opened, done or opened, 5, "{}", channel, code,
                         str(r.randint(1, 200)), 0, ack is not None, (due if ack else start + timedelta(hours=24))
                         if open_ else None, False))

    async def flush(self, conn: asyncpg.Connection) -> None:
        await conn.copy_records_to_table("escalations", records=self.esc, columns=ESC_COLS)
        await conn.copy_records_to_table("escalation_turns", records=self.turns, columns=TURN_COLS)
        if self.parts:
            await conn.copy_records_to_table("escalation_parts", records=self.parts, columns=PART_COLS)
        self.esc, self.turns, self.parts = [], [], []


async def seed_read_side(database_url: str, count: int, now: datetime) -> float:
    """Write the rows on a connection of its own: COPY sends jsonb in its binary form (version byte, then the
    text), which the pool's codec (JSON text, for queries) does not."""
    started = time.perf_counter()
    seeder = Seeder(now)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.set_type_codec("jsonb", encoder=lambda v: b"\x01" + v.encode(), decoder=lambda v: v[1:].decode(),
                                  schema="pg_catalog", format="binary")
        for n in range(count):
            seeder.ticket(n)
            if len(seeder.esc) >= 20_000:
                await seeder.flush(conn)
        await seeder.flush(conn)
        async with conn.transaction():
            await rebuild_turn_days(conn)
        for table in ("escalations", "escalation_turns", "escalation_parts", "structure_terms", "turn_days"):
            await conn.execute(f"VACUUM ANALYZE {table}")  # one statement each: VACUUM runs outside a transaction
    finally:
        await conn.close()
    return time.perf_counter() - started


# ---- real workflows ----------------------------------------------------------------------------------------------


async def one_ticket(client: Any, n: int, task_queue: str) -> list[float]:
    """Open, route, acknowledge, resolve and rate one ticket; every 20th through 吹哨报到. Returns the seconds of
    each step (for the figures)."""
    from workflows.escalation import TicketAction
    from workflows.escalation_joint import PartAction, Whistle
    from yishi.services.escalations import TicketRequest, act, act_part, open_ticket, whistle

    c, g, b = n % COMMUNITIES + 1, n % GRIDS + 1, n % BUILDINGS + 1
    comm = community(c)
    joint = n % 20 == 0
    building = str((g - 1) * BUILDINGS + b)
    request = TicketRequest(community=comm, category="market_regulation", subject=f"基准工单 {n}", initiator=f"O-{n}",
                            initiator_kind="owner", building=building, start_level="street" if joint else None)
    times, started = [], time.perf_counter()
    tid, handle = await open_ticket(client, request, task_queue=task_queue, ticket_id=f"bench-{uuid.uuid4().hex[:10]}")
    times.append(time.perf_counter() - started)
    if joint:
        street = {"role": "street_office", "actor": "街道", "org": "street"}
        await _retry(lambda: whistle(client, tid, Whistle(**street, departments=DEPTS[:2], text="综合执法")))
        for part, dept in enumerate(DEPTS[:2], start=1):
            arg = PartAction(role="department", actor="经办", org=dept, part=part, text="已办结")
            await act_part(client, tid, "resolve_part", arg)
    else:
        org = f"grid:{comm}:{grid_code(c, g)}"
        worker = {"role": "grid_worker", "actor": person(c * 100 + (g + 1) // 2), "org": org}
        await _retry(lambda: act(client, tid, "acknowledge", TicketAction(**worker)))
        await act(client, tid, "resolve", TicketAction(**worker, outcome="resolved", text="已处理"))
    await act(client, tid, "follow_up", TicketAction(role="owner", actor=f"O-{n}", outcome="satisfied"))
    await handle.result()
    times.append(time.perf_counter() - started)
    return times


async def _retry(step: Callable[[], Awaitable[Any]]) -> Any:
    """The first action right after the start may find the ticket not yet routed (its state allows nothing yet)."""
    from yishi.services.escalations import RefusedError

    for attempt in range(100):
        try:
            return await step()
        except RefusedError:
            if attempt == 99:
                raise
            await asyncio.sleep(0.1)
    return None


async def run_workflows(settings: Settings, count: int, concurrency: int) -> tuple[float, list[float], list[float]]:
    from yishi.temporal_client import connect

    client = await connect(settings)
    gate = asyncio.Semaphore(concurrency)
    opened: list[float] = []
    whole: list[float] = []

    async def one(n: int) -> None:
        async with gate:
            times = await one_ticket(client, n, settings.task_queue)
            opened.append(times[0])
            whole.append(times[-1])

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return time.perf_counter() - started, opened, whole


# ---- the queries the pages make ----------------------------------------------------------------------------------


async def time_queries(pool: asyncpg.Pool, samples: int, now: datetime) -> dict[str, list[float]]:
    from yishi.services.appraisal import appraisal
    from yishi.services.escalations import inbox

    rng = random.Random(7)
    month = period_of((now.astimezone(BEIJING) - timedelta(days=40)).strftime("%Y-%m"))
    half = period_of(f"{now.astimezone(BEIJING).year - 1}-H2")

    def grid_org() -> str:
        c = rng.randint(1, COMMUNITIES)
        return f"grid:{community(c)}:{grid_code(c, rng.randint(1, GRIDS))}"

    kinds: dict[str, Callable[[], Awaitable[Any]]] = {
        "inbox_grid": lambda: inbox(pool, [grid_org()]),
        "inbox_street": lambda: inbox(pool, "street"),
        "inbox_department": lambda: inbox(pool, rng.choice(DEPTS)),
        "inbox_committee": lambda: inbox(pool, f"committee:{community(rng.randint(1, COMMUNITIES))}"),
        "appraisal_grid_month": lambda: appraisal(pool, "grid", *month, now,
                                                  community=community(rng.randint(1, COMMUNITIES))),
        "appraisal_worker_own_half": lambda: appraisal(pool, "worker", *half, now,
                                                       key=person(rng.randint(1, COMMUNITIES) * 100
                                                                  + rng.randint(1, GRIDS // 2))),
        "appraisal_department_half": lambda: appraisal(pool, "department", *half, now),
        "appraisal_community_half": lambda: appraisal(pool, "community", *half, now),
        "appraisal_grid_half_street": lambda: appraisal(pool, "grid", *half, now),
        "appraisal_channel_month": lambda: appraisal(pool, "channel", *month, now),
    }
    out: dict[str, list[float]] = {}
    for name, query in kinds.items():
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            await query()
            times.append(time.perf_counter() - started)
        out[name] = times
    return out


# ---- the run ----------------------------------------------------------------------------------------------------


async def _scenario(config: TicketsConfig, settings: Settings) -> dict[str, Any]:
    from yishi.services.structure import import_grids

    pool = await create_pool(settings.database_url, max_size=8)
    facts: dict[str, Any] = {}
    try:
        store = EventStore(pool)
        now = datetime.now(UTC)
        grid = await import_grids(store, pool, street_csv(STREET, COMMUNITIES, GRIDS, BUILDINGS), "street.csv",
                                  street=STREET.lower(), by="bench", at=now - timedelta(days=800))
        facts["import_s"], facts["import_events"] = grid.seconds, sum(grid.appended.values())
        facts["seed_s"] = await seed_read_side(settings.database_url, config.seeded, now)
        facts["workflows_s"], facts["open"], facts["whole"] = await run_workflows(settings, config.workflows,
                                                                                  config.concurrency)
        async with pool.acquire() as conn:
            facts["tickets"] = await conn.fetchval("SELECT count(*) FROM escalations")
            facts["turns"] = await conn.fetchval("SELECT count(*) FROM escalation_turns")
            facts["closed_real"] = await conn.fetchval(
                "SELECT count(*) FROM escalations WHERE ticket_id LIKE 'bench-%' AND status = 'closed'")
            await conn.execute("ANALYZE escalations; ANALYZE escalation_turns; ANALYZE escalation_parts")
        facts["queries"] = await time_queries(pool, config.samples, datetime.now(UTC))
    finally:
        await pool.close()
    return facts


def run(config: TicketsConfig) -> Report:
    with bench_stack(config.database_url, config.temporal_address) as stack:
        task_queue = f"bench-tickets-{uuid.uuid4().hex[:6]}"
        stack.spawn("worker", ["-m", "yishi.cli", "worker"], stack.env(YISHI_TASK_QUEUE=task_queue))
        settings = Settings(database_url=stack.database_url, temporal_address=stack.temporal_address,
                            task_queue=task_queue)
        facts = asyncio.run(_scenario(config, settings))
    return _report(config, facts)


def _report(config: TicketsConfig, f: dict[str, Any]) -> Report:
    report = Report(f"yishi bench tickets — {config.seeded:,} seeded tickets, {config.workflows:,} real workflows")
    report.add("grid_import_s", f["import_s"], f"s: 12 communities, 240 grids, 2,400 buildings ({f['import_events']:,}"
               " events)")
    report.add("seed_s", f["seed_s"], f"s to write {config.seeded:,} tickets' rows (COPY)")
    report.add("tickets", f["tickets"], "tickets in the read model")
    report.add("turns", f["turns"], "turns (the appraisal's rows)")
    report.add("workflows_s", f["workflows_s"], f"s for {config.workflows:,} tickets opened, handled and closed")
    report.add("workflows_per_s", config.workflows / f["workflows_s"] if f["workflows_s"] else 0.0, "tickets/s")
    report.add("closed_real", f["closed_real"], f"of {config.workflows:,} real tickets closed")
    report.add("open_p95_ms", percentile(f["open"], 95) * 1000, "ms to start a ticket (p95)")
    report.add("ticket_p50_s", percentile(f["whole"], 50), "s from start to close (p50)")
    worst = 0.0
    for name, times in f["queries"].items():
        p95 = percentile(times, 95)
        worst = max(worst, p95)
        report.add(f"{name}_p50_ms", percentile(times, 50) * 1000, "ms")
        report.add(f"{name}_p95_ms", p95 * 1000, "ms")
    report.target("appraisal and inbox p95 < 1 s", worst < 1.0, f"slowest p95 {worst * 1000:.0f} ms")
    report.target("every real ticket closed", f["closed_real"] == config.workflows,
                  f"{f['closed_real']} of {config.workflows}")
    report.extra["seeded"] = config.seeded
    report.extra["workflows"] = config.workflows
    return report
