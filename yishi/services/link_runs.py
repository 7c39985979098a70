"""Issuing a roll's links from the console in the background (issue 18): a run that outlives the request.

A roll of a million owners takes fifty batches (yishi/services/link_issuing.py); the console starts them here
as an asyncio task of the web process and answers at once (or after a short wait, so that a small roll's page
already shows its links). The run is idempotent and resumable because :func:`issue_links` is: it issues only to
owners without a link, one transaction per batch with the events that record it, so links already issued stay
as printed. The ``link_runs`` row makes one run per deliberation at a time: a run claims it, renews its
heartbeat after every batch, and marks it finished or failed. A run whose heartbeat is older than :data:`LEASE`
died with its process: issuing again claims the row and continues where it stopped. The progress shown is the
``links`` table itself (owners in scope with a live link), exact after a crash too.

A run the server's stop interrupted (marked failed with :data:`STOPPED`) or that died with its process (its
heartbeat older than the lease) is resumed when the web app starts (:func:`resume_at_start`, a background task of
its lifespan, never a GET): each claimed in one statement, so two processes starting at once resume it once, and a
run another process still heart-beats is left alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

from activities.eventstore import EventStore
from yishi.services.link_issuing import BATCH, Actor, IssueSummary, issue_links

log = structlog.get_logger(__name__)

LEASE = timedelta(minutes=2)
"""A run whose heartbeat is older than this has stopped (a batch takes about a second; the pool's statement
timeout is 30 s): issuing again continues it."""

STOPPED = "CancelledError"
"""The error a run records when the server stops it (:func:`stop_all`): resumed at the next start."""

_tasks: set[asyncio.Task[IssueSummary]] = set()  # the runs of this process (kept referenced until they end)


@dataclass(frozen=True)
class RunState:
    running: bool
    """Started, neither finished nor failed, heartbeat within the lease."""
    interrupted: bool
    """Started and neither finished nor running: failed, or its process stopped."""
    started_by: str
    error: str


async def run_state(pool: asyncpg.Pool, deliberation_id: str) -> RunState | None:
    """The last console run of this deliberation's links (None if there was none); read-only."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT started_by, error, finished_at IS NULL AND failed_at IS NULL"
            " AND heartbeat_at >= now() - $2::interval AS running,"
            " finished_at IS NULL AS unfinished FROM link_runs WHERE deliberation_id = $1", deliberation_id, LEASE)
    if row is None:
        return None
    return RunState(running=row["running"], interrupted=row["unfinished"] and not row["running"],
                    started_by=row["started_by"], error=row["error"])


async def _claim(pool: asyncpg.Pool, deliberation_id: str, by: str) -> bool:
    """Take the deliberation's run row unless a live run holds it (one statement: two posts cannot both win)."""
    async with pool.acquire() as conn:
        return bool(await conn.fetchval(
            "INSERT INTO link_runs (deliberation_id, started_by) VALUES ($1, $2) ON CONFLICT (deliberation_id) DO"
            " UPDATE SET started_by = EXCLUDED.started_by, started_at = now(), heartbeat_at = now(),"
            " finished_at = NULL, failed_at = NULL, error = ''"
            " WHERE link_runs.finished_at IS NOT NULL OR link_runs.failed_at IS NOT NULL"
            " OR link_runs.heartbeat_at < now() - $3::interval RETURNING true", deliberation_id, by, LEASE))


async def _mark(pool: asyncpg.Pool, deliberation_id: str, column: str, error: str = "") -> None:
    assert column in ("heartbeat_at", "finished_at", "failed_at")
    async with pool.acquire() as conn:
        await conn.execute(f"UPDATE link_runs SET {column} = now(), error = $2 WHERE deliberation_id = $1",
                           deliberation_id, error)


async def _run(store: EventStore, deliberation_id: str, owners: list[str], *, secret_key: str, now: datetime,
               actor: Actor, batch: int) -> IssueSummary:
    async def beat(done: int, total: int) -> None:
        await _mark(store.pool, deliberation_id, "heartbeat_at")
        log.info("links.run_progress", deliberation_id=deliberation_id, done=done, total=total)

    try:
        summary = await issue_links(store, deliberation_id, owners, secret_key=secret_key, now=now, actor=actor,
                                    progress=beat, batch=batch)
    except BaseException as exc:
        log.warning("links.run_failed", deliberation_id=deliberation_id, error=type(exc).__name__)
        try:
            await asyncio.shield(_mark(store.pool, deliberation_id, "failed_at", type(exc).__name__))
        except Exception:  # noqa: BLE001 - the lease expires anyway; the first error is the one to raise
            pass
        raise
    await _mark(store.pool, deliberation_id, "finished_at")
    log.info("links.run_finished", deliberation_id=deliberation_id, issued=summary.issued, live=summary.live)
    return summary


