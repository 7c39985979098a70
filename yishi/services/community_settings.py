"""A community's own choices that are not the law's (``community_settings``): today whether a paper ballot needs
the reference of its scan (the sheet's number or the scan's file name).

Without a row a community requires it: the reference ties a recorded ballot to the sheet in the auditors' box,
and it makes the same sheet typed in twice one ballot. A community that keeps no scans turns it off; a sheet
without a reference is then recorded once per form sent (a double tap records it once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CommunitySettings:
    community: str
    paper_ref_required: bool = True
    updated_by: str | None = None
    updated_at: datetime | None = None


async def community_settings(pool: asyncpg.Pool, community: str) -> CommunitySettings:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT paper_ref_required, updated_by, updated_at FROM community_settings"
                                  " WHERE community = $1", community)
    if row is None:
        return CommunitySettings(community)
    return CommunitySettings(community, row["paper_ref_required"], row["updated_by"], row["updated_at"])


async def set_paper_ref_required(pool: asyncpg.Pool, community: str, required: bool, *, by: str,
                                 now: datetime) -> CommunitySettings:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO community_settings (community, paper_ref_required, updated_by, updated_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (community) DO UPDATE SET"
            " paper_ref_required = EXCLUDED.paper_ref_required, updated_by = EXCLUDED.updated_by,"
            " updated_at = EXCLUDED.updated_at", community, required, by, now)
    log.info("community.paper_ref_set", community=community, required=required, by=by)
    return CommunitySettings(community, required, by, now)
