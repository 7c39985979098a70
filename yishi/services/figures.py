"""The monthly figures the seeds report (domain/topic_figures.py), read from the topic and meeting streams: one
community's for its public page, every community an account may see for the console's figures page and its CSV and
XLSX exports (which carry the page's rows, no more)."""

from __future__ import annotations

from collections import defaultdict

import asyncpg

from domain.topic_figures import FIGURE_TYPES, MEETING_TYPES, MonthFigures, monthly

MAX_COMMUNITIES = 500
"""The most communities one figures page or export shows (a street has a few dozen)."""

_EVENTS = (
    "SELECT t.community, e.type, e.occurred_at, e.payload->>'answer' AS answer, e.stream_id FROM events e"
    " JOIN topics t ON t.topic_id = e.stream_id WHERE e.type = ANY($1::text[])"
    " AND ($3::text[] IS NULL OR t.community = ANY($3::text[]))"
    " UNION ALL SELECT m.community, e.type, e.occurred_at, NULL, e.stream_id FROM events e"
    " JOIN meetings m ON m.meeting_id = e.stream_id WHERE e.type = ANY($2::text[])"
    " AND ($3::text[] IS NULL OR m.community = ANY($3::text[])) ORDER BY occurred_at")


async def figures_by_community(pool: asyncpg.Pool, communities: list[str] | None = None
                               ) -> dict[str, list[MonthFigures]]:
    """Each community's monthly figures (communities in name order, months oldest first); ``None``: every
    community with a topic or a meeting, at most :data:`MAX_COMMUNITIES`."""
    async with pool.acquire() as conn:
        if communities is None:
            communities = [r["community"] for r in await conn.fetch(
                "SELECT community FROM topics UNION SELECT community FROM meetings ORDER BY community LIMIT $1",
                MAX_COMMUNITIES)]
        rows = await conn.fetch(_EVENTS, list(FIGURE_TYPES), list(MEETING_TYPES), communities)
    events: dict[str, list[tuple[str, object, str | None, str]]] = defaultdict(list)
    for r in rows:
        events[r["community"]].append((r["type"], r["occurred_at"], r["answer"], r["stream_id"]))
    return {c: monthly(events[c]) for c in sorted(events)}  # type: ignore[arg-type]


async def topic_figures(pool: asyncpg.Pool, communities: list[str] | None = None) -> list[MonthFigures]:
    """Raised, taken, decided, resolved, closed, declined, meetings held and satisfaction per Beijing month, all
    ``communities`` together (``None``: all)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(_EVENTS, list(FIGURE_TYPES), list(MEETING_TYPES), communities)
    return monthly((r["type"], r["occurred_at"], r["answer"], r["stream_id"]) for r in rows)
