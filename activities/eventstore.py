"""The hash-chained event store on PostgreSQL, with group commit.

Appends to one stream are serialized by a row lock on ``streams`` (the chain has one head, across
processes). Within a process, appends that arrive while a transaction is in flight queue up and are
written together in the next transaction: N concurrent ballots cost a handful of commits, not N.
A caller's future resolves only after its transaction committed, so a receipt is never shown for an
event that is not durable.

An append may carry a ``decide`` function instead of ready events: it runs under the stream lock, after
every earlier append (from any process) and every earlier member of its group, and returns the events to
write. Or a ``prepare`` coroutine: it runs under the stream lock on the group's connection, before anything
else of the group, writes what it must to other tables (the ``links`` table: yishi/services/link_issuing.py) and
returns the events that record it, so the rows and their events commit together or not at all.

A process that keeps a fold of a stream registers it with :meth:`EventStore.follow`; the group commit then
brings the fold up to the locked head before deciding (reading only what other processes appended since) and
hands it the committed events, so nothing this process writes is read back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict

from activities.db import UNAVAILABLE_ERRORS
from domain.chain import GENESIS_HASH, canonical_json, chain_hash, envelope, format_instant

log = structlog.get_logger(__name__)


class StoreUnavailableError(RuntimeError):
    """The database could not be reached; nothing was promised. Try again."""


class NewEvent(BaseModel):
    """An event to append: what happened and when (``occurred_at`` is passed in, never defaulted)."""

    model_config = ConfigDict(frozen=True)
    type: str
    payload: dict[str, Any]
    occurred_at: datetime


class StoredEvent(BaseModel):
    """An event as it stands in the stream."""

    model_config = ConfigDict(frozen=True)
    stream_id: str
    seq: int
    type: str
    payload: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str
    position: int | None = None
    idempotency_key: str | None = None

    def envelope(self) -> dict[str, Any]:
        return {
            "occurred_at": format_instant(self.occurred_at),
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "recorded_at": format_instant(self.recorded_at),
            "seq": self.seq,
            "stream_id": self.stream_id,
            "type": self.type,
        }


@dataclass
class StreamState:
    """The stream's row as seen under its lock; guards read it, ``updates`` change it."""

    stream_id: str
    head_seq: int
    head_hash: str
    accepting_until: datetime | None
    sealed_at: datetime | None
    now: datetime


Guard = Callable[[StreamState], None]
Decide = Callable[[StreamState], Sequence[NewEvent]]
Prepare = Callable[[asyncpg.Connection, StreamState], Awaitable[Sequence[NewEvent]]]
STREAM_COLUMNS = ("accepting_until", "sealed_at")


class StreamFollower(Protocol):
    """A process's fold of one stream, kept current by the group commit (see :meth:`EventStore.follow`)."""

    async def catch_up(self, conn: asyncpg.Connection, stream: StreamState, checks: list[Any]) -> None:
        """Under the stream lock, before any ``decide`` of the group: fold in what is missing up to the
        locked head (``stream.head_seq``/``head_hash``), reading it on ``conn``; ``checks`` are the group's
        appends' ``check`` values (opaque to the store), for the follower to look up on ``conn`` at once."""

    def existing(self, keys: list[str]) -> dict[str, StoredEvent]:
        """After ``catch_up``: the first stored event of each earlier append made with one of ``keys``."""

    def committed(self, events: list[StoredEvent]) -> None:
        """After the commit: the events the group wrote, in order (none of them read back)."""

    def abandoned(self) -> None:
        """The group's transaction did not commit: forget what its ``decide`` calls assumed."""


@dataclass
class _Pending:
    events: Sequence[NewEvent]
    idempotency_key: str | None
    guard: Guard | None
    updates: Mapping[str, Any]
    future: asyncio.Future[list[StoredEvent]]
    decide: Decide | None = None
    check: Any = None
    prepare: Prepare | None = None
    refused: bool = False  # its ``prepare`` raised: nothing of it is written
    stored: list[StoredEvent] = field(default_factory=list)


@dataclass
class StoreStats:
    appends: int = 0
    transactions: int = 0