async def start(store: EventStore, deliberation_id: str, owner_ids: Iterable[str], *, secret_key: str,
                now: datetime, actor: Actor, batch: int = BATCH) -> asyncio.Task[IssueSummary] | None:
    """Start issuing the missing links of ``owner_ids`` in the background; None if a run is going on already."""
    if not await _claim(store.pool, deliberation_id, actor.by):
        return None
    log.info("links.run_started", deliberation_id=deliberation_id, by=actor.by, batch=batch)
    return _launch(store, deliberation_id, list(owner_ids), secret_key=secret_key, now=now, actor=actor, batch=batch)


def _launch(store: EventStore, deliberation_id: str, owners: list[str], *, secret_key: str, now: datetime,
            actor: Actor, batch: int) -> asyncio.Task[IssueSummary]:
    task = asyncio.create_task(_run(store, deliberation_id, owners, secret_key=secret_key, now=now, actor=actor,
                                    batch=batch), name=f"links:{deliberation_id}")
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


async def _claim_interrupted(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    """Claim every run a stop interrupted or a crash left silent, in one statement (a row claimed by another
    process starting at the same time no longer matches): ``(deliberation_id, started_by)``."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "UPDATE link_runs SET heartbeat_at = now(), failed_at = NULL, error = ''"
            " WHERE finished_at IS NULL AND (failed_at IS NOT NULL AND error = $1"
            " OR failed_at IS NULL AND heartbeat_at < now() - $2::interval)"
            " RETURNING deliberation_id, started_by", STOPPED, LEASE)
    return sorted((row["deliberation_id"], row["started_by"]) for row in rows)


async def _held_elsewhere(pool: asyncpg.Pool) -> int:
    """Unfinished runs whose heartbeat is within the lease: another process's, or one that died a moment ago."""
    async with pool.acquire() as conn:
        return int(await conn.fetchval(
            "SELECT count(*) FROM link_runs WHERE finished_at IS NULL AND failed_at IS NULL"
            " AND heartbeat_at >= now() - $1::interval", LEASE))


async def resume_interrupted(store: EventStore, *, secret_key: str, now: datetime,
                             batch: int = BATCH) -> list[asyncio.Task[IssueSummary]]:
    """Continue every run a stop or a crash interrupted, as its starter's run (its events name the account that
    pressed, ``via`` console), with the owners in scope now; a closed vote's run is marked failed, not resumed."""
    from yishi.services.voting import NoSuchBoxError, load_box

    tasks = []
    for deliberation_id, started_by in await _claim_interrupted(store.pool):
        try:
            box = await load_box(store, deliberation_id)
        except NoSuchBoxError:
            box = None
        if box is None or box.closed_at(now) is not None:
            await _mark(store.pool, deliberation_id, "failed_at", "closed")
            log.info("links.run_not_resumed", deliberation_id=deliberation_id, reason="closed")
            continue
        owners = sorted(box.state.electorate.owner_areas)
        log.info("links.run_resumed", deliberation_id=deliberation_id, by=started_by, owners=len(owners))
        tasks.append(_launch(store, deliberation_id, owners, secret_key=secret_key, now=now,
                             actor=Actor(started_by, "console"), batch=batch))
    return tasks


async def resume_at_start(store: EventStore, *, secret_key: str, clock: Callable[[], datetime],
                          batch: int = BATCH) -> list[asyncio.Task[IssueSummary]]:
    """The web app's start (its lifespan): resume the interrupted runs now; if some unfinished run still has a
    fresh heartbeat (another process's, or this server's own just before a crash), look again once the lease has
    passed: a run still beating then is another process's and stays alone."""
    tasks = await resume_interrupted(store, secret_key=secret_key, now=clock(), batch=batch)
    if await _held_elsewhere(store.pool):
        await asyncio.sleep(LEASE.total_seconds() + 1)
        tasks += await resume_interrupted(store, secret_key=secret_key, now=clock(), batch=batch)
    return tasks


async def stop_all() -> None:
    """Cancel this process's runs (the app's shutdown); each is marked failed, and issuing again continues it."""
    running = list(_tasks)
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
