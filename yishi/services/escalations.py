"""Escalation tickets for the web, the JSON API and the CLI: open one, act on one, the inbox, the rates.

Actions go to the ticket's workflow as updates (validated there by organisation and role); what the inbox
and the rates read is the ``escalations`` projection, rebuilt from the ticket streams on every append
(:func:`rebuild_projection` redoes it from scratch).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from activities.escalation import load_ticket, project_ticket
from activities.eventstore import EventStore
from domain.errors import N_, DomainError, Items
from domain.escalation import EvidenceRef, Ticket
from domain.escalation_rates import RateCell, RatesReport
from domain.legal_calendar import BEIJING
from domain.numbers import fraction_str, percent_digits
from workflows.escalation import ACTIONS, ActionReceipt, EscalationInput, EscalationResult, TicketAction
from workflows.escalation_joint import PART_UPDATES, PartAction, Whistle
from yishi.i18n.errors import refusal
from yishi.services.accounts import Account
from yishi.services.console import UNASSIGNED, may_see_community


class RefusedError(DomainError):
    """The ticket's workflow refused the action; the message says why (its text: :func:`yishi.i18n.errors.refusal`)."""


class TicketRequest(BaseModel):
    """A ticket started on its own (a resident's complaint taken by the committee or a grid worker, a grid
    worker's own report, 书记直通车, a hotline's case). ``building`` / ``entrance`` / ``room`` / ``address`` are
    what routing finds the grid from (activities/routing.py)."""

    model_config = ConfigDict(frozen=True)
    community: str = "default"
    category: str
    subject: str
    detail: str = ""
    initiator: str
    initiator_kind: str = "committee"
    start_level: str | None = None
    evidence: tuple[EvidenceRef, ...] = ()
    channel: str = "resident"
    building: str = ""
    entrance: str = ""
    room: str = ""
    address: str = ""
    source: str = ""
    case_number: str = ""
    complainant_digest: str = ""


def account_org(account: Account) -> str | None:
    """The organisation an account acts for: its own, else the one its role and community imply."""
    if account.organisation:
        return account.organisation
    community = account.community or "default"
    return {"committee": f"committee:{community}", "grid_worker": f"grid:{community}",
            "street_office": "street", "party_secretary": f"secretary:{community}"}.get(account.role)


async def account_orgs(pool: asyncpg.Pool, account: Account) -> list[str]:
    """Every organisation the account acts for: :func:`account_org`, and for a grid worker each grid the
    community's structure names them a worker of now (一人多格: one worker may serve several grids)."""
    orgs = [org] if (org := account_org(account)) else []
    if account.role == "grid_worker":
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT DISTINCT org FROM structure_terms WHERE person = $1"
                                    " AND role = 'grid_worker' AND until IS NULL ORDER BY org", account.name)
        orgs += [r["org"] for r in rows if r["org"] not in orgs]
    return orgs


def acting_org(orgs: list[str], ticket: Ticket) -> str:
    """Which of the account's organisations acts on ``ticket``: one that owns a part of it now, or is a waiting
    transfer's receiver; else the first (the workflow then refuses, naming the owner)."""
    wanted = ticket.current_handlers | ({ticket.transfer.to_org} if ticket.transfer else set())
    return next((o for o in orgs if o in wanted), orgs[0] if orgs else "")


async def open_ticket(client: Client, req: TicketRequest, *, task_queue: str, ticket_id: str | None = None,
                      id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                      **options: Any) -> tuple[str, WorkflowHandle]:
    ticket_id = ticket_id or f"esc-{secrets.token_hex(6)}"
    params = EscalationInput(ticket_id=ticket_id, community=req.community, category=req.category,
                             subject=req.subject, detail=req.detail, initiator=req.initiator,
                             initiator_kind=req.initiator_kind, start_level=req.start_level,  # type: ignore[arg-type]
                             evidence=req.evidence, channel=req.channel, building=req.building,
                             entrance=req.entrance, room=req.room, address=req.address, source=req.source,
                             case_number=req.case_number, complainant_digest=req.complainant_digest, **options)
    handle = await client.start_workflow("Escalation", params, id=ticket_id, task_queue=task_queue,
                                         result_type=EscalationResult, id_reuse_policy=id_reuse_policy)
    return ticket_id, handle


OPENING_PATIENCE = 15.0
"""Seconds an action waits for a ticket's workflow to apply its first level (see :func:`_opened`)."""


