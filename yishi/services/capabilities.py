"""Capability links for people without accounts: one generic module for every kind (issue 16).

Kinds: ``tracking`` (the proposer of a topic follows it and answers the feedback), ``supporter`` (a resident who
joined a topic: follows it, answers the feedback), ``invitation`` (a party invited to a meeting) and ``intake``
(a community's QR link, optionally per building, where residents raise topics); and for points and volunteers
(issue 20) ``person`` (a person's own page: points, hours, activities, redemptions; subject ``points-<community>``),
``team`` (a volunteer team's sign-up poster), ``checkin`` (an activity's check-in QR code; both subject
``volunteers-<community>``) and ``shop`` (a partner shop's clerk, who hands redeemed items over). Each link acts on
one subject stream (a topic, a meeting, ``intake-<community>``, …) for one holder (an opaque id; a building for an
intake link, a team or an activity for a poster or a check-in code).

As for voting links (yishi/services/links.py): the token is 256 bits, ``HMAC-SHA256(secret_key, "yishi-cap/1" ‖
kind ‖ subject ‖ holder ‖ generation ‖ nonce)`` with a 32-byte nonce from :mod:`secrets`, base64url (43
characters); the database keeps only ``sha256(token)`` and the nonce, so a copy of it cannot produce a working
link, and a poster can be printed again with the same link. Issuing and revoking are also events in the subject's
stream (``CapabilityIssued``/``CapabilityRevoked``: who, when, the token's SHA-256, never the token). Resolving a
token is a read: no side effect on GET.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from activities.eventstore import EventStore, NewEvent
from domain.capability_events import CapabilityIssued, CapabilityKind, CapabilityRevoked
from yishi.services.links import LinkKeyChangedError, RevokedLinkError, UnknownLinkError, looks_like_token, token_hash

TOKEN_FORMAT = b"yishi-cap/1"
PATHS = {"intake": "t", "tracking": "tt", "supporter": "tt", "invitation": "m", "person": "me", "team": "vt",
         "checkin": "ck", "shop": "sh"}
"""The page each kind opens: ``/t/<token>`` (raise a topic), ``/tt/<token>`` (follow a topic), ``/m/<token>``; a
person's own page (points, hours, activities) ``/me/<token>``, a volunteer team's sign-up poster ``/vt/<token>``, an
activity's check-in QR code ``/ck/<token>``, a partner shop's clerk ``/sh/<token>``."""


@dataclass(frozen=True)
class Capability:
    """A link with its plain token: only for printing and handing to its holder."""

    kind: str
    subject: str
    holder: str
    community: str
    generation: int
    token: str

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/{PATHS[self.kind]}/{self.token}"


@dataclass(frozen=True)
class CapabilityHolder:
    """Who a presented token belongs to (the hash, never the token)."""

    kind: str
    subject: str
    holder: str
    community: str
    generation: int
    token_hash: str


def derive(secret_key: str, kind: str, subject: str, holder: str, generation: int, nonce: str) -> str:
    if not secret_key:
        raise ValueError("a secret key is needed to derive links (YISHI_SECRET_KEY)")
    message = b"\x00".join([TOKEN_FORMAT, kind.encode(), subject.encode(), holder.encode(), str(generation).encode(),
                            nonce.encode()])
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _from_row(secret_key: str, row: asyncpg.Record) -> Capability:
    token = derive(secret_key, row["kind"], row["subject"], row["holder"], row["generation"], row["nonce"])
    if not hmac.compare_digest(token_hash(token), row["token_hash"]):
        raise LinkKeyChangedError(row["holder"])
    return Capability(row["kind"], row["subject"], row["holder"], row["community"], row["generation"], token)


_LIVE = ("SELECT kind, subject, holder, community, generation, nonce, token_hash FROM capability_links"
         " WHERE kind = $1 AND subject = $2 AND holder = $3 AND revoked_at IS NULL")


async def _record(store: EventStore, subject: str, event: CapabilityIssued | CapabilityRevoked, key: str) -> None:
    new = NewEvent(type=event.type, payload=event.model_dump(mode="json"), occurred_at=event.at)
    await store.append(subject, [new], idempotency_key=key)


async def _insert(conn: asyncpg.Connection, secret_key: str, kind: str, subject: str, holder: str, community: str,
                  generation: int, issued_by: str, now: datetime) -> None:
    nonce = secrets.token_bytes(32).hex()
    digest = token_hash(derive(secret_key, kind, subject, holder, generation, nonce))
    await conn.execute(
        "INSERT INTO capability_links (token_hash, kind, subject, holder, community, generation, nonce, issued_at,"
        " issued_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING",
        digest, kind, subject, holder, community, generation, nonce, now, issued_by)


async def issue_capability(pool: asyncpg.Pool, store: EventStore, *, kind: CapabilityKind, subject: str,
                           holder: str, community: str, issued_by: str, secret_key: str,
                           now: datetime) -> Capability:
    """The holder's live link, issuing the next generation when there is none (1 for a first link; after a
    revocation, the one after the revoked link's) (idempotent: the same token again)."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_LIVE, kind, subject, holder)
        if row is None:
            last = await conn.fetchval("SELECT max(generation) FROM capability_links WHERE kind = $1 AND subject = $2"
                                       " AND holder = $3", kind, subject, holder)
            await _insert(conn, secret_key, kind, subject, holder, community, (last or 0) + 1, issued_by, now)
            row = await conn.fetchrow(_LIVE, kind, subject, holder)
    link = _from_row(secret_key, row)
    await _record(store, subject, CapabilityIssued(at=now, kind=kind, holder=holder, generation=link.generation,
                                                   token_sha256=row["token_hash"], issued_by=issued_by),
                  f"cap:{kind}:{holder}:{link.generation}")
    return link


