"""Issuing, reissuing, revoking and showing personal links, each recorded in the deliberation's stream.

Whoever holds a link's token votes as the owner, and the people who hand the links out are the committee that
runs the vote. So every act on links is an event in the deliberation's hash chain (domain/link_events.py), in
the very transaction that changes the ``links`` table or reads the tokens it shows: the rows are written under
the stream's lock by the store's group commit (``EventStore.append(prepare=…)``), serialized with the ballots,
and roll back with their events if either fails.

Only :func:`disclose_links` hands out tokens, and it records first: who, when, in what form, which
households. Issuing and reissuing return no token (the console shows the new link by printing it, which is a
disclosure; the CLI prints what it issues, and records that too). The events carry the token hash the
``links`` table stores, never the token.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

from activities.eventstore import EventStore, NewEvent, StoreUnavailableError, StreamState
from domain.link_events import (
    CHUNK,
    IssuedEntry,
    LinkReissued,
    LinkRevoked,
    LinksIssued,
    LiveLinksDisclosed,
    Via,
    chunks,
)
from yishi.services.links import IssuedLink, issued_from_row, new_row

log = structlog.get_logger(__name__)

BATCH = 20_000
"""Households per transaction when issuing or showing links: a batch of 20,000 is one INSERT of ~1 s on the
benchmark machine, far under the pool's 30 s statement timeout, so a roll of 1,000,000 owners is 50
transactions, each recorded with its own events (``part`` and ``parts`` count across the whole run)."""

SLOW_BATCH_ERRORS: tuple[type[BaseException], ...] = (StoreUnavailableError, asyncpg.QueryCanceledError)
"""How a batch that took too long fails: the pool's 30 s command timeout (a ``TimeoutError``, an ``OSError``, which
the store reports as unavailable) or a server-side statement timeout. :func:`issue_links` retries the same owners
in smaller batches."""


class LinkIssuingStalledError(RuntimeError):
    """A batch of the smallest size still failed: some links are issued (recorded), the rest are not; issuing
    again continues (owners who have a link keep it)."""

    def __init__(self, issued: int, missing: int, size: int, cause: BaseException) -> None:
        self.issued, self.missing, self.size = issued, missing, size
        super().__init__(
            f"发放链接中断：本次已发放 {issued} 户，尚有 {missing} 户未发放（每批 {size} 户仍然超时：{cause}）。"
            f"已发放的链接有效，请稍后再次发放，将从未发放的业主继续。 / Issuing links stalled: {issued} issued now, "
            f"{missing} still without a link (a batch of {size} households still failed: {cause}). The issued links "
            "stand; issue again later and it continues with the owners who have none.")


def smaller(size: int, floor: int) -> int:
    """The batch to retry with after one of ``size`` failed: half, in whole :data:`CHUNK` parts while it can be."""
    half = size // 2
    return max(floor, half // CHUNK * CHUNK if half >= CHUNK else half)


Progress = Callable[[int, int], None | Awaitable[None]]
"""Called after each batch with (households done, households asked for); awaited if it returns an awaitable (the
console's background run renews its heartbeat there, yishi/services/link_runs.py)."""


async def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None and inspect.isawaitable(result := progress(done, total)):
        await result


@dataclass(frozen=True)
class Actor:
    """Who acts on links: a console account's name (``via="console"``), the CLI's ``--by``, or the system."""

    by: str
    via: Via = "console"


@dataclass(frozen=True)
class IssueSummary:
    issued: int
    """Links issued now (generation 1, for owners who had none)."""
    live: int
    """Owners asked for who have a live link now."""


def _new(events: Sequence[LinksIssued | LinkReissued | LinkRevoked | LiveLinksDisclosed],
         now: datetime) -> list[NewEvent]:
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=now) for e in events]


