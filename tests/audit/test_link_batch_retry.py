"""Issue 18: a batch of link issuing that times out under load is retried with half as many owners; every owner
gets exactly one link, the parts of the act stay numbered 1..n without a gap or a repeat, and `audit verify`
passes. The timeout is real: another connection holds the next rows of the stream's ``events`` (uncommitted), so
the batch's write waits on them until the issuing pool's command timeout cancels it, after ``prepare`` numbered
its parts."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from audit_helpers import WITHDRAWN, _wait_checkpoint, _wait_open, audit_roll, now, spec
from temporalio.client import Client
from temporalio.worker import Worker

from activities.db import _init_connection
from activities.eventstore import EventStore
from activities.registry import build_activities
from domain.link_events import LINK_EVENT_TYPES, fold_links, link_event_from_dict
from workflows.registry import WORKFLOWS
from yishi.services.audit import verify
from yishi.services.deliberations import start_vote
from yishi.services.link_issuing import Actor, LinkIssuingStalledError, issue_links
from yishi.settings import Settings

SECRET = "link-batch-retry-secret-0123456789abcdef"
CLERK = Actor("李四", "console")
ISSUER = "yishi-slow-link-batch"
TIMEOUT = 3.0
"""The issuing pool's command timeout (the real pool has 30 s): short enough for a test, long enough that the
release below reaches a retry before that retry times out too."""


async def _slow_pool(database_url: str) -> asyncpg.Pool:
    return await asyncpg.create_pool(database_url, min_size=1, max_size=2, init=_init_connection,
                                     command_timeout=TIMEOUT, server_settings={"application_name": ISSUER})


async def _hold_next_rows(database_url: str, stream_id: str) -> asyncpg.Connection:
    """A connection whose open transaction holds the stream's next 50 ``events`` keys: an append there waits.

    Without the foreign key's check (``session_replication_role = replica``, this connection only): that check
    would hold a share lock on the ``streams`` row, and the append would wait on the stream's lock instead, before
    its ``prepare`` numbered any part."""
    conn = await asyncpg.connect(database_url)
    await conn.execute("SET session_replication_role = replica")
    await conn.execute("BEGIN")
    await conn.execute(
        "INSERT INTO events (stream_id, seq, type, payload, occurred_at, recorded_at, prev_hash, hash)"
        " SELECT $1, s, 'Blocker', '{}'::jsonb, now(), now(), repeat('0', 64), repeat('0', 64)"
        " FROM generate_series((SELECT head_seq + 1 FROM streams WHERE stream_id = $1),"
        "                      (SELECT head_seq + 50 FROM streams WHERE stream_id = $1)) AS s", stream_id)
    return conn


async def _release_after_first_timeout(pool: Any, holder: asyncpg.Connection) -> bool:
    """Roll the holder back once the issuing connection's first waiting statement was cancelled (not before:
    no timer raced); True if one was."""
    first = None
    for _ in range(1200):  # 60 s at most, then release anyway (the test then fails on the missing retry)
        async with pool.acquire() as conn:
            waiting = {(r["pid"], r["query_start"]) for r in await conn.fetch(
                "SELECT pid, query_start FROM pg_stat_activity WHERE application_name = $1"
                " AND wait_event_type = 'Lock'", ISSUER)}
        if first is None and waiting:
            first = next(iter(waiting))
        elif first is not None and first not in waiting:
            break
        await asyncio.sleep(0.05)
    await holder.execute("ROLLBACK")
    await holder.close()
    return first is not None


async def test_a_timed_out_batch_is_retried_smaller_without_a_gap_in_the_parts(
        temporal_client: Client, pool: Any, store: EventStore, database_url: str) -> None:
    queue = f"link-retry-{uuid.uuid4().hex[:8]}"
    worker = Worker(temporal_client, task_queue=queue, workflows=WORKFLOWS,
                    activities=build_activities(store, pool, Settings(task_queue=queue)))
    owners = [f"O{f}{u}" for f in range(1, 7) for u in (1, 2)]
    slow = await _slow_pool(database_url)
    try:
        async with worker:
            did, handle = await start_vote(temporal_client, pool, audit_roll(), spec(), task_queue=queue)
            await _wait_open(store, did)
            await _wait_checkpoint(handle, store, did)  # the box writes nothing more for an hour
            holder = await _hold_next_rows(database_url, did)
            released, summary = await asyncio.gather(
                _release_after_first_timeout(pool, holder),
                issue_links(EventStore(slow), did, owners, secret_key=SECRET, now=now(), actor=CLERK, batch=8,
                            floor=2))
            await handle.signal("withdraw", WITHDRAWN)
            await handle.result()
    finally:
        await slow.close()
    assert released, "the first batch never waited: the test did not make it slow"
    assert (summary.issued, summary.live) == (12, 12)
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT owner_id, generation FROM links WHERE deliberation_id = $1", did)
    assert sorted((r["owner_id"], r["generation"]) for r in rows) == sorted((o, 1) for o in owners)
    issued = [e for e in await store.read(did) if e.type == "LinksIssued"]
    assert [len(e.payload["links"]) for e in issued] == [4, 4, 4], "the failed batch of 8 came again as 4 and 4"
    assert [e.payload["part"] for e in issued] == [1, 2, 3], "no gap, no repeat where the batch rolled back"
    ledger = fold_links((e.seq, link_event_from_dict(e.type, e.payload))
                        for e in await store.read(did) if e.type in LINK_EVENT_TYPES)
    assert ledger.issued_batches == 1 and ledger.made[("O11", 1)].households == 12
    report = await verify(did, pool=pool, client=temporal_client)
    assert report.ok, [c for c in report.checks if not c.ok]


async def test_a_batch_that_fails_at_the_floor_says_how_many_were_issued(
        temporal_client: Client, pool: Any, store: EventStore, database_url: str) -> None:
    """Nobody releases the rows: batches of 4, then 2, time out; the error says 0 issued, 12 to go, and issuing
    again (once the rows are free) continues."""
    queue = f"link-stall-{uuid.uuid4().hex[:8]}"
    worker = Worker(temporal_client, task_queue=queue, workflows=WORKFLOWS,
                    activities=build_activities(store, pool, Settings(task_queue=queue)))
    owners = [f"O{f}{u}" for f in range(1, 7) for u in (1, 2)]
    slow = await _slow_pool(database_url)
    try:
        async with worker:
            did, handle = await start_vote(temporal_client, pool, audit_roll(), spec(), task_queue=queue)
            await _wait_open(store, did)
            await _wait_checkpoint(handle, store, did)  # the box writes nothing more for an hour
            holder = await _hold_next_rows(database_url, did)
            with pytest.raises(LinkIssuingStalledError) as stalled:
                await issue_links(EventStore(slow), did, owners, secret_key=SECRET, now=now(), actor=CLERK, batch=4,
                                  floor=2)
            await holder.execute("ROLLBACK")
            await holder.close()
            again = await issue_links(store, did, owners, secret_key=SECRET, now=now(), actor=CLERK)
            await handle.signal("withdraw", WITHDRAWN)
            await handle.result()
    finally:
        await slow.close()
    assert (stalled.value.issued, stalled.value.missing, stalled.value.size) == (0, 12, 2)
    assert "已发放 0 户" in str(stalled.value) and "issue again" in str(stalled.value)
    assert (again.issued, again.live) == (12, 12)
    issued = [e for e in await store.read(did) if e.type == "LinksIssued"]
    assert [e.payload["part"] for e in issued] == [1]
