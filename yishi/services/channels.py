"""Notice channels for the committee: set them up, see where every delivery stands, retry, record postings.

The console (and ``yishi channels``) call these; each change is an event with who and when:

* channel set-up, quiet hours and opt-outs in the community's channel stream (domain/channel_config.py);
* a retry (``NoticeRetryRequested``) and a posting of a printed notice (``NoticePosted``, with the SHA-256 of the
  photo of the posted sheet, whose bytes go to the ``posting_photos`` table) in the deliberation's stream.

The delivery board and the "to post" list read ``notice_deliveries``, the dispatcher's queue
(activities/outbox.py), which says where each notice × channel × recipient group stands.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from activities.eventstore import EventStore, NewEvent
from activities.notices import load_book
from activities.secrets import ChannelSecrets
from activities.stages import to_new
from domain.channel_config import (
    Channel,
    ChannelBook,
    ChannelRemoved,
    ChannelSet,
    ConfigEvent,
    OwnerOptedIn,
    OwnerOptedOut,
    QuietHours,
    QuietHoursSet,
    stream_id,
)
from domain.errors import N_, DomainError
from domain.stage_events import NoticePosted, NoticeRetryRequested

PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp", "image/heic"}
MAX_PHOTO = 10 * 1024 * 1024


class ChannelError(DomainError):
    """A change the committee asked for cannot be made; the message says why and what to do."""


async def _append(store: EventStore, community: str, event: ConfigEvent) -> None:
    await store.append(stream_id(community), [NewEvent(type=event.type, payload=event.model_dump(mode="json"),
                                                       occurred_at=event.at)])


async def book(store: EventStore, pool: asyncpg.Pool, community: str) -> ChannelBook:
    return await load_book(store, pool, community)


async def set_channel(store: EventStore, community: str, channel: Channel, *, by: str, now: datetime,
                      secrets: ChannelSecrets | None = None) -> list[str]:
    """Add or replace a channel; returns warnings (a secret not found in the settings yet: set it before the
    first notice, the dispatcher reports it as the delivery's failure otherwise)."""
    await _append(store, community, ChannelSet(at=now, by=by, channel=channel))
    warnings = []
    if channel.kind in ("wecom", "dingtalk", "sms") and not channel.secret_ref:
        warnings.append(f"{channel.id}: no secret named (secret_ref)")
    elif channel.secret_ref and not (secrets or ChannelSecrets()).has(channel.kind, channel.secret_ref):
        from activities.secrets import env_name

        warnings.append(f"{channel.id}: secret not found; set {env_name(channel.kind, channel.secret_ref)}")
    return warnings


async def remove_channel(store: EventStore, pool: asyncpg.Pool, community: str, channel_id: str, *, by: str,
                         now: datetime) -> None:
    current = await book(store, pool, community)
    if channel_id not in current.channels:
        known = ", ".join(sorted(current.channels)) or "—"
        raise ChannelError(N_("community %(community)s has no channel %(channel)s (it has: %(known)s)"),
                           community=community, channel=channel_id, known=known)
    await _append(store, community, ChannelRemoved(at=now, by=by, channel_id=channel_id))


async def set_quiet_hours(store: EventStore, community: str, quiet: QuietHours, *, by: str, now: datetime) -> None:
    await _append(store, community, QuietHoursSet(at=now, by=by, quiet=quiet))


async def opt_out(store: EventStore, community: str, owner_id: str, *, by: str, via: str, now: datetime,
                  out: bool = True) -> None:
    """The owner asks for no text messages (``out=False``: asks for them again); an event either way."""
    cls = OwnerOptedOut if out else OwnerOptedIn
    await _append(store, community, cls(at=now, by=by, owner_id=owner_id, via=via))  # type: ignore[arg-type]


# ---- the delivery board ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRow:
    notice_id: str
    notice_kind: str
    channel: str
    kind: str
    group: str
    state: str
    attempts: int
    recipients: int
    sent: int
    error: str
    next_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "next_at": self.next_at.isoformat(), "updated_at": self.updated_at.isoformat()}


