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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

from activities.eventstore import EventStore, NewEvent, StreamState
from domain.link_events import (
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


def _issued_events(entries: list[IssuedEntry], actor: Actor, now: datetime) -> list[LinksIssued]:
    if not entries:
        return []
    parts = chunks(entries)
    return [LinksIssued(at=now, by=actor.by, via=actor.via, links=tuple(part), part=n, parts=len(parts))
            for n, part in enumerate(parts, 1)]


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
                      now: datetime, actor: Actor) -> IssueSummary:
    """Issue generation 1 to every owner in ``owner_ids`` without a link, recorded as ``LinksIssued``.

    Idempotent: owners who have a link keep it (printed sheets stay valid), and a second call records nothing.
    """
    wanted = list(dict.fromkeys(owner_ids))
    counted: dict[str, int] = {}

    async def prepare(conn: asyncpg.Connection, _stream: StreamState) -> list[NewEvent]:
        entries = await _insert_first(conn, deliberation_id, wanted, secret_key=secret_key, now=now)
        counted["issued"] = len(entries)
        counted["live"] = await conn.fetchval(
            "SELECT count(*) FROM links WHERE deliberation_id = $1 AND revoked_at IS NULL"
            " AND owner_id = ANY($2::text[])", deliberation_id, wanted)
        return _new(_issued_events(entries, actor, now), now)

    await store.append(deliberation_id, prepare=prepare)
    log.info("links.issued", deliberation_id=deliberation_id, by=actor.by, via=actor.via, **counted)
    return IssueSummary(counted["issued"], counted["live"])


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
            return _new(_issued_events([IssuedEntry(owner_id=owner_id, generation=1, token_hash=digest)], actor,
                                       now), now)
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
                         secret_key: str, now: datetime, actor: Actor, fmt: str) -> list[IssuedLink]:
    """The live links of ``owner_ids`` (of every owner with one if None), tokens derived again from their rows,
    recorded as ``LiveLinksDisclosed`` (who, when, ``fmt``, which households) before they are returned.

    Issues nothing: owners without a live link are left out (and no event is written if none has one). Raises
    :class:`~yishi.services.links.LinkKeyChangedError` (nothing recorded) if the secret key changed since a link
    was issued.
    """
    wanted = None if owner_ids is None else list(dict.fromkeys(owner_ids))
    shown: list[IssuedLink] = []

    async def prepare(conn: asyncpg.Connection, _stream: StreamState) -> list[NewEvent]:
        live = {r["owner_id"]: r for r in await conn.fetch(_LIVE, deliberation_id)}
        order = sorted(live) if wanted is None else [o for o in wanted if o in live]
        shown[:] = [issued_from_row(secret_key, live[owner_id]) for owner_id in order]
        if not shown:
            return []
        parts = chunks(order)
        return _new([LiveLinksDisclosed(at=now, by=actor.by, via=actor.via, format=fmt, owners=tuple(part),
                                        part=n, parts=len(parts)) for n, part in enumerate(parts, 1)], now)

    await store.append(deliberation_id, prepare=prepare)
    log.info("links.disclosed", deliberation_id=deliberation_id, by=actor.by, via=actor.via, format=fmt,
             households=len(shown))
    return shown


async def issue_and_disclose(store: EventStore, deliberation_id: str, owner_ids: Iterable[str], *, secret_key: str,
                             now: datetime, actor: Actor, fmt: str) -> list[IssuedLink]:
    """:func:`issue_links` then :func:`disclose_links` of the same owners: what ``yishi links`` does (issue what
    is missing, print them all), both recorded."""
    wanted = list(dict.fromkeys(owner_ids))
    await issue_links(store, deliberation_id, wanted, secret_key=secret_key, now=now, actor=actor)
    return await disclose_links(store, deliberation_id, wanted, secret_key=secret_key, now=now, actor=actor, fmt=fmt)