async def _insert_first(conn: asyncpg.Connection, deliberation_id: str, owner_ids: list[str], *, secret_key: str,
                        now: datetime) -> list[IssuedEntry]:
    """Generation 1 for each owner without a link (one statement); the entries actually inserted, in order."""
    rows = [new_row(secret_key, deliberation_id, owner_id, 1) for owner_id in owner_ids]
    # A revoked generation 1 means the owner already has a later one: ON CONFLICT covers both.
    inserted = await conn.fetch(
        "INSERT INTO links (deliberation_id, owner_id, generation, nonce, token_hash, issued_at)"
        " SELECT $1, o, 1, n, h, $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS u(o, n, h)"
        " ON CONFLICT DO NOTHING RETURNING owner_id, token_hash",
        deliberation_id, owner_ids, [r[0] for r in rows], [r[1] for r in rows], now,
    )
    made = {r["owner_id"]: r["token_hash"] for r in inserted}
    return [IssuedEntry(owner_id=o, generation=1, token_hash=made[o]) for o in owner_ids if o in made]


async def issue_links(store: EventStore, deliberation_id: str, owner_ids: Iterable[str], *, secret_key: str,
                      now: datetime, actor: Actor, progress: Progress | None = None,
                      batch: int = BATCH, floor: int = CHUNK) -> IssueSummary:
    """Issue generation 1 to every owner in ``owner_ids`` without a link, recorded as ``LinksIssued``.

    Idempotent: owners who have a link keep it (printed sheets stay valid), and a second call records nothing.
    Done in transactions of ``batch`` households (each with the events that record it, under the stream's lock),
    so that any size of roll goes through; ``progress`` hears of each. The parts of all batches are numbered as
    one act: ``part`` runs from 1 to ``parts``, counted from the owners who had no link when it began.

    A batch that times out (:data:`SLOW_BATCH_ERRORS`: the machine is loaded) rolls back whole and is tried again
    with half as many households, down to ``floor``; if that still fails, :class:`LinkIssuingStalledError` says
    how many were issued, and issuing again continues.
    """
    wanted = list(dict.fromkeys(owner_ids))
    async with store.pool.acquire() as conn:
        have = {r["owner_id"] for r in await conn.fetch(
            "SELECT owner_id FROM links WHERE deliberation_id = $1", deliberation_id)}
        head = await conn.fetchval("SELECT head_seq FROM streams WHERE stream_id = $1", deliberation_id) or 0
    missing = [o for o in wanted if o not in have]
    numbering = _Numbering(len(chunks(missing)) if missing else 0)
    issued, already, start, size = 0, len(wanted) - len(missing), 0, batch
    while start < len(missing):
        part = missing[start:start + size]

        async def prepare(conn: asyncpg.Connection, _stream: StreamState, part: list[str] = part) -> list[NewEvent]:
            entries = await _insert_first(conn, deliberation_id, part, secret_key=secret_key, now=now)
            return _new(numbering.issued(entries, actor, now), now)

        try:
            stored = await store.append(deliberation_id, prepare=prepare)
        except SLOW_BATCH_ERRORS as exc:
            # ``prepare`` numbered parts the rolled-back batch never wrote: number on from what the stream holds.
            numbering.done = await _parts_written(store, deliberation_id, head, actor)
            if size <= floor:
                raise LinkIssuingStalledError(issued, len(missing) - start, size, exc) from exc
            log.warning("links.batch_retried", deliberation_id=deliberation_id, households=len(part),
                        retry_with=smaller(size, floor), error=str(exc) or type(exc).__name__)
            size = smaller(size, floor)
            continue
        issued += sum(len(e.payload["links"]) for e in stored)
        start += len(part)
        await _report(progress, already + start, len(wanted))
    async with store.pool.acquire() as conn:
        live = await conn.fetchval(
            "SELECT count(*) FROM links WHERE deliberation_id = $1 AND revoked_at IS NULL"
            " AND owner_id = ANY($2::text[])", deliberation_id, wanted) if wanted else 0
    if not missing:
        await _report(progress, len(wanted), len(wanted))
    log.info("links.issued", deliberation_id=deliberation_id, by=actor.by, via=actor.via, issued=issued, live=live)
    return IssueSummary(issued, live)


