"""Committee accounts and their web sessions.

Passwords are hashed with argon2id (memory-hard; argon2-cffi's defaults, RFC 9106 low-memory profile) and
rehashed on login when the parameters change. Sessions are server-side: the cookie carries a random id
(signed by the web tier), the table only its sha256, so logging out or disabling an account ends them
at once. Account names are normalised once (:func:`normalise_name`) for creating, signing in and throttling.
What operators and staff do to accounts is in the ``accounts`` stream (yishi/services/account_admin.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from activities.eventstore import NewEvent, append_on

ROLES = ("committee", "grid_worker", "street_office", "department", "auditor", "party_secretary")
MIN_PASSWORD = 10
SESSION_TTL = timedelta(hours=12)  # the default of YISHI_SESSION_HOURS
ACCOUNTS_STREAM = "accounts"  # who created, disabled, enabled, reset what and when: auditors read it

_HASHER = PasswordHasher()
# Verified against when the name is unknown, so both cases take the same time.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """An account cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    community: str | None
    organisation: str | None = None
    """The organisation a street-office or department account acts for (escalation inbox)."""
    must_change: bool = False
    """An operator set the password (``yishi user reset-password --generate``): only a new one may be chosen."""

    def can(self, *roles: str) -> bool:
        return self.role in roles


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def normalise_name(name: str) -> str:
    """The one spelling of an account name: NFKC (full-width letters and digits, the ideographic space become
    plain ones), trimmed. Accounts are created under it, signed in by it and throttled by it, so ``" gridA"``
    and ``"ｇｒｉｄＡ"`` are the same account to all three."""
    return unicodedata.normalize("NFKC", name).strip()


def account_event(kind: str, account_id: int, name: str, by: str, now: datetime, **fields: Any) -> NewEvent:
    """An event of the ``accounts`` stream: ``kind`` done to ``account_id`` by ``by``."""
    return NewEvent(type=kind, payload={"account_id": account_id, "name": name, "by": by, **fields},
                    occurred_at=now)


async def add_account(pool: asyncpg.Pool, name: str, role: str, password: str,
                      community: str | None = None, organisation: str | None = None, *,
                      by: str = "operator") -> Account:
    name = normalise_name(name)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not name:
        raise AccountError("the account name is empty")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    digest = await asyncio.to_thread(hash_password, password)
    try:
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "INSERT INTO accounts (name, role, community, password_hash, organisation)"
                " VALUES ($1, $2, $3, $4, $5) RETURNING id", name, role, community, digest, organisation,
            )
            await append_on(conn, ACCOUNTS_STREAM, [account_event(
                "AccountCreated", row["id"], name, by, datetime.now(UTC), role=role, community=community,
                organisation=organisation)])
    except asyncpg.UniqueViolationError:
        raise AccountError(f"an account named {name!r} already exists") from None
    return Account(row["id"], name, role, community, organisation)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Candidate:
    """Who a sign-in names: the account row (None: no such account) and the key its failures count under."""

    key: str
    row: asyncpg.Record | None


async def find_login(pool: asyncpg.Pool, name: str) -> Candidate:
    """The account ``name`` (normalised) signs in to. Failures count under ``account:<id>`` whatever the
    spelling, disabled accounts included (their failures are guesses too); unknown names under the name."""
    name = normalise_name(name)
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, name, role, community, organisation, password_hash, must_change_password, disabled_at"
            " FROM accounts WHERE name = $1", name,
        )
    return Candidate(f"account:{row['id']}" if row else f"name:{name}", row)


async def check_password(pool: asyncpg.Pool, candidate: Candidate, password: str) -> Account | None:
    """The account if ``password`` is right and the account is enabled, else None (the same time either way)."""
    row = candidate.row
    ok = await asyncio.to_thread(verify_password, row["password_hash"] if row else _DUMMY_HASH, password)
    if row is None or not ok or row["disabled_at"] is not None:
        return None
    if _HASHER.check_needs_rehash(row["password_hash"]):
        digest = await asyncio.to_thread(hash_password, password)
        async with pool.acquire() as conn:
            await conn.execute("UPDATE accounts SET password_hash = $2 WHERE id = $1", row["id"], digest)
    return _account(row)


async def authenticate(pool: asyncpg.Pool, name: str, password: str) -> Account | None:
    """The account if ``password`` is right and the account is enabled, else None."""
    return await check_password(pool, await find_login(pool, name), password)


def _account(row: asyncpg.Record) -> Account:
    return Account(row["id"], row["name"], row["role"], row["community"], row["organisation"],
                   row["must_change_password"])


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def start_session(pool: asyncpg.Pool, account: Account, now: datetime, *, ttl: timedelta = SESSION_TTL,
                        address: str | None = None, user_agent: str | None = None) -> str:
    session_id = secrets.token_urlsafe(32)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO web_sessions (id_hash, account_id, created_at, expires_at, address, user_agent)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            _session_hash(session_id), account.id, now, now + ttl, address, (user_agent or "")[:200] or None,
        )
    return session_id


async def session_account(pool: asyncpg.Pool, session_id: str, now: datetime) -> Account | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT a.id, a.name, a.role, a.community, a.organisation, a.must_change_password FROM web_sessions s"
            " JOIN accounts a ON a.id = s.account_id"
            " WHERE s.id_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND a.disabled_at IS NULL",
            _session_hash(session_id), now,
        )
    return _account(row) if row else None


async def end_session(pool: asyncpg.Pool, session_id: str, now: datetime) -> None:
    async with pool.acquire() as conn:
        await conn.execute("UPDATE web_sessions SET ended_at = $2, end_reason = 'logout'"
                           " WHERE id_hash = $1 AND ended_at IS NULL", _session_hash(session_id), now)


def session_binding(session_id: str) -> str:
    """What console CSRF tokens are bound to (never the session id itself)."""
    return _session_hash(session_id)


async def account_names(pool: asyncpg.Pool, ids: set[int]) -> dict[int, str]:
    """Names of the accounts ``ids`` (disabled ones included: a clerk who left still typed in what they did)."""
    if not ids:
        return {}
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, name FROM accounts WHERE id = ANY($1::bigint[])", sorted(ids))
    return {row["id"]: row["name"] for row in rows}
