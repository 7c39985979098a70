"""A community's structure stream (``structure-<community>``) and its projection (issue 19): reading and folding
it, appending changes under the head that was read, and rewriting the community's rows of the ``structure_*``
tables that routing, the console and the appraisal read (migration 095).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import asyncpg
import structlog

from activities.eventstore import EventStore, NewEvent, StoredEvent, StreamState
from domain.addresses import address_key
from domain.errors import N_
from domain.ladders import grid_org
from domain.structure import (
    STRUCTURE_EVENT_TYPES,
    CommunityListed,
    Structure,
    StructureEvent,
    fold,
    stream_id,
    street_stream,
    structure_event_from_dict,
)
from domain.structure_commands import StructureError

log = structlog.get_logger(__name__)
HEAD_ATTEMPTS = 20


class _HeadMoved(Exception):
    pass


def new_events(events: Sequence[StructureEvent | CommunityListed]) -> list[NewEvent]:
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at) for e in events]


async def load_structure(store: EventStore, community: str) -> tuple[Structure, int]:
    """The community's structure folded from its stream, and the stream's last seq (0: no stream yet)."""
    stored = await store.read(stream_id(community))
    events = [structure_event_from_dict(e.type, e.payload) for e in stored if e.type in STRUCTURE_EVENT_TYPES]
    return fold(events), (stored[-1].seq if stored else 0)


async def change_structure(store: EventStore, pool: asyncpg.Pool, community: str,
                           decide: Callable[[Structure], list[StructureEvent]], *, key: str | None = None,
                           ) -> tuple[Structure, list[StoredEvent]]:
    """Decide on the structure as read and append the events only if the head is still the one read (else read
    again and decide again), then project. ``decide`` raises to refuse; no events: nothing is written."""
    for _ in range(HEAD_ATTEMPTS):
        state, seq = await load_structure(store, community)
        events = decide(state)
        if not events:
            return state, []
        if state.updated_at is not None and any(e.at < state.updated_at for e in events):
            raise StructureError(N_("a change cannot be dated before the last one (%(last)s): the structure's "
                                    "history is recorded in time order"), last=state.updated_at.isoformat())

        def guard(stream: StreamState, seq: int = seq) -> None:
            if stream.head_seq != seq:
                raise _HeadMoved

        try:
            stored = await store.append(stream_id(community), new_events(events), idempotency_key=key, guard=guard)
        except _HeadMoved:
            continue
        after = await project_structure(store, pool, community)
        log.info("structure.changed", community=community, seq=stored[0].seq, events=len(stored),
                 types=sorted({e.type for e in stored}))
        return after, stored
    raise RuntimeError(f"structure of {community}: the stream kept growing while changing it; try again")


async def list_communities(store: EventStore, street: str, listed: Sequence[CommunityListed]) -> None:
    """Add communities to the street office's list (stream ``street-<street>``), each once."""
    stored = await store.read(street_stream(street))
    known = {e.payload.get("community") for e in stored if e.type == "CommunityListed"}
    fresh = [e for e in listed if e.community not in known]
    if fresh:
        await store.append(street_stream(street), new_events(fresh))


async def street_communities(store: EventStore, street: str) -> list[tuple[str, str]]:
    """``(community, name)`` of the street office's list, in the order they were listed."""
    return [(e.payload["community"], e.payload["name"]) for e in await store.read(street_stream(street))
            if e.type == "CommunityListed"]


async def project_structure(store: EventStore, pool: asyncpg.Pool, community: str) -> Structure:
    """Rewrite the community's rows of the structure tables from its stream (only forward: ``last_seq``)."""
    state, seq = await load_structure(store, community)
    if not state.community:
        return state
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO structure_communities (community, name, street, last_seq, updated_at)"
                           " VALUES ($1, $2, $3, 0, $4) ON CONFLICT DO NOTHING", community, state.name, state.street,
                           state.updated_at)
        last = await conn.fetchval("SELECT last_seq FROM structure_communities WHERE community = $1 FOR UPDATE",
                                   community)
        if last >= seq:
            return state  # a later rebuild got here first
        await conn.execute("UPDATE structure_communities SET name = $2, street = $3, last_seq = $4, updated_at = $5"
                           " WHERE community = $1", community, state.name, state.street, seq, state.updated_at)
        await _rewrite(conn, community, state)
    return state


async def _rewrite(conn: asyncpg.Connection, community: str, s: Structure) -> None:
    for table in ("structure_grids", "structure_placements", "structure_terms", "structure_party",
                  "structure_ladders"):
        await conn.execute(f"DELETE FROM {table} WHERE community = $1", community)  # noqa: S608 - fixed names
    await conn.copy_records_to_table("structure_grids", records=[
        (community, g.code, g.name, grid_org(community, g.code), g.defined_at, g.retired_at) for g in s.grids.values()],
        columns=("community", "code", "name", "org", "defined_at", "retired_at"))
    await conn.copy_records_to_table("structure_placements", records=[
        (community, p.building, p.entrance, p.grid, p.address, address_key(p.address), p.since, p.until)
        for p in s.placements], columns=("community", "building", "entrance", "grid", "address", "address_key",
                                         "since", "until"))
    await conn.copy_records_to_table("structure_terms", records=[
        (community, t.grid, grid_org(community, t.grid), t.role, t.person, t.building, t.since, t.until)
        for t in s.terms], columns=("community", "grid", "org", "role", "person", "building", "since", "until"))
    await conn.copy_records_to_table("structure_party", records=[
        (community, o.org_id, o.kind, o.name, o.parent, o.grid, o.building, o.room, o.leader, o.since, o.until)
        for o in s.party.values()], columns=("community", "org_id", "kind", "name", "parent", "grid", "building",
                                             "room", "leader", "since", "until"))
    await conn.executemany("INSERT INTO structure_ladders (community, version, since, spec) VALUES ($1, $2, $3, $4)",
                           [(community, v.version, since, v.model_dump(mode="json")) for since, v in s.ladders])


async def rebuild_structures(store: EventStore, pool: asyncpg.Pool) -> int:
    """Rebuild every community's rows from the streams (after a restore, or a change to the projection)."""
    async with pool.acquire() as conn:
        ids = [r["stream_id"] for r in await conn.fetch(
            "SELECT stream_id FROM events WHERE seq = 1 AND type = 'CommunityDefined' ORDER BY stream_id")]
        await conn.execute("UPDATE structure_communities SET last_seq = 0")
    for stream in ids:
        await project_structure(store, pool, stream.removeprefix("structure-"))
    return len(ids)
