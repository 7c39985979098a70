"""The delivery queue: one ``notice_deliveries`` row per notice × channel × recipient group.

:func:`enqueue` plans a notice on a channel (who it reaches, grouped by entrance or by the robot's groups) and
writes the rows; the dispatcher claims due rows (:func:`claim_due`, ``FOR UPDATE SKIP LOCKED``, so several workers
share the queue) and writes their outcome (:func:`settle`). A claimed row carries a lease: a worker killed
mid-send leaves a row that another claims when the lease runs out.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from activities.eventstore import EventStore
from activities.stages import load_roll_entries
from domain.channel_config import Channel
from domain.legal_calendar import BEIJING
from domain.roll import Roll, RoomEntry
from domain.stage_events import NoticeQueued

if TYPE_CHECKING:
    from activities.notices import Delivery

LEASE = timedelta(minutes=5)
BATCH = 20_000


@dataclass(frozen=True)
class Queued:
    event: NoticeQueued


def entrance_key(room: RoomEntry) -> str:
    return f"{room.building}-{room.entrance}"


def _order(key: str) -> tuple[Any, ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in key.split("-"))


def owner_entrances(rooms: list[RoomEntry], wanted: set[str]) -> dict[str, str]:
    """Each wanted owner's entrance (the first of theirs, so an owner of two flats is reached once)."""
    out: dict[str, str] = {}
    for room in sorted(rooms, key=lambda r: _order(entrance_key(r))):
        if room.owner_id in wanted:
            out.setdefault(room.owner_id, entrance_key(room))
    return out


def public_link(base: str, deliberation_id: str) -> str:
    return f"{base.rstrip('/')}/p/{deliberation_id}" if base else ""


async def _deadline(store: EventStore, deliberation_id: str) -> str:
    entered = await store.read_types(deliberation_id, ["StageEntered"])
    for event in reversed(entered):
        if event.payload.get("deadline"):
            at = datetime.fromisoformat(event.payload["deadline"].replace("Z", "+00:00"))
            return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    return ""


def plan(channel: Channel | None, kind: str, by_owner: dict[str, str], contacts: dict[str, dict[str, str]],
         opted_out: frozenset[str]) -> tuple[dict[str, int], dict[str, list[tuple[str, str, str]]]]:
    """Recipient groups (group → households or addresses) and, for SMS, each group's owners as
    ``(owner_id, state, why)``: ``queued``, or ``skipped`` (no phone on the roll, opted out)."""
    if channel is None:  # the printed sheet: every entrance where a recipient lives
        counts: dict[str, int] = defaultdict(int)
        for entrance in by_owner.values():
            counts[entrance] += 1
        return dict(sorted(counts.items(), key=lambda kv: _order(kv[0]))), {}
    if not channel.sends(kind):
        return {}, {}
    reached = {o: e for o, e in by_owner.items() if channel.reaches(*e.split("-", 1))}
    if channel.kind in ("wecom", "dingtalk"):
        return ({",".join(channel.groups): len(reached)} if reached else {}), {}
    if channel.kind == "email":
        return {"*": len(channel.to)}, {}
    if channel.kind == "log":
        return {"*": len(by_owner)}, {}
    phoned = {o for o in reached if (contacts.get(o) or {}).get("phone")}
    if channel.kind == "webhook":  # the gateway gets every reached owner with a phone, in one request
        return ({"*": len(phoned)} if phoned else {}), ({"*": [(o, "queued", "") for o in sorted(phoned)]}
                                                       if phoned else {})
    members: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for owner, entrance in sorted(reached.items()):
        why = "opted out" if owner in opted_out else ("" if owner in phoned else "no phone on the roll")
        members[entrance].append((owner, "skipped" if why else "queued", why))
    groups = {e: sum(1 for m in ms if m[1] == "queued") for e, ms in members.items()}
    keep = {e for e, n in groups.items() if n}
    return ({e: groups[e] for e in sorted(keep, key=_order)}, {e: members[e] for e in keep})


_ROLLS: OrderedDict[str, tuple[Roll, dict[str, dict[str, str]]]] = OrderedDict()


async def roll_of(pool: asyncpg.Pool, digest: str) -> tuple[Roll, dict[str, dict[str, str]]]:
    """The frozen roll and its contacts, kept for the last two digests: a notice is queued on every channel and
    sent per group, and a roll (frozen under its digest) never changes."""
    if digest not in _ROLLS:
        _ROLLS[digest] = await load_roll_entries(pool, digest)
        while len(_ROLLS) > 2:
            _ROLLS.popitem(last=False)
    _ROLLS.move_to_end(digest)
    return _ROLLS[digest]


