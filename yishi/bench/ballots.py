"""``yishi bench ballots``: ballot ingest end to end through HTTP into one open deliberation.

What a phone does, against ``yishi web`` started as ``yishi up`` starts it: GET the personal link (the
ballot page with its nonce and CSRF field), then POST ``choice``; the answer is the receipt page, sent only
after the ballot's group commit. The GETs are a warm-up phase, not timed in ``ballots_per_s`` (their rate is
reported as ``page_per_s``): the figure is the ingest path, POST → decide → commit → receipt.

Baselines measured in the same run:
* ``noop_per_s`` — ``GET /_bench/noop`` from the same server under the same load (the HTTP ceiling: the same
  uvicorn, middleware and connection handling, no database); the route exists only when
  ``YISHI_BENCH_NOOP`` is set, which only this bench does. ``static_per_s`` is ``/static/yishi.css`` beside it
  (Starlette reads static files in a thread, so it is slower than the no-op route);
* ``naive_commit_per_s`` — one INSERT and one COMMIT per ballot with asyncpg into a scratch table of the same
  database, with as many concurrent tasks as HTTP clients and a pool as large as the web app's;
* ``temporal_update_per_s`` — ballots as Temporal updates to one workflow (see :mod:`yishi.bench._temporal`).

Each simulated phone sends its own address in ``X-Forwarded-For`` (as the reverse proxy in front of
``yishi web --proxy-headers`` would), so per-address rate limits apply per phone as in production.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from activities.db import create_pool
from activities.eventstore import EventStore
from domain.roll import load_roll
from yishi.bench import Report, cpu_seconds, percentile
from yishi.bench._setup import links_for, open_deliberation, roll_csv, spec
from yishi.bench._stack import bench_stack
from yishi.bench._temporal import measure_updates
from yishi.bench.load import LoadProcess, LoadResult, Req

FORM_RE = r'name="nonce" value="([0-9a-f]+)">\s*<input type="hidden" name="csrf" value="([0-9a-f]+)"'
RECEIPT_RE = r'id="receipt-code">(\d+-[0-9A-F]{5}-[0-9A-F]{5})<'
CHOICES = ("for", "against", "abstain")


@dataclass
class BallotsConfig:
    ballots: int = 3000
    clients: int = 64
    rate: float = 500.0
    open_seconds: float = 4.0
    database_url: str | None = None
    temporal_address: str | None = None
    db_pool: int = 10  # the web app's default YISHI_DB_POOL_MAX

    @property
    def open_ballots(self) -> int:
        return max(1, int(self.rate * self.open_seconds))


@dataclass
class CpuUse:
    """Where the closed-loop run's CPU went: web process, PostgreSQL (all backends), load generator."""

    web_s: float
    db_s: float
    client_s: float
    wall_s: float
    ballots: int

    def add_to(self, report: Report) -> None:
        per = 1000 / max(self.ballots, 1)
        report.add("web_cpu_ms_per_ballot", self.web_s * per, "ms CPU in the web process")
        report.add("db_cpu_ms_per_ballot", self.db_s * per, "ms CPU in PostgreSQL (0 if external)")
        report.add("client_cpu_ms_per_ballot", self.client_s * per, "ms CPU in the load generator")
        report.add("machine_busy", (self.web_s + self.db_s + self.client_s) / (self.wall_s * os.cpu_count()), "share "
                   "of all cores used by the three during the run")