async def _opened(handle: WorkflowHandle, patience: float = OPENING_PATIENCE) -> None:
    """Wait until the ticket's workflow has applied its first level. The stream (and so the inbox) shows the
    ticket a moment before the workflow's own state does, the opening being appended by an activity; an action
    arriving in between would be refused as "the ticket is new" by the workflow's validator."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        try:
            state = await handle.query("ticket", result_type=Ticket, rpc_timeout=timedelta(seconds=4))
        except (RPCError, WorkflowQueryFailedError):
            return  # no such ticket, or no worker: the update itself answers
        if state.status != "new" or loop.time() > deadline:
            return
        await asyncio.sleep(0.1)


async def act(client: Client, ticket_id: str, action: str, arg: TicketAction) -> ActionReceipt:
    """Send one action to the ticket's workflow; a refusal raises :class:`RefusedError` ."""
    if action not in ACTIONS:
        raise RefusedError(N_("unknown action '%(action)s' (valid: %(valid)s)"), action=action, valid=Items(ACTIONS))
    return await _update(client, ticket_id, action, arg)


INBOX_PAGE = 100


async def inbox(pool: asyncpg.Pool, org: str | list[str], *, limit: int = INBOX_PAGE,
                offset: int = 0) -> list[dict[str, Any]]:
    """What the organisation(s) must act on, earliest deadline first: tickets they own, transfers waiting for
    them, and joint tickets' parts they own (吹哨报到: ``part`` names the part; the ticket's owner sees its joint
    tickets too, marked ``joint``). One page of ``limit`` rows: the read uses the indexes on the owner and the
    deadline, whatever the number of tickets (docs/benchmarks.md)."""
    orgs = [org] if isinstance(org, str) else list(org)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM ("
            " (SELECT ticket_id, parent_id, category, subject, status, level_key, org, transfer_to, ack_due,"
            "  resolve_due, opened_at, acknowledged, joint, next_due, NULL::int AS part, false AS transfer_pending"
            "  FROM escalations WHERE org = ANY($1::text[]) ORDER BY next_due NULLS LAST LIMIT $2::int + $3::int)"
            " UNION ALL"
            " (SELECT ticket_id, parent_id, category, subject, status, level_key, org, transfer_to, ack_due,"
            "  resolve_due, opened_at, acknowledged, joint, next_due, NULL::int, true"
            "  FROM escalations WHERE transfer_to = ANY($1::text[]) LIMIT $2::int + $3::int)"
            " UNION ALL"
            " (SELECT p.ticket_id, e.parent_id, e.category, e.subject, e.status, 'part', p.org, NULL, p.report_due,"
            "  p.resolve_due, p.opened_at, p.reported, true, p.next_due, p.part, false"
            "  FROM escalation_parts p JOIN escalations e USING (ticket_id)"
            "  WHERE p.org = ANY($1::text[]) AND p.status = 'open' ORDER BY p.next_due LIMIT $2::int + $3::int)"
            ") x ORDER BY next_due NULLS LAST, opened_at, ticket_id, part NULLS FIRST LIMIT $2 OFFSET $3",
            orgs, limit, offset)
    return [dict(row) for row in rows]