async def enqueue(store: EventStore, pool: asyncpg.Pool, params: Delivery, channel: Channel | None,
                  opted_out: frozenset[str], public_base: str) -> Queued:
    notice = params.notice
    roll, contacts = await roll_of(pool, params.roll_digest)
    rooms = [r for r in roll.entries() if params.scope.contains(r)]
    if notice.recipients_list is not None:  # a reminder names its door-knock list (patch reminder-by-list)
        lists = await store.read_types(params.deliberation_id, ["DoorKnockListIssued"])
        found = [e.payload["owners"] for e in lists if e.payload["list_id"] == notice.recipients_list]
        wanted = set(found[-1]) if found else set()
    elif notice.recipients is not None:
        wanted = set(notice.recipients)
    else:
        wanted = {r.owner_id for r in rooms}
    by_owner = owner_entrances(rooms, wanted)
    groups, members = plan(channel, notice.kind, by_owner, contacts, opted_out)
    fields = {"title": notice.title_zh, "body": notice.body_zh, "kind": notice.kind, "notice_id": notice.notice_id,
              "deadline": await _deadline(store, params.deliberation_id), "community": params.community,
              "link": public_link(public_base, params.deliberation_id),
              **({"count": str(len(wanted))} if notice.kind == "reminder" else {})}
    kind = channel.kind if channel else "print"
    state = "to_post" if channel is None else "queued"
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO notice_deliveries (deliberation_id, notice_id, channel, grp, kind, notice_kind, state,"
            " next_at, recipients, fields, community, roll_digest) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"
            " ON CONFLICT DO NOTHING",
            [(params.deliberation_id, notice.notice_id, params.channel, grp, kind, notice.kind, state, now, count,
              fields, params.community, params.roll_digest) for grp, count in groups.items()])
        for grp, owners in members.items():
            for start in range(0, len(owners), BATCH):
                part = owners[start:start + BATCH]
                await conn.execute(
                    "INSERT INTO notice_recipients (deliberation_id, notice_id, channel, grp, owner_id, state, error)"
                    " SELECT $1, $2, $3, $4, o, s, w FROM unnest($5::text[], $6::text[], $7::text[]) AS u(o, s, w)"
                    " ON CONFLICT DO NOTHING", params.deliberation_id, notice.notice_id, params.channel, grp,
                    [m[0] for m in part], [m[1] for m in part], [m[2] for m in part])
    return Queued(NoticeQueued(at=notice.at, notice_id=notice.notice_id, channel=params.channel, groups=groups))


_DUE = """
UPDATE notice_deliveries d SET state = 'sending', lease_until = $1::timestamptz + $3::interval, updated_at = $1
 WHERE (d.deliberation_id, d.notice_id, d.channel, d.grp) IN (
   SELECT deliberation_id, notice_id, channel, grp FROM notice_deliveries
    WHERE ((state IN ('queued', 'held') AND next_at <= $1) OR (state = 'sending' AND lease_until < $1))
      AND ($4::text IS NULL OR deliberation_id = $4)
    ORDER BY next_at LIMIT $2 FOR UPDATE SKIP LOCKED)
 RETURNING d.*"""


async def claim_due(pool: asyncpg.Pool, now: datetime, limit: int = 20,
                    deliberation_id: str | None = None) -> list[asyncpg.Record]:
    """Claim up to ``limit`` deliveries due at ``now`` (of one deliberation only, if given)."""
    async with pool.acquire() as conn:
        return list(await conn.fetch(_DUE, now, limit, LEASE, deliberation_id))


async def settle(pool: asyncpg.Pool, row: asyncpg.Record, *, state: str, next_at: datetime | None = None,
                 attempts: int | None = None, sent: int | None = None, error: str | None = None,
                 reference: str | None = None) -> None:
    """Write a claimed delivery's outcome (and release its lease)."""
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE notice_deliveries SET state = $5, next_at = coalesce($6, next_at), attempts = coalesce($7,"
            " attempts), sent = coalesce($8, sent), last_error = coalesce($9, last_error), reference = coalesce($10,"
            " reference), lease_until = NULL, updated_at = now()"
            " WHERE deliberation_id = $1 AND notice_id = $2 AND channel = $3 AND grp = $4",
            row["deliberation_id"], row["notice_id"], row["channel"], row["grp"], state, next_at, attempts, sent,
            error, reference)
