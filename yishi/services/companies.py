"""A street office's register of property companies and its red/black list (红黑榜): the shared service.

The register (``companies-<street>``) records companies by 统一社会信用代码, which company manages which estate, the
appraisal items and weights, the appraisals opened, and tickets attributed to a company. Publishing a list computes
it (domain/company_list.py) from the appraisal streams the register names (their recorded results) and the ticket
streams attributed (when each was opened, whether it was cancelled), and records it with the thresholds used, so
an auditor recomputes it from the same streams. A property-replacement candidate whose code is on a street's latest
black list is flagged (:func:`candidate_flags`): shown, never refused.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import asyncpg
import structlog

from activities.eventstore import EventStore, StoredEvent
from domain.appraisal import fold as fold_appraisal
from domain.appraisal_events import APPRAISAL_EVENT_TYPES, AppraisalItem, appraisal_event_from_dict
from domain.company_decide import AttributeTicket, OpenRegister, PublishList, RegisterCommand, decide
from domain.company_events import (
    COMPANY_EVENT_TYPES,
    ListPublished,
    ListThresholds,
    company_event_from_dict,
    register_stream,
)
from domain.company_list import (
    AppraisalSummary,
    Register,
    RegisterError,
    TicketSummary,
    black_listed,
    compute_list,
)
from domain.credit_code import normalise
from domain.errors import N_
from domain.numbers import percent_digits
from domain.operator import Operator
from yishi.services.folds import FoldSpec, append_decided, load, new_events

log = structlog.get_logger(__name__)
REGISTER: FoldSpec[Register] = FoldSpec("register", COMPANY_EVENT_TYPES, company_event_from_dict, Register,
                                        Register.apply, lambda r: Register(
                                            r.street, dict(r.companies), dict(r.estates), r.items, r.owner_weight,
                                            dict(r.appraisals), dict(r.attributions), list(r.lists)))


async def register(store: EventStore, street: str) -> Register:
    return await load(store, register_stream(street), REGISTER)


async def act(store: EventStore, street: str, command: RegisterCommand, *, key: str | None = None) -> list[StoredEvent]:
    def decide_all(state: Register) -> list[Any]:
        events = []
        if state.street is None:
            events = decide(state, OpenRegister(at=command.at, by=command.by, street=street))
            state = REGISTER.copy(state)
            for event in events:
                state.apply(event)
        return new_events([*events, *decide(state, command)])

    stored = await append_decided(store, register_stream(street), REGISTER, decide_all, idempotency_key=key)
    log.info("companies.act", street=street, command=type(command).__name__, by=command.by.name, role=command.by.role,
             events=len(stored))
    return stored


async def ticket_community(store: EventStore, ticket_id: str) -> str | None:
    """The community of the escalation ticket ``ticket_id`` by its ``EscalationOpened`` (None: no such ticket).
    Any ticket id: a complaint's (``esc-…``), a hotline case's (``hl-…``), a topic's or a procedure's (``…/esc-…``)."""
    found = await store.read_types(ticket_id, ("EscalationOpened",)) if ticket_id else []
    return found[0].payload.get("community") if found else None


async def attribute_ticket(store: EventStore, street: str, command: AttributeTicket) -> list[StoredEvent]:
    """Attribute a ticket to a company on ``street``'s register: the one rule of the console and the CLI. Only an
    escalation ticket of a community one of the street's estates belongs to (a street counts its own estates'
    tickets, never another street's); a refusal is a :class:`RegisterError` naming the ticket."""
    community = await ticket_community(store, command.ticket_id)
    if community is None:
        raise RegisterError(N_("no escalation ticket %(ticket)s; copy the ticket's number from the ticket's page"),
                            ticket=command.ticket_id or "—")
    if community not in {e.community for e in (await register(store, street)).estates.values()}:
        log.info("companies.ticket_refused", street=street, ticket_id=command.ticket_id, community=community,
                 by=command.by.name, role=command.by.role)
        raise RegisterError(N_("ticket %(ticket)s is not from an estate of this street: record first which company "
                               "manages the estate of its community, or leave it to the street it belongs to"),
                            ticket=command.ticket_id)
    return await act(store, street, command)


async def appraisal_summary(store: EventStore, appraisal_id: str, scheduled: Any) -> AppraisalSummary:
    """The appraisal's recorded result (none while it is open): what the list counts."""
    stored = await store.read(appraisal_id)
    state = fold_appraisal(appraisal_event_from_dict(e.type, e.payload) for e in stored
                           if e.type in APPRAISAL_EVENT_TYPES)
    recorded = state.recorded.result if state.recorded is not None else None
    return AppraisalSummary(appraisal_id=appraisal_id, credit_code=scheduled.credit_code, period=scheduled.period,
                            closed=recorded is not None, score=recorded.score if recorded else None,
                            participation=recorded.participation if recorded else None)


async def ticket_summary(store: EventStore, ticket_id: str) -> TicketSummary:
    """When the ticket was opened and whether it was cancelled, from its stream."""
    opened: dt.datetime | None = None
    cancelled = False
    for event in await store.read_types(ticket_id, ("EscalationOpened", "Cancelled")):
        if event.type == "EscalationOpened":
            opened = dt.datetime.fromisoformat(event.payload["at"])
        else:
            cancelled = True
    return TicketSummary(ticket_id=ticket_id, opened_at=opened, cancelled=cancelled)


