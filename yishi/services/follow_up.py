"""The initiator's follow-up link and how it reaches the resident without passing through staff's screens.

An owner's ticket is answered (information asked for, the satisfaction follow-up) through the owner's personal
link ``/f/<token>``: a capability like a voting link (yishi/services/links.py: 256 bits, only its hash
stored). Whoever holds it answers as the owner, so no staff page shows it (issue 17: a committee read the link
off the ticket page and rated the ticket itself). It reaches the owner by:

* the notice channels: the resolution's notice to the community's SMS/WeChat gateway carries the link for the
  initiator (activities/escalation.py ``follow_up_recipient``), never the stream or the e-mail to staff;
* a printed slip: a committee or grid-worker account of the ticket prints it for the owner. The print view is
  the one page with the link in it (shown on paper only, not on screen), and printing it is a fact in the
  ticket's stream, ``FollowUpSlipPrinted`` (who, when, which link generation), for auditors to see.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import AwareDatetime, BaseModel

from activities.escalation import append_while_open
from activities.eventstore import EventStore
from domain.escalation import Ticket
from yishi.services.accounts import Account
from yishi.services.links import IssuedLink, issued_from_row, new_row

SLIP_ROLES = ("committee", "grid_worker")  # who files a resident's complaint, and hands the resident the slip
SLIP_STATUSES = ("info_requested", "resolved")  # when the owner has something to answer through the link
SLIP_EVENT = "FollowUpSlipPrinted"


class FollowUpSlipPrinted(BaseModel):
    """A staff account printed the initiator's follow-up slip (the link is on the paper, not in the event)."""

    type: Literal["FollowUpSlipPrinted"] = "FollowUpSlipPrinted"
    at: AwareDatetime
    by: str
    role: str
    account_id: int
    generation: int
    status: str


def follow_up_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/f/{token}"


async def follow_up_link(pool: asyncpg.Pool, ticket: Ticket, *, secret_key: str, now: datetime) -> IssuedLink:
    """The initiator's personal follow-up link (the capability links of yishi/services/links.py, issued
    for the ticket's stream id): idempotent, only the hash stored."""
    if ticket.initiator_kind != "owner":
        raise ValueError("only an owner's ticket has a follow-up link; the committee answers in the console")
    # Not recorded in a stream like a voting link (yishi/services/link_issuing.py): it rates a ticket and casts
    # no vote, and printing it is recorded as FollowUpSlipPrinted. So that this path can never mint a voting link,
    # the id must be a ticket's.
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval("SELECT 1 FROM escalations WHERE ticket_id = $1", ticket.ticket_id) is None:
            raise ValueError(f"{ticket.ticket_id} is not an escalation ticket")
        nonce, digest = new_row(secret_key, ticket.ticket_id, ticket.initiator, 1)
        await conn.execute(
            "INSERT INTO links (deliberation_id, owner_id, generation, nonce, token_hash, issued_at)"
            " VALUES ($1, $2, 1, $3, $4, $5) ON CONFLICT DO NOTHING",
            ticket.ticket_id, ticket.initiator, nonce, digest, now)
        row = await conn.fetchrow(
            "SELECT deliberation_id, owner_id, generation, nonce, token_hash FROM links"
            " WHERE deliberation_id = $1 AND owner_id = $2 AND revoked_at IS NULL", ticket.ticket_id, ticket.initiator)
    return issued_from_row(secret_key, row)


def slip_offered(ticket: Ticket, account: Account) -> bool:
    """Whether the ticket page offers this account the printed slip (the route checks the same)."""
    return account.can(*SLIP_ROLES) and ticket.initiator_kind == "owner" and ticket.status in SLIP_STATUSES


def slip_key(binding: str, nonce: str) -> str:
    """The append's idempotency key: the same form posted twice records one printing."""
    return "slip:" + hashlib.sha256(f"{binding}\x00{nonce}".encode()).hexdigest()[:32]


async def print_slip(store: EventStore, pool: asyncpg.Pool, ticket: Ticket, account: Account, *, key: str,
                     secret_key: str, now: datetime) -> tuple[IssuedLink, int]:
    """Record ``FollowUpSlipPrinted`` in the ticket's stream, then return the link to print and the event's seq.

    Raises ``activities.escalation.TicketEndedError`` if the ticket has ended (nothing is printed then)."""
    issued = await follow_up_link(pool, ticket, secret_key=secret_key, now=now)
    event = FollowUpSlipPrinted(at=now, by=f"{account.role} {account.name}", role=account.role,
                                account_id=account.id, generation=issued.generation, status=ticket.status)
    stored = await append_while_open(store, ticket.ticket_id, [event], key)
    return issued, stored[0].seq
