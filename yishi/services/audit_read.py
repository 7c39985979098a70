"""Reading what an audit checks from the database: each stream as stored (canonical instants, keyset batches), the
streams that belong to a deliberation (its ``<id>/…`` streams, its tickets, the streams its histories witnessed), the
frozen rolls, and everything gathered together with the Temporal runs (yishi/services/audit.py, audit_export.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from temporalio.client import Client

from activities.box import gc_paused
from activities.history_store import HistoryStore
from domain.chain import format_instant, parse_json
from yishi.services.audit_checks import Row, Witness, tickets_named
from yishi.services.audit_ledgers import named_streams
from yishi.services.audit_meetings import meeting_streams_named, meeting_tickets_named
from yishi.services.audit_temporal import AuditInputError, Run, list_runs, runs_query, witnesses_of
from yishi.services.audit_topics import topic_tickets_named

READ_BATCH = 10_000

# The database writes the canonical text of each instant (domain.chain.format_instant: UTC, six fractional
# digits, ``Z``) in its own process, for the years whose text both agree on; the rest come as timestamps and
# are formatted here. The payload comes as its JSON text, parsed with ``domain.chain.parse_json``.
_CANONICAL = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
_IN_RANGE = "{0} >= '1000-01-01 00:00:00+00' AND {0} < '10000-01-01 00:00:00+00'"
_READ_COLUMNS = ", ".join([
    "stream_id", "seq", "type", "payload::text",
    *(f"CASE WHEN {_IN_RANGE.format(c)} THEN {_CANONICAL.format(c)} END" for c in ("occurred_at", "recorded_at")),
    *(f"CASE WHEN {_IN_RANGE.format(c)} THEN NULL ELSE {c} END" for c in ("occurred_at", "recorded_at")),
    "prev_hash", "hash",
])


def _instant(text: str | None, value: datetime | None) -> str:
    return text if text is not None else format_instant(value)  # type: ignore[arg-type]


async def read_rows(pool: asyncpg.Pool, stream_id: str) -> list[dict[str, Any]]:
    """The stream as stored, each row as envelope fields (canonical timestamps) plus ``hash``.

    Read in keyset-paginated batches so that only one batch of database records is held beside the rows.
    """
    sql = f"SELECT {_READ_COLUMNS} FROM events WHERE stream_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"

    async def fetch(after: int) -> list[asyncpg.Record]:
        async with pool.acquire() as conn:
            return await conn.fetch(sql, stream_id, after, READ_BATCH)

    rows: list[dict[str, Any]] = []
    following = asyncio.ensure_future(fetch(0))
    try:
        with gc_paused():  # 10,000 new dicts at a time, none cyclic
            while True:
                records = await following
                if len(records) == READ_BATCH:  # the database reads the next batch while this one is converted
                    following = asyncio.ensure_future(fetch(records[-1][1]))
                for stream, seq, kind, payload, occurred, recorded, occurred_at, recorded_at, prev, digest in records:
                    occurred, recorded = _instant(occurred, occurred_at), _instant(recorded, recorded_at)
                    rows.append({"stream_id": stream, "seq": seq, "type": kind, "payload": parse_json(payload),
                                 "occurred_at": occurred, "recorded_at": recorded, "prev_hash": prev, "hash": digest})
                if len(records) < READ_BATCH:
                    return rows
    finally:
        following.cancel()  # only still running when the conversion failed


async def related_streams(pool: asyncpg.Pool, deliberation_id: str, witnesses: Sequence[Witness]) -> list[str]:
    """The deliberation's stream, its ``<id>/…`` streams (escalation tickets ``<id>/esc-…``, child boxes),
    the ticket streams the ``escalations`` projection files under it, and every stream a history witnessed;
    main first."""
    async with pool.acquire() as conn:
        stored = await conn.fetch(
            "SELECT stream_id FROM streams WHERE stream_id = $1 OR left(stream_id, length($1) + 1) = $1 || '/'",
            deliberation_id)
    names = {r["stream_id"] for r in stored} | {w.stream_id for w in witnesses}
    names |= set(await projected_tickets(pool, deliberation_id))
    return sorted(names, key=lambda name: (name != deliberation_id, name))


async def projected_tickets(pool: asyncpg.Pool, deliberation_id: str) -> list[str]:
    """Ticket ids the ``escalations`` projection files under the deliberation (``parent_id``)."""
    async with pool.acquire() as conn:
        try:
            found = await conn.fetch("SELECT ticket_id FROM escalations WHERE parent_id = $1 ORDER BY ticket_id",
                                     deliberation_id)
        except asyncpg.UndefinedTableError:  # a database from before the escalations migration
            return []
    return [r["ticket_id"] for r in found]


async def stream_head(pool: asyncpg.Pool, stream_id: str) -> tuple[int, str] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT head_seq, head_hash FROM streams WHERE stream_id = $1", stream_id)
    return (row["head_seq"], row["head_hash"]) if row else None


def roll_digests(rows: Sequence[Row]) -> list[str]:
    return [row["payload"].get("roll_digest") for row in rows if row["type"] == "BoxOpened"]


async def frozen_rolls(pool: asyncpg.Pool, digests: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The frozen rolls by digest, from the ``rolls`` table (counting fields only, no contacts)."""
    async with pool.acquire() as conn:
        found = await conn.fetch("SELECT digest, entries FROM rolls WHERE digest = ANY($1::text[])",
                                 [d for d in digests if isinstance(d, str)])
    return {r["digest"]: (json.loads(r["entries"]) if isinstance(r["entries"], str) else r["entries"])
            for r in found}