async def _parts_written(store: EventStore, deliberation_id: str, head: int, actor: Actor) -> int:
    """The last part this act wrote (its ``LinksIssued`` after ``head``): a batch whose commit failed wrote none,
    and one whose commit went through though its caller timed out wrote its parts."""
    async with store.pool.acquire() as conn:
        return await conn.fetchval(
            "SELECT coalesce(max((payload->>'part')::int), 0) FROM events WHERE stream_id = $1 AND seq > $2"
            " AND type = 'LinksIssued' AND payload->>'by' = $3", deliberation_id, head, actor.by)


@dataclass
class _Numbering:
    """Part numbers across the batches of one act (a batch may insert fewer than planned: another process issued
    some meanwhile; ``parts`` stays what was planned, and the ledger merges the parts by their order)."""

    parts: int
    done: int = 0

    def issued(self, entries: list[IssuedEntry], actor: Actor, now: datetime) -> list[LinksIssued]:
        events = []
        for piece in chunks(entries) if entries else []:
            self.done += 1
            events.append(LinksIssued(at=now, by=actor.by, via=actor.via, links=tuple(piece), part=self.done,
                                      parts=max(self.parts, self.done)))
        return events

    def disclosed(self, owners: list[str], actor: Actor, now: datetime, fmt: str) -> list[LiveLinksDisclosed]:
        events = []
        for piece in chunks(owners) if owners else []:
            self.done += 1
            events.append(LiveLinksDisclosed(at=now, by=actor.by, via=actor.via, format=fmt, owners=tuple(piece),
                                             part=self.done, parts=max(self.parts, self.done)))
        return events


_REVOKE = ("UPDATE links SET revoked_at = $3, revoked_by = $4, revoke_reason = $5"
           " WHERE deliberation_id = $1 AND owner_id = $2 AND revoked_at IS NULL RETURNING generation")


async def reissue_link(store: EventStore, deliberation_id: str, owner_id: str, *, secret_key: str, now: datetime,
                       actor: Actor, reason: str = "reissued") -> int:
    """Revoke the owner's live link (it stops at once) and issue the next generation; returns that generation.

    Recorded as ``LinkReissued`` (``LinksIssued`` if the owner never had a link). The new token is not returned:
    print it with :func:`disclose_links`, which records that it was shown."""
    made: dict[str, int] = {}

    async def prepare(conn: asyncpg.Connection, _stream: StreamState) -> list[NewEvent]:
        # The stream's lock (held: this runs in the group commit) serializes every act on this deliberation's links.
        last = await conn.fetchval("SELECT max(generation) FROM links WHERE deliberation_id = $1 AND owner_id = $2",
                                   deliberation_id, owner_id)
        revoked = await conn.fetchval(_REVOKE, deliberation_id, owner_id, now, actor.by, reason)
        generation = (last or 0) + 1
        nonce, digest = new_row(secret_key, deliberation_id, owner_id, generation)
        await conn.execute(
            "INSERT INTO links (deliberation_id, owner_id, generation, nonce, token_hash, issued_at)"
            " VALUES ($1,$2,$3,$4,$5,$6)", deliberation_id, owner_id, generation, nonce, digest, now)
        made["generation"] = generation
        if last is None:
            entry = IssuedEntry(owner_id=owner_id, generation=1, token_hash=digest)
            return _new(_Numbering(1).issued([entry], actor, now), now)
        return _new([LinkReissued(at=now, by=actor.by, via=actor.via, owner_id=owner_id, generation=generation,
                                  token_hash=digest, revoked_generation=revoked, reason=reason)], now)

    await store.append(deliberation_id, prepare=prepare)
    log.info("links.reissued", deliberation_id=deliberation_id, owner_id=owner_id, by=actor.by, via=actor.via,
             generation=made["generation"])
    return made["generation"]


