"""A run of links the server's stop interrupted continues when the web app starts again (yishi/services/link_runs.py
``resume_at_start``, a task of the app's lifespan): a real run stopped after its first batch by ``stop_all`` (what
the lifespan's shutdown does) and a run whose process died are resumed once even by two servers starting together,
nothing is issued twice and the links issued before stay as printed; a run another process still heart-beats and a
finished run are left alone."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import structlog
from structlog.testing import capture_logs

from tests.web.conftest import SECRET
from tests.web.test_console_links import stream_types
from yishi.services import link_runs
from yishi.services.link_issuing import Actor, issue_links
from yishi.web.app import create_app

HOUR = timedelta(hours=1)


async def until(check, what: str, patience: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(patience / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still waiting for {what}")


async def links_of(pool, deliberation_id: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT owner_id, token_hash FROM links WHERE deliberation_id = $1", deliberation_id)
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["owner_id"], []).append(row["token_hash"])
    return found


async def run_row(pool, deliberation_id: str) -> dict:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return dict(await conn.fetchrow("SELECT * FROM link_runs WHERE deliberation_id = $1", deliberation_id))


async def stopped_after_one_batch(pool, store, deliberation_id: str, owners: list[str], by: str) -> None:  # type: ignore[no-untyped-def]
    """Start a console run in batches of two and stop it as the server's shutdown does, after its first batch: the
    run's heartbeat waits on a row lock held here, so the stop finds it between batches."""
    task = await link_runs.start(store, deliberation_id, owners, secret_key=SECRET, now=datetime.now(UTC),
                                 actor=Actor(by, "console"), batch=2)
    assert task is not None
    holder = await pool.acquire()
    held = holder.transaction()
    await held.start()
    try:
        await holder.execute("SELECT 1 FROM link_runs WHERE deliberation_id = $1 FOR UPDATE", deliberation_id)

        async def first_batch() -> bool:
            return len(await links_of(pool, deliberation_id)) == 2
        await until(first_batch, "the first batch")
        stopping = asyncio.create_task(link_runs.stop_all())
        await asyncio.sleep(0)  # the stop cancels the run at once, then waits for it
        assert task.cancelling()
    finally:
        await held.rollback()
        await pool.release(holder)
    await stopping
    assert task.cancelled()


async def test_runs_interrupted_by_a_stop_or_a_crash_continue_at_the_next_start(
        settings, pool, store, open_deliberation) -> None:  # type: ignore[no-untyped-def]
    name = f"李委员-{uuid.uuid4().hex[:4]}"
    stopped, crashed, elsewhere, finished = [await open_deliberation(9, links=False) for _ in range(4)]
    await stopped_after_one_batch(pool, store, stopped.id, stopped.owners, name)
    assert (await link_runs.run_state(pool, stopped.id)) == link_runs.RunState(False, True, name, link_runs.STOPPED)
    # A process that died after issuing three links (its heartbeat long stale), one that is still issuing
    # elsewhere (its heartbeat fresh) and a run that finished (its links were revoked since: nothing to resume).
    await issue_links(store, crashed.id, crashed.owners[:3], secret_key=SECRET, now=datetime.now(UTC),
                      actor=Actor("王主任", "console"))
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO link_runs (deliberation_id, started_by, heartbeat_at, finished_at) VALUES ($1, $2,"
            " now() - $3::interval, CASE WHEN $4 THEN now() END)",
            [(crashed.id, "王主任", HOUR, False), (elsewhere.id, "张委员", timedelta(0), False),
             (finished.id, "赵委员", HOUR, True)])
    before = {d.id: (await links_of(pool, d.id), await stream_types(pool, d.id)) for d in (stopped, crashed)}
    untouched = {d.id: await run_row(pool, d.id) for d in (elsewhere, finished)}

    with capture_logs() as entries:
        structlog.get_logger()  # capture_logs replaces the processors of loggers bound from now on
        link_runs.log = structlog.get_logger("yishi.services.link_runs")
        async with AsyncExitStack() as stack:  # two servers starting at once
            apps = [create_app(settings) for _ in range(2)]
            for app in apps:
                app.state.link_batch = 2
                await stack.enter_async_context(app.router.lifespan_context(app))

            async def resumed() -> bool:
                states = [await link_runs.run_state(pool, d.id) for d in (stopped, crashed)]
                return states == [link_runs.RunState(False, False, by, "") for by in (name, "王主任")]
            await until(resumed, "the interrupted runs to finish")
            assert all(not app.state.link_resume.done() for app in apps), "looking again once the lease passed"
    assert sorted(e["deliberation_id"] for e in entries if e["event"] == "links.run_resumed") == sorted(
        [stopped.id, crashed.id]), "each resumed once, by one of the two servers"

    for d in (stopped, crashed):
        links, events = await links_of(pool, d.id), await stream_types(pool, d.id)
        assert {owner: len(hashes) for owner, hashes in links.items()} == dict.fromkeys(d.owners, 1), \
            "exactly one link per owner"
        first, types = before[d.id]
        assert {owner: links[owner] for owner in first} == first, "the links issued before stay as printed"
        assert events[:len(types)] == types and set(events[len(types):]) == {"LinksIssued"}
    assert (await stream_types(pool, stopped.id)).count("LinksIssued") == 1 + 4, "7 more owners, batches of two"
    for d in (elsewhere, finished):
        assert await run_row(pool, d.id) == untouched[d.id] and await links_of(pool, d.id) == {}, "left alone"