async def rolls_to_check(pool: asyncpg.Pool, rows_by_stream: dict[str, list[dict[str, Any]]]
                         ) -> dict[str, list[dict[str, Any]]]:
    """The frozen rolls :func:`yishi.services.audit_checks.check_roll` compares with each ``BoxOpened``.

    A frozen roll the database finds equal (``jsonb =``) to the roll recorded in that very event is given
    as the recorded rows themselves, instead of 100,000 entries read and decoded again; any other roll
    (different, or named by an event it was not compared with) is read from the ``rolls`` table as before.
    """
    same: dict[str, list[dict[str, Any]]] = {}
    unconfirmed: set[str] = set()
    sql = ("SELECT r.entries = e.payload -> 'roll' FROM rolls r JOIN events e ON e.stream_id = $2 AND e.seq = $3 "
           "WHERE r.digest = $1")
    async with pool.acquire() as conn:
        for stream_id, rows in rows_by_stream.items():
            for row in rows:
                digest = row["payload"].get("roll_digest") if row["type"] == "BoxOpened" else None
                if not isinstance(digest, str):
                    continue
                recorded = row["payload"].get("roll")
                if type(recorded) is list and await conn.fetchval(sql, digest, stream_id, row["seq"]) is True:
                    same.setdefault(digest, recorded)
                else:  # different, absent from the rolls table, or not a list: read it
                    unconfirmed.add(digest)
    return {**same, **await frozen_rolls(pool, sorted(unconfirmed))}



@dataclass
class Gathered:
    runs: list[Run]
    witnesses: list[Witness]
    rows: dict[str, list[dict[str, Any]]]
    tickets: dict[str, list[str]] = field(default_factory=dict)
    """Escalation tickets of the deliberation: ticket id -> where each was found named."""


async def registered_workflow(pool: asyncpg.Pool, deliberation_id: str) -> str | None:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT workflow_id FROM deliberations WHERE id = $1", deliberation_id)


def box_streams_named(rows: Sequence[Row]) -> set[str]:
    """Streams a procedure's stage events name as its ballot boxes (``box_stream``)."""
    return {row["payload"]["box_stream"] for row in rows if isinstance(row["payload"].get("box_stream"), str)}


ESCALATION_WORKFLOW = "Escalation"


def expected_tickets(rows: dict[str, list[dict[str, Any]]], runs: Sequence[Run],
                     projected: Sequence[str]) -> dict[str, list[str]]:
    """Every escalation ticket of the deliberation and where it is named: an ``EscalationStarted`` event of
    one of its streams, an ``Escalation`` run among its Temporal runs, the ``escalations`` projection."""
    found = tickets_named(rows)
    for ticket, sources in topic_tickets_named(rows).items():
        found.setdefault(ticket, []).extend(sources)
    for ticket, sources in meeting_tickets_named(rows).items():
        found.setdefault(ticket, []).extend(sources)
    for run in runs:
        if run.workflow_type == ESCALATION_WORKFLOW:
            found.setdefault(run.workflow_id, []).append(f"Temporal run {run.workflow_id}")
    for ticket in projected:
        found.setdefault(ticket, []).append("escalations table")
    return found


async def gather(deliberation_id: str, pool: asyncpg.Pool, client: Client,
                  kept: HistoryStore | None = None) -> Gathered:
    runs_query(deliberation_id)  # refuses an id that cannot be put in a visibility query
    # The main stream (the largest: every ballot) is read while the histories are fetched from Temporal.
    main = asyncio.ensure_future(read_rows(pool, deliberation_id))
    try:
        registered = await registered_workflow(pool, deliberation_id)
        workflow_ids = [deliberation_id] + ([registered] if registered and registered != deliberation_id else [])
        runs = await list_runs(client, workflow_ids, kept)
        witnesses = [w for run in runs for w in witnesses_of(run)]
        streams = await related_streams(pool, deliberation_id, witnesses)
        main_rows = await main
    finally:
        main.cancel()
    if not runs and not streams:
        raise AuditInputError(f"no deliberation {deliberation_id}: no event stream and no Temporal workflow")
    rows = {s: main_rows if s == deliberation_id else await read_rows(pool, s) for s in streams}
    for named in sorted(box_streams_named(rows.get(deliberation_id, [])) - set(rows)):
        if found := await read_rows(pool, named):  # a round announced but not opened yet has no stream
            rows[named] = found
    for named in sorted(set(meeting_streams_named(rows)) - set(rows)):
        if found := await read_rows(pool, named):  # a meeting's series, a consultation's meeting, a meeting's vote
            rows[named] = found
    for named in named_streams(rows.get(deliberation_id, [])):  # a register's appraisals and attributed tickets
        if named not in rows and (found := await read_rows(pool, named)):
            rows[named] = found
    tickets = expected_tickets(rows, runs, await projected_tickets(pool, deliberation_id))
    for ticket in sorted(set(tickets) - set(rows)):
        if found := await read_rows(pool, ticket):  # a ticket whose id does not start with "<id>/"
            rows[ticket] = found
    return Gathered(runs, witnesses, rows, tickets)