async def revoke_link(store: EventStore, deliberation_id: str, owner_id: str, *, now: datetime, actor: Actor,
                      reason: str) -> bool:
    """Revoke the owner's live link without a replacement (``LinkRevoked``); False if there was none."""

    async def prepare(conn: asyncpg.Connection, _stream: StreamState) -> list[NewEvent]:
        generation = await conn.fetchval(_REVOKE, deliberation_id, owner_id, now, actor.by, reason)
        if generation is None:
            return []
        return _new([LinkRevoked(at=now, by=actor.by, via=actor.via, owner_id=owner_id, generation=generation,
                                 reason=reason)], now)

    stored = await store.append(deliberation_id, prepare=prepare)
    return bool(stored)


_LIVE = ("SELECT deliberation_id, owner_id, generation, nonce, token_hash FROM links"
         " WHERE deliberation_id = $1 AND revoked_at IS NULL")


async def disclose_links(store: EventStore, deliberation_id: str, owner_ids: Iterable[str] | None = None, *,
                         secret_key: str, now: datetime, actor: Actor, fmt: str, progress: Progress | None = None,
                         batch: int = BATCH) -> list[IssuedLink]:
    """The live links of ``owner_ids`` (of every owner with one if None), tokens derived again from their rows,
    recorded as ``LiveLinksDisclosed`` (who, when, ``fmt``, which households) before they are returned.

    Issues nothing: owners without a live link are left out (and no event is written if none has one). Raises
    :class:`~yishi.services.links.LinkKeyChangedError` (nothing recorded) if the secret key changed since a link
    was issued. In transactions of ``batch`` households, as :func:`issue_links`.
    """
    if owner_ids is None:
        async with store.pool.acquire() as conn:
            wanted = sorted(r["owner_id"] for r in await conn.fetch(
                "SELECT owner_id FROM links WHERE deliberation_id = $1 AND revoked_at IS NULL", deliberation_id))
    else:
        wanted = list(dict.fromkeys(owner_ids))
    if len(wanted) > batch:
        await _check_key(store, deliberation_id, secret_key)  # a changed key refuses before any batch is recorded
    numbering = _Numbering(len(chunks(wanted)) if wanted else 0)
    shown: list[IssuedLink] = []
    for start in range(0, len(wanted), batch):
        part = wanted[start:start + batch]
        found: list[IssuedLink] = []

        async def prepare(conn: asyncpg.Connection, _stream: StreamState, part: list[str] = part,
                          found: list[IssuedLink] = found) -> list[NewEvent]:
            live = {r["owner_id"]: r for r in await conn.fetch(_LIVE + " AND owner_id = ANY($2::text[])",
                                                               deliberation_id, part)}
            order = [o for o in part if o in live]
            found[:] = [issued_from_row(secret_key, live[owner_id]) for owner_id in order]
            return _new(numbering.disclosed(order, actor, now, fmt), now)

        await store.append(deliberation_id, prepare=prepare)
        shown += found
        await _report(progress, start + len(part), len(wanted))
    log.info("links.disclosed", deliberation_id=deliberation_id, by=actor.by, via=actor.via, format=fmt,
             households=len(shown))
    return shown


async def _check_key(store: EventStore, deliberation_id: str, secret_key: str) -> None:
    """Raise :class:`~yishi.services.links.LinkKeyChangedError` if a live link was issued with another key."""
    async with store.pool.acquire() as conn:
        async with conn.transaction():
            async for row in conn.cursor(_LIVE, deliberation_id, prefetch=10_000):
                issued_from_row(secret_key, row)


async def issue_and_disclose(store: EventStore, deliberation_id: str, owner_ids: Iterable[str], *, secret_key: str,
                             now: datetime, actor: Actor, fmt: str) -> list[IssuedLink]:
    """:func:`issue_links` then :func:`disclose_links` of the same owners: what ``yishi links`` does (issue what
    is missing, print them all), both recorded."""
    wanted = list(dict.fromkeys(owner_ids))
    await issue_links(store, deliberation_id, wanted, secret_key=secret_key, now=now, actor=actor)
    return await disclose_links(store, deliberation_id, wanted, secret_key=secret_key, now=now, actor=actor, fmt=fmt)