async def board(pool: asyncpg.Pool, deliberation_id: str) -> list[DeliveryRow]:
    """Every notice × channel × recipient group of the deliberation, with its state and last failure."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT notice_id, notice_kind, channel, kind, grp, state, attempts, recipients, sent, last_error,"
            " next_at, updated_at FROM notice_deliveries WHERE deliberation_id = $1"
            " ORDER BY notice_id, channel, grp", deliberation_id)
    return [DeliveryRow(r["notice_id"], r["notice_kind"], r["channel"], r["kind"], r["grp"], r["state"],
                        r["attempts"], r["recipients"], r["sent"], r["last_error"], r["next_at"], r["updated_at"])
            for r in rows]


async def meeting_title(pool: asyncpg.Pool, meeting_id: str) -> str | None:
    """The meeting's title if the id is a meeting's (its notices have a delivery board too), else None."""
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT title FROM meetings WHERE meeting_id = $1", meeting_id)


async def retry(store: EventStore, pool: asyncpg.Pool, deliberation_id: str, notice_id: str, channel: str,
                group: str, *, by: str, now: datetime) -> None:
    """Send a failed delivery again now (its attempts start again; owners already reached are not sent twice)."""
    async with pool.acquire() as conn, conn.transaction():
        state = await conn.fetchval(
            "UPDATE notice_deliveries SET state = 'queued', attempts = 0, next_at = $5, updated_at = $5"
            " WHERE deliberation_id = $1 AND notice_id = $2 AND channel = $3 AND grp = $4 AND state = 'failed'"
            " RETURNING state", deliberation_id, notice_id, channel, group, now)
        if state is None:
            raise ChannelError(N_("the delivery of %(notice)s via %(channel)s to %(group)s has not failed: nothing "
                                  "to retry"), notice=notice_id, channel=channel, group=group)
    event = NoticeRetryRequested(at=now, notice_id=notice_id, channel=channel, group=group, by=by)
    await store.append(deliberation_id, to_new([event]))


# ---- printed notices ------------------------------------------------------------------------------------------


async def to_post(pool: asyncpg.Pool, deliberation_id: str) -> list[DeliveryRow]:
    """Which printed notice must be posted at which entrance, posted or not yet."""
    return [r for r in await board(pool, deliberation_id) if r.kind == "print"]


async def put_blob(pool: asyncpg.Pool, content: bytes, media_type: str) -> str:
    digest = hashlib.sha256(content).hexdigest()
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO posting_photos (sha256, media_type, size, content) VALUES ($1, $2, $3, $4)"
                           " ON CONFLICT (sha256) DO NOTHING", digest, media_type, len(content), content)
    return digest


async def get_blob(pool: asyncpg.Pool, digest: str) -> tuple[str, bytes] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT media_type, content FROM posting_photos WHERE sha256 = $1", digest)
    return (row["media_type"], bytes(row["content"])) if row else None


async def record_posting(store: EventStore, pool: asyncpg.Pool, deliberation_id: str, notice_id: str, group: str,
                         *, by: str, posted_at: datetime, photo: bytes, media_type: str, now: datetime) -> NoticePosted:
    """The clerk posted the printed notice at the entrance: who, when, and the photo of the posted sheet (kept by
    its SHA-256; the event in the deliberation's stream carries the hash, an auditor checks the photo against it)."""
    if media_type not in PHOTO_TYPES or not photo or len(photo) > MAX_PHOTO:
        raise ChannelError(N_("upload a photo of the posted sheet (JPEG, PNG, WebP or HEIC, at most %(mb)s MB)"),
                           mb=MAX_PHOTO // 2**20)
    async with pool.acquire() as conn:
        state = await conn.fetchval(
            "SELECT state FROM notice_deliveries WHERE deliberation_id = $1 AND notice_id = $2 AND channel = 'print'"
            " AND grp = $3", deliberation_id, notice_id, group)
    if state is None:
        raise ChannelError(N_("notice %(notice)s is not to be posted at entrance %(group)s"), notice=notice_id,
                           group=group)
    digest = await put_blob(pool, photo, media_type)
    event = NoticePosted(at=now, notice_id=notice_id, group=group, by=by, posted_at=posted_at, photo_sha256=digest,
                         photo_bytes=len(photo), media_type=media_type)
    await store.append(deliberation_id, to_new([event]))
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE notice_deliveries SET state = 'posted', sent = recipients, reference = $4, updated_at = $5"
            " WHERE deliberation_id = $1 AND notice_id = $2 AND channel = 'print' AND grp = $3",
            deliberation_id, notice_id, group, digest, now)
    return event
