"""The intake throttle: a burst of topics from one address slows down without locking out the other residents behind
that address (a community's Wi-Fi, a carrier's shared address). Never an error: an answer to wait, or to do a
little work first.

Three lanes, each a GCRA budget (a burst, then one every N seconds; one ``tat`` per key in ``intake_throttle``,
updated in one statement, so every web process shares them):

- **device** (the intake page's cookie id at this address): a device that raised its burst waits (``retry_after``).
  A script replaying one cookie is held here.
- **address** (IPv4, or the /64 of an IPv6 address): shared by everyone behind it. When it is used up, a device
  that still has its own budget is not refused but given a proof-of-effort challenge (domain/throttle.py): a
  distinct resident gets through after a few seconds of work; a script rotating cookies pays that work for every
  topic. The difficulty grows with the address's recent pressure, up to a cap a phone can still do.
- **link** (the intake link: the community's, or a building's): what the committee's queue takes in an hour; past it
  everyone waits, which only a flood from many addresses can cause.

A request is counted against a lane only when it is admitted, so a resident's challenged first try does not eat their
budget. A solved challenge is accepted once (``intake_challenges_used``).
"""

from __future__ import annotations

import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

from domain import throttle
from domain.errors import N_, Text
from domain.throttle import Challenge
from yishi.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Admission:
    """``ok``; else wait ``retry_after`` seconds, or (``challenge``) send the proof of effort with the form;
    ``text`` says which, for the page."""

    ok: bool
    retry_after: int = 0
    challenge: Challenge | None = None
    text: Text | None = None


def address_key(address: str) -> str:
    """IPv4 as it is; IPv6 by its /64 (one household's prefix); anything else as given."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


_TAKE = (
    "WITH up AS (INSERT INTO intake_throttle AS t (key, tat) VALUES ($1, $2::timestamptz + $3::interval)"
    " ON CONFLICT (key) DO UPDATE SET tat = GREATEST(t.tat, $2::timestamptz) + $3::interval"
    " WHERE t.tat <= $2::timestamptz + $4::interval RETURNING tat)"
    " SELECT (SELECT tat FROM up) AS granted, (SELECT tat FROM intake_throttle WHERE key = $1) AS before"
)


async def _take(conn: asyncpg.Connection, key: str, now: datetime, lane: tuple[int, int]) -> int:
    """Count one request in the lane if its budget allows: 0, else the seconds until it would."""
    burst, every = lane
    period, slack = timedelta(seconds=every), timedelta(seconds=every * (burst - 1))
    for _ in range(3):
        row = await conn.fetchrow(_TAKE, key, now, period, slack)
        if row["granted"] is not None:
            return 0
        if row["before"] is not None:
            return max(1, math.ceil((row["before"] - slack - now).total_seconds()))
        # Another request created the key after this statement's snapshot was taken: ask again.
    return every


async def _refund(conn: asyncpg.Connection, key: str, lane: tuple[int, int]) -> None:
    """Give back a request counted by :func:`_take` (it was not admitted after all)."""
    await conn.execute("UPDATE intake_throttle SET tat = tat - $2::interval WHERE key = $1", key,
                       timedelta(seconds=lane[1]))


async def _pressure(conn: asyncpg.Connection, key: str, now: datetime, every: int) -> int:
    """Challenges handed to the address lately (each adds ``every`` seconds that drain in real time)."""
    tat = await conn.fetchval(
        "INSERT INTO intake_throttle AS t (key, tat) VALUES ($1, $2::timestamptz + $3::interval) ON CONFLICT (key)"
        " DO UPDATE SET tat = GREATEST(t.tat, $2::timestamptz) + $3::interval RETURNING tat",
        key, now, timedelta(seconds=every))
    return max(0, int((tat - now).total_seconds()) // every)


def _wait(seconds: int) -> Admission:
    minutes = max(1, math.ceil(seconds / 60))
    return Admission(False, seconds, None, Text(N_("too many topics at once; try again in %(minutes)s minute(s) — "
                                                   "what you raised is kept"), minutes=minutes))


async def admit(pool: asyncpg.Pool, *, link: str, address: str, device: str | None, settings: Settings,
                now: datetime, proof: tuple[str, str] | None = None) -> Admission:
    """May this intake submission go on now? ``proof``: ``(challenge, nonce)`` sent back with the form."""
    addr = address_key(address)
    dev = (device or "")[:64]
    key = settings.secret_key.get_secret_value()
    device_key = f"d:{link}:{addr}:{dev}"
    async with pool.acquire() as conn:
        if dev and (wait := await _take(conn, device_key, now, settings.intake_per_client)):
            return _wait(wait)
        passed = False
        if proof is not None:
            why = throttle.verify(key, addr, dev, proof[0], proof[1], now, settings.intake_effort_bits[0])
            if why is None:
                passed = await conn.fetchval(
                    "INSERT INTO intake_challenges_used (challenge_hash, expires_at) VALUES (md5($1), $2)"
                    " ON CONFLICT DO NOTHING RETURNING true", proof[0], now + throttle.CHALLENGE_TTL) is True
            else:
                log.info("intake.proof_refused", address=addr, reason=why)
        if not passed:
            passed = await _take(conn, f"a:{link}:{addr}", now, settings.intake_per_address) == 0
        if not passed:
            if dev:
                await _refund(conn, device_key, settings.intake_per_client)
            base, cap = settings.intake_effort_bits
            pressure = await _pressure(conn, f"p:{link}:{addr}", now, settings.intake_per_address[1])
            bits = min(cap, base + (pressure // max(1, settings.intake_per_address[0])).bit_length())
            challenge = throttle.issue(key, addr, dev, bits, now, secrets.token_urlsafe(9))
            return Admission(False, 0, challenge, Text(N_("many submissions from your network: your phone is doing a "
                                                          "short check (a few seconds)")))
        if wait := await _take(conn, f"l:{link}", now, settings.intake_per_link):
            if dev:
                await _refund(conn, device_key, settings.intake_per_client)
            log.warning("intake.link_saturated", link=link, retry_after=wait)
            return _wait(wait)
    return Admission(True)
