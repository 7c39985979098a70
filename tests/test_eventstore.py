"""Contract of the event store against the real embedded PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from activities.eventstore import EventStore, NewEvent, StoreUnavailableError, StreamState, append_on
from domain.chain import GENESIS_HASH, ChainBreak, verify_chain

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def ev(n: int, type: str = "NoteAdded") -> NewEvent:
    return NewEvent(type=type, payload={"n": n, "text": f"第{n}条"}, occurred_at=T0)


async def test_append_read_and_chain(store: EventStore, stream_id: str) -> None:
    first = await store.append(stream_id, [ev(1), ev(2)])
    second = await store.append(stream_id, [ev(3)])
    assert [e.seq for e in first + second] == [1, 2, 3]
    assert first[0].prev_hash == GENESIS_HASH
    assert first[1].prev_hash == first[0].hash and second[0].prev_hash == first[1].hash
    events = await store.read(stream_id)
    assert [e.payload["n"] for e in events] == [1, 2, 3]
    assert verify_chain([e.envelope() | {"hash": e.hash} for e in events]) == (3, second[0].hash)
    assert await store.head(stream_id) == (3, second[0].hash)


async def test_fifty_concurrent_appenders_share_transactions(store: EventStore, pool, stream_id: str) -> None:
    results = await asyncio.gather(*(store.append(stream_id, [ev(i)]) for i in range(50)))
    seqs = sorted(r[0].seq for r in results)
    assert seqs == list(range(1, 51)), "seq must run from 1 without gaps"
    events = await store.read(stream_id)
    verify_chain([e.envelope() | {"hash": e.hash} for e in events], stream_id)
    async with pool.acquire() as conn:
        transactions = await conn.fetchval(
            "SELECT count(DISTINCT tx::text) FROM events WHERE stream_id = $1", stream_id
        )
    assert transactions < 50, f"50 appends took {transactions} transactions: no group commit"


async def test_two_stores_on_one_stream_keep_one_chain(pool, stream_id: str) -> None:
    # Two processes' worth of stores: the row lock keeps one head.
    a, b = EventStore(pool), EventStore(pool)
    await asyncio.gather(*(s.append(stream_id, [ev(i)]) for i in range(20) for s in (a, b)))
    events = await a.read(stream_id)
    assert verify_chain([e.envelope() | {"hash": e.hash} for e in events])[0] == 40


async def test_append_on_commits_with_the_callers_transaction(store: EventStore, pool, stream_id: str) -> None:
    # An account change and its event: both or neither (yishi/services/account_admin.py).
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await append_on(conn, stream_id, [ev(1)])
                raise RuntimeError("the change it records failed")
        assert await store.read(stream_id) == []
        with pytest.raises(ValueError, match="transaction"):
            await append_on(conn, stream_id, [ev(1)])

    async def beside() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await append_on(conn, stream_id, [ev(100), ev(101)])

    # Interleaved with the group commit on the same stream: the row lock keeps one chain.
    await asyncio.gather(*(store.append(stream_id, [ev(i)]) for i in range(10)), beside(), beside())
    events = await store.read(stream_id)
    assert verify_chain([e.envelope() | {"hash": e.hash} for e in events], stream_id)[0] == 14
    assert await store.head(stream_id) == (14, events[-1].hash)


@pytest.mark.parametrize("sql", [
    "UPDATE events SET payload = '{\"n\": 99}' WHERE stream_id = $1",
    "DELETE FROM events WHERE stream_id = $1",
])
async def test_events_are_append_only_in_the_database(store: EventStore, pool, stream_id: str, sql: str) -> None:
    await store.append(stream_id, [ev(1)])
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(sql, stream_id)
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("TRUNCATE events CASCADE")
    assert len(await store.read(stream_id)) == 1


async def test_idempotency_key_returns_the_first_event(store: EventStore, stream_id: str) -> None:
    first, again = await asyncio.gather(
        store.append(stream_id, [ev(1)], idempotency_key="form-abc"),
        store.append(stream_id, [ev(1)], idempotency_key="form-abc"),
    )
    later = await store.append(stream_id, [ev(1)], idempotency_key="form-abc")
    assert first[0].seq == again[0].seq == later[0].seq == 1
    assert len(await store.read(stream_id)) == 1


async def test_guard_refuses_under_the_lock_and_updates_apply(store: EventStore, stream_id: str) -> None:
    class Closed(Exception):
        pass

    def open_only(state: StreamState) -> None:
        if state.sealed_at is not None:
            raise Closed(f"sealed at {state.sealed_at}")

    await store.append(stream_id, [ev(1, "BoxOpened")])
    seal = store.append(stream_id, [ev(2, "BoxSealed")], updates={"sealed_at": T0})
    late = store.append(stream_id, [ev(3, "BallotCast")], guard=open_only)
    sealed, refused = await asyncio.gather(seal, late, return_exceptions=True)
    assert isinstance(refused, Closed)
    assert [e.type for e in await store.read(stream_id)] == ["BoxOpened", "BoxSealed"]


def test_verify_chain_names_the_first_bad_seq() -> None:
    from domain.chain import canonical_json, chain_hash, envelope

    rows, prev = [], GENESIS_HASH
    for seq in (1, 2, 3):
        body = envelope(stream_id="s", seq=seq, type="X", payload={"n": seq}, occurred_at=T0,
                        recorded_at=T0, prev_hash=prev)
        prev = chain_hash(prev, canonical_json(body))
        rows.append(body | {"hash": prev})
    rows[1] = rows[1] | {"payload": {"n": 20}}
    with pytest.raises(ChainBreak, match="seq 2: hash"):
        verify_chain(rows)
    with pytest.raises(ChainBreak, match="seq 3: expected seq 2"):
        verify_chain([rows[0], rows[2]])


async def test_postgres_restart_loses_no_acknowledged_append(postgres, database_url: str, stream_id: str) -> None:
    from activities.db import create_pool

    pool = await create_pool(database_url, max_size=4)
    store = EventStore(pool)
    acknowledged: list[int] = []
    refused = 0
    restarted = asyncio.Event()

    async def appender(worker: int) -> None:
        nonlocal refused
        i, after_restart = 0, 0
        while after_restart < 10:  # keep appending through the outage and a little beyond it
            i += 1
            after_restart += restarted.is_set()
            try:
                stored = await store.append(stream_id, [ev(worker * 100000 + i)])
                acknowledged.append(stored[0].payload["n"])
            except StoreUnavailableError:
                refused += 1
                await asyncio.sleep(0.05)

    async def restart() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(postgres.stop)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(postgres.start, postgres.port)
        restarted.set()

    try:
        await asyncio.gather(restart(), *(appender(w) for w in range(8)))
        events = await store.read(stream_id)
    finally:
        await pool.close()
    assert len(acknowledged) > 100, "too few appends to exercise the restart"
    found = [e.payload["n"] for e in events]
    assert refused > 0, "the restart did not interrupt any append; the test proved nothing"
    missing = set(acknowledged) - set(found)
    assert not missing, f"acknowledged appends lost after restart: {sorted(missing)[:10]}"
    verify_chain([e.envelope() | {"hash": e.hash} for e in events], stream_id)


async def test_a_cancelled_caller_does_not_break_its_group(store: EventStore, stream_id: str) -> None:
    def refuse(state: StreamState) -> None:
        raise RuntimeError("refused")

    gone = asyncio.create_task(store.append(stream_id, [ev(1)], guard=refuse))
    others = [asyncio.create_task(store.append(stream_id, [ev(n)])) for n in range(2, 6)]
    await asyncio.sleep(0)
    gone.cancel()
    stored = await asyncio.gather(*others)
    assert sorted(s[0].payload["n"] for s in stored) == [2, 3, 4, 5]


async def test_prepare_writes_with_its_events_and_a_refused_one_leaves_nothing(store: EventStore, pool,
                                                                                stream_id: str) -> None:
    """``prepare`` writes other tables in the group's transaction, under the stream lock: its rows commit with its
    events; one that raises is rolled back alone (a savepoint) and the rest of its group is written."""
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS store_prepare_test (stream_id text, n int)")

    def writing(n: int, fail: bool = False, events: bool = True):  # type: ignore[no-untyped-def]
        async def prepare(conn: asyncpg.Connection, state: StreamState) -> list[NewEvent]:
            await conn.execute("INSERT INTO store_prepare_test VALUES ($1, $2)", stream_id, n)
            if fail:
                raise RuntimeError(f"prepare {n} refused")
            return [ev(n)] if events else []
        return prepare

    results = await asyncio.gather(
        store.append(stream_id, [ev(1)]), store.append(stream_id, prepare=writing(2)),
        store.append(stream_id, prepare=writing(3, fail=True)),
        store.append(stream_id, prepare=writing(4, events=False)),
        store.append(stream_id, [ev(5)]), return_exceptions=True)
    assert isinstance(results[2], RuntimeError) and results[3] == []
    assert sorted(e.payload["n"] for e in await store.read(stream_id)) == [1, 2, 5]
    async with pool.acquire() as conn:
        written = await conn.fetch("SELECT n FROM store_prepare_test WHERE stream_id = $1 ORDER BY n", stream_id)
    assert [r["n"] for r in written] == [2, 4], "the refused prepare's row went with it"
    with pytest.raises(ValueError):
        await store.append(stream_id, [ev(6)], prepare=writing(6))