async def list_inputs(store: EventStore, state: Register) -> tuple[list[AppraisalSummary], list[TicketSummary]]:
    appraisals = [await appraisal_summary(store, aid, s) for aid, s in sorted(state.appraisals.items())]
    tickets = [await ticket_summary(store, tid) for tid in sorted(state.attributions)]
    return appraisals, tickets


def read_items(text: str) -> tuple[AppraisalItem, ...]:
    """The street's appraisal items, one a line ``ID:名称:WEIGHT`` (``cleaning:保洁:25``; a full-width colon too)."""
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("：", ":").split(":")]
        try:
            if len(parts) != 3 or not parts[2].isdigit():
                raise ValueError(line)
            items.append(AppraisalItem(item_id=parts[0], name_zh=parts[1], weight=int(parts[2])))
        except ValueError:  # pydantic's ValidationError is one
            raise RegisterError(N_("items, line %(line)s ('%(text)s'): write ID:name:weight, e.g. cleaning:保洁:25 "
                                   "(the ID in small letters, digits, - or _; the weight a whole number from 1 to "
                                   "1000)"), line=number, text=line.strip()[:60]) from None
    if not items:
        raise RegisterError(N_("enter at least one appraisal item"))
    return tuple(items)


def list_thresholds(settings: Any) -> ListThresholds:
    """The list's thresholds from the settings (``YISHI_APPRAISAL_*``)."""
    return ListThresholds(red_min_score=settings.appraisal_red_min_score,
                          red_max_tickets=settings.appraisal_red_max_tickets,
                          black_below_score=settings.appraisal_black_below_score,
                          black_min_tickets=settings.appraisal_black_min_tickets,
                          min_participation=settings.appraisal_min_participation)


async def publish_list(store: EventStore, street: str, period: str, *, by: Operator, now: dt.datetime,
                       thresholds: ListThresholds | None = None) -> ListPublished:
    """Compute the street's red/black list for ``period`` and record it (who, when, thresholds, figures)."""
    thresholds = thresholds or ListThresholds()
    state = await register(store, street)
    appraisals, tickets = await list_inputs(store, state)
    entries = compute_list(state, period, thresholds, appraisals, tickets)
    stored = await act(store, street, PublishList(at=now, by=by, period=period, thresholds=thresholds,
                                                  entries=entries))
    return ListPublished.model_validate(next(e for e in stored if e.type == "ListPublished").payload)


async def published_lists(pool: asyncpg.Pool, store: EventStore) -> list[tuple[str, ListPublished]]:
    """``(street, list)`` of every list every street published, in each register's order."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT stream_id FROM streams WHERE stream_id LIKE 'companies-%' ORDER BY stream_id")
    found = []
    for row in rows:
        street = row["stream_id"].removeprefix("companies-")
        found += [(street, published) for published in (await register(store, street)).lists]
    return found


async def community_estates(pool: asyncpg.Pool, store: EventStore, community: str) -> list[dict[str, Any]]:
    """The estates of ``community`` in every street's register, with the company managing each (what a committee
    may open an appraisal for) and whether the street has set its items."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT stream_id FROM streams WHERE stream_id LIKE 'companies-%' ORDER BY stream_id")
    found = []
    for row in rows:
        street = row["stream_id"].removeprefix("companies-")
        state = await register(store, street)
        found += [{"street": street, "estate": name, "company": state.companies.get(estate.credit_code),
                   "credit_code": estate.credit_code, "items": bool(state.items), "key": f"{street}::{name}"}
                  for name, estate in sorted(state.estates.items()) if estate.community == community]
    return found


async def candidate_flags(pool: asyncpg.Pool, store: EventStore,
                          candidates: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """For each candidate (``id``, ``credit_code``) on a street's latest black list: where and why."""
    lists = await published_lists(pool, store)
    flags: dict[str, list[dict[str, Any]]] = {}
    for candidate in candidates:
        code = candidate.get("credit_code")
        if not code:
            continue
        for street, published, entry in black_listed(lists, normalise(code)):
            flags.setdefault(candidate["id"], []).append({
                "street": street, "period": published.period, "published_at": published.at.isoformat(),
                "score": None if entry.score is None else _shown(entry.score), "tickets": len(entry.tickets),
                "reasons": list(entry.reasons)})
    return flags


async def deliberation_flags(pool: asyncpg.Pool, store: EventStore, deliberation_id: str) -> dict[str, Any]:
    """The candidates of a property-replacement deliberation with their codes and black-list flags."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT candidate_id AS id, name, credit_code FROM property_candidates"
                                " WHERE deliberation_id = $1 ORDER BY candidate_id", deliberation_id)
    candidates = [dict(r) for r in rows]
    flags = await candidate_flags(pool, store, candidates)
    return {c["id"]: {**c, "black_list": flags.get(c["id"], [])} for c in candidates}


def _shown(score: Fraction) -> str:
    """A score with two decimals for reading, on the side of 0 and 100 it lies (the list records the exact
    fraction)."""
    return percent_digits(score / 100, places=2)
