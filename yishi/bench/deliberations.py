"""``yishi bench deliberations``: many open deliberations waiting on timers in the embedded stack.

Each deliberation is the real thing at small size: ``start_vote`` (freeze a small roll, register, start the
BallotBox workflow) with a box that closes ``--timer`` seconds after it was started. Yishi's own worker runs
in a child process as ``yishi up`` runs it. The BallotBox opens its box (activity), waits on its deadline
timer, records a checkpoint, seals and tallies (activities). Measured: the start rate, the worker's resident
memory while they all wait, and whether and how late every timer fired — each deliberation's stream must
end with ``BoxSealed`` with reason ``deadline`` (not a withdrawal) and ``ResultRecorded``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from activities.db import create_pool
from domain.events import Question
from domain.roll import Roll, Room, Scope
from yishi.bench import Report, RssSampler, percentile
from yishi.bench._stack import bench_stack
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.settings import Settings
from yishi.temporal_client import connect


@dataclass
class DeliberationsConfig:
    count: int = 10_000
    timer: float = 60.0
    concurrency: int = 16  # more starts in flight made the SQLite-backed dev server time out (measured)
    wait: float = 900.0  # how long to wait for every timer after the last start
    database_url: str | None = None
    temporal_address: str | None = None


def _roll() -> Roll:
    rooms = [Room(room_id=f"1-1-{floor}0{unit}", building="1", entrance="1", floor=str(floor),
                  area_m2=Decimal("88.50") + unit, owner_id=f"O-{floor}0{unit}", owner_name=f"业主{floor}{unit}")
             for floor in range(1, 4) for unit in (1, 2)]
    return Roll(rooms=tuple(rooms), source="bench: 6 flats")


def _spec(timer: float) -> DeliberationSpec:
    now = datetime.now(UTC)
    return DeliberationSpec(
        procedure="bench", title="基准：定时器", rule_id="cc278-ordinary", scope=Scope(),
        question=Question(text_zh="是否同意？", text_en="Agree?"), opens_at=now,
        closes_at=now + timedelta(seconds=timer),
    )


async def _start_all(config: DeliberationsConfig, settings: Settings, pool: asyncpg.Pool, prefix: str) -> float:
    client = await connect(settings)
    roll = _roll()
    cursor = iter(range(config.count))

    async def starter() -> None:
        for n in cursor:
            await start_vote(client, pool, roll, _spec(config.timer), task_queue=settings.task_queue,
                             deliberation_id=f"{prefix}{n:06d}", checkpoint_every=timedelta(hours=1))

    started = time.perf_counter()
    await asyncio.gather(*(starter() for _ in range(config.concurrency)))
    return time.perf_counter() - started


async def _progress(pool: asyncpg.Pool, prefix: str) -> tuple[int, int]:
    """(boxes opened, boxes sealed at their deadline) among this run's deliberations."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE type = 'BoxOpened') AS opened,"
            " count(*) FILTER (WHERE type = 'BoxSealed' AND payload->>'reason' = 'deadline') AS sealed"
            " FROM events WHERE stream_id LIKE $1 AND type IN ('BoxOpened', 'BoxSealed')", prefix + "%")
    return row["opened"], row["sealed"]


async def _lags(pool: asyncpg.Pool, prefix: str) -> tuple[list[float], int]:
    """Seconds from each deadline to its seal's commit, and how many streams end with ResultRecorded."""
    async with pool.acquire() as conn:
        lags = await conn.fetch(
            "SELECT extract(epoch FROM e.recorded_at - d.closes_at)::float8 AS lag FROM events e"
            " JOIN deliberations d ON d.id = e.stream_id"
            " WHERE e.stream_id LIKE $1 AND e.type = 'BoxSealed'", prefix + "%")
        recorded = await conn.fetchval(
            "SELECT count(*) FROM streams s JOIN events e ON e.stream_id = s.stream_id AND e.seq = s.head_seq"
            " WHERE s.stream_id LIKE $1 AND e.type = 'ResultRecorded'", prefix + "%")
    return [r["lag"] for r in lags], recorded


async def _scenario(config: DeliberationsConfig, settings: Settings, worker_pid: int | None
                    ) -> dict[str, float]:
    prefix = f"tmr-{uuid.uuid4().hex[:6]}-"
    pool = await create_pool(settings.database_url, max_size=8)
    worker = RssSampler([worker_pid] if worker_pid else [], interval=0.5)
    try:
        with worker:
            start_s = await _start_all(config, settings, pool, prefix)
            last_start = time.perf_counter()
            opened, sealed = await _progress(pool, prefix)
            waiting = opened - sealed
            rss_waiting = worker.sample()
            deadline = last_start + config.timer + config.wait
            while sealed < config.count and time.perf_counter() < deadline:
                await asyncio.sleep(0.5)
                opened, sealed = await _progress(pool, prefix)
                waiting = max(waiting, opened - sealed)
            all_fired_s = time.perf_counter() - last_start
        lags, recorded = await _lags(pool, prefix)
    finally:
        await pool.close()
    return {"start_s": start_s, "waiting": waiting, "rss_waiting": rss_waiting, "rss_peak": worker.peak,
            "sealed": sealed, "recorded": recorded, "all_fired_s": all_fired_s,
            "lag_p50": percentile(lags, 50), "lag_p99": percentile(lags, 99), "lag_max": max(lags, default=0.0)}


def run(config: DeliberationsConfig) -> Report:
    with bench_stack(config.database_url, config.temporal_address) as stack:
        task_queue = f"bench-timers-{uuid.uuid4().hex[:6]}"
        worker = stack.spawn("worker", ["-m", "yishi.cli", "worker"], stack.env(YISHI_TASK_QUEUE=task_queue))
        settings = Settings(database_url=stack.database_url, temporal_address=stack.temporal_address,
                            task_queue=task_queue)
        facts = asyncio.run(_scenario(config, settings, worker.pid))
    return _report(config, facts)


def _report(config: DeliberationsConfig, f: dict[str, float]) -> Report:
    report = Report(f"yishi bench deliberations — {config.count:,} BallotBox workflows, {config.timer:.0f} s timers")
    report.add("start_per_s", config.count / f["start_s"] if f["start_s"] else 0.0,
               "deliberations/s (start_vote: roll, registry row, workflow start)")
    report.add("start_s", f["start_s"], "s for all starts")
    report.add("max_waiting", f["waiting"], "boxes open and waiting on their timer at the same time (observed)")
    report.add("worker_rss_mib", f["rss_waiting"] / 2**20, "MiB (worker, right after the last start)")
    report.add("worker_peak_rss_mib", f["rss_peak"] / 2**20, "MiB (worker, whole run)")
    report.add("sealed_at_deadline", f["sealed"], f"of {config.count:,} (BoxSealed, reason deadline)")
    report.add("result_recorded", f["recorded"], "streams ending with ResultRecorded")
    report.add("all_fired_s", f["all_fired_s"], "s from the last start until every box was sealed")
    report.add("seal_lag_p50_s", f["lag_p50"], "s from deadline to the seal's commit")
    report.add("seal_lag_p99_s", f["lag_p99"], "s")
    report.add("seal_lag_max_s", f["lag_max"], "s")
    report.target("every timer fired", f["sealed"] == config.count and f["recorded"] == config.count,
                  f"{f['sealed']:,.0f} sealed at deadline, {f['recorded']:,.0f} results of {config.count:,}")
    return report
