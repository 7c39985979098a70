"""接诉即办 intake (issue 19): a 12345 hotline system creates a ticket for a case, once, and asks how it stands.

A case is identified by ``(source, case_number)``; its ticket id is derived from both (``hl-<16 hex>``), the
``hotline_cases`` row holds the hotline organisation that sent it and the sha256 of the body it sent first. The same
case sent again answers with the same ticket (a retried request after a lost answer); the same case number with a
different body, or from another hotline, is refused. The ticket is the same ``Escalation`` workflow every ticket is,
channel ``hotline``, initiator the hotline organisation (it relays the resident's rating), routed by the address.
Who called is kept in ``ticket_complainants`` (never in the stream): the offices handling the ticket see it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.hotline import hotline_secret
from activities.routing import ladder_at, match_address
from domain.errors import N_, DomainError, Items
from domain.escalation import Ticket
from yishi.services.escalations import TicketRequest, issue_org_token, keep_complainant, open_ticket, register_org

CASE = r"^[\w.:/-]{1,64}$"


class HotlineCase(BaseModel):
    """A case as the hotline system sends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field(pattern=r"^[\w.-]{1,32}$", description="the hotline, e.g. 12345")
    case_number: str = Field(pattern=CASE, description="the hotline's own case number (工单编号)")
    category: str = Field(min_length=1, max_length=40, description="housing | urban_management | market_regulation"
                          " | planning, or the community ladder's own")
    subject: str = Field(min_length=1, max_length=200)
    detail: str = Field("", max_length=4000)
    address: str = Field("", max_length=200, description="the address as the caller gave it")
    community: str = Field("", max_length=64, description="the community, when the hotline knows it")
    building: str = Field("", max_length=32)
    entrance: str = Field("", max_length=16)
    room: str = Field("", max_length=32)
    caller_name: str = Field("", max_length=100)
    caller_phone: str = Field("", max_length=32)


class IntakeError(DomainError):
    """A case the intake refuses: the HTTP status, a code for the hotline's system, and the message."""

    def __init__(self, status: int, code: str, msgid: str, /, **params: object) -> None:
        self.status, self.code = status, code
        super().__init__(msgid, **params)


@dataclass(frozen=True)
class Intake:
    ticket_id: str
    created: bool
    community: str


def ticket_id_for(source: str, case_number: str) -> str:
    return "hl-" + hashlib.sha256(f"{source}\x00{case_number}".encode()).hexdigest()[:16]


async def _community(pool: asyncpg.Pool, case: HotlineCase) -> str:
    if case.community:
        return case.community
    async with pool.acquire() as conn:
        found = await match_address(conn, case.address) if case.address else None
    return found[0] if found else "default"


async def _check_category(pool: asyncpg.Pool, community: str, category: str, at: datetime) -> None:
    async with pool.acquire() as conn:
        version = await ladder_at(conn, community, at)
    if category not in version.departments:
        raise IntakeError(422, "bad_category", N_("no category '%(category)s'; valid: %(valid)s"), category=category,
                          valid=Items(sorted(version.departments)))


async def _claim(pool: asyncpg.Pool, org: str, case: HotlineCase, ticket_id: str, digest: str) -> bool:
    """Record the case for this hotline; False when it was recorded before with the same body."""
    async with pool.acquire() as conn:
        inserted = await conn.fetchval(
            "INSERT INTO hotline_cases (source, case_number, org, ticket_id, body_sha256) VALUES ($1,$2,$3,$4,$5)"
            " ON CONFLICT (source, case_number) DO NOTHING RETURNING 1", case.source, case.case_number, org,
            ticket_id, digest)
        if inserted:
            return True
        row = await conn.fetchrow("SELECT org, body_sha256 FROM hotline_cases WHERE source = $1 AND case_number = $2",
                                  case.source, case.case_number)
    if row["org"] != org or row["body_sha256"] != digest:
        raise IntakeError(409, "case_reused", N_("case number %(case)s was sent before with different content; use a "
                                                 "new number"), case=case.case_number)
    return False


async def intake(client: Client, pool: asyncpg.Pool, org: str, case: HotlineCase, *, task_queue: str,
                 now: datetime) -> Intake:
    """Create the case's ticket (or find it): idempotent on ``(source, case_number)``."""
    ticket_id = ticket_id_for(case.source, case.case_number)
    digest = hashlib.sha256(case.model_dump_json().encode()).hexdigest()
    community = await _community(pool, case)
    await _check_category(pool, community, case.category, now)
    created = await _claim(pool, org, case, ticket_id, digest)
    contact = {"name": case.caller_name, "phone": case.caller_phone, "room": case.room}
    who = await keep_complainant(pool, ticket_id, contact) if any(contact.values()) else ""
    detail = f"{case.detail}\n\n（{case.source} 工单 {case.case_number}：{case.address}）".strip()
    request = TicketRequest(community=community, category=case.category, subject=case.subject, detail=detail,
                            initiator=org, initiator_kind="hotline", channel="hotline", building=case.building,
                            entrance=case.entrance, room=case.room, address=case.address, source=case.source,
                            case_number=case.case_number, complainant_digest=who)
    try:  # also when the case was claimed before: a start that failed after the claim is made good here
        await open_ticket(client, request, task_queue=task_queue, ticket_id=ticket_id,
                          id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        pass
    return Intake(ticket_id, created, community)


async def case_ticket(pool: asyncpg.Pool, org: str, source: str, case_number: str) -> str | None:
    """The ticket of a case this hotline sent (None for a case it did not send)."""
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT ticket_id FROM hotline_cases WHERE source = $1 AND case_number = $2"
                                   " AND org = $3", source, case_number, org)


def case_state(ticket: Ticket) -> dict[str, Any]:
    """How the ticket stands, for the hotline: who has it, the deadlines, the response, resolution and rating."""
    a = ticket.current
    responded = next((x.acknowledged_at for x in ticket.assignments if x.acknowledged_at), None)
    rated = [x.follow_up for x in ticket.assignments if x.follow_up]
    return {
        "ticket_id": ticket.ticket_id, "source": ticket.source, "case_number": ticket.case_number,
        "status": ticket.status, "community": ticket.community, "grid": ticket.grid or None,
        "owner": ticket.owner, "level": a.level_key if a else None,
        "ack_due": a.ack_due if a and ticket.owner else None, "resolve_due": a.resolve_due if a and ticket.owner
        else None, "responded_at": responded, "resolved_at": ticket.resolved_at, "resolution": ticket.resolution,
        "rating": rated[-1] if rated else None, "parts": [
            {"part": p.part, "department": p.department, "owner": p.owner, "status": p.status}
            for p in ticket.joint.parts]}


async def register_hotline(pool: asyncpg.Pool, org: str, *, secret_key: str, callback_url: str | None,
                           name_zh: str = "12345 市民服务热线") -> tuple[str, str]:
    """Register (or update) a hotline organisation with its callback URL; returns its new bearer token and its
    signing secret (neither is stored: the token's sha256 is, the secret is derived from the server's key)."""
    await register_org(pool, org, role="hotline", name_zh=name_zh, name_en="12345 hotline", webhook_url=callback_url)
    return await issue_org_token(pool, org), hotline_secret(secret_key, org)