def _address(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


async def _setup(database_url: str, secret_key: str, owners: int) -> tuple[str, list[str]]:
    pool = await create_pool(database_url, max_size=4)
    try:
        roll = load_roll(roll_csv(owners), "bench-roll.csv")
        deliberation_id = f"bench-{uuid.uuid4().hex[:10]}"
        store = EventStore(pool)
        await open_deliberation(pool, store, roll, deliberation_id, spec("基准：投票吞吐"))
        links = await links_for(store, deliberation_id, roll, secret_key)
    finally:
        await pool.close()
    return deliberation_id, [link.token for link in links]


async def naive_commits(database_url: str, count: int, concurrency: int, pool_size: int) -> float:
    """INSERT + COMMIT per ballot, ``concurrency`` tasks over a pool of ``pool_size``; per second."""
    table = f"bench_naive_{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(database_url, min_size=pool_size, max_size=pool_size)
    try:
        async with pool.acquire() as conn:
            await conn.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, owner_id text NOT NULL,"
                               " payload jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())")
        cursor = iter(range(count))
        payload = json.dumps({"choice": "for", "channel": "online", "question_id": "main"})

        async def task() -> None:
            for n in cursor:
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute(f"INSERT INTO {table} (owner_id, payload) VALUES ($1, $2::jsonb)",
                                       f"O-{n}", payload)

        started = time.perf_counter()
        await asyncio.gather(*(task() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        async with pool.acquire() as conn:
            written = await conn.fetchval(f"SELECT count(*) FROM {table}")
            await conn.execute(f"DROP TABLE {table}")
        if written != count:
            raise RuntimeError(f"naive baseline wrote {written} rows, expected {count}")
        return count / seconds
    finally:
        await pool.close()


async def _stream_counts(database_url: str, deliberation_id: str) -> tuple[int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        ballots = await conn.fetchval("SELECT count(*) FROM events WHERE stream_id = $1 AND type = 'BallotCast'",
                                      deliberation_id)
        transactions = await conn.fetchval(
            "SELECT count(DISTINCT tx) FROM events WHERE stream_id = $1 AND type = 'BallotCast'", deliberation_id)
    finally:
        await conn.close()
    return ballots, transactions


def _posts(tokens: list[str], forms: LoadResult, offset: int) -> list[Req]:
    posts = []
    for n, (token, fields) in enumerate(zip(tokens, forms.matches, strict=True)):
        if fields is None:
            raise RuntimeError(f"the ballot page of link #{offset + n} had no ballot form; see web.log")
        body = f"nonce={fields[0]}&csrf={fields[1]}&choice={CHOICES[n % 3]}".encode()
        posts.append(Req("POST", f"/v/{token}", body, _address(offset + n)))
    return posts


def run(config: BallotsConfig) -> Report:
    total = config.ballots + config.open_ballots
    with bench_stack(config.database_url, config.temporal_address) as stack:
        base, _web = stack.start_web(YISHI_BENCH_NOOP="true")
        host, port = urlsplit(base).hostname or "127.0.0.1", urlsplit(base).port or 80
        deliberation_id, tokens = asyncio.run(_setup(stack.database_url, stack.secret_key, total))
        loop = {"host": host, "port": port}
        with LoadProcess() as load:
            measured = _measure(config, load, loop, tokens, _web.pid, stack.postgres.pid if stack.postgres else None)
        noop, static, pages, ballots, offered, cpu = measured
        naive = asyncio.run(naive_commits(stack.database_url, config.ballots, config.clients, config.db_pool))
        temporal = measure_updates(stack.temporal_address, config.ballots, config.clients)
        in_stream, transactions = asyncio.run(_stream_counts(stack.database_url, deliberation_id))
    report = _report(config, noop, pages, ballots, offered, naive, temporal.per_s, in_stream, transactions)
    report.add("static_per_s", static.per_s, "req/s (GET /static/yishi.css, same server and load)")
    cpu.add_to(report)
    return report


def _measure(config: BallotsConfig, load: LoadProcess, loop: dict[str, Any], tokens: list[str], web_pid: int | None,
             pg_pid: int | None) -> tuple[LoadResult, LoadResult, LoadResult, LoadResult, LoadResult, CpuUse]:
    total = len(tokens)
    baseline = max(config.ballots, 2000)
    noop = load.run("closed", **loop, reqs=[Req("GET", "/_bench/noop")] * baseline, concurrency=config.clients)
    static = load.run("closed", **loop, reqs=[Req("GET", "/static/yishi.css")] * baseline,
                      concurrency=config.clients)
    pages = load.run("closed", **loop, concurrency=config.clients, expect=FORM_RE,
                     reqs=[Req("GET", f"/v/{t}", forwarded_for=_address(n)) for n, t in enumerate(tokens)])
    closed_posts = _posts(tokens[: config.ballots], _slice(pages, 0, config.ballots), 0)
    open_posts = _posts(tokens[config.ballots:], _slice(pages, config.ballots, total), config.ballots)
    cpu_before = (cpu_seconds([web_pid]), cpu_seconds([pg_pid]))
    ballots = load.run("closed", **loop, reqs=closed_posts, concurrency=config.clients, expect=RECEIPT_RE)
    cpu = CpuUse(cpu_seconds([web_pid]) - cpu_before[0], cpu_seconds([pg_pid]) - cpu_before[1],
                 ballots.cpu_s, ballots.seconds, ballots.ok)
    offered = load.run("open", **loop, reqs=open_posts, rate=config.rate, expect=RECEIPT_RE,
                       max_connections=max(config.clients, 64))
    return noop, static, pages, ballots, offered, cpu


def _slice(result: LoadResult, start: int, stop: int) -> LoadResult:
    return LoadResult(matches=result.matches[start:stop])


def _report(config: BallotsConfig, noop: LoadResult, pages: LoadResult, ballots: LoadResult, offered: LoadResult,
            naive: float, temporal: float, in_stream: int, transactions: int) -> Report:
    report = Report(f"yishi bench ballots — {config.ballots} ballots, {config.clients} clients, one deliberation")
    receipts = [m[0] for m in (*ballots.matches, *offered.matches) if m]
    report.add("ballots_per_s", ballots.per_s, "ballots/s (closed loop, POST → commit → receipt)")
    report.add("p50_ms", percentile(ballots.latencies_ms, 50), "ms")
    report.add("p99_ms", percentile(ballots.latencies_ms, 99), "ms")
    report.add("noop_per_s", noop.per_s, "req/s (GET /_bench/noop: same server, middleware and load)")
    report.add("naive_commit_per_s", naive, "commits/s (asyncpg INSERT+COMMIT per ballot)")
    report.add("temporal_update_per_s", temporal, "updates/s (one workflow, ≤10 in flight)")
    report.add("page_per_s", pages.per_s, "req/s (GET ballot page, warm-up)")
    report.add("offered_per_s", config.rate, "ballots/s offered (open loop)")
    report.add("offered_achieved_per_s", offered.per_s, "ballots/s")
    report.add("offered_p50_ms", percentile(offered.latencies_ms, 50), "ms (from the scheduled instant)")
    report.add("offered_p99_ms", percentile(offered.latencies_ms, 99), "ms (from the scheduled instant)")
    report.add("ballots_sent", ballots.sent + offered.sent)
    report.add("receipts", len(receipts))
    report.add("receipts_distinct", len(set(receipts)))
    report.add("ballots_in_stream", in_stream)
    report.add("commit_groups", transactions, "transactions holding those ballots")
    ratio = {name: ballots.per_s / base if base else 0.0
             for name, base in (("noop", noop.per_s), ("naive", naive), ("temporal", temporal))}
    for name, value in ratio.items():
        report.add(f"ratio_vs_{name}", value, "×")
    report.target("ballots/s ≥ 1,000", ballots.per_s >= 1000, f"{ballots.per_s:,.0f}/s")
    report.target("≥ 50% of noop", ratio["noop"] >= 0.5, f"{ratio['noop']:.0%} of {noop.per_s:,.0f}/s")
    report.target("≥ 3× naive commit", ratio["naive"] >= 3, f"{ratio['naive']:.2f}× of {naive:,.0f}/s")
    report.target("≥ 3× Temporal updates", ratio["temporal"] >= 3, f"{ratio['temporal']:.2f}× of {temporal:,.0f}/s")
    p99 = percentile(offered.latencies_ms, 99)
    report.target(f"p99 ≤ 50 ms at {config.rate:,.0f}/s offered", p99 <= 50 and offered.ok == offered.sent,
                  f"p99 {p99:.1f} ms, {offered.ok}/{offered.sent} receipts")
    statuses: dict[str, int] = {}
    for result in (ballots, offered):
        for code, count in result.statuses.items():
            statuses[str(code)] = statuses.get(str(code), 0) + count
    report.extra["statuses"] = statuses
    report.notes.append("GET of the ballot page is a warm-up phase, not part of ballots_per_s")
    return report