async def revoke_capability(pool: asyncpg.Pool, store: EventStore, *, kind: CapabilityKind, subject: str,
                            holder: str, by: str, reason: str, now: datetime) -> bool:
    """Revoke the holder's live link (it stops at once); False when there was none."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "UPDATE capability_links SET revoked_at = $4, revoked_by = $5, revoke_reason = $6 WHERE kind = $1"
            " AND subject = $2 AND holder = $3 AND revoked_at IS NULL RETURNING generation, token_hash",
            kind, subject, holder, now, by, reason)
    if row is None:
        return False
    await _record(store, subject, CapabilityRevoked(at=now, kind=kind, holder=holder, generation=row["generation"],
                                                    token_sha256=row["token_hash"], revoked_by=by, reason=reason),
                  f"cap-revoked:{kind}:{holder}:{row['generation']}")
    return True


async def reissue_capability(pool: asyncpg.Pool, store: EventStore, *, kind: CapabilityKind, subject: str,
                             holder: str, community: str, by: str, secret_key: str, now: datetime,
                             reason: str = "reissued") -> Capability:
    """Revoke the live link and issue the next generation (a lost phone, a poster taken down)."""
    await revoke_capability(pool, store, kind=kind, subject=subject, holder=holder, by=by, reason=reason, now=now)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"cap:{kind}:{subject}:{holder}")
        last = await conn.fetchval("SELECT max(generation) FROM capability_links WHERE kind = $1 AND subject = $2"
                                   " AND holder = $3", kind, subject, holder)
        if await conn.fetchrow(_LIVE, kind, subject, holder) is None:
            await _insert(conn, secret_key, kind, subject, holder, community, (last or 0) + 1, by, now)
    return await issue_capability(pool, store, kind=kind, subject=subject, holder=holder, community=community,
                                  issued_by=by, secret_key=secret_key, now=now)


async def resolve_capability(pool: asyncpg.Pool, token: str,
                             kinds: frozenset[str] | None = None) -> CapabilityHolder:
    """Who holds ``token`` (a read, no side effect); :class:`UnknownLinkError` or :class:`RevokedLinkError`.

    An unknown or malformed token costs one indexed lookup at most, whoever sends it: a valid holder is never
    slowed down by others' bad guesses here (throttling guesses is the web tier's, per address)."""
    if not looks_like_token(token):
        raise UnknownLinkError("malformed token")
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT kind, subject, holder, community, generation, token_hash, revoked_at"
                                  " FROM capability_links WHERE token_hash = $1", token_hash(token))
    if row is None or (kinds is not None and row["kind"] not in kinds):
        raise UnknownLinkError("no such link")
    if row["revoked_at"] is not None:
        raise RevokedLinkError("link revoked")
    return CapabilityHolder(row["kind"], row["subject"], row["holder"], row["community"], row["generation"],
                            row["token_hash"])


def intake_subject(community: str) -> str:
    """The stream a community's intake links are recorded in."""
    return f"intake-{community}"


async def live_links(pool: asyncpg.Pool, kind: CapabilityKind, subject: str) -> dict[str, asyncpg.Record]:
    """The live links of ``kind`` on ``subject`` by holder: generation, when and by whom issued (never a token)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT holder, generation, issued_at, issued_by FROM capability_links WHERE kind = $1"
                                " AND subject = $2 AND revoked_at IS NULL ORDER BY holder", kind, subject)
    return {row["holder"]: row for row in rows}
