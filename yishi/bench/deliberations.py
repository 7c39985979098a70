"""``yishi bench deliberations``: many open deliberations waiting on timers in the embedded stack.

Each deliberation is the real thing at small size: ``start_vote`` (freeze a small roll, register, start the
BallotBox workflow) with a box that closes ``--timer`` seconds after it was started. Yishi's own worker runs
in a child process as ``yishi up`` runs it. The BallotBox opens its box (activity), waits on its deadline
timer, seals and tallies (activities; before the patch ``box-seal-without-final-checkpoint`` it also recorded a
checkpoint right before the seal). Measured: the start rate, the worker's resident memory while they all wait,
whether and how late every timer fired — each deliberation's stream must end with ``BoxSealed`` with reason
``deadline`` (not a withdrawal) and ``ResultRecorded`` — and the size of a sample of the histories.
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
from yishi.bench import Report, RssSampler, cpu_seconds, percentile
from yishi.bench._stack import bench_stack
from yishi.embedded import DURABLE_SQLITE
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.settings import Settings
from yishi.temporal_client import connect


@dataclass
class DeliberationsConfig:
    count: int = 10_000
    timer: float = 60.0
    concurrency: int = 16  # starts in flight; the server is paced by ``backlog`` below, not by this
    # Most boxes started but not yet open. Starting faster than the server opens boxes only queues work in
    # the dev server's single SQLite connection until its writes time out (seen at 64 starts in flight).
    backlog: int = 200
    worker_cache: int = 0  # workflows the worker keeps in memory; 0 = the runtime's default (1000)
    # The dev server's SQLite sync: "full" as `yishi up` runs it; "normal" (bench only) syncs the log at
    # checkpoints, so a power loss (not a killed server) may lose the last commits.
    sqlite_sync: str = "full"
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


class _Pacer:
    """Backpressure on the starts: a start waits while ``backlog`` boxes are started but not yet open."""

    def __init__(self, pool: asyncpg.Pool, prefix: str, backlog: int) -> None:
        self.pool, self.prefix, self.backlog = pool, prefix, max(1, backlog)
        self.started = self.opened = 0
        self.paused_s = 0.0
        self._room = asyncio.Event()
        self._room.set()

    async def admit(self) -> None:
        if not self._room.is_set():
            waited = time.perf_counter()
            await self._room.wait()
            self.paused_s += time.perf_counter() - waited
        self.started += 1
        if self.started - self.opened >= self.backlog:
            self._room.clear()

    async def watch(self) -> None:
        """Count the opened boxes twice a second and let the starters go on while there is room."""
        while True:
            self.opened, _ = await _progress(self.pool, self.prefix)
            if self.started - self.opened < self.backlog:
                self._room.set()
            await asyncio.sleep(0.5)


async def _start_all(config: DeliberationsConfig, settings: Settings, pool: asyncpg.Pool, prefix: str
                     ) -> tuple[float, float]:
    """Start every deliberation; return (seconds for all starts, seconds the starters waited on the backlog)."""
    client = await connect(settings)
    roll = _roll()
    cursor = iter(range(config.count))
    pacer = _Pacer(pool, prefix, config.backlog)

    async def starter() -> None:
        for n in cursor:
            await pacer.admit()
            await start_vote(client, pool, roll, _spec(config.timer), task_queue=settings.task_queue,
                             deliberation_id=f"{prefix}{n:06d}", checkpoint_every=timedelta(hours=1))

    started = time.perf_counter()
    watcher = asyncio.create_task(pacer.watch())
    try:
        await asyncio.gather(*(starter() for _ in range(config.concurrency)))
    finally:
        watcher.cancel()
    return time.perf_counter() - started, pacer.paused_s


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


async def _scenario(config: DeliberationsConfig, settings: Settings, worker_pid: int | None,
                    server_pid: int | None) -> dict[str, float]:
    prefix = f"tmr-{uuid.uuid4().hex[:6]}-"
    pool = await create_pool(settings.database_url, max_size=8)
    worker = RssSampler([worker_pid] if worker_pid else [], interval=0.5)
    try:
        with worker:
            cpu_before = cpu_seconds([server_pid]), cpu_seconds([worker_pid])
            first_start = time.perf_counter()
            start_s, paused_s = await _start_all(config, settings, pool, prefix)
            last_start = time.perf_counter()
            opened, sealed = await _progress(pool, prefix)
            waiting = opened - sealed
            rss_waiting = worker.sample()
            all_opened_s = 0.0 if opened < config.count else start_s
            deadline = last_start + config.timer + config.wait
            while sealed < config.count and time.perf_counter() < deadline:
                await asyncio.sleep(0.5)
                opened, sealed = await _progress(pool, prefix)
                waiting = max(waiting, opened - sealed)
                if not all_opened_s and opened >= config.count:
                    all_opened_s = time.perf_counter() - first_start
            all_fired_s = time.perf_counter() - last_start
            server_cpu = cpu_seconds([server_pid]) - cpu_before[0]
            worker_cpu = cpu_seconds([worker_pid]) - cpu_before[1]
        lags, recorded = await _lags(pool, prefix)
        history_events, history_activities = await _history_size(settings, prefix, config.count)
    finally:
        await pool.close()
    return {"start_s": start_s, "paused_s": paused_s, "all_opened_s": all_opened_s,
            "server_cpu": server_cpu if server_pid else 0.0, "worker_cpu": worker_cpu,
            "waiting": waiting, "rss_waiting": rss_waiting, "rss_peak": worker.peak,
            "sealed": sealed, "recorded": recorded, "all_fired_s": all_fired_s,
            "history_events": history_events, "history_activities": history_activities,
            "lag_p50": percentile(lags, 50), "lag_p99": percentile(lags, 99), "lag_max": max(lags, default=0.0)}


HISTORY_SAMPLE = 200


async def _history_size(settings: Settings, prefix: str, count: int) -> tuple[float, float]:
    """Mean history events and mean activities scheduled per deliberation, over an even sample of at most
    ``HISTORY_SAMPLE`` workflows (each one's latest run), read after the CPU figures were taken."""
    client = await connect(settings)
    events = activities = read = 0
    for n in range(0, count, max(1, count // HISTORY_SAMPLE)):
        history = await client.get_workflow_handle(f"{prefix}{n:06d}").fetch_history()
        events += len(history.events)
        activities += sum(e.HasField("activity_task_scheduled_event_attributes") for e in history.events)
        read += 1
    return (events / read, activities / read) if read else (0.0, 0.0)


def server_config(count: int) -> dict[str, object]:
    """Dynamic config of the bench's own dev server (never `yishi up`'s), for thousands of open workflows.

    The dev server has one history shard, and its mutable-state cache holds 512 workflows per shard: with
    more open boxes, each timer firing reloads the workflow from SQLite. Eager activities hand an activity
    to the worker in the reply to the workflow task that scheduled it (no matching round trip, one write
    less); one task-queue partition lets a single worker's pollers match tasks in memory instead of writing
    them to the store and reading them back.
    """
    return {
        "history.cacheMaxSize": max(512, count + 1000),
        "system.enableActivityEagerExecution": True,
        "matching.numTaskqueueReadPartitions": 1,
        "matching.numTaskqueueWritePartitions": 1,
    }


def run(config: DeliberationsConfig) -> Report:
    with bench_stack(config.database_url, config.temporal_address, temporal_config=server_config(config.count),
                     temporal_sqlite={**DURABLE_SQLITE, "synchronous": config.sqlite_sync}) as stack:
        task_queue = f"bench-timers-{uuid.uuid4().hex[:6]}"
        tuning = {"YISHI_WORKER_MAX_CACHED_WORKFLOWS": str(config.worker_cache)} if config.worker_cache else {}
        worker = stack.spawn("worker", ["-m", "yishi.cli", "worker"],
                             stack.env(YISHI_TASK_QUEUE=task_queue, **tuning))
        settings = Settings(database_url=stack.database_url, temporal_address=stack.temporal_address,
                            task_queue=task_queue)
        server_pid = stack.temporal.pid if stack.temporal else None  # None: a server we did not start
        facts = asyncio.run(_scenario(config, settings, worker.pid, server_pid))
    return _report(config, facts)


def _report(config: DeliberationsConfig, f: dict[str, float]) -> Report:
    report = Report(f"yishi bench deliberations — {config.count:,} BallotBox workflows, {config.timer:.0f} s timers")
    report.add("start_per_s", config.count / f["start_s"] if f["start_s"] else 0.0,
               "deliberations/s (start_vote: roll, registry row, workflow start)")
    report.add("start_s", f["start_s"], "s for all starts")
    report.add("start_paused_s", f["paused_s"],
               f"s the starters waited (summed) while {config.backlog} boxes were started but not open")
    report.add("all_opened_s", f["all_opened_s"], "s from the first start until every box was open")
    report.add("max_waiting", f["waiting"], "boxes open and waiting on their timer at the same time (observed)")
    report.add("worker_rss_mib", f["rss_waiting"] / 2**20, "MiB (worker, right after the last start)")
    report.add("worker_peak_rss_mib", f["rss_peak"] / 2**20, "MiB (worker, whole run)")
    report.add("sealed_at_deadline", f["sealed"], f"of {config.count:,} (BoxSealed, reason deadline)")
    report.add("result_recorded", f["recorded"], "streams ending with ResultRecorded")
    report.add("all_fired_s", f["all_fired_s"], "s from the last start until every box was sealed")
    report.add("seal_lag_p50_s", f["lag_p50"], "s from deadline to the seal's commit")
    report.add("seal_lag_p99_s", f["lag_p99"], "s")
    report.add("seal_lag_max_s", f["lag_max"], "s")
    report.add("history_events_per_deliberation", f["history_events"],
               f"events in a BallotBox history (mean of up to {HISTORY_SAMPLE} sampled)")
    report.add("activities_per_deliberation", f["history_activities"], "activities scheduled in that history")
    report.add("server_cpu_ms_per_deliberation", f["server_cpu"] * 1000 / config.count,
               "ms of the embedded dev server's CPU (0: not started by the bench)")
    report.add("worker_cpu_ms_per_deliberation", f["worker_cpu"] * 1000 / config.count, "ms of the worker's CPU")
    store = (f"Temporal at {config.temporal_address} (its own store settings)" if config.temporal_address
             else f"dev server SQLite synchronous={config.sqlite_sync}"
             + ("" if config.sqlite_sync == "full" else " (bench only, not durable against power loss)"))
    report.notes.append(f"{store}; worker cache {config.worker_cache or 'default (1000)'}; backlog {config.backlog}")
    report.target("every timer fired", f["sealed"] == config.count and f["recorded"] == config.count,
                  f"{f['sealed']:,.0f} sealed at deadline, {f['recorded']:,.0f} results of {config.count:,}")
    return report
