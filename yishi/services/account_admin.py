"""What operators and staff do to accounts, each act recorded in the ``accounts`` stream.

Staff are the people best placed to bend a community decision, so what is done to their accounts leaves a trace
an auditor can check: every act here changes the ``accounts`` / ``web_sessions`` rows and appends its event to
the hash-chained ``accounts`` stream in the same transaction (:func:`activities.eventstore.append_on`), so
there is never a change without its event or an event without its change. ``by`` says who: an operator at the
CLI (``cli:<os user>`` or what ``--by`` says) or a signed-in account (``account:<id>``).

Events: ``AccountCreated`` (yishi/services/accounts.py), ``AccountDisabled``, ``AccountEnabled``,
``PasswordReset`` (by an operator), ``PasswordChanged`` (by the account itself), ``SessionsEnded`` (by the
account, for its other devices). Each payload has ``account_id``, ``name`` and ``by``.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from activities.eventstore import StoredEvent, append_on
from domain.chain import ChainBreak, verify_chain
from yishi.services.accounts import (
    ACCOUNTS_STREAM,
    MIN_PASSWORD,
    Account,
    AccountError,
    account_event,
    hash_password,
    normalise_name,
    session_binding,
    verify_password,
)


@dataclass(frozen=True)
class SessionInfo:
    binding: str  # sha256 of the session id: what the page's forms name a session by
    created_at: datetime
    expires_at: datetime
    address: str | None
    user_agent: str | None


async def _row(conn: asyncpg.Connection, name: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT id, name, disabled_at FROM accounts WHERE name = $1 FOR UPDATE",
                              normalise_name(name))
    if row is None:
        raise AccountError(f"no account named {normalise_name(name)!r} (`yishi user list` shows them)")
    return row


async def _end_sessions(conn: asyncpg.Connection, account_id: int, now: datetime, reason: str,
                        keep: str | None = None) -> int:
    ended = await conn.fetch(
        "UPDATE web_sessions SET ended_at = $2, end_reason = $3 WHERE account_id = $1 AND ended_at IS NULL"
        " AND expires_at > $2 AND id_hash IS DISTINCT FROM $4 RETURNING 1", account_id, now, reason, keep)
    return len(ended)


async def disable_account(pool: asyncpg.Pool, name: str, *, by: str, now: datetime, reason: str = "") -> int:
    """Disable ``name`` and end its sessions at once; return how many sessions were ended."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _row(conn, name)
        if row["disabled_at"] is not None:
            raise AccountError(f"the account {row['name']!r} is disabled already (since {row['disabled_at']:%Y-%m-%d})")
        await conn.execute("UPDATE accounts SET disabled_at = $2 WHERE id = $1", row["id"], now)
        ended = await _end_sessions(conn, row["id"], now, "disabled")
        await append_on(conn, ACCOUNTS_STREAM, [account_event(
            "AccountDisabled", row["id"], row["name"], by, now, reason=reason[:500], sessions_ended=ended)])
    return ended


async def enable_account(pool: asyncpg.Pool, name: str, *, by: str, now: datetime, reason: str = "") -> None:
    async with pool.acquire() as conn, conn.transaction():
        row = await _row(conn, name)
        if row["disabled_at"] is None:
            raise AccountError(f"the account {row['name']!r} is not disabled")
        await conn.execute("UPDATE accounts SET disabled_at = NULL WHERE id = $1", row["id"])
        await append_on(conn, ACCOUNTS_STREAM, [account_event(
            "AccountEnabled", row["id"], row["name"], by, now, reason=reason[:500])])


def one_time_password() -> str:
    """A password for an operator to hand over (80 bits), in groups easy to read out."""
    raw = secrets.token_hex(10)
    return "-".join(raw[i:i + 5] for i in range(0, len(raw), 5))