class EventStore:
    """Append, read and fold streams. One instance per process, shared by all requests."""

    def __init__(self, pool: asyncpg.Pool, *, max_batch: int = 500) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._pending: dict[str, list[_Pending]] = {}
        self._writers: dict[str, asyncio.Task[None]] = {}
        self._followers: dict[str, StreamFollower] = {}
        self.stats = StoreStats()

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    def follow(self, stream_id: str, follower: StreamFollower | None) -> None:
        """Keep ``follower`` current with every group this store commits to ``stream_id`` (None: stop)."""
        if follower is None:
            self._followers.pop(stream_id, None)
        else:
            self._followers[stream_id] = follower

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent] = (),
        *,
        idempotency_key: str | None = None,
        guard: Guard | None = None,
        updates: Mapping[str, Any] | None = None,
        decide: Decide | None = None,
        check: Any = None,
        prepare: Prepare | None = None,
    ) -> list[StoredEvent]:
        """Append ``events`` atomically at the head of ``stream_id``; return them as stored.

        ``idempotency_key``: a second append with the same key returns the first one's events and
        writes nothing. ``guard`` runs under the stream lock and may raise to refuse this append
        (others in the same group are unaffected). ``decide``, instead of ``events``, runs under the
        lock after ``guard`` and returns the events (none: nothing to write, an empty list is returned);
        it may raise to refuse. ``check``: something the stream's follower verifies under the lock for
        this append (see :class:`StreamFollower`); ignored without one. ``updates`` sets stream columns
        in the same transaction (``accepting_until``, ``sealed_at``). ``prepare``, instead of either, runs under
        the lock before the group's follower catches up and anything is decided, inside a savepoint on the
        group's connection (``prepare(conn, stream)``): it may write other tables and returns the events to
        append; if it raises, its writes are rolled back and only this append is refused.
        """
        if sum((bool(events), decide is not None, prepare is not None)) != 1:
            raise ValueError("append needs one of events, a decide function or a prepare coroutine")
        bad = set(updates or {}) - set(STREAM_COLUMNS)
        if bad:
            raise ValueError(f"cannot update stream columns {sorted(bad)}")
        future: asyncio.Future[list[StoredEvent]] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(stream_id, []).append(
            _Pending(list(events), idempotency_key, guard, dict(updates or {}), future, decide, check, prepare)
        )
        if stream_id not in self._writers:
            self._writers[stream_id] = asyncio.create_task(self._drain(stream_id))
        return await future

    async def _drain(self, stream_id: str) -> None:
        try:
            while queue := self._pending.get(stream_id):
                batch = queue[: self._max_batch]
                del queue[: self._max_batch]
                await self._write_group(stream_id, batch)
        finally:
            self._writers.pop(stream_id, None)
            if not self._pending.get(stream_id):
                self._pending.pop(stream_id, None)

    async def _commit_batch(self, stream_id: str, batch: list[_Pending]) -> None:
        follower = self._followers.get(stream_id)
        try:
            accepted, written = await self._write(stream_id, batch, follower)
        except BaseException:
            if follower is not None:
                follower.abandoned()
            raise
        if follower is not None:
            try:
                follower.committed(written)
            except Exception:  # the events are durable: the callers get their receipts regardless
                log.exception("store.follower_failed", stream_id=stream_id)
                follower.abandoned()
        self._resolve(batch, accepted)

    async def _write_group(self, stream_id: str, batch: list[_Pending]) -> None:
        """Write ``batch`` in one transaction and resolve each caller's future (or fail each one)."""
        try:
            await self._commit_batch(stream_id, batch)
        except UNAVAILABLE_ERRORS as exc:
            log.warning("store.unavailable", stream_id=stream_id, error=str(exc), appends=len(batch))
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(StoreUnavailableError(str(exc)))
            return
        except BaseException as exc:  # surface unexpected errors to every waiting caller
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    def _resolve(self, batch: list[_Pending], accepted: list[_Pending]) -> None:
        self.stats.transactions += 1
        self.stats.appends += len(accepted)
        for pending in batch:  # refused ones are done already; repeats get the first append's events
            if not pending.future.done():
                pending.future.set_result(pending.stored)

    async def _write(
        self, stream_id: str, batch: list[_Pending], follower: StreamFollower | None
    ) -> tuple[list[_Pending], list[StoredEvent]]:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_LOCK_STREAM, stream_id)
            if row is None:  # the stream's first append
                await conn.execute("INSERT INTO streams (stream_id) VALUES ($1) ON CONFLICT DO NOTHING", stream_id)
                row = await conn.fetchrow(_LOCK_STREAM, stream_id)
            now = datetime.now(UTC)
            state = StreamState(stream_id, row["head_seq"], row["head_hash"], row["accepting_until"],
                                row["sealed_at"], now)
            # Before the follower's checks: a ballot of this group then sees a link revoked in this group.
            if any(pending.prepare is not None for pending in batch):
                await self._prepare(conn, state, batch)
            if follower is not None:
                await follower.catch_up(conn, state, [p.check for p in batch if p.check is not None])
                # The follower is at the locked head now: it knows every idempotency key of the stream.
                existing = follower.existing([p.idempotency_key for p in batch if p.idempotency_key])
            else:
                existing = await self._existing(conn, stream_id, batch)
            rows, accepted, written = self._chain_batch(state, batch, existing)
            # The group's events and the new head in one statement (one round trip, rows in seq order).
            columns = list(zip(*rows, strict=True)) if rows else [()] * 9
            await conn.execute(_WRITE_GROUP, stream_id, *columns[1:], state.head_seq, state.head_hash,
                               state.accepting_until, state.sealed_at)
        return accepted, written

    @staticmethod
    async def _prepare(conn: asyncpg.Connection, state: StreamState, batch: list[_Pending]) -> None:
        """Run each ``prepare`` of the group in its own savepoint; a refused one is failed and left out."""
        for pending in batch:
            if pending.prepare is None:
                continue
            try:
                async with conn.transaction():  # a savepoint: its writes go if it raises, the group's stay
                    pending.events = list(await pending.prepare(conn, state))
            except UNAVAILABLE_ERRORS:
                raise  # the connection is gone: the whole group fails and is retried by its callers
            except Exception as exc:
                pending.refused = True
                if not pending.future.done():
                    pending.future.set_exception(exc)

    async def _existing(
        self, conn: asyncpg.Connection, stream_id: str, batch: list[_Pending]
    ) -> dict[str, StoredEvent]:
        keys = [p.idempotency_key for p in batch if p.idempotency_key]
        if not keys:
            return {}
        found = await conn.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND idempotency_key = ANY($2::text[])",
            stream_id, keys,
        )
        return {r["idempotency_key"]: _stored(r) for r in found}

    def _chain_batch(
        self, state: StreamState, batch: list[_Pending], existing: dict[str, StoredEvent]
    ) -> tuple[list[tuple[Any, ...]], list[_Pending], list[StoredEvent]]:
        rows: list[tuple[Any, ...]] = []
        accepted: list[_Pending] = []
        written: list[StoredEvent] = []
        recorded_at = state.now  # one commit time for the whole group; timestamptz keeps µs
        for pending in batch:
            if pending.refused:
                continue
            key = pending.idempotency_key
            if key and key in existing:
                # Same request again (a double tap, a retry after a lost answer): same events back.
                pending.stored = [existing[key]]
                continue
            try:
                if pending.guard is not None:
                    pending.guard(state)
                events = pending.decide(state) if pending.decide is not None else pending.events
            except Exception as exc:  # refused by its guard or decision; the rest of the group goes on
                if not pending.future.done():  # the caller may have gone away (cancelled)
                    pending.future.set_exception(exc)
                continue
            for index, event in enumerate(events):
                stored = self._link(state, event, recorded_at, key if index == 0 else None)
                rows.append(_row(stored))
                pending.stored.append(stored)
                written.append(stored)
            if key and pending.stored:
                existing[key] = pending.stored[0]
            for column, value in pending.updates.items():
                setattr(state, column, value)
            accepted.append(pending)
        return rows, accepted, written

    @staticmethod
    def _link(state: StreamState, event: NewEvent, recorded_at: datetime, key: str | None) -> StoredEvent:
        seq = state.head_seq + 1
        body = envelope(stream_id=state.stream_id, seq=seq, type=event.type, payload=event.payload,
                        occurred_at=event.occurred_at, recorded_at=recorded_at, prev_hash=state.head_hash)
        digest = chain_hash(state.head_hash, canonical_json(body))
        state.head_seq, state.head_hash = seq, digest
        return StoredEvent(stream_id=state.stream_id, seq=seq, type=event.type, payload=event.payload,
                           occurred_at=event.occurred_at, recorded_at=recorded_at,
                           prev_hash=body["prev_hash"], hash=digest, idempotency_key=key)

    async def read(self, stream_id: str, *, after_seq: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events of ``stream_id`` with ``seq > after_seq`` in order."""
        sql = f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND seq > $2 ORDER BY seq"
        args: list[Any] = [stream_id, after_seq]
        if limit is not None:
            sql += " LIMIT $3"
            args.append(limit)
        async with self._pool.acquire() as conn:
            return [_stored(r) for r in await conn.fetch(sql, *args)]

    async def batches(
        self, stream_id: str, *, after_seq: int = 0, batch: int = 10_000
    ) -> AsyncIterator[list[asyncpg.Record]]:
        """``(seq, type, payload as JSON text)`` records of the events after ``after_seq``, in order, ``batch``
        rows at a time.

        For folds of a whole stream: no :class:`StoredEvent` per row, and only one batch in memory at a
        time (a stream of 100,000 ballots is read in ten keyset-paginated queries, each on the primary key).
        The payload is left as text for the caller's decoder (``domain.events.event_from_json`` validates a
        ballot straight from it).
        """
        sql = "SELECT seq, type, payload::text FROM events WHERE stream_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"

        async def fetch(after: int) -> list[asyncpg.Record]:
            async with self._pool.acquire() as conn:
                return await conn.fetch(sql, stream_id, after, batch)

        rows = await fetch(after_seq)
        while rows:
            # The database reads the next batch (keyset on the last seq) while the caller folds this one.
            following = asyncio.ensure_future(fetch(rows[-1][0])) if len(rows) == batch else None
            try:
                yield rows
            except BaseException:
                if following is not None:
                    following.cancel()
                raise
            rows = await following if following is not None else []

    async def read_types(self, stream_id: str, types: Iterable[str]) -> list[StoredEvent]:
        """Only the events of ``stream_id`` whose type is in ``types``, in order (e.g. stages without ballots)."""
        sql = f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND type = ANY($2::text[]) ORDER BY seq"
        async with self._pool.acquire() as conn:
            return [_stored(r) for r in await conn.fetch(sql, stream_id, list(types))]

    async def head(self, stream_id: str) -> tuple[int, str]:
        """The stream's head ``(seq, hash)``; ``(0, 64 zeros)`` for a stream with no events."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT head_seq, head_hash FROM streams WHERE stream_id = $1", stream_id)
        return (row["head_seq"], row["head_hash"]) if row else (0, GENESIS_HASH)

    async def fold(self, stream_id: str, evolve: Callable[[Any, StoredEvent], Any], initial: Any) -> Any:
        """Fold the whole stream through ``evolve`` (the domain's), from ``initial``."""
        state = initial
        for event in await self.read(stream_id):
            state = evolve(state, event)
        return state


