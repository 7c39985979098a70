"""The ``appraisals`` read model (activities/migrations/100_appraisals.sql): one row per appraisal stream,
rewritten from the stream after every append to it (the opening, each rating, the reminder, the close), so the
console and the street's list find a community's or a street's appraisals without reading every event.

Only ever forward (``last_seq``); :func:`rebuild_appraisals` (``yishi appraisal rebuild``) redoes the table from the
streams, e.g. after a restore.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from activities.eventstore import EventStore
from domain.appraisal import fold
from domain.appraisal_events import APPRAISAL_EVENT_TYPES, appraisal_event_from_dict
from domain.numbers import fraction_str


async def project_appraisal(store: EventStore, pool: asyncpg.Pool, appraisal_id: str) -> bool:
    """Rewrite the appraisal's row from its stream; ``False`` when the stream has no opening."""
    stored = await store.read(appraisal_id)
    state = fold(appraisal_event_from_dict(e.type, e.payload) for e in stored if e.type in APPRAISAL_EVENT_TYPES)
    opened = state.opened
    if opened is None or not stored:
        return False
    score = state.recorded.result.score if state.recorded is not None else None
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO appraisals (appraisal_id, street, community, estate, credit_code, company_name, period,"
            " status, opens_at, closes_at, raters, recorded, score, last_seq)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"
            " ON CONFLICT (appraisal_id) DO UPDATE SET status = EXCLUDED.status, raters = EXCLUDED.raters,"
            " recorded = EXCLUDED.recorded, score = EXCLUDED.score, last_seq = EXCLUDED.last_seq"
            " WHERE appraisals.last_seq < EXCLUDED.last_seq",
            appraisal_id, opened.street, opened.community, opened.estate, opened.company.credit_code,
            opened.company.name, opened.period, "closed" if state.closed is not None else "open", opened.opens_at,
            opened.closes_at, len(state.rated_at), state.recorded is not None,
            None if score is None else fraction_str(score), stored[-1].seq)
    return True


async def community_rows(pool: asyncpg.Pool, community: str, limit: int) -> list[dict[str, Any]]:
    """A community's appraisals, the latest opened first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM appraisals WHERE community = $1 ORDER BY opens_at DESC, appraisal_id"
                                " LIMIT $2", community, limit)
    return [dict(r) for r in rows]


async def row_of(pool: asyncpg.Pool, appraisal_id: str) -> dict[str, Any] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM appraisals WHERE appraisal_id = $1", appraisal_id)
    return dict(row) if row else None


async def street_rows(pool: asyncpg.Pool, street: str, period: str | None = None) -> list[dict[str, Any]]:
    """A street's appraisals (one period's, or all), by estate then the latest opened first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM appraisals WHERE street = $1 AND ($2::text IS NULL OR period = $2)"
                                " ORDER BY estate, opens_at DESC", street, period)
    return [dict(r) for r in rows]


async def rebuild_appraisals(pool: asyncpg.Pool) -> int:
    """Rebuild every appraisal's row from its stream."""
    store = EventStore(pool)
    async with pool.acquire() as conn:
        ids = [r["stream_id"] for r in await conn.fetch(
            "SELECT stream_id FROM events WHERE seq = 1 AND type = 'AppraisalOpened' ORDER BY stream_id")]
        await conn.execute("DELETE FROM appraisals")
    return sum([await project_appraisal(store, pool, appraisal_id) for appraisal_id in ids])