async def reset_password(pool: asyncpg.Pool, name: str, password: str, *, by: str, now: datetime,
                         one_time: bool) -> int:
    """Set ``name``'s password and end all its sessions; ``one_time``: the next sign-in must choose a new one.
    Return how many sessions were ended."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    digest = await asyncio.to_thread(hash_password, password)
    async with pool.acquire() as conn, conn.transaction():
        row = await _row(conn, name)
        await conn.execute("UPDATE accounts SET password_hash = $2, must_change_password = $3 WHERE id = $1",
                           row["id"], digest, one_time)
        ended = await _end_sessions(conn, row["id"], now, "password reset")
        await append_on(conn, ACCOUNTS_STREAM, [account_event(
            "PasswordReset", row["id"], row["name"], by, now, one_time=one_time, sessions_ended=ended)])
    return ended


async def change_password(pool: asyncpg.Pool, account: Account, session_id: str, current: str, new: str, *,
                          now: datetime) -> int:
    """The account's own change: ``current`` must be right; every other session ends (a thief's too).
    Return how many ended."""
    if len(new) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT password_hash FROM accounts WHERE id = $1", account.id)
    if stored is None or not await asyncio.to_thread(verify_password, stored, current):
        raise WrongPasswordError("the current password is not right")
    digest = await asyncio.to_thread(hash_password, new)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE accounts SET password_hash = $2, must_change_password = false WHERE id = $1",
                           account.id, digest)
        ended = await _end_sessions(conn, account.id, now, "password changed", keep=session_binding(session_id))
        await append_on(conn, ACCOUNTS_STREAM, [account_event(
            "PasswordChanged", account.id, account.name, f"account:{account.id}", now, sessions_ended=ended)])
    return ended


class WrongPasswordError(AccountError):
    """The current password given to change it is not right."""


async def live_sessions(pool: asyncpg.Pool, account_id: int, now: datetime) -> list[SessionInfo]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id_hash, created_at, expires_at, address, user_agent FROM web_sessions"
            " WHERE account_id = $1 AND ended_at IS NULL AND expires_at > $2 ORDER BY created_at DESC",
            account_id, now)
    return [SessionInfo(r["id_hash"], r["created_at"], r["expires_at"], r["address"], r["user_agent"]) for r in rows]


async def end_other_sessions(pool: asyncpg.Pool, account: Account, session_id: str, *, now: datetime,
                             only: str | None = None) -> int:
    """End the account's sessions other than this one (``only``: just the session with that binding)."""
    keep = session_binding(session_id)
    if only == keep:
        return 0
    async with pool.acquire() as conn, conn.transaction():
        if only is None:
            ended = await _end_sessions(conn, account.id, now, "ended by the account", keep=keep)
        else:
            ended = len(await conn.fetch(
                "UPDATE web_sessions SET ended_at = $3, end_reason = 'ended by the account'"
                " WHERE account_id = $1 AND id_hash = $2 AND ended_at IS NULL RETURNING 1", account.id, only, now))
        if ended:
            await append_on(conn, ACCOUNTS_STREAM, [account_event(
                "SessionsEnded", account.id, account.name, f"account:{account.id}", now, sessions_ended=ended)])
    return ended


async def accounts_log(pool: asyncpg.Pool) -> tuple[list[StoredEvent], str | None]:
    """The ``accounts`` stream and the chain check of it (None: the chain holds; else what broke)."""
    from activities.eventstore import EventStore

    store = EventStore(pool)
    events = await store.read(ACCOUNTS_STREAM)
    try:
        head = verify_chain([e.envelope() | {"hash": e.hash} for e in events], ACCOUNTS_STREAM)
    except ChainBreak as exc:
        return events, str(exc)
    stored = await store.head(ACCOUNTS_STREAM)
    if head != stored:  # events missing at the end: the chain alone cannot tell
        return events, f"the chain ends at seq {head[0]} but the stream's head is seq {stored[0]}"
    return events, None


async def list_accounts(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT a.id, a.name, a.role, a.community, a.organisation, a.disabled_at, a.must_change_password,"
            " (SELECT count(*) FROM web_sessions s WHERE s.account_id = a.id AND s.ended_at IS NULL"
            "  AND s.expires_at > now()) AS sessions FROM accounts a ORDER BY a.name")