_LOCK_STREAM = (
    "SELECT head_seq, head_hash, accepting_until, sealed_at FROM streams WHERE stream_id = $1 FOR UPDATE"
)
_WRITE_GROUP = (
    "WITH written AS (INSERT INTO events (stream_id, seq, type, payload, occurred_at, recorded_at, prev_hash, hash,"
    " idempotency_key) SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::jsonb[], $5::timestamptz[],"
    " $6::timestamptz[], $7::text[], $8::text[], $9::text[]) ORDER BY 2 RETURNING 1)"
    " UPDATE streams SET head_seq = $10, head_hash = $11, accepting_until = $12, sealed_at = $13"
    " WHERE stream_id = $1"
)
_COLUMNS = (
    "stream_id, seq, type, payload, occurred_at, recorded_at, prev_hash, hash, position, idempotency_key"
)


async def append_on(conn: asyncpg.Connection, stream_id: str, events: Sequence[NewEvent]) -> list[StoredEvent]:
    """Append ``events`` to ``stream_id`` inside the caller's transaction on ``conn``, without group commit.

    For a change to another table that must commit together with the event recording it (an account disabled
    and the event saying who did it, yishi/services/account_admin.py). The stream's row lock is held until the
    caller's transaction ends, so appends by :class:`EventStore` to the same stream wait for it.
    """
    if not conn.is_in_transaction():
        raise ValueError("append_on needs an open transaction on the connection")
    if not events:
        return []
    row = await conn.fetchrow(_LOCK_STREAM, stream_id)
    if row is None:
        await conn.execute("INSERT INTO streams (stream_id) VALUES ($1) ON CONFLICT DO NOTHING", stream_id)
        row = await conn.fetchrow(_LOCK_STREAM, stream_id)
    state = StreamState(stream_id, row["head_seq"], row["head_hash"], row["accepting_until"], row["sealed_at"],
                        datetime.now(UTC))
    stored = [EventStore._link(state, event, state.now, None) for event in events]
    columns = list(zip(*[_row(event) for event in stored], strict=True))
    await conn.execute(_WRITE_GROUP, stream_id, *columns[1:], state.head_seq, state.head_hash,
                       state.accepting_until, state.sealed_at)
    return stored


async def read_after(conn: asyncpg.Connection, stream_id: str, after_seq: int) -> list[StoredEvent]:
    """Events of ``stream_id`` after ``after_seq`` on ``conn`` (e.g. inside the group commit's transaction)."""
    sql = f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND seq > $2 ORDER BY seq"
    return [_stored(r) for r in await conn.fetch(sql, stream_id, after_seq)]


def _row(event: StoredEvent) -> tuple[Any, ...]:
    return (event.stream_id, event.seq, event.type, event.payload, event.occurred_at, event.recorded_at,
            event.prev_hash, event.hash, event.idempotency_key)


def _stored(record: asyncpg.Record) -> StoredEvent:
    return StoredEvent(**dict(record))
