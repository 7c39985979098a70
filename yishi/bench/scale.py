"""``yishi bench scale``: one deliberation with many owners, step by step, each with its seconds and peak RSS.

Steps, all through the service layer and the real worker:
* ``roll_import`` — parse and validate the roll CSV (buildings × entrances × floors, areas with two
  decimals) and freeze it in the database (``store_roll``);
* ``open`` — register the deliberation and start its BallotBox workflow; done when the worker's
  ``open_box`` activity has written ``BoxOpened`` (the whole roll is in that event);
* ``links`` — issue every owner's personal link (``issue_links``, recorded in the stream as ``LinksIssued``), in
  transactions of 20,000 with progress on standard error;
* ``ballots`` — one ballot per owner through ``yishi.services.voting.cast_ballot`` (the web tier's call:
  fold, decide, group-commit append, receipt), ``--concurrency`` at a time, so appends are grouped the way
  concurrent web requests group them — not through HTTP (``bench ballots`` measures that);
* ``vacuum`` — ``VACUUM (ANALYZE)`` of ``events`` and ``links``: what autovacuum does to those tables after
  100,000 inserts, at a moment of its own choosing within a minute, made a step so that it does not land in
  ``seal``, ``tally`` or ``verify`` by chance;
* ``seal`` — the committee's withdraw signal; done when the workflow returned (the worker's ``seal_box``
  folded the stream, tallied it and appended ``BoxSealed`` + ``ResultRecorded``);
* ``tally`` — a recount from the stream in this process (read, fold with the domain, results);
* ``verify`` — ``yishi audit verify`` through its service (replay the run, hash chain, checkpoints,
  recount, published outcome).

Peak RSS is sampled every 50 ms: this process (the CLI side) and the worker process, separately;
PostgreSQL (all its processes) every 0.5 s, reported on its own line.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from activities.box import load_box as fold_stream
from activities.db import create_pool
from activities.eventstore import EventStore
from domain.roll import load_roll
from workflows.registry import WORKFLOWS
from yishi.bench import Report, RssSampler
from yishi.bench._setup import roll_csv, spec
from yishi.bench._stack import bench_stack
from yishi.services.audit import verify
from yishi.services.deliberations import start_vote
from yishi.services.link_issuing import Actor, issue_links
from yishi.services.voting import cast_ballot
from yishi.settings import Settings
from yishi.temporal_client import connect

GiB = 1024**3
CHOICES = ("for", "against", "abstain")


@dataclass
class ScaleConfig:
    owners: int = 100_000
    concurrency: int = 256
    database_url: str | None = None
    temporal_address: str | None = None


@dataclass
class Step:
    name: str
    seconds: float
    rss_cli: int
    rss_worker: int


@dataclass
class Steps:
    cli_pid: int
    worker_pid: int | None
    done: list[Step] = field(default_factory=list)

    async def run(self, name: str, coro):  # noqa: ANN001, ANN201 - any awaitable, its result
        # The CLI process alone: its children are the embedded servers and the worker, reported apart.
        # The worker has no child processes: following children would scan all of /proc every 50 ms, in a
        # thread of this process, taking the GIL from the very steps being timed.
        cli = RssSampler([self.cli_pid], children=False)
        worker = RssSampler([self.worker_pid] if self.worker_pid else [], children=False)
        with cli, worker:
            started = time.perf_counter()
            result = await coro
            seconds = time.perf_counter() - started
        self.done.append(Step(name, seconds, cli.peak, worker.peak))
        return result


async def _wait_open(pool: asyncpg.Pool, deliberation_id: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        async with pool.acquire() as conn:
            if await conn.fetchval("SELECT accepting_until FROM streams WHERE stream_id = $1", deliberation_id):
                return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the worker did not open the box of {deliberation_id} in {seconds:.0f}s; see worker.log")


async def _cast_all(store: EventStore, deliberation_id: str, owners: list[str], concurrency: int) -> int:
    cursor = iter(enumerate(owners))
    receipts = 0

    async def voter() -> None:
        nonlocal receipts
        for n, owner in cursor:
            await cast_ballot(store, deliberation_id, owner, CHOICES[n % 3], idempotency_key=f"scale-{n}",
                              now=datetime.now(UTC))
            receipts += 1
            if receipts % 100_000 == 0:
                _progress("ballots")(receipts, len(owners))

    await asyncio.gather(*(voter() for _ in range(concurrency)))
    return receipts


def _progress(step: str):  # type: ignore[no-untyped-def]
    """Progress of a batched step on standard error (the report, or its JSON, is on standard output)."""
    import sys

    def report(done: int, total: int) -> None:
        print(f"{step}: {done:,}/{total:,}", file=sys.stderr, flush=True)

    return report


async def _recount(store: EventStore, deliberation_id: str) -> dict[str, str]:
    state, _ = await fold_stream(store, deliberation_id)
    return {qid: result.outcome for qid, result in state.results().items()}


async def _scenario(config: ScaleConfig, database_url: str, temporal_address: str, secret_key: str,
                    worker_pid: int | None, task_queue: str) -> tuple[Steps, dict[str, object]]:
    steps = Steps(os.getpid(), worker_pid)
    pool = await create_pool(database_url, max_size=10)
    store = EventStore(pool)
    settings = Settings(database_url=database_url, temporal_address=temporal_address, task_queue=task_queue)
    client = await connect(settings)
    data = roll_csv(config.owners)
    deliberation_id = f"scale-{uuid.uuid4().hex[:8]}"
    roll_bytes = len(data)
    try:
        roll = await steps.run("roll_import", _import(pool, data))
        del data
        the_spec = spec("基准：十万业主", minutes=24 * 60)
        _, handle = await steps.run("open", _open(client, pool, roll, the_spec, deliberation_id, task_queue))
        owners = sorted(roll.owner_ids)
        del roll  # the bench keeps owner ids only; the roll lives in the database and in BoxOpened
        links = (await steps.run("links", issue_links(EventStore(pool), deliberation_id, owners, secret_key=secret_key,
                                                      now=datetime.now(UTC), actor=Actor("bench", "system"),
                                                      progress=_progress("links")))).live
        # The web tier's side: its own store, whose per-process stream cache (yishi.services.voting) goes
        # with it once the ballots are in. Tally and verify are the auditor's side, a separate process in
        # production (`yishi audit verify`): they must not be measured on top of the web tier's cache.
        web_store = EventStore(pool)
        cast = await steps.run("ballots", _cast_all(web_store, deliberation_id, owners, config.concurrency))
        del web_store, owners
        gc.collect()
        await steps.run("vacuum", _vacuum(pool))
        result = await steps.run("seal", _seal(handle))
        recount = await steps.run("tally", _recount(store, deliberation_id))
        report = await steps.run("verify", verify(deliberation_id, pool=pool, client=client, workflows=WORKFLOWS))
    finally:
        await pool.close()
    facts = {"links": links, "receipts": cast, "outcome": result.outcome.outcome,
             "recount": recount.get("main"), "verify_ok": report.ok,
             "verify_failures": [f.to_json() for f in report.failures][:5], "roll_bytes": roll_bytes}
    return steps, facts


async def _import(pool: asyncpg.Pool, data: bytes):  # noqa: ANN202
    from yishi.services.deliberations import store_roll
    from yishi.services.files import limits_for_rows

    # An operator with such an estate sets YISHI_ROLL_MAX_ROOMS; the bench sizes the limits to its own roll.
    roll = load_roll(data, f"bench-roll-{len(data)}.csv", limits_for_rows(max(200_000, data.count(b"\n"))))
    await store_roll(pool, roll)
    return roll


async def _open(client, pool, roll, the_spec, deliberation_id, task_queue):  # noqa: ANN001, ANN202
    started = await start_vote(client, pool, roll, the_spec, task_queue=task_queue, deliberation_id=deliberation_id,
                               checkpoint_every=timedelta(hours=6))
    # The worker freezes the whole roll into BoxOpened: minutes for a million owners on a busy machine.
    await _wait_open(pool, deliberation_id, seconds=300 + len(roll.owner_ids) / 2_000)
    return started


async def _vacuum(pool: asyncpg.Pool) -> None:
    # 100,000 inserts make autovacuum (and autoanalyze) visit ``events`` and ``links`` within its next nap
    # (up to a minute later): done here, as a step of its own, it cannot land inside a timed step by chance.
    async with pool.acquire() as conn:
        await conn.execute("VACUUM (ANALYZE) events, links")


async def _seal(handle):  # noqa: ANN001, ANN202
    await handle.signal("withdraw", "bench: all ballots in")
    return await handle.result()


def run(config: ScaleConfig) -> Report:
    with bench_stack(config.database_url, config.temporal_address) as stack:
        task_queue = f"bench-scale-{uuid.uuid4().hex[:6]}"
        worker = stack.spawn("worker", ["-m", "yishi.cli", "worker"], stack.env(YISHI_TASK_QUEUE=task_queue))
        # PostgreSQL's backends are its children, found by a scan of /proc: every 0.5 s, not every 50 ms, so
        # that the sampler (a thread of this process) does not compete with the timed steps for the GIL.
        pg = RssSampler([stack.postgres.pid] if stack.postgres else [], interval=0.5)
        with pg:
            steps, facts = asyncio.run(_scenario(config, stack.database_url, stack.temporal_address,
                                                 stack.secret_key, worker.pid, task_queue))
    return _report(config, steps, facts, pg.peak)


def _report(config: ScaleConfig, steps: Steps, facts: dict[str, object], pg_peak: int) -> Report:
    report = Report(f"yishi bench scale — one deliberation, {config.owners:,} owners")
    for step in steps.done:
        report.add(f"{step.name}_s", step.seconds, "s")
    for step in steps.done:
        report.add(f"{step.name}_rss_mib", step.rss_cli / 2**20,
                   f"MiB peak (CLI process); worker {step.rss_worker / 2**20:,.0f} MiB")
    by = {s.name: s for s in steps.done}
    peak_cli = max(s.rss_cli for s in steps.done)
    peak_worker = max(s.rss_worker for s in steps.done)
    report.add("peak_rss_mib", peak_cli / 2**20, "MiB (CLI process, all steps)")
    report.add("peak_worker_rss_mib", peak_worker / 2**20, "MiB (worker process, all steps)")
    report.add("peak_postgres_rss_mib", pg_peak / 2**20,
               "MiB (PostgreSQL, all processes summed; shared pages counted per process)")
    report.add("ballots_per_s", config.owners / by["ballots"].seconds if by["ballots"].seconds else 0.0,
               "ballots/s (service layer)")
    report.add("receipts", float(facts["receipts"]))  # type: ignore[arg-type]
    report.extra.update(facts)
    tally_verify = by["tally"].seconds + by["verify"].seconds
    report.target("roll import ≤ 10 s", by["roll_import"].seconds <= 10, f"{by['roll_import'].seconds:.2f} s")
    report.target("tally + verify ≤ 5 s", tally_verify <= 5, f"{tally_verify:.2f} s")
    report.target("peak RSS ≤ 1 GiB", max(peak_cli, peak_worker) <= GiB,
                  f"CLI {peak_cli / 2**20:,.0f} MiB, worker {peak_worker / 2**20:,.0f} MiB")
    report.target("audit verify passes", bool(facts["verify_ok"]), "ok" if facts["verify_ok"] else "FAILED")
    report.target("every ballot has a receipt", facts["receipts"] == config.owners, f"{facts['receipts']:,}")
    return report

