"""Routing a new ticket (issue 19): from its building to its grid, and the community's ladder version current then.

The building comes from the ticket itself, else from the room on the community's latest roll, else from the
owner's rooms on that roll (when they are in one building), else from an address (the hotline's): a building's
registered address contained in it, or the building number it names in a known community. The grid is the one
that held the building (its entrance) at the moment the ticket opens (the ``structure_placements`` history),
and the ticket climbs from that grid's organisation ``grid:<community>:<code>``.

A community with grids but no grid found for the ticket starts it at the community level (never at a grid no one
works for); a community without any grid keeps the community-wide grid organisation ``grid:<community>`` as before.
书记直通车 starts at the party secretary's level whatever the building.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel, ConfigDict

from domain.addresses import address_key, parse_address
from domain.escalation import Ladder, Level
from domain.joint import JointSpec
from domain.ladders import LadderVersion, default_version, from_ladder


class RouteQuery(BaseModel):
    model_config = ConfigDict(frozen=True)
    community: str
    category: str
    at: datetime
    channel: str = "resident"
    building: str = ""
    entrance: str = ""
    room: str = ""
    owner: str = ""
    address: str = ""
    start_level: str | None = None


class Route(BaseModel):
    """What the ticket records when it opens: its levels (from ladder version ``ladder_version``), where it
    starts, and how its grid was found (``routed_by``: building, room, owner, address; none)."""

    model_config = ConfigDict(frozen=True)
    community: str
    levels: tuple[Level, ...]
    ladder_version: int
    start_level: str | None = None
    grid: str = ""
    building: str = ""
    entrance: str = ""
    routed_by: str = "none"
    joint: JointSpec = JointSpec()


async def ladder_at(conn: asyncpg.Connection, community: str, at: datetime) -> LadderVersion:
    """The ladder version current at ``at``; else a ladder set before versions (``escalation_ladders``), as
    version 0; else the default."""
    spec = await conn.fetchval("SELECT spec FROM structure_ladders WHERE community = $1 AND since <= $2"
                               " ORDER BY version DESC LIMIT 1", community, at)
    if spec is not None:
        return LadderVersion.model_validate(spec)
    raw = await conn.fetchval("SELECT ladder FROM escalation_ladders WHERE community = $1", community)
    return from_ladder(Ladder.model_validate(raw)) if raw else default_version(community)


async def _roll_rooms(conn: asyncpg.Connection, community: str, room: str, owner: str) -> list[tuple[str, str]]:
    """(building, entrance) of ``room``, else of every room of ``owner``, on the community's latest roll."""
    if not room and not owner:
        return []
    rows = await conn.fetch(
        "WITH latest AS (SELECT r.entries FROM deliberations d JOIN rolls r ON r.digest = d.roll_digest"
        " WHERE d.community = $1 ORDER BY d.created_at DESC LIMIT 1)"
        " SELECT DISTINCT e->>'building' AS building, e->>'entrance' AS entrance"
        " FROM latest, jsonb_array_elements(latest.entries) e"
        " WHERE CASE WHEN $2 <> '' THEN e->>'room_id' = $2 ELSE e->>'owner_id' = $3 END", community, room, owner)
    return [(r["building"], r["entrance"] or "") for r in rows]


async def grid_at(conn: asyncpg.Connection, community: str, building: str, entrance: str,
                  at: datetime) -> str | None:
    """The one grid holding the building (its entrance) at ``at`` (domain/structure.py ``Structure.grid_of``)."""
    rows = await conn.fetch("SELECT entrance, grid FROM structure_placements WHERE community = $1 AND building = $2"
                            " AND since <= $3 AND (until IS NULL OR until > $3)", community, building, at)
    if entrance:
        own = [r["grid"] for r in rows if r["entrance"] == entrance] or [r["grid"] for r in rows if not r["entrance"]]
    else:
        own = [r["grid"] for r in rows]
    return own[0] if len(set(own)) == 1 else None


async def match_address(conn: asyncpg.Connection, address: str, community: str = ""
                        ) -> tuple[str, str, str] | None:
    """``(community, building, entrance)`` of the registered address contained in ``address`` (the longest one),
    or of the building the address names in ``community``."""
    key = address_key(address)
    if not key:
        return None
    row = await conn.fetchrow(
        "SELECT community, building, entrance FROM structure_placements WHERE until IS NULL AND address_key <> ''"
        " AND strpos($1, address_key) > 0 AND ($2 = '' OR community = $2)"
        " ORDER BY length(address_key) DESC, entrance DESC LIMIT 1", key, community)
    parsed = parse_address(address)
    if row is not None:
        entrance = row["entrance"] or parsed.entrance
        return row["community"], row["building"], entrance
    if community and parsed.building:
        return community, parsed.building, parsed.entrance
    return None


async def _find_building(conn: asyncpg.Connection, q: RouteQuery) -> tuple[str, str, str, str]:
    """``(community, building, entrance, how)`` the ticket names, or "" for what cannot be found."""
    if q.building:
        return q.community, q.building.strip(), q.entrance.strip(), "building"
    if q.community and (q.room or q.owner):
        found = await _roll_rooms(conn, q.community, q.room.strip(), q.owner.strip())
        if len({b for b, _ in found}) == 1:
            entrances = {e for _, e in found}
            return q.community, found[0][0], entrances.pop() if len(entrances) == 1 else "", (
                "room" if q.room else "owner")
    if q.address:
        matched = await match_address(conn, q.address, q.community)
        if matched is not None:
            return *matched, "address"
    return q.community, "", "", "none"


async def route_ticket(pool: asyncpg.Pool, q: RouteQuery) -> Route:
    async with pool.acquire() as conn:
        community, building, entrance, how = await _find_building(conn, q)
        community = community or "default"
        grid = await grid_at(conn, community, building, entrance, q.at) if building else None
        has_grids = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM structure_grids WHERE community = $1"
                                        " AND retired_at IS NULL)", community)
        version = await ladder_at(conn, community, q.at)
    levels = version.levels_for(community, q.category, channel=q.channel, grid=grid)
    keys = [lv.key for lv in levels]
    start = q.start_level
    if q.channel == "secretary":
        start = "secretary"
    elif start is None and grid is None and has_grids and keys and keys[0] == "grid" and "community" in keys:
        start = "community"
    return Route(community=community, levels=levels, ladder_version=version.version, start_level=start,
                 grid=grid or "", building=building, entrance=entrance, routed_by=how if grid else "none",
                 joint=version.joint)
