"""Who complained, as the desk wrote it down (``ticket_complainants``): name, room and phone, never in the
ticket's stream (the stream keeps the initiator the desk typed, never a phone). Shown on the ticket page only to
the organisation that owns the ticket now (:func:`shown_to`); deleting the row erases the person's details and
leaves the stream intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.escalation import Ticket

MAX_ROOM, MAX_PHONE = 40, 30


@dataclass(frozen=True)
class Complainant:
    name: str
    room: str = ""
    phone: str = ""


def shown_to(org: str | None, ticket: Ticket) -> bool:
    """Whether an account acting for ``org`` sees the complainant: only the ticket's owner now."""
    return org is not None and ticket.owner is not None and org == ticket.owner


async def save(pool: asyncpg.Pool, ticket_id: str, who: Complainant, *, given_by: str, now: datetime) -> None:
    """Record the complainant of a new ticket (a second post of the same form keeps the first)."""
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO ticket_complainants (ticket_id, name, room, phone, given_by, given_at) "
                           "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ticket_id) DO NOTHING",
                           ticket_id, who.name, who.room, who.phone, given_by, now)


async def load(pool: asyncpg.Pool, ticket_id: str) -> Complainant | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT name, room, phone FROM ticket_complainants WHERE ticket_id = $1", ticket_id)
    return None if row is None else Complainant(row["name"], row["room"], row["phone"])