async def community_tickets(pool: asyncpg.Pool, *, home: str | None) -> list[dict[str, Any]]:
    """The latest 200 tickets, newest first. ``home`` (a community-bound account's, services/console.py
    ``home_community``) keeps that community's and the unassigned ones, as :func:`rates_report` does."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT ticket_id, subject, status, level_key, org, resolve_due, opened_at FROM escalations"
            " WHERE $1::text IS NULL OR community IN ($1, $2) ORDER BY opened_at DESC LIMIT 200", home, UNASSIGNED)
    return [dict(r) for r in rows]


@dataclass
class TicketView:
    ticket: Ticket
    events: list[Any]
    head_seq: int


async def ticket_view(store: EventStore, ticket_id: str) -> TicketView | None:
    ticket, seq = await load_ticket(store, ticket_id)
    if not ticket.ticket_id:
        return None
    return TicketView(ticket, await store.read(ticket_id), seq)


async def whistle(client: Client, ticket_id: str, arg: Whistle) -> ActionReceipt:
    """吹哨: call departments in on one ticket (the ticket's workflow checks the organisation and the role)."""
    return await _update(client, ticket_id, "whistle", arg)


async def act_part(client: Client, ticket_id: str, action: str, arg: PartAction) -> ActionReceipt:
    """报到, a part's resolution, or its release (``report_in``, ``resolve_part``, ``release_part``)."""
    if action not in PART_UPDATES:
        raise RefusedError(N_("unknown action '%(action)s' (valid: %(valid)s)"), action=action,
                           valid=Items(PART_UPDATES))
    return await _update(client, ticket_id, action, arg)


async def _update(client: Client, ticket_id: str, name: str, arg: BaseModel) -> ActionReceipt:
    handle = client.get_workflow_handle(ticket_id)
    await _opened(handle)
    try:
        return await handle.execute_update(name, arg, result_type=ActionReceipt)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        raise RefusedError(refusal(cause or exc)) from None
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        raise RefusedError(N_("ticket %(ticket)s does not exist or has ended"), ticket=ticket_id) from None


def may_see_complainant(org: str | list[str], ticket: Ticket) -> bool:
    """Who complained is shown to the offices that own a part of the ticket, now or before (its levels' owners and
    its joint parts' owners): they handle it. No other organisation, no auditor, no committee by its community."""
    orgs = [org] if isinstance(org, str) else org
    return any(o in ticket.handlers for o in orgs if o)


async def complainant(pool: asyncpg.Pool, ticket_id: str) -> dict[str, str] | None:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT contact FROM ticket_complainants WHERE ticket_id = $1", ticket_id)


def contact_digest(contact: dict[str, str]) -> str:
    """What the ticket's stream keeps of the complainant: sha256 of the contact as canonical JSON."""
    from domain.chain import canonical_json

    return hashlib.sha256(canonical_json(contact)).hexdigest()


async def keep_complainant(pool: asyncpg.Pool, ticket_id: str, contact: dict[str, str]) -> str:
    """Store who complained (outside the stream) and return its digest for ``EscalationOpened``: the digest of
    what is kept, the first contact given for the ticket (a form sent twice opens one ticket)."""
    async with pool.acquire() as conn:
        kept = await conn.fetchval("INSERT INTO ticket_complainants (ticket_id, contact) VALUES ($1, $2)"
                                   " ON CONFLICT (ticket_id) DO UPDATE SET ticket_id = EXCLUDED.ticket_id"
                                   " RETURNING contact", ticket_id, contact)
    return contact_digest(kept)


def may_see(account: Account, ticket: Ticket, orgs: list[str] | None = None) -> bool:
    """Owners now or before (of a level or a joint part), a waiting transfer's receiver, auditors, and a committee
    account that may see the ticket's community by the console's rule (services/console.py
    ``may_see_community``: a community-bound committee its own community and the unassigned one, a committee
    without one every community). ``orgs``: the account's organisations (:func:`account_orgs`), else its one."""
    if account.role == "auditor" or (account.role == "committee" and may_see_community(account, ticket.community)):
        return True
    if orgs is None:
        orgs = [org] if (org := account_org(account)) else []
    return any(org_may_see(org, ticket) for org in orgs)


def org_may_see(org: str, ticket: Ticket) -> bool:
    """The organisation API's rule (an organisation's system with its bearer token): the organisations that own
    or owned the ticket or one of its joint parts, and a waiting transfer's receiver. The ticket's read route and
    its action route both answer "not found" to any other organisation, so neither tells it that the ticket
    exists."""
    return bool(org) and (org in ticket.handlers
                          or (ticket.transfer is not None and ticket.transfer.to_org == org))


async def rebuild_projection(store: EventStore, pool: asyncpg.Pool) -> int:
    """Rebuild every ticket's row from its stream (after a restore, or a change to the projection)."""
    async with pool.acquire() as conn:
        ids = [r["stream_id"] for r in await conn.fetch(
            "SELECT stream_id FROM events WHERE seq = 1 AND type = 'EscalationOpened' ORDER BY stream_id")]
        await conn.execute("DELETE FROM escalations; DELETE FROM escalation_turns; DELETE FROM escalation_parts;"
                           " DELETE FROM turn_days")
    for ticket_id in ids:
        await project_ticket(store, pool, ticket_id)
    return len(ids)


# ---- rates -----------------------------------------------------------------------------------------------


def period(start: date, end: date) -> tuple[datetime, datetime]:
    """Beijing days ``start`` to ``end`` inclusive, as ``[from, to)`` instants."""
    return (datetime.combine(start, time(), BEIJING), datetime.combine(end + timedelta(days=1), time(), BEIJING))


async def rates_report(pool: asyncpg.Pool, start: date, end: date, as_of: datetime,
                       community: str | None = None, *, home: str | None = None) -> RatesReport:
    """The rates (domain/escalation_rates.py) over assignments made from ``start`` to ``end`` (Beijing
    days, inclusive), judged as of ``as_of``; one community's tickets, or all.

    ``home`` (a community-bound account's, services/console.py ``home_community``) keeps that community's
    tickets and the unassigned ones only, as the console list keeps its deliberations. Counted in SQL over the
    turns of the read model (yishi/services/appraisal.py: the same verdicts), joint parts left out.
    """
    from yishi.services.appraisal import appraisal

    lo, hi = period(start, end)
    only = [home, UNASSIGNED] if home is not None else None
    by_level = await appraisal(pool, "level", lo, hi, as_of, community=community, communities=only, levels_only=True)
    by_org = await appraisal(pool, "org", lo, hi, as_of, community=community, communities=only, levels_only=True)
    return RatesReport(start=lo, end=hi, as_of=as_of, total=by_level.total, by_level=by_level.cells,
                       by_org=by_org.cells)


async def ticket_communities(pool: asyncpg.Pool, *, home: str | None = None) -> list[tuple[str, int]]:
    """(community, number of tickets) for the rates page's filter; for a community-bound account its own
    (first) and the unassigned one only."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT community, count(*) AS n FROM escalations WHERE ($1::text IS NULL OR community IN ($1, $2))"
            " GROUP BY community ORDER BY (community = $1) DESC NULLS LAST, community", home, UNASSIGNED)
    return [(row["community"], row["n"]) for row in rows]


def fraction_json(value: Fraction | None) -> dict[str, str] | None:
    """A rate for JSON: the exact ``"n/d"`` and, for reading, the percentage of domain/numbers.py (no float)."""
    if value is None:
        return None
    return {"fraction": fraction_str(value), "percent": percent_digits(value)}


def cell_json(cell: RateCell) -> dict[str, Any]:
    return {"assigned": cell.assigned, "acknowledged_on_time": cell.ack_met, "acknowledge_missed": cell.ack_missed,
            "resolved_on_time": cell.resolve_met, "resolve_missed": cell.resolve_missed,
            "satisfied": cell.satisfied, "basically_satisfied": cell.basically_satisfied,
            "not_satisfied": cell.not_satisfied, "response_rate": fraction_json(cell.response_rate),
            "resolution_rate": fraction_json(cell.resolution_rate),
            "satisfaction_rate": fraction_json(cell.satisfaction_rate)}


def report_json(report: RatesReport) -> dict[str, Any]:
    return {"from": report.start.isoformat(), "to": report.end.isoformat(), "as_of": report.as_of.isoformat(),
            "total": cell_json(report.total),
            "by_level": {k: cell_json(v) for k, v in sorted(report.by_level.items())},
            "by_org": {k: cell_json(v) for k, v in sorted(report.by_org.items())}}


# ---- organisations: bearer tokens for their systems ------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


async def register_org(pool: asyncpg.Pool, org: str, *, role: str = "department", name_zh: str = "",
                       name_en: str = "", webhook_url: str | None = None) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO escalation_orgs (org, role, name_zh, name_en, webhook_url) VALUES ($1,$2,$3,$4,$5)"
            " ON CONFLICT (org) DO UPDATE SET role = EXCLUDED.role, name_zh = EXCLUDED.name_zh,"
            " name_en = EXCLUDED.name_en, webhook_url = EXCLUDED.webhook_url", org, role, name_zh, name_en,
            webhook_url)


async def issue_org_token(pool: asyncpg.Pool, org: str) -> str:
    """A new bearer token for the organisation's system (256 bits; only its sha256 is kept). Replaces
    the previous token, which stops working at once."""
    token = secrets.token_urlsafe(32)
    async with pool.acquire() as conn:
        status = await conn.execute("UPDATE escalation_orgs SET token_hash = $2 WHERE org = $1", org, _hash(token))
    if not status.endswith(" 1"):
        raise LookupError(f"no organisation {org!r}; register it first")
    return token


async def org_for_token(pool: asyncpg.Pool, token: str) -> tuple[str, str] | None:
    """``(org, role)`` of the organisation holding ``token``."""
    if not token or len(token) > 100:
        return None
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT org, role FROM escalation_orgs WHERE token_hash = $1", _hash(token))
    return (row["org"], row["role"]) if row else None
